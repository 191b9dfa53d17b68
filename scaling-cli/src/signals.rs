//! Ctrl-C and SIGTERM: a command interrupted while it holds the app's deploy lock gives it back
//! before it exits, so the next run does not find it held.

use std::future::Future;

use anyhow::Result;
use scaling_core::{Session, SessionResult};

/// Ctrl-C and SIGTERM, listened for from the start so that none is missed.
pub struct StopSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    /// Listens from now on.
    pub fn install() -> Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self { interrupt: signal(SignalKind::interrupt())?, terminate: signal(SignalKind::terminate())? })
    }

    /// Resolves at the next Ctrl-C or SIGTERM.
    pub async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

/// Runs `work` of `session`; interrupted first, the session abandons it (releasing its lock) and the
/// command fails saying that a re-run picks up.
pub async fn interruptible<T>(session: &dyn Session, work: impl Future<Output = SessionResult<T>>) -> Result<T> {
    let mut signals = StopSignals::install()?;
    let done = tokio::select! {
        done = work => done.map_err(anyhow::Error::from),
        _ = signals.recv() => Err(anyhow::anyhow!("interrupted; running the command again picks up where it stopped")),
    };
    if done.is_err() {
        session.abandon().await;
    }
    done
}
