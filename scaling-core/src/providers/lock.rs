//! The deploy lock: one `deploy`, `scale` or `destroy` of an app at a time, wherever it is run from.
//! The provider keeps it where every runner sees it (AWS: an SSM parameter created only if absent;
//! this machine: a file lock), and the orchestrator holds it for the whole operation, renewing it
//! while it runs. A lock left by a killed run expires, or is broken on purpose
//! (the `--break-lock` flag).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{unsupported, Owner};
use crate::ProviderResult;

/// How long a lock lasts unless renewed: a run killed while holding it blocks others this long at
/// most (or until `--break-lock`).
pub const LOCK_TTL: Duration = Duration::from_secs(15 * 60);

/// How often a running operation renews its lock.
pub const LOCK_RENEWAL: Duration = Duration::from_secs(5 * 60);

/// Who holds an app's lock, for what, since when and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    /// A token only this holder knows: releasing or renewing checks it, so a run never frees a lock
    /// that was broken and taken by another.
    pub token: String,
    /// What holds it: `deploy`, `scale` or `destroy`.
    pub operation: String,
    /// Who: `user@host (pid N)`.
    pub by: String,
    /// Since when, in seconds since the Unix epoch.
    pub since: u64,
    /// Until when, in seconds since the Unix epoch, unless renewed.
    pub expires: u64,
    /// The process that holds it, as this machine knows it, so that a run on the same machine can
    /// tell a holder that was killed from one still running. `None` in locks written before it was
    /// recorded (they only expire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<HolderProcess>,
}

/// A holding process, named so that another process can prove it gone: the kernel's boot and pid
/// namespace (a pid means something only within both) and the pid with its start time (so that a pid
/// reused by a new process is not taken for the holder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderProcess {
    /// `/proc/sys/kernel/random/boot_id` of the machine it runs on.
    pub boot: String,
    /// Its pid namespace, as `/proc/self/ns/pid` names it (`pid:[4026531836]`).
    pub pid_namespace: String,
    /// Its pid.
    pub pid: u32,
    /// When it started, in clock ticks since boot (field 22 of `/proc/<pid>/stat`).
    pub started: u64,
}

/// When process `pid` started (clock ticks since boot), if it runs.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

impl HolderProcess {
    /// This process, where `/proc` can name it.
    pub fn this() -> Option<Self> {
        let pid = std::process::id();
        Some(Self {
            boot: std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?.trim().to_string(),
            pid_namespace: std::fs::read_link("/proc/self/ns/pid").ok()?.to_string_lossy().into_owned(),
            pid,
            started: start_time(pid)?,
        })
    }

    /// True only when this process can prove the holder gone: same boot and pid namespace (so its
    /// pid would be visible here), and no process of that pid with that start time runs. A holder on
    /// another machine, in another container or before a reboot is never provably gone.
    pub fn provably_gone(&self) -> bool {
        let Some(here) = Self::this() else { return false };
        here.boot == self.boot && here.pid_namespace == self.pid_namespace && start_time(self.pid) != Some(self.started)
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl LockHolder {
    /// This process, about to run `operation`, for [`LOCK_TTL`].
    pub fn here(operation: &str) -> Self {
        let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "someone".into());
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "this machine".into());
        let since = now();
        let pid = std::process::id();
        static TAKEN: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let nth = TAKEN.fetch_add(1, Ordering::Relaxed);
        Self {
            token: format!("{pid:x}-{since:x}-{nanos:x}-{nth}"),
            operation: operation.to_string(),
            by: format!("{user}@{host} (pid {pid})"),
            since,
            expires: since + LOCK_TTL.as_secs(),
            process: HolderProcess::this(),
        }
    }

    /// True when the process that took it is provably gone (killed on this machine): a re-run may
    /// take the lock over at once instead of waiting for it to expire.
    pub fn holder_gone(&self) -> bool {
        self.process.as_ref().is_some_and(HolderProcess::provably_gone)
    }

    /// True once its time is up (a run that died holding it).
    pub fn expired(&self) -> bool {
        now() >= self.expires
    }

    /// The same holder, its expiry pushed [`LOCK_TTL`] from now.
    pub fn renewed(&self) -> Self {
        Self { expires: now() + LOCK_TTL.as_secs(), ..self.clone() }
    }

