//! The deploy lock: one `deploy`, `scale` or `destroy` of an app at a time, wherever it is run from.
//! The provider keeps it where every runner sees it (AWS: an SSM parameter created only if absent;
//! this machine: a file lock), and the orchestrator holds it for the whole operation, renewing it
//! while it runs. A lock left by a killed run expires, or is broken on purpose
//! (the `--break-lock` flag).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

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
        }
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
}
