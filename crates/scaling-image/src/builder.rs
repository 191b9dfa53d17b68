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
        let output = tokio::process::Command::new(&self.program)
            .args(args)
            .output()
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
        if self.program == "podman" {
            save.extend(["--format", "oci-archive"]);
        }
        save.push(tag);
        self.run(&save).await?;
        LocalImage::open(out)
    }
}

/// `program version`: the engine answers when it succeeds. A program whose file is still open for
/// writing somewhere (being installed or upgraded: `ETXTBSY`) is tried again for a moment.
async fn version(program: &str) -> std::io::Result<std::process::Output> {
    let mut attempt = 0;
    loop {
        let output =
            tokio::process::Command::new(program).args(["version", "--format", "{{.Server.Version}}"]).output().await;
        match output {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && attempt < 20 => attempt += 1,
            other => return other,
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
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
}
