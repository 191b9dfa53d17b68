//! The Python virtualenvs bundles run in: one per requirements file and interpreter, shared by every
//! bundle and process that needs the same one.
//!
//! Several processes may ask for the same one at once (two deploys of one app on a new machine): one
//! builds it under its [`StoreLock`] while the others wait, then all use it. A virtualenv cannot be
//! moved once made (pip writes its path into the `#!` line of every script it installs), so it is
//! built in a folder of its own, `<key>.build-<nonce>`, and published by renaming a symbolic link onto
//! `<key>`: a reader sees no virtualenv or a whole one, never one half filled. A build that fails, is
//! stopped or is killed leaves only its own folder, which the next holder of the lock removes.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use sha2::{Digest, Sha256};

use crate::build_command::run;
use crate::bundle::BundleError;
use crate::paths::Paths;
use crate::store_lock::StoreLock;

/// The marker a finished virtualenv holds.
const READY: &str = ".ready";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BundleError + '_ {
    move |source| BundleError::Io { path: path.to_path_buf(), source }
}

/// True when `venv` is a whole virtualenv.
pub(crate) fn is_ready(venv: &Path) -> bool {
    venv.join(READY).exists()
}

/// The folders of unfinished builds of `key` (whose lock the caller holds): every build folder but
/// the one `<key>` links to.
fn builds_of(venvs: &Path, key: &str) -> Vec<PathBuf> {
    let prefix = format!("{key}.build-");
    let published = fs::read_link(venvs.join(key)).ok();
    let entries = fs::read_dir(venvs).into_iter().flatten().flatten();
    entries
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .filter(|e| published.as_deref() != Some(Path::new(&e.file_name())))
        .map(|e| e.path())
        .collect()
}

/// Removes the published `venv` (the link and the folder it names, or a folder of an older layout).
fn remove_published(venv: &Path) {
    match fs::read_link(venv) {
        Ok(target) => {
            let target = venv.with_file_name(target);
            let _ = fs::remove_file(venv);
            let _ = fs::remove_dir_all(target);
        }
        Err(_) => {
            let _ = fs::remove_dir_all(venv);
        }
    }
}

/// The name of the virtualenv for requirements `text` under `python`.
fn key_of(text: &[u8], python: &str) -> String {
    hex::encode(Sha256::new().chain_update(text).chain_update(python.as_bytes()).finalize())[..24].to_string()
}

/// The virtualenv for `requirements` under `python`, built on first use (see the module's note).
pub(crate) fn venv_for(
    paths: &Paths,
    requirements: &Path,
    python: &str,
    cancel: &AtomicBool,
) -> Result<PathBuf, BundleError> {
    let text = fs::read(requirements).map_err(io(requirements))?;
    let key = &key_of(&text, python);
    let venvs = paths.venvs();
    let venv = venvs.join(key);
    if is_ready(&venv) {
        return Ok(venv);
    }
    let _lock = StoreLock::wait(&venv, "the virtualenv for requirements.txt", cancel)?;
    if is_ready(&venv) {
        return Ok(venv); // built by the process we waited for
    }
    remove_published(&venv);
    for left in builds_of(&venvs, key) {
        let _ = fs::remove_dir_all(left);
    }
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let nonce = format!("{:x}{nanos:x}", std::process::id());
    let build = venvs.join(format!("{key}.build-{nonce}"));
    let made = build_in(&build, requirements, python, cancel).and_then(|()| publish(&venv, &build));
    if let Err(error) = made {
        let _ = fs::remove_dir_all(&build);
        return Err(error);
    }
    Ok(venv)
}

fn build_in(build: &Path, requirements: &Path, python: &str, cancel: &AtomicBool) -> Result<(), BundleError> {
    let hint = "install Python 3 with its venv module (Debian: apt-get install python3-venv), or set SCALING_PYTHON";
    run(
        std::process::Command::new(python).args(["-m", "venv"]).arg(build),
        &format!("{python} -m venv ({hint})"),
        cancel,
    )?;
    run(
        std::process::Command::new(build.join("bin/pip"))
            .args(["install", "--disable-pip-version-check", "--no-input", "-q", "-r"])
            .arg(requirements),
        "pip install -r requirements.txt",
        cancel,
    )?;
    fs::write(build.join(READY), "").map_err(io(build))
}

/// Points `venv` at the finished `build` in one rename.
fn publish(venv: &Path, build: &Path) -> Result<(), BundleError> {
    let name = build.file_name().unwrap_or_default();
    let link = build.with_extension("link");
    let _ = fs::remove_file(&link);
    std::os::unix::fs::symlink(name, &link).map_err(io(&link))?;
    fs::rename(&link, venv).map_err(io(venv))
}

