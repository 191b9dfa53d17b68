//! App bundles: the build context copied into a content-addressed store, with a Python virtualenv
//! built from its `requirements.txt` (cached by the file's hash, see `venv.rs`), and the start
//! command read from the Dockerfile's `CMD`. A re-build with unchanged inputs does nothing. Builds of
//! one bundle in several processes at once are safe: one builds it under the bundle's lock, in a
//! folder renamed into place when whole, and the others wait and reuse it.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use std::sync::atomic::AtomicBool;

use crate::build_command::run;
use crate::dockerignore::DockerIgnore;
use crate::paths::Paths;
use crate::store_lock::StoreLock;

/// Why a bundle could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The Dockerfile has no usable `CMD`.
    #[error("{0}")]
    NoCommand(String),
    /// Creating the virtualenv or installing requirements failed.
    #[error("{0}")]
    Python(String),
    /// The context's `.dockerignore` has a line that is not a pattern.
    #[error("{0}")]
    Dockerignore(String),
    /// The build was stopped (the deploy was interrupted) while this step ran; nothing was left.
    #[error("stopped during {0}; nothing of this build was kept")]
    Cancelled(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BundleError + '_ {
    move |source| BundleError::Io { path: path.to_path_buf(), source }
}

/// What is stored beside a bundle: how to run it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleManifest {
    /// The content digest, `sha256:…`.
    pub digest: String,
    /// The command the container would run (the Dockerfile's `ENTRYPOINT` and `CMD`).
    pub command: Vec<String>,
    /// Where it runs, relative to the bundle's app folder (the Dockerfile's `WORKDIR`).
    #[serde(default)]
    pub workdir: PathBuf,
    /// The image's environment (the Dockerfile's `ENV`).
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    /// The virtualenv whose `bin` goes first on `PATH`, if the app has requirements.
    pub venv: Option<PathBuf>,
    /// The apps that built it (a bundle is content-addressed, so two apps may share one); destroy
    /// with `--delete-images` removes an app from the list and the bundle with the last one.
    #[serde(default)]
    pub apps: Vec<String>,
}

/// A built bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// The folder holding the app files.
    pub dir: PathBuf,
    /// How to run it.
    pub manifest: BundleManifest,
}

