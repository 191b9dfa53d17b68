//! Building with the `docker` CLI, or `podman` where that is what the machine has: for the platform the
//! tasks run on, exported as an archive and read back, so the architecture is checked against the
//! image itself (an arm64 image from an Apple-silicon laptop would crash x86 Fargate with
//! "exec format error").

use std::path::{Path, PathBuf};

use scaling_core::Platform;

use crate::image::LocalImage;
use crate::ImageError;

/// A container builder found on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Builder {
    /// `docker` or `podman`.
    pub program: String,
}

const HINT: &str = "or deploy a prebuilt image with --image <repository>@sha256:<digest>";

impl Builder {
    /// The first of `docker` and `podman` whose engine answers. Errors say what to install or start.
    pub async fn detect() -> Result<Self, ImageError> {
        Self::detect_among(&["docker", "podman"]).await
    }

    /// The first of `programs` whose engine answers.
    pub async fn detect_among(programs: &[&str]) -> Result<Self, ImageError> {
        let mut found = Vec::new();
        for &program in programs {
            match version(program).await {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => found.push(format!("{program} is there but cannot run ({e}): reinstall it")),
                Ok(out) if out.status.success() => return Ok(Self { program: program.into() }),
                Ok(out) => found.push(format!(
                    "{program} is installed but its engine does not answer ({}): start it",
                    String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("no message").trim()
                )),
            }
        }
        Err(ImageError::NoBuilder(if found.is_empty() {
            format!("no container builder found: install Docker or Podman, {HINT}")
        } else {
            format!("{}, {HINT}", found.join("; "))
        }))
    }

    async fn run(&self, args: &[&str]) -> Result<(), ImageError> {
        let output = output(&self.program, args)
            .await
            .map_err(|e| ImageError::Build(format!("cannot run {}: {e}", self.program)))?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
        Err(ImageError::Build(format!(
            "{} {} failed:\n{}",
            self.program,
            args.first().unwrap_or(&""),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )))
    }

    /// True for Podman (by program name, wherever it is installed), which saves OCI archives on request.
    fn is_podman(&self) -> bool {
        Path::new(&self.program).file_name().is_some_and(|name| name == "podman")
    }

    /// Builds `context` for `platform` and exports it to `out` (a tar); returns the image read back.
    pub async fn build(
        &self,
        context: &Path,
        dockerfile: &str,
        platform: Platform,
        tag: &str,
        out: &Path,
    ) -> Result<LocalImage, ImageError> {
        let dockerfile = context.join(dockerfile);
        let (context, dockerfile, out_str) =
            (context.to_string_lossy(), dockerfile.to_string_lossy(), out.to_string_lossy());
        let platform = platform.to_string();
        self.run(&["build", "--platform", &platform, "-f", &dockerfile, "-t", tag, &context]).await?;
        let mut save = vec!["save", "-o", &out_str];
        if self.is_podman() {
            save.extend(["--format", "oci-archive"]);
        }
        save.push(tag);
        self.run(&save).await?;
        LocalImage::open(out)
    }
}

/// `program version`: the engine answers when it succeeds.
async fn version(program: &str) -> std::io::Result<std::process::Output> {
    output(program, &["version", "--format", "{{.Server.Version}}"]).await
}

/// Runs `program args` to completion. A program whose file is still open for writing somewhere (being
/// installed or upgraded: `ETXTBSY`) is tried again for a moment. The build never outlives the deploy:
/// it is killed when the deploy is dropped (interrupted), and when this process dies, however it dies.
async fn output(program: &str, args: &[&str]) -> std::io::Result<std::process::Output> {
    let mut attempt = 0;
    loop {
        let mut command = tokio::process::Command::new(program);
        command.args(args).kill_on_drop(true);
        die_with_parent(&mut command);
        match command.output().await {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && attempt < 20 => attempt += 1,
            other => return other,
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Kills the child if this process dies first (Linux `PR_SET_PDEATHSIG`).
#[allow(unsafe_code)]
fn die_with_parent(command: &mut tokio::process::Command) {
    // SAFETY: the closure runs in the forked child before exec and only calls prctl(2), which is
    // async-signal-safe; it touches no memory shared with the parent.
    unsafe {
        command.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL).map_err(std::io::Error::from)
        });
    }
}

