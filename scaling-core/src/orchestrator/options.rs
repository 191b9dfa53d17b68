//! Knobs of the orchestrator: waits, timeouts, retries.

use std::time::Duration;

/// How long each wait may take before it fails with what is still pending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    /// Until the load balancer is active (AWS: usually 2–4 minutes).
    pub load_balancer_active: Duration,
    /// Until the certificate is issued once its records exist (ACM: usually minutes).
    pub certificate_issued: Duration,
    /// Until the service runs its tasks and they pass health checks.
    pub service_stable: Duration,
    /// Until a resource being deleted is no longer in use (network interfaces, listeners).
    pub dependency_drain: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            load_balancer_active: Duration::from_secs(15 * 60),
            certificate_issued: Duration::from_secs(30 * 60),
            service_stable: Duration::from_secs(20 * 60),
            dependency_drain: Duration::from_secs(15 * 60),
        }
    }
}

/// How retryable provider errors are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The delay after the first failure; it doubles after each further one.
    pub base_delay: Duration,
    /// The longest delay between two attempts.
    pub max_delay: Duration,
    /// How long an error of [`crate::ErrorKind::CatchingUp`] ("the provider has not caught up yet")
    /// keeps being retried, whatever `attempts` says: AWS's IAM, EC2 and ECS changes take seconds to
    /// minutes to be seen everywhere, and Terraform retries the same errors for 2 to 4 minutes.
    pub catching_up: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(20),
            catching_up: Duration::from_secs(180),
        }
    }
}

impl RetryPolicy {
    /// The delay after failed attempt `attempt` (1-based) of a call about `resource`: exponential,
    /// capped, with "equal jitter" (between half and all of it) drawn from the resource and the attempt,
    /// so that calls throttled together do not retry together, and a run can be replayed.
    pub fn delay(&self, resource: &str, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        let full = self.base_delay.saturating_mul(factor).min(self.max_delay);
        full / 2 + full.mul_f64(jitter(resource, attempt) / 2.0)
    }

    /// Whether a failed attempt `attempt` (1-based) with `error`, `elapsed` after the first, is tried
    /// again: a retryable error the client has not retried already, within `attempts` — or, while the
    /// provider catches up, within `catching_up`.
    pub fn retries(&self, error: &crate::ProviderError, attempt: u32, elapsed: Duration) -> bool {
        if !error.is_retryable() || error.retried_by_client {
            return false;
        }
        match error.kind {
            crate::ErrorKind::CatchingUp => elapsed + self.delay(&error.resource, attempt) <= self.catching_up,
            _ => attempt < self.attempts,
        }
    }
}

/// A number in [0, 1) spread evenly over resources and attempts (a fixed-key hash of both).
fn jitter(resource: &str, attempt: u32) -> f64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (resource, attempt).hash(&mut hasher);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Options of [`Orchestrator`](super::Orchestrator) operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployOptions {
    /// Wait for the load balancer and the service to be ready (`--wait`, the default).
    pub wait: bool,
    /// Time between two polls of a wait.
    pub poll_interval: Duration,
    /// Bounds of every wait.
    pub timeouts: Timeouts,
    /// Retries of retryable errors.
    pub retry: RetryPolicy,
    /// Break the app's deploy lock before taking it (`--break-lock`: a run that held it was killed).
    pub break_lock: bool,
}

impl Default for DeployOptions {
    fn default() -> Self {
        Self {
            wait: true,
            poll_interval: Duration::from_secs(5),
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            break_lock: false,
        }
    }
}

/// Options of `destroy`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DestroyOptions {
    /// Delete the repository and the images in it.
    pub delete_images: bool,
    /// Delete the DNS zone when this app created it (also `domain.delete_zone_on_destroy`).
    pub delete_zone: bool,
    /// Delete the app's logs (a log group on AWS); kept by default, for after-the-fact debugging.
    pub delete_logs: bool,
}