/// Every file of the context (relative paths, sorted), minus what `.dockerignore` leaves out.
fn files(context: &Path) -> Result<Vec<PathBuf>, BundleError> {
    let ignore = DockerIgnore::of(context).map_err(BundleError::Dockerignore)?;
    let mut out = Vec::new();
    let mut stack = vec![context.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).map_err(io(&dir))? {
            let entry = entry.map_err(io(&dir))?;
            let path = entry.path();
            let relative = path.strip_prefix(context).unwrap_or(&path).to_path_buf();
            let kind = entry.file_type().map_err(io(&path))?;
            if kind.is_dir() {
                if !ignore.skips_folder(&relative) {
                    stack.push(path);
                }
            } else if kind.is_file() && !ignore.is_ignored(&relative) {
                out.push(relative);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The digest of the context's content and the build settings.
pub fn context_digest(context: &Path, dockerfile: &str, build: Option<&str>) -> Result<String, BundleError> {
    let mut hash = Sha256::new();
    hash.update(format!("dockerfile={dockerfile}\0build={}\0", build.unwrap_or_default()));
    for file in files(context)? {
        let path = context.join(&file);
        hash.update(file.to_string_lossy().as_bytes());
        hash.update([0]);
        hash.update(fs::read(&path).map_err(io(&path))?);
        hash.update([0]);
    }
    Ok(format!("sha256:{}", hex::encode(hash.finalize())))
}

fn copy_files(context: &Path, target: &Path) -> Result<(), BundleError> {
    for file in files(context)? {
        let (from, to) = (context.join(&file), target.join(&file));
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(io(parent))?;
        }
        fs::copy(&from, &to).map_err(io(&from))?;
    }
    Ok(())
}

/// What to build a bundle from.
#[derive(Debug, Clone, Copy)]
pub struct BuildInput<'a> {
    /// The app it is for.
    pub app: &'a str,
    /// The build context folder.
    pub context: &'a Path,
    /// The Dockerfile inside it.
    pub dockerfile: &'a str,
    /// A command to run in the bundle after its files are copied.
    pub build: Option<&'a str>,
}

/// Builds (or finds) the bundle of `input.context`, running `input.build` in it when given; stops as
/// soon as `cancel` is set, and a failed or stopped build leaves nothing behind. Blocking: call it from
/// `spawn_blocking`.
pub fn build(paths: &Paths, input: BuildInput<'_>, cancel: &AtomicBool) -> Result<Bundle, BundleError> {
    let BuildInput { app, context, dockerfile, build } = input;
    let digest = context_digest(context, dockerfile, build)?;
    if let Some(bundle) = find(paths, &digest) {
        return Ok(claim(paths, bundle, app));
    }
    let dir = bundle_dir(paths, &digest);
    let _lock = StoreLock::wait(&dir, &format!("the bundle {digest}"), cancel)?;
    if let Some(bundle) = find(paths, &digest) {
        return Ok(claim(paths, bundle, app)); // built by the process we waited for
    }
    let docker_path = context.join(dockerfile);
    let docker_text = fs::read_to_string(&docker_path).map_err(io(&docker_path))?;
    let start = crate::dockerfile::start_command(&docker_text)
        .map_err(|why| BundleError::NoCommand(format!("{}: {why}", docker_path.display())))?;
    let requirements = context.join("requirements.txt");
    let python = std::env::var("SCALING_PYTHON").unwrap_or_else(|_| "python3".into());
    let venv = match requirements.exists() {
        true => Some(crate::venv::venv_for(paths, &requirements, &python, cancel)?),
        false => None,
    };

    let staging = dir.with_extension("partial");
    let _ = fs::remove_dir_all(&staging);
    let manifest = BundleManifest {
        digest: digest.clone(),
        command: start.argv,
        workdir: start.workdir,
        env: start.env,
        venv,
        apps: vec![app.to_string()],
    };
    let staged = stage(context, &staging, build, &manifest, cancel);
    if let Err(error) = staged {
        let _ = fs::remove_dir_all(&staging);
        return Err(error);
    }
    let _ = fs::remove_dir_all(&dir);
    fs::rename(&staging, &dir).map_err(io(&dir))?;
    Ok(Bundle { dir: dir.join("app"), manifest })
}

/// The bundle's files, its build command run, and its manifest, in `staging`.
fn stage(
    context: &Path,
    staging: &Path,
    build: Option<&str>,
    manifest: &BundleManifest,
    cancel: &AtomicBool,
) -> Result<(), BundleError> {
    copy_files(context, &staging.join("app"))?;
    if let Some(command) = build {
        run(
            std::process::Command::new("/bin/sh").args(["-c", command]).current_dir(staging.join("app")),
            &format!("the build command `{command}`"),
            cancel,
        )?;
    }
    let json = serde_json::to_string_pretty(manifest).map_err(|e| BundleError::Python(e.to_string()))?;
    fs::write(staging.join("bundle.json"), json).map_err(io(staging))
}

/// `bundle`, with `app` on its list of apps (written back when it was not).
fn claim(paths: &Paths, mut bundle: Bundle, app: &str) -> Bundle {
    if !bundle.manifest.apps.iter().any(|a| a == app) {
        bundle.manifest.apps.push(app.to_string());
        if let Ok(json) = serde_json::to_string_pretty(&bundle.manifest) {
            let _ = fs::write(bundle_dir(paths, &bundle.manifest.digest).join("bundle.json"), json);
        }
    }
    bundle
}

pub(crate) fn bundle_dir(paths: &Paths, digest: &str) -> PathBuf {
    paths.bundles().join(digest.trim_start_matches("sha256:"))
}

/// The bundle with `digest`, if it was built.
pub fn find(paths: &Paths, digest: &str) -> Option<Bundle> {
    let dir = bundle_dir(paths, digest);
    let manifest: BundleManifest = serde_json::from_str(&fs::read_to_string(dir.join("bundle.json")).ok()?).ok()?;
    let venv_ready = manifest.venv.as_ref().is_none_or(|v| crate::venv::is_ready(v));
    venv_ready.then(|| Bundle { dir: dir.join("app"), manifest })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_build_command_runs_in_the_bundle_once() {
        let root = std::env::temp_dir().join(format!("scaling-build-cmd-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let context = root.join("app");
        fs::create_dir_all(&context).unwrap();
        fs::write(context.join("Dockerfile"), "FROM node\nCMD [\"node\", \"server.js\"]\n").unwrap();
        fs::write(context.join("server.js"), "// app").unwrap();
        let paths = Paths::at(root.join("home"));
        let input = |build| BuildInput { app: "node-app", context: &context, dockerfile: "Dockerfile", build };
        let never = AtomicBool::new(false);
        let bundle = build(&paths, input(Some("echo built > built.txt && echo >> count")), &never).unwrap();
        assert_eq!(fs::read_to_string(bundle.dir.join("built.txt")).unwrap(), "built\n");
        assert_eq!(bundle.manifest.command, ["node", "server.js"]);
        assert!(bundle.manifest.venv.is_none(), "no requirements.txt, no virtualenv");
        let again = build(&paths, input(Some("echo built > built.txt && echo >> count")), &never).unwrap();
        assert_eq!(fs::read_to_string(again.dir.join("count")).unwrap().len(), 1, "unchanged inputs rebuild nothing");
        let failing = build(&paths, input(Some("exit 3")), &never).unwrap_err();
        assert!(failing.to_string().contains("the build command `exit 3`"), "{failing}");
        let staging: Vec<_> =
            fs::read_dir(paths.bundles()).unwrap().flatten().filter(|e| e.path().extension().is_some()).collect();
        assert!(staging.is_empty(), "a failed build leaves no partial bundle: {staging:?}");
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_bundle_holds_what_docker_would_send_and_starts_as_docker_would() {
        let root = tempfile::tempdir().unwrap();
        let context = root.path().join("app");
        fs::create_dir_all(context.join("web/logs")).unwrap();
        fs::write(context.join(".dockerignore"), "**/*.log\n!web/logs/keep.log\nsecrets/\n").unwrap();
        fs::create_dir_all(context.join("secrets")).unwrap();
        fs::write(context.join("secrets/token"), "x").unwrap();
        fs::write(context.join("web/logs/old.log"), "x").unwrap();
        fs::write(context.join("web/logs/keep.log"), "x").unwrap();
        fs::write(context.join("web/main.py"), "print()").unwrap();
        fs::write(
            context.join("Dockerfile"),
            "FROM python:3.12-slim\nWORKDIR /srv\nCOPY . .\nWORKDIR /srv/web\nENV MODE=fast\nENTRYPOINT [\"python3\"]\nCMD [\"main.py\"]\n",
        )
        .unwrap();
        let paths = Paths::at(root.path().join("home"));
        let input = BuildInput { app: "web", context: &context, dockerfile: "Dockerfile", build: None };
        let bundle = build(&paths, input, &AtomicBool::new(false)).unwrap();
        assert!(bundle.dir.join("web/main.py").exists() && bundle.dir.join("web/logs/keep.log").exists());
        assert!(!bundle.dir.join("web/logs/old.log").exists() && !bundle.dir.join("secrets").exists());
        assert_eq!(bundle.manifest.command, ["python3", "main.py"]);
        assert_eq!(bundle.manifest.workdir, PathBuf::from("web"));
        assert_eq!(bundle.manifest.env["MODE"], "fast");
    }

    #[test]
    fn the_digest_follows_content_and_skips_ignored_files() {
        let dir = std::env::temp_dir().join(format!("scaling-bundle-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("__pycache__")).unwrap();
        fs::write(dir.join("app.py"), "v1").unwrap();
        fs::write(dir.join(".dockerignore"), "notes.txt\n").unwrap();
        let first = context_digest(&dir, "Dockerfile", None).unwrap();
        fs::write(dir.join("__pycache__/app.pyc"), "junk").unwrap();
        fs::write(dir.join("notes.txt"), "ignored").unwrap();
        assert_eq!(context_digest(&dir, "Dockerfile", None).unwrap(), first);
        assert_ne!(
            context_digest(&dir, "Dockerfile", Some("make")).unwrap(),
            first,
            "the build command is part of the input"
        );
        fs::write(dir.join("app.py"), "v2").unwrap();
        assert_ne!(context_digest(&dir, "Dockerfile", None).unwrap(), first);
        fs::remove_dir_all(&dir).unwrap();
    }
}
