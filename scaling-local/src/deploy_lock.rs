//! [`DeployLock`]: at most one process deploys or serves an app on this machine. An exclusive
//! `flock` on `<state>/<app>.lock`, held for the life of the process that deploys and then serves the
//! app (the kernel releases it when that process dies, however it dies); the file says who holds it
//! and since when. Two deploys racing each other: exactly one gets it.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use nix::fcntl::{Flock, FlockArg};

use crate::paths::Paths;

/// Who holds an app's lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The holding process.
    pub pid: u32,
    /// When it took the lock (seconds since the Unix epoch).
    pub since: u64,
}

/// The lock, held until dropped.
#[derive(Debug)]
pub struct DeployLock {
    _file: Flock<File>,
}

/// Why the lock could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// Another process holds it.
    #[error("another process (pid {}) has deployed this app here since {} s after the epoch", .0.pid, .0.since)]
    Held(Holder),
    /// The lock file could not be opened or written.
    #[error("cannot use the lock file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl DeployLock {
    /// The lock file of `app`.
    pub fn path(paths: &Paths, app: &str) -> PathBuf {
        paths.state().join(format!("{app}.lock"))
    }

    /// Takes `app`'s lock for this process, or says who holds it.
    pub fn acquire(paths: &Paths, app: &str) -> Result<Self, LockError> {
        let path = Self::path(paths, app);
        let io = |source| LockError::Io { path: path.clone(), source };
        std::fs::create_dir_all(paths.state()).map_err(io)?;
        let file = open(&path).map_err(io)?;
        let mut locked = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(locked) => locked,
            Err((file, _)) => return Err(LockError::Held(read_holder(file).unwrap_or(Holder { pid: 0, since: 0 }))),
        };
        let stamp = format!("{} {}\n", std::process::id(), crate::run_record::now());
        locked
            .set_len(0)
            .and_then(|()| locked.rewind())
            .and_then(|()| locked.write_all(stamp.as_bytes()))
            .map_err(io)?;
        Ok(Self { _file: locked })
    }

    /// Who holds `app`'s lock, if anyone (a process that died holds nothing).
    pub fn holder(paths: &Paths, app: &str) -> Option<Holder> {
        let file = open(&Self::path(paths, app)).ok()?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(_free) => None,
            Err((file, _)) => read_holder(file),
        }
    }
}

fn open(path: &PathBuf) -> std::io::Result<File> {
    std::fs::OpenOptions::new().create(true).truncate(false).read(true).write(true).mode(0o600).open(path)
}

fn read_holder(mut file: File) -> Option<Holder> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    let mut fields = text.split_whitespace();
    Some(Holder { pid: fields.next()?.parse().ok()?, since: fields.next()?.parse().ok()? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_the_second_learns_who() {
        let paths = Paths::at(std::env::temp_dir().join(format!("scaling-lock-{}", std::process::id())));
        let first = DeployLock::acquire(&paths, "demo").expect("the first takes it");
        match DeployLock::acquire(&paths, "demo") {
            Err(LockError::Held(holder)) => assert_eq!(holder.pid, std::process::id()),
            other => panic!("a second holder: {other:?}"),
        }
        assert_eq!(DeployLock::holder(&paths, "demo").map(|h| h.pid), Some(std::process::id()));
        drop(first);
        assert_eq!(DeployLock::holder(&paths, "demo"), None, "released with its holder");
        let _again = DeployLock::acquire(&paths, "demo").expect("free again");
        let _ = std::fs::remove_dir_all(paths.root());
    }

    #[test]
    fn racing_threads_get_it_exactly_once() {
        let paths = Paths::at(std::env::temp_dir().join(format!("scaling-race-{}", std::process::id())));
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (paths, barrier) = (paths.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    DeployLock::acquire(&paths, "race").ok()
                })
            })
            .collect();
        let won: Vec<DeployLock> = handles.into_iter().filter_map(|h| h.join().unwrap()).collect();
        assert_eq!(won.len(), 1, "exactly one of eight racing deploys wins");
        let _ = std::fs::remove_dir_all(paths.root());
    }
}
