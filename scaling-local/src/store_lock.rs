//! Locks on entries of the shared stores (bundles, virtualenvs): several processes may build the same
//! entry at once — `scaling deploy` and `scaling --env staging deploy` of one app on a new machine share
//! one virtualenv — so whoever builds an entry holds its lock, and the others wait for it and then
//! reuse what it built. An exclusive `flock` on a file under [`Paths::locks`] (so the stores hold only
//! their entries): the kernel frees it when its holder dies, however it dies, so a killed build never
//! blocks the next one. Lock files are never deleted: a build waiting on a deleted one and a new build
//! on its successor would both hold "the" lock.

use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::fcntl::{Flock, FlockArg};

use crate::bundle::BundleError;

/// How often a waiting build looks again (and checks whether it was stopped).
const POLL: Duration = Duration::from_millis(100);

/// A held lock on one store entry, released when dropped.
#[derive(Debug)]
pub(crate) struct StoreLock {
    _file: Flock<File>,
}

/// The lock file of the store entry `entry` (a bundle or a virtualenv folder): `<locks>/<store>-<name>.lock`.
fn lock_path(entry: &Path) -> PathBuf {
    let name = |p: Option<&Path>| p.and_then(Path::file_name).unwrap_or_default().to_string_lossy().into_owned();
    let store = entry.parent();
    let locks = store.and_then(Path::parent).map_or_else(|| PathBuf::from("locks"), |root| root.join("locks"));
    locks.join(format!("{}-{}.lock", name(store), name(Some(entry))))
}

fn open(entry: &Path) -> Result<File, BundleError> {
    let path = lock_path(entry);
    let io = |source| BundleError::Io { path: path.clone(), source };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::OpenOptions::new().create(true).truncate(false).write(true).mode(0o600).open(&path).map_err(io)
}

impl StoreLock {
    /// Takes `entry`'s lock, waiting while another process (or thread) builds it; gives up with
    /// [`BundleError::Cancelled`] once `cancel` is set.
    pub(crate) fn wait(entry: &Path, what: &str, cancel: &AtomicBool) -> Result<Self, BundleError> {
        let mut file = open(entry)?;
        let mut said = false;
        loop {
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(locked) => return Ok(Self { _file: locked }),
                Err((back, _)) => file = back,
            }
            if cancel.load(Ordering::Acquire) {
                return Err(BundleError::Cancelled(format!("waiting for another build of {what}")));
            }
            if !said {
                tracing::info!("another process is building {what}; waiting for it");
                said = true;
            }
            std::thread::sleep(POLL);
        }
    }

    /// Takes `entry`'s lock if no one holds it (nobody is building the entry now).
    pub(crate) fn try_take(entry: &Path) -> Option<Self> {
        let file = open(entry).ok()?;
        Flock::lock(file, FlockArg::LockExclusiveNonblock).ok().map(|locked| Self { _file: locked })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_taker_waits_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let entry = dir.path().join("store/entry");
        let never = AtomicBool::new(false);
        let first = StoreLock::wait(&entry, "the entry", &never).unwrap();
        assert!(StoreLock::try_take(&entry).is_none(), "held by the first");
        let waiter = {
            let entry = entry.clone();
            std::thread::spawn(move || StoreLock::wait(&entry, "the entry", &AtomicBool::new(false)).map(|_| ()))
        };
        std::thread::sleep(Duration::from_millis(300));
        assert!(!waiter.is_finished(), "the second waits while the first holds it");
        drop(first);
        waiter.join().unwrap().unwrap();
        assert!(StoreLock::try_take(&entry).is_some(), "free once both let go");
        assert!(dir.path().join("locks/store-entry.lock").exists() && !dir.path().join("store").exists());
    }

    #[test]
    fn a_stopped_wait_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let entry = dir.path().join("store/entry");
        let _held = StoreLock::wait(&entry, "the entry", &AtomicBool::new(false)).unwrap();
        let error = StoreLock::wait(&entry, "the entry", &AtomicBool::new(true)).unwrap_err();
        assert!(matches!(error, BundleError::Cancelled(_)), "{error}");
    }
}