/// Builds the app's image with whatever builder the machine has; the archive goes to `out_dir`.
pub async fn build(
    app: &str,
    context: &Path,
    dockerfile: &str,
    platform: Platform,
    out_dir: &Path,
) -> Result<(LocalImage, PathBuf), ImageError> {
    let builder = Builder::detect().await?;
    std::fs::create_dir_all(out_dir).map_err(crate::io(out_dir))?;
    let out = out_dir.join(format!("{app}.tar"));
    let image = builder.build(context, dockerfile, platform, &format!("scaling/{app}:latest"), &out).await?;
    Ok((image, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_builder_says_what_to_install_or_to_pass_a_prebuilt_image() {
        let error = Builder::detect_among(&["/nonexistent/docker", "/nonexistent/podman"]).await.unwrap_err();
        let text = error.to_string();
        assert!(text.contains("install Docker or Podman") && text.contains("--image"), "{text}");
    }

    #[tokio::test]
    async fn a_builder_that_cannot_be_executed_is_named_with_the_reason() {
        let dir = std::env::temp_dir().join(format!("scaling-unrunnable-docker-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fake = dir.join("docker");
        std::fs::write(&fake, "not a program").unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
        let error = Builder::detect_among(&[fake.to_str().unwrap()]).await.unwrap_err().to_string();
        assert!(error.contains("is there but cannot run") && error.contains("ermission denied"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_builder_without_its_engine_says_to_start_it() {
        // A stand-in `docker` whose engine never answers, as on a machine with only the client.
        let dir = std::env::temp_dir().join(format!("scaling-fake-docker-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fake = dir.join("docker");
        std::fs::write(
            &fake,
            "#!/bin/sh\necho 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock' >&2\nexit 1\n",
        )
        .unwrap();
        std::os::unix::fs::PermissionsExt::set_mode(&mut std::fs::metadata(&fake).unwrap().permissions(), 0o755);
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let error = Builder::detect_among(&[fake.to_str().unwrap()]).await.unwrap_err().to_string();
        assert!(
            error.contains("installed but its engine does not answer") && error.contains("Cannot connect"),
            "{error}"
        );
        assert!(error.contains("start it") && error.contains("--image"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A stand-in `name` (docker or podman) that logs its arguments, builds nothing and "saves" an
    /// OCI archive of a tiny `arch` image. Returns its folder and path.
    fn stand_in(name: &str, arch: &str) -> (PathBuf, PathBuf) {
        let dir = std::env::temp_dir().join(format!("scaling-stand-in-{name}-{arch}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        crate::image::tests::tiny_image(arch, "built").write_oci_layout(&dir.join("layout")).unwrap();
        let program = dir.join(name);
        let script = r#"#!/bin/sh
here=$(dirname "$0")
echo "$*" >> "$here/calls.log"
case "$1" in
  version) echo 27.0 ;;
  build) ;;
  save) while [ $# -gt 0 ]; do [ "$1" = -o ] && out=$2; shift; done
        tar -cf "$out" -C "$here/layout" . ;;
  *) exit 1 ;;
esac
"#;
        std::fs::write(&program, script).unwrap();
        std::fs::set_permissions(&program, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        (dir, program)
    }

    async fn build_with(name: &str, arch: &str) -> (LocalImage, Vec<String>, PathBuf) {
        let (dir, program) = stand_in(name, arch);
        let builder = Builder::detect_among(&[program.to_str().unwrap()]).await.unwrap();
        let context = dir.join("context");
        let out = dir.join("out.tar");
        let image =
            builder.build(&context, "Dockerfile", Platform::LinuxAmd64, "scaling/demo:latest", &out).await.unwrap();
        let calls = std::fs::read_to_string(dir.join("calls.log")).unwrap().lines().map(str::to_string).collect();
        (image, calls, dir)
    }

    #[tokio::test]
    async fn docker_builds_for_the_task_platform_and_the_saved_image_is_read_back() {
        let (image, calls, dir) = build_with("docker", "amd64").await;
        let context = dir.join("context");
        assert_eq!(image.platform, Platform::LinuxAmd64);
        assert_eq!(image.digest(), crate::image::tests::tiny_image("amd64", "built").digest(), "the saved image");
        assert_eq!(
            calls[1..],
            [
                format!(
                    "build --platform linux/amd64 -f {} -t scaling/demo:latest {}",
                    context.join("Dockerfile").display(),
                    context.display()
                ),
                format!("save -o {} scaling/demo:latest", dir.join("out.tar").display()),
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn podman_saves_an_oci_archive() {
        let (_, calls, dir) = build_with("podman", "amd64").await;
        assert!(calls.last().unwrap().contains("--format oci-archive"), "{calls:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn an_image_built_for_another_architecture_reports_its_own() {
        // As when an Apple-silicon machine ignores the platform: the orchestrator then refuses it.
        let (image, _, dir) = build_with("docker", "arm64").await;
        assert_eq!(image.platform, Platform::LinuxArm64);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn an_interrupted_build_stops_its_builder() {
        // A stand-in `docker` whose build never ends.
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("docker");
        std::fs::write(&fake, "#!/bin/sh\nwhile :; do sleep 0.1; done\n").unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let builder = Builder { program: fake.to_string_lossy().into_owned() };
        let running = || {
            std::fs::read_dir("/proc")
                .unwrap()
                .flatten()
                .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok().map(|s| (e.path(), s)))
                .filter(|(_, stat)| !stat[stat.rfind(')').map_or(0, |i| i + 1)..].trim_start().starts_with('Z'))
                .filter_map(|(path, _)| std::fs::read(path.join("cmdline")).ok())
                .filter(|cmdline| String::from_utf8_lossy(cmdline).contains(fake.to_string_lossy().as_ref()))
                .count()
        };
        let out = dir.path().join("out.tar");
        let build = builder.build(dir.path(), "Dockerfile", Platform::LinuxAmd64, "t", &out);
        let interrupted = tokio::time::timeout(std::time::Duration::from_millis(500), build).await;
        assert!(interrupted.is_err(), "the build was still running");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while running() > 0 {
            assert!(std::time::Instant::now() < deadline, "the builder is stopped with the deploy");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}
