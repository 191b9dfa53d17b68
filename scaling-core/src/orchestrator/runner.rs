//! What every operation shares: emitting events, retrying retryable calls, bounded polling waits.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::{DeployOptions, StepId};
use crate::events::{Event, EventKind, Progress};
use crate::{Error, ProviderResult};

/// One poll of a wait: ready with a value, or still pending with what is pending.
pub(crate) enum Poll<T> {
    Ready(T),
    Pending(String),
}

/// Emits events and runs provider calls with retries and bounded waits.
pub(crate) struct Runner<'a> {
    pub options: &'a DeployOptions,
    pub progress: &'a dyn Progress,
    pub started: Instant,
}

/// The first pause of a wait; each next one doubles, up to the poll interval.
const FIRST_POLL: Duration = Duration::from_millis(100);

impl<'a> Runner<'a> {
    pub fn new(options: &'a DeployOptions, progress: &'a dyn Progress) -> Self {
        Self { options, progress, started: Instant::now() }
    }

    pub fn emit(&self, step: StepId, resource: &str, kind: EventKind) {
        self.progress.event(&Event { step, resource: resource.to_string(), kind, elapsed: self.started.elapsed() });
    }

    /// Calls `call` until it succeeds, fails permanently, or the retry policy runs out.
    pub async fn call<T, F, Fut>(&self, step: StepId, resource: &str, call: F) -> Result<T, Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = ProviderResult<T>>,
    {
        let policy = &self.options.retry;
        let mut attempt = 1;
        let started = tokio::time::Instant::now();
        loop {
            match call().await {
                Ok(value) => return Ok(value),
                Err(error) if policy.retries(&error, attempt, started.elapsed()) => {
                    self.emit(step, resource, EventKind::Retrying { attempt, error: error.to_string() });
                    tokio::time::sleep(policy.delay(resource, attempt)).await;
                    attempt += 1;
                }
                Err(source) => return Err(Error::Provider { step, source }),
            }
        }
    }

    /// Polls `poll` until it is ready, or fails with what is pending after `timeout`: soon at first
    /// (what settles in a second is seen in a second, not at the next 5 s tick), then less and less
    /// often, up to the poll interval.
    pub async fn wait<T, F, Fut>(&self, step: StepId, resource: &str, timeout: Duration, poll: F) -> Result<T, Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Poll<T>, Error>>,
    {
        self.wait_woken(step, resource, timeout, poll, tokio::time::sleep).await
    }

    /// [`Self::wait`], with each pause between polls ended early when `pause(longest)` resolves
    /// sooner (a provider that hears of changes wakes the wait at once).
    pub async fn wait_woken<T, F, Fut, W, WFut>(
        &self,
        step: StepId,
        resource: &str,
        timeout: Duration,
        poll: F,
        pause: W,
    ) -> Result<T, Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Poll<T>, Error>>,
        W: Fn(Duration) -> WFut,
        WFut: Future<Output = ()>,
    {
        let deadline = Instant::now() + timeout;
        let mut last = String::new();
        let mut longest = FIRST_POLL.min(self.options.poll_interval);
        loop {
            match poll().await? {
                Poll::Ready(value) => return Ok(value),
                Poll::Pending(detail) => {
                    if detail != last {
                        self.emit(step, resource, EventKind::Waiting { detail: detail.clone() });
                        last = detail;
                    }
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::Timeout { step, waited: timeout, pending: last });
            }
            pause(longest.min(deadline - now)).await;
            longest = (longest * 2).min(self.options.poll_interval);
        }
    }
}
