//! `deploy --detach`: the same deploy in a background process of its own, waited for until it serves.
//! The caller builds the command line (it knows its own binary and flags); this starts it in a
//! process group of its own with its output in the app's log, and watches for the ready file it
//! writes once it serves, its exit, or a deadline.

use std::path::Path;
use std::time::{Duration, Instant};

use scaling_core::DeployReport;

use crate::control::{already_running, holder};

/// How long a detached deploy may take to serve (a first build installs dependencies).
const READY_WITHIN: Duration = Duration::from_secs(900);

/// Why a detached deploy did not come up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DetachError {
    /// Another deploy of the app got there first (two were started at once).
    #[error("{0}")]
    AlreadyRunning(String),
    /// The background process ended before it served.
    #[error("the detached deploy exited ({status}):\n{tail}")]
    Exited {
        /// How it ended.
        status: std::process::ExitStatus,
        /// The last lines of its log.
        tail: String,
    },
    /// It did not serve in time (and was stopped).
    #[error("the detached deploy did not come up in 15 minutes; see {0}")]
    TimedOut(String),
    /// Its log, ready file or process could not be used.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The ready file is not a deploy report.
    #[error("the detached deploy wrote a ready file that is not a report: {0}")]
    BadReport(#[from] serde_json::Error),
}

/// Starts `command` for `app` in the background (stdin closed, output appended to `log`, a process
/// group of its own so the terminal's Ctrl-C does not reach it) and waits until it writes `ready`.
/// Returns its report and pid.
pub async fn start_detached(
    app: &str,
    mut command: std::process::Command,
    ready: &Path,
    log: &Path,
) -> Result<(DeployReport, u32), DetachError> {
    use std::os::unix::process::CommandExt;
    let _ = std::fs::remove_file(ready);
    let output = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
    // The serving process finds the limit the user's shell set, and raises it itself.
    crate::fd_limit::restore_in_child(&mut command);
    let mut child = command
        .stdin(std::process::Stdio::null())
        .stdout(output.try_clone()?)
        .stderr(output)
        .process_group(0)
        .spawn()?;
    let deadline = Instant::now() + READY_WITHIN;
    loop {
        if let Ok(text) = std::fs::read(ready) {
            let _ = std::fs::remove_file(ready);
            return Ok((serde_json::from_slice(&text)?, child.id()));
        }
        if let Some(status) = child.try_wait()? {
            // Another deploy of the app got there first: say so, not its log.
            if let Some((other, _)) = holder(app).filter(|(h, _)| h.pid != child.id()) {
                return Err(DetachError::AlreadyRunning(already_running(app, &other)));
            }
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            return Err(DetachError::Exited { status, tail: tail.into_iter().rev().collect::<Vec<_>>().join("\n") });
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err(DetachError::TimedOut(log.display().to_string()));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
