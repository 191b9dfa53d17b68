//! Running a build's child process (`python -m venv`, `pip install`, a configured build command) so
//! that it can be stopped at once: in a process group of its own, killed whole when the build is
//! cancelled (the deploy was interrupted) or this process dies, with its error output kept for the
//! message.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use crate::bundle::BundleError;

/// How often a running child is checked for an exit or a cancel.
const POLL: Duration = Duration::from_millis(50);

/// Runs `command` to its end, or until `cancel` is set (then its whole process group is killed and
/// the result is [`BundleError::Cancelled`]). A failure carries the last lines of its error output.
pub(crate) fn run(command: &mut Command, what: &str, cancel: &AtomicBool) -> Result<(), BundleError> {
    let mut errors = tempfile_for_stderr().map_err(|e| BundleError::Python(format!("{what}: cannot run: {e}")))?;
    let stderr = errors.try_clone().map_err(|e| BundleError::Python(format!("{what}: cannot run: {e}")))?;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .process_group(0)
        .spawn()
        .map_err(|e| BundleError::Python(format!("{what}: cannot run: {e}")))?;
    let group = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
    // Killed whole if this process dies mid-build, even by SIGKILL.
    let watcher = crate::group_watcher::GroupWatcher::start(group).map_err(|e| {
        let _ = child.wait();
        BundleError::Python(format!("{what}: cannot watch its processes: {e}"))
    })?;
    let status = loop {
        if cancel.load(Ordering::Acquire) {
            break Err(BundleError::Cancelled(what.to_string()));
        }
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) => std::thread::sleep(POLL),
            Err(e) => break Err(BundleError::Python(format!("{what}: {e}"))),
        }
    };
    // Whatever the child left running in its group goes with it (all of it, when cancelled).
    let _ = killpg(group, Signal::SIGKILL);
    let _ = child.wait();
    watcher.stop();
    let status = status?;
    if status.success() {
        return Ok(());
    }
    let mut text = String::new();
    let _ = std::io::Seek::rewind(&mut errors);
    let _ = errors.read_to_string(&mut text);
    let tail: Vec<&str> = text.lines().rev().take(15).collect();
    Err(BundleError::Python(format!(
        "{what} failed ({status}):\n{}",
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    )))
}

/// An anonymous file for a child's error output (unlinked at once: nothing is left behind).
fn tempfile_for_stderr() -> std::io::Result<std::fs::File> {
    let path = std::env::temp_dir().join(format!("scaling-build-{}-{}.err", std::process::id(), next()));
    let file = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}

fn next() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Sets its flag when dropped: hold one across the wait for a build, and a dropped (interrupted)
/// deploy cancels the build it started.
pub(crate) struct CancelOnDrop(pub std::sync::Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancelled_child_and_its_children_stop_at_once() {
        let cancel = std::sync::Arc::new(AtomicBool::new(false));
        let flag = cancel.clone();
        let canceller = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            flag.store(true, Ordering::Release);
        });
        let started = std::time::Instant::now();
        let mut command = Command::new("/bin/sh");
        command.args(["-c", "sleep 30 & sleep 30"]);
        let result = run(&mut command, "a slow build", &cancel);
        canceller.join().unwrap();
        assert!(matches!(result, Err(BundleError::Cancelled(_))), "{result:?}");
        assert!(started.elapsed() < Duration::from_secs(5), "stopped at once, not after the sleep");
    }

    #[test]
    fn a_failure_says_what_the_child_wrote() {
        let cancel = AtomicBool::new(false);
        let mut command = Command::new("/bin/sh");
        command.args(["-c", "echo first >&2; echo 'No matching distribution for dsah' >&2; exit 1"]);
        let error = run(&mut command, "pip install -r requirements.txt", &cancel).unwrap_err().to_string();
        assert!(error.starts_with("pip install -r requirements.txt failed"), "{error}");
        assert!(error.contains("No matching distribution for dsah"), "{error}");
    }
}