/// Removes the virtualenvs no bundle in `used` needs and what killed builds left, skipping any that
/// a build holds now. Returns what it deleted, in words.
pub(crate) fn remove_unused(paths: &Paths, used: &[PathBuf]) -> Vec<String> {
    let venvs = paths.venvs();
    let mut keys: Vec<String> = fs::read_dir(&venvs)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().split('.').next().map(str::to_string))
        .filter(|key| !key.is_empty())
        .collect();
    keys.sort();
    keys.dedup();
    let mut removed = Vec::new();
    for key in keys {
        let venv = venvs.join(&key);
        let Some(_lock) = StoreLock::try_take(&venv) else { continue }; // being built right now
        for left in builds_of(&venvs, &key) {
            if fs::remove_dir_all(&left).is_ok() {
                removed.push(format!("half-made virtualenv {}", left.display()));
            }
        }
        let exists = fs::symlink_metadata(&venv).is_ok();
        if exists && !(is_ready(&venv) && used.contains(&venv)) {
            remove_published(&venv);
            removed.push(format!("virtualenv {}", venv.display()));
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `python3` that counts how often `-m venv` runs, in `count`.
    fn counting_python(dir: &Path) -> (String, PathBuf) {
        let count = dir.join("venv-count");
        let script = dir.join("python");
        fs::write(
            &script,
            format!("#!/bin/sh\n[ \"$2\" = venv ] && echo x >> '{}'\nexec python3 \"$@\"\n", count.display()),
        )
        .unwrap();
        fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        (script.display().to_string(), count)
    }

    #[test]
    fn builds_of_one_requirements_at_once_make_one_virtualenv_that_all_use() {
        let dir = tempfile::tempdir().unwrap();
        let (python, count) = counting_python(dir.path());
        let requirements = dir.path().join("requirements.txt");
        fs::write(&requirements, "# nothing to install\n").unwrap();
        let paths = Paths::at(dir.path().join("home")); // an empty home: a cold start
        let builders: Vec<_> = (0..4)
            .map(|_| {
                let (paths, requirements, python) = (paths.clone(), requirements.clone(), python.clone());
                std::thread::spawn(move || venv_for(&paths, &requirements, &python, &AtomicBool::new(false)))
            })
            .collect();
        let venvs: Vec<PathBuf> = builders.into_iter().map(|b| b.join().unwrap().unwrap()).collect();
        assert!(venvs.windows(2).all(|w| w[0] == w[1]), "one virtualenv for all: {venvs:?}");
        assert_eq!(fs::read_to_string(&count).unwrap().lines().count(), 1, "built once, reused by the others");
        let venv = &venvs[0];
        assert!(is_ready(venv) && venv.join("bin/python").exists());
        let status = std::process::Command::new(venv.join("bin/pip")).arg("--version").output().unwrap().status;
        assert!(status.success(), "its scripts work where it was published");
    }

    #[test]
    fn a_killed_build_is_replaced_and_unused_ones_are_removed_unless_built_now() {
        let dir = tempfile::tempdir().unwrap();
        let (python, _) = counting_python(dir.path());
        let requirements = dir.path().join("requirements.txt");
        fs::write(&requirements, "\n").unwrap();
        let paths = Paths::at(dir.path().join("home"));
        let venvs = paths.venvs();
        // What a build killed half-way leaves: its folder, with no link onto the key.
        let key = key_of(&fs::read(&requirements).unwrap(), &python);
        fs::create_dir_all(venvs.join(format!("{key}.build-dead/bin"))).unwrap();
        let venv = venv_for(&paths, &requirements, &python, &AtomicBool::new(false)).unwrap();
        assert!(is_ready(&venv));
        assert!(!venvs.join(format!("{key}.build-dead")).exists(), "the killed build's folder is gone");
        let held = StoreLock::try_take(&venv).unwrap();
        assert!(remove_unused(&paths, &[]).is_empty(), "one being built is left alone");
        drop(held);
        assert_eq!(remove_unused(&paths, std::slice::from_ref(&venv)), Vec::<String>::new(), "a used one stays");
        let removed = remove_unused(&paths, &[]);
        assert_eq!(removed.len(), 1, "{removed:?}");
        let left: Vec<_> = fs::read_dir(&venvs).unwrap().flatten().map(|e| e.path()).collect();
        assert!(left.is_empty(), "nothing is left: {left:?}");
    }
}
