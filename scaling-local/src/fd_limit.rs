//! The serving process's open-file limit, and how it is shared out.
//!
//! A desktop's shell starts programs with a soft `RLIMIT_NOFILE` of 1,024 and a much higher hard
//! limit; at 1,024 descriptors "thousands of connections" fails at about a thousand. So, as Go's
//! runtime and HAProxy do, the process serving a deployment raises its soft limit to the hard one
//! once, at start ([`raise`]), and gives replicas back the limit it found ([`restore_in_child`]): a
//! Python app sees what it would have seen without us.
//!
//! The limit is then shared out ([`FdBudget`]): [`RESERVE`] descriptors are kept for what must never
//! fail for want of one (replica pipes and logs, health checks, the control socket, state files);
//! connections to replicas get a share of their own; clients get the rest. At the ceiling the balancer
//! stops accepting (the kernel's backlog holds new clients until a place frees) rather than failing its
//! own work.

use std::sync::OnceLock;

use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// Descriptors kept for the process's own work, never given to connections.
pub const RESERVE: u64 = 64;

/// The limits this process found and runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdLimits {
    /// The soft limit the process was started with (given back to replicas).
    pub found_soft: u64,
    /// The hard limit.
    pub hard: u64,
    /// The soft limit now, after raising it.
    pub soft: u64,
}

static LIMITS: OnceLock<FdLimits> = OnceLock::new();

/// The kernel's own ceiling on a process's descriptors (`fs.nr_open`), for a hard limit of "unlimited".
fn kernel_ceiling() -> u64 {
    std::fs::read_to_string("/proc/sys/fs/nr_open").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(1 << 20)
}

/// Raises the soft open-file limit to the hard one, once per process; the limits found and now.
pub fn raise() -> FdLimits {
    *LIMITS.get_or_init(|| {
        let Ok((found_soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
            return FdLimits { found_soft: 1024, hard: 1024, soft: 1024 };
        };
        let target = hard.min(kernel_ceiling());
        let soft = if target > found_soft && setrlimit(Resource::RLIMIT_NOFILE, target, hard).is_ok() {
            tracing::debug!(from = found_soft, to = target, "raised the open-file limit");
            target
        } else {
            found_soft
        };
        FdLimits { found_soft, hard, soft }
    })
}

/// Gives a child about to be started the limit this process was started with (from [`raise`]), so
/// replicas (and a detached serving process, which raises it again itself) start as they would
/// without it. Nothing when the limit was never raised.
pub fn restore_in_child(command: &mut std::process::Command) {
    if let Some(limits) = LIMITS.get().copied().filter(|l| l.soft != l.found_soft) {
        start_child_at(command, limits);
    }
}

/// Starts the child with `limits.found_soft` (and `limits.hard`).
#[allow(unsafe_code)]
fn start_child_at(command: &mut std::process::Command, limits: FdLimits) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before exec and only calls setrlimit(2), which is
    // async-signal-safe; it touches no memory shared with the parent (the limits are copied in).
    unsafe {
        command.pre_exec(move || {
            setrlimit(Resource::RLIMIT_NOFILE, limits.found_soft, limits.hard).map_err(std::io::Error::from)
        });
    }
}

/// How the descriptors above [`RESERVE`] are shared out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdBudget {
    /// Client connections accepted at once, at most.
    pub clients: usize,
    /// Connections to replicas open at once, at most.
    pub upstream: usize,
}

impl FdBudget {
    /// The budget of a process whose soft limit is `soft`: a quarter of what is above the reserve
    /// (16 to 2,048) to replicas, the rest to clients.
    pub fn of(soft: u64) -> Self {
        let above = usize::try_from(soft.saturating_sub(RESERVE)).unwrap_or(usize::MAX).max(32);
        let upstream = (above / 4).clamp(16, 2048);
        Self { clients: above - upstream, upstream }
    }

    /// The budget of this process, after [`raise`].
    pub fn here() -> Self {
        Self::of(raise().soft)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_keeps_a_reserve_and_gives_clients_most() {
        let low = FdBudget::of(256);
        assert_eq!(low.clients + low.upstream, 256 - RESERVE as usize);
        assert!(low.upstream >= 16 && low.clients > low.upstream, "{low:?}");
        let desktop = FdBudget::of(20_000);
        assert!(desktop.clients >= 10_000 && desktop.upstream == 2048, "{desktop:?}");
        assert!(FdBudget::of(10).clients > 0, "a tiny limit still serves");
    }

    #[test]
    fn raising_reaches_the_hard_limit_and_a_child_gets_the_found_one_back() {
        let limits = raise();
        assert_eq!(raise(), limits, "once per process");
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        assert_eq!(soft, limits.soft);
        assert_eq!(soft, hard.min(kernel_ceiling()));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let child_soft = runtime.block_on(async {
            let mut command = tokio::process::Command::new("/bin/sh");
            command.args(["-c", "ulimit -Sn"]);
            start_child_at(command.as_std_mut(), FdLimits { found_soft: 300, ..limits });
            String::from_utf8(command.output().await.unwrap().stdout).unwrap()
        });
        assert_eq!(child_soft.trim(), "300", "a replica sees the limit we were started with");
    }
}
