//! The deploy lock of the contract on this machine: an exclusive `flock` on
//! `<state>/<app>.operation.lock`, held while one `deploy`, `scale` or `destroy` of the app runs, with
//! its [`LockHolder`] written inside. The kernel frees it when its process dies, however it dies, so a
//! killed run never leaves it held, and a lock a live process holds cannot be broken: that process
//! must be stopped. (The serving process's own lock is [`crate::DeployLock`].)

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::Mutex;

use nix::fcntl::{Flock, FlockArg};
use scaling_core::providers::LockHolder;
use scaling_core::{ErrorKind, ProviderError, ProviderResult};

use crate::cloud::lock;
use crate::paths::Paths;

/// The operation locks this process holds, by app.
#[derive(Default)]
pub(crate) struct OperationLocks {
    held: Mutex<HashMap<String, (Flock<File>, LockHolder)>>,
}

fn path(paths: &Paths, app: &str) -> PathBuf {
    paths.state().join(format!("{app}.operation.lock"))
}

fn failed(operation: &str, app: &str, error: impl std::fmt::Display) -> ProviderError {
    ProviderError::new(operation, app, ErrorKind::Other, format!("the lock file: {error}"))
}

fn open(paths: &Paths, app: &str) -> std::io::Result<File> {
    std::fs::create_dir_all(paths.state())?;
    std::fs::OpenOptions::new().create(true).truncate(false).read(true).write(true).mode(0o600).open(path(paths, app))
}

fn write(file: &mut Flock<File>, holder: &LockHolder) -> std::io::Result<()> {
    let text = serde_json::to_string(holder).map_err(std::io::Error::other)?;
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(text.as_bytes())
}

/// What the file says of a holder in another process (an older format or a torn write: its pid only).
fn read(mut file: File) -> LockHolder {
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    serde_json::from_str(&text).unwrap_or_else(|_| LockHolder {
        token: String::new(),
        operation: "an operation".into(),
        by: "another process".into(),
        since: 0,
        expires: u64::MAX,
        process: None,
    })
}

impl OperationLocks {
    /// Takes (or, for the same token, renews) `app`'s lock; who holds it when another does.
    pub fn acquire(&self, paths: &Paths, app: &str, holder: &LockHolder) -> ProviderResult<Option<LockHolder>> {
        let op = "acquire_lock";
        let mut held = lock(&self.held);
        if let Some((file, current)) = held.get_mut(app) {
            if current.token != holder.token {
                return Ok(Some(current.clone()));
            }
            write(file, holder).map_err(|e| failed(op, app, e))?;
            *current = holder.clone();
            return Ok(None);
        }
        let file = open(paths, app).map_err(|e| failed(op, app, e))?;
        let mut locked = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(locked) => locked,
            Err((file, _)) => return Ok(Some(read(file))),
        };
        write(&mut locked, holder).map_err(|e| failed(op, app, e))?;
        held.insert(app.to_string(), (locked, holder.clone()));
        Ok(None)
    }

    /// Releases `app`'s lock when `holder` has it.
    pub fn release(&self, app: &str, holder: &LockHolder) {
        let mut held = lock(&self.held);
        if held.get(app).is_some_and(|(_, current)| current.token == holder.token) {
            if let Some((file, _)) = held.remove(app) {
                let _ = file.set_len(0);
            }
        }
    }

    /// Who holds `app`'s lock: this process, another live one, or no one.
    pub fn holder(&self, paths: &Paths, app: &str) -> ProviderResult<Option<LockHolder>> {
        if let Some((_, holder)) = lock(&self.held).get(app) {
            return Ok(Some(holder.clone()));
        }
        let file = match open(paths, app) {
            Ok(file) => file,
            Err(e) => return Err(failed("lock_holder", app, e)),
        };
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(_free) => Ok(None),
            Err((file, _)) => Ok(Some(read(file))),
        }
    }

    /// Breaks `app`'s lock: this process's own is released; one a live process holds cannot be.
    pub fn break_lock(&self, paths: &Paths, app: &str) -> ProviderResult<Option<LockHolder>> {
        if let Some((_, holder)) = lock(&self.held).remove(app) {
            return Ok(Some(holder));
        }
        let file = open(paths, app).map_err(|e| failed("break_lock", app, e))?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(_free) => Ok(None),
            Err((file, _)) => {
                let holder = read(file);
                Err(ProviderError::new(
                    "break_lock",
                    app,
                    ErrorKind::Conflict,
                    format!(
                        "{} is running on this machine: a live process's lock cannot be broken; stop it, or wait",
                        holder.describe()
                    ),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_operation_at_a_time_the_second_learns_who_and_the_first_renews_and_releases() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::at(dir.path());
        let (here, elsewhere) = (OperationLocks::default(), OperationLocks::default());
        let first = LockHolder::here("deploy");
        assert_eq!(here.acquire(&paths, "app", &first).unwrap(), None);
        assert_eq!(here.acquire(&paths, "app", &first.renewed()).unwrap(), None, "the holder renews");
        let second = LockHolder::here("scale");
        let refused = elsewhere.acquire(&paths, "app", &second).unwrap().expect("held");
        assert_eq!((refused.token.as_str(), refused.operation.as_str()), (first.token.as_str(), "deploy"));
        assert_eq!(here.acquire(&paths, "app", &second).unwrap().map(|h| h.token), Some(first.token.clone()));
        let error = elsewhere.break_lock(&paths, "app").unwrap_err();
        assert_eq!(error.kind, ErrorKind::Conflict, "a live lock is not broken: {error}");
        here.release("app", &second);
        assert!(elsewhere.acquire(&paths, "app", &second).unwrap().is_some(), "another's token releases nothing");
        here.release("app", &first);
        assert_eq!(elsewhere.acquire(&paths, "app", &second).unwrap(), None, "free once released");
        assert_eq!(elsewhere.break_lock(&paths, "app").unwrap().map(|h| h.token), Some(second.token));
    }
}
