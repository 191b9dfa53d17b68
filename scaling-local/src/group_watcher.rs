//! What this process starts never outlives it, however it ends. A child can die with it through
//! `PR_SET_PDEATHSIG`, but that setting is per process: the child's own children (a shell-form
//! `CMD`'s server, gunicorn's workers, pip's compilers) do not inherit it and would keep running,
//! unsupervised, holding ports and files. So each process group this process starts (a replica, a
//! build step) also has a watcher: a `sh` outside the group, blocked reading a pipe whose only writer
//! is this process. When this process ends, even by `SIGKILL`, the kernel closes the pipe, and the
//! watcher kills the whole group at once.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

/// Kills the child if this process dies first (Linux `PR_SET_PDEATHSIG`).
#[allow(unsafe_code)]
pub(crate) fn die_with_parent(command: &mut tokio::process::Command) {
    // SAFETY: the closure runs in the forked child before exec and only calls prctl(2), which is
    // async-signal-safe; it touches no memory shared with the parent.
    unsafe {
        command.pre_exec(|| nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from));
    }
}

/// The watcher of one process group (see the module's documentation). Dropping it without
/// [`GroupWatcher::stop`] closes its pipe: the group is killed.
pub(crate) struct GroupWatcher {
    watcher: Child,
}

impl GroupWatcher {
    /// Watches process group `group` until [`GroupWatcher::stop`], or until this process ends. A group
    /// that cannot be watched is killed at once: it must not run unwatched.
    pub fn start(group: Pid) -> std::io::Result<Self> {
        Self::spawn(group).inspect_err(|_| {
            let _ = nix::sys::signal::killpg(group, Signal::SIGKILL);
        })
    }

    fn spawn(group: Pid) -> std::io::Result<Self> {
        // `kill -9 -<group>`: dash's `kill` takes neither `--` nor `-s` before a negative id.
        let watcher = Command::new("/bin/sh")
            .args(["-c", r#"read _; kill -9 "-$1" 2>/dev/null"#, "scaling-group-watcher"])
            .arg(group.as_raw().to_string())
            // The write end stays here (and, close-on-exec, in no other child): its closing is the signal.
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own group: neither the watched one nor the terminal's, whose Ctrl-C is this process's
            // to handle (by draining the replicas, by cancelling the build).
            .process_group(0)
            .spawn()?;
        Ok(Self { watcher })
    }

    /// The group ended under supervision: the watcher goes before its pipe closes, so that it never
    /// signals a group id the system has handed out again. A killed `sh` is reaped at once.
    pub fn stop(mut self) {
        let _ = self.watcher.kill();
        let _ = self.watcher.wait();
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::CommandExt;
    use std::process::Command;
    use std::time::{Duration, Instant};

    use nix::unistd::Pid;

    use super::GroupWatcher;

    /// True while `pid` runs (a zombie counts as gone).
    fn running(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|stat| !stat[stat.rfind(')').map_or(0, |i| i + 1)..].trim_start().starts_with('Z'))
    }

    /// A group of a shell and its child `sleep`, which would outlive the shell.
    fn group_of_two() -> (std::process::Child, Pid) {
        let leader = Command::new("/bin/sh").args(["-c", "sleep 300 & wait"]).process_group(0).spawn().unwrap();
        let group = Pid::from_raw(i32::try_from(leader.id()).unwrap());
        (leader, group)
    }

    fn members(group: Pid) -> Vec<i32> {
        crate::procfs::processes_in(&[group.as_raw()])
            .into_iter()
            .filter(|pid| running(u32::try_from(*pid).unwrap_or(0)))
            .collect()
    }

    #[test]
    fn a_dropped_watcher_kills_the_whole_group_and_a_stopped_one_leaves_it_alone() {
        let (mut leader, group) = group_of_two();
        let stopped = GroupWatcher::start(group).unwrap();
        stopped.stop();
        std::thread::sleep(Duration::from_millis(300));
        assert!(members(group).len() >= 2, "a stopped watcher signals nothing: {:?}", members(group));

        // What this process's death does: the pipe closes, and the group goes, the shell's child too.
        drop(GroupWatcher::start(group).unwrap());
        let deadline = Instant::now() + Duration::from_secs(10);
        while !members(group).is_empty() {
            assert!(Instant::now() < deadline, "the group is killed: {:?}", members(group));
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = leader.wait();
    }
}