    /// `deploy by alice@laptop (pid 4242), for 3 min 12 s`.
    pub fn describe(&self) -> String {
        let held = now().saturating_sub(self.since);
        let held = match held {
            0..=59 => format!("{held} s"),
            60..=3599 => format!("{} min {} s", held / 60, held % 60),
            _ => format!("{} h {} min", held / 3600, (held % 3600) / 60),
        };
        format!("{} by {}, for {held}", self.operation, self.by)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holder_says_what_who_and_how_long_and_expires_after_its_ttl() {
        let holder = LockHolder::here("deploy");
        assert!(holder.describe().starts_with("deploy by "), "{}", holder.describe());
        assert!(holder.describe().contains(&format!("(pid {})", std::process::id())));
        assert!(!holder.expired());
        let stale = LockHolder { expires: holder.since.saturating_sub(1), ..holder.clone() };
        assert!(stale.expired());
        assert!(!stale.renewed().expired(), "renewing pushes the expiry");
        assert_ne!(LockHolder::here("deploy").token, holder.token, "every holder has its own token");
    }

    #[test]
    fn a_holder_is_gone_only_when_this_machine_proves_it() {
        let holder = LockHolder::here("deploy");
        let me = holder.process.clone().expect("this machine has /proc");
        assert!(!holder.holder_gone(), "this process runs");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let killed = LockHolder { process: Some(HolderProcess { pid, ..me.clone() }), ..holder.clone() };
        assert!(killed.holder_gone(), "an exited pid on this machine is gone");
        let reused =
            LockHolder { process: Some(HolderProcess { started: me.started + 1, ..me.clone() }), ..holder.clone() };
        assert!(reused.holder_gone(), "a live pid that started at another time is not the holder");
        let elsewhere = LockHolder {
            process: Some(HolderProcess { pid, boot: "another-machine".into(), ..me.clone() }),
            ..holder.clone()
        };
        assert!(!elsewhere.holder_gone(), "a holder on another machine is never taken for gone");
        let container = LockHolder {
            process: Some(HolderProcess { pid, pid_namespace: "pid:[1]".into(), ..me }),
            ..holder.clone()
        };
        assert!(!container.holder_gone(), "nor one in another pid namespace");
        assert!(!LockHolder { process: None, ..holder }.holder_gone(), "an old lock without a process only expires");
    }
}

/// The app's deploy lock, kept where every runner sees it. A provider without one leaves every
/// method to its default, [`Unsupported`](crate::ErrorKind::Unsupported): the orchestrator then runs
/// without a lock and says so.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Locks: Send + Sync {
    /// Takes `owner`'s deploy lock for `holder`, or renews it when `holder` (by its token) has it
    /// already; a lock another holds that has not expired is left alone and returned (`Some`), an
    /// expired one is taken over. Atomic: of two runs asking at once, exactly one gets it.
    async fn acquire_lock(&self, owner: &Owner, holder: &LockHolder) -> ProviderResult<Option<LockHolder>> {
        let _ = holder;
        Err(unsupported("acquire_lock", &owner.app, "a deploy lock"))
    }
    /// Releases the lock `holder` took; a lock already gone is no error. A provider that can check
    /// the token atomically leaves a lock broken and taken by another as it is; one that cannot (SSM
    /// has no conditional delete) relies on the orchestrator, which releases only a lock its renewals
    /// still found its own.
    async fn release_lock(&self, owner: &Owner, holder: &LockHolder) -> ProviderResult<()> {
        let _ = holder;
        Err(unsupported("release_lock", &owner.app, "a deploy lock"))
    }
    /// Removes the lock whoever holds it (`--break-lock`, after a run was killed); returns who held it.
    async fn break_lock(&self, owner: &Owner) -> ProviderResult<Option<LockHolder>> {
        Err(unsupported("break_lock", &owner.app, "a deploy lock"))
    }
    /// Who holds the lock now, if anyone (an expired lock is no one's); changes nothing.
    async fn lock_holder(&self, owner: &Owner) -> ProviderResult<Option<LockHolder>> {
        Err(unsupported("lock_holder", &owner.app, "a deploy lock"))
    }
}
