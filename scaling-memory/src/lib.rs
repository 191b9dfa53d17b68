//! # scaling-memory
//!
//! [`InMemoryCloud`]: a complete, faithful implementation of all five provider traits in memory, for
//! tests — the orchestrator's and users' own. It keeps ownership tags, logs every call (operation,
//! resource, mutating or not), takes configurable time per operation on tokio's clock (so
//! `tokio::time::pause` makes minutes pass instantly), and injects faults.
//!
//! It enforces what real clouds enforce where the orchestrator's correctness depends on it: a service
//! attaches only to a target group some listener forwards to; a security group, target group or
//! certificate still in use cannot be deleted (retryable); a certificate is issued only once its
//! validation records exist in a delegated zone; a record of another owner is never overwritten.

//!
//! It is a provider crate like the others, built against `scaling-core`'s public API only.
//!
//! ```
//! use scaling_core::{ImageSpec, Orchestrator, Providers, RecordedEvents, Spec};
//! use scaling_memory::InMemoryCloud;
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() {
//!     let image = "registry.example/dashmath@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
//!     let spec = Spec::new("dashmath", 8050, ImageSpec::prebuilt(image)).with_domain("dashmath.example.com").with_desired_count(3);
//!
//!     let cloud = InMemoryCloud::new().shared();
//!     let orchestrator = Orchestrator::new(Providers::from_cloud(cloud.clone()));
//!
//!     let source = orchestrator.prepare_image(&spec, None).await.unwrap();
//!     let plan = orchestrator.plan(&spec, source).await.unwrap();
//!     let events = RecordedEvents::new();
//!     let report = orchestrator.apply(&plan, &events).await.unwrap();
//!     assert_eq!(report.urls, ["https://dashmath.example.com", "https://www.dashmath.example.com"]);
//!
//!     // A second deploy changes nothing.
//!     cloud.clear_calls();
//!     orchestrator.deploy(&spec, None, &events).await.unwrap();
//!     assert!(cloud.mutating_calls().is_empty());
//! }
//! ```

mod autoscaling;
mod certificate;
mod cluster;
mod dns;
mod faults;
mod inventory;
mod load_balancer;
mod registry;
mod state;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use scaling_core::providers::Owner;
use scaling_core::{ErrorKind, ProviderError, ProviderResult};

use faults::ArmedFault;
pub use faults::{Fault, FaultTarget, FaultTiming};
use state::State;

/// How long operations take, on tokio's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency {
    /// Every API call.
    pub api_call: Duration,
    /// From load balancer creation until it is active.
    pub load_balancer_active: Duration,
    /// From the moment every validation record exists until the certificate is issued.
    pub certificate_issued: Duration,
    /// From a service change until it is stable.
    pub service_stable: Duration,
}

impl Latency {
    /// Everything instant.
    pub const NONE: Latency = Latency {
        api_call: Duration::ZERO,
        load_balancer_active: Duration::ZERO,
        certificate_issued: Duration::ZERO,
        service_stable: Duration::ZERO,
    };

    /// Figures like AWS's: API call 100 ms, load balancer active 180 s, certificate issued 120 s after its
    /// records exist, service stable 150 s.
    pub const REALISTIC: Latency = Latency {
        api_call: Duration::from_millis(100),
        load_balancer_active: Duration::from_secs(180),
        certificate_issued: Duration::from_secs(120),
        service_stable: Duration::from_secs(150),
    };
}

impl Latency {
    /// The least time `step` takes on a fresh deploy with these latencies: its one mutating call, plus
    /// for wait steps the wait and the call that sees it end (the certificate also checks delegation).
    /// With [`Plan::critical_path`](scaling_core::Plan::critical_path) this gives the fastest possible deploy.
    pub fn step_cost(&self, step: scaling_core::StepId) -> Duration {
        use scaling_core::StepId;
        match step {
            StepId::LoadBalancerActive => self.load_balancer_active + self.api_call,
            StepId::CertificateIssued => self.certificate_issued + self.api_call * 2,
            StepId::ServiceStable => self.service_stable + self.api_call,
            _ => self.api_call,
        }
    }
}

impl Default for Latency {
    fn default() -> Self {
        Self::NONE
    }
}

/// One logged call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Call {
    /// The trait method, e.g. `ensure_load_balancer`.
    pub operation: &'static str,
    /// The resource it was about.
    pub resource: String,
    /// True when the call may change state.
    pub mutating: bool,
    /// True when the call returned an error.
    pub failed: bool,
    /// When it started, since the cloud was made (tokio's clock).
    pub at: Duration,
}

/// The in-memory cloud. Cheap to share: wrap it in an `Arc` and hand it to
/// [`Providers::from_cloud`](scaling_core::Providers::from_cloud).
///
/// ```
/// use std::sync::Arc;
/// use scaling_memory::{Fault, InMemoryCloud};
///
/// let cloud = Arc::new(InMemoryCloud::new());
/// cloud.inject(Fault::operation("ensure_load_balancer").retryable());
/// assert!(cloud.calls().is_empty());
/// ```
pub struct InMemoryCloud {
    state: Mutex<State>,
    latency: Mutex<Latency>,
    log: Mutex<Vec<Call>>,
    faults: Mutex<Vec<ArmedFault>>,
    created: Instant,
}

impl Default for InMemoryCloud {
    fn default() -> Self {
        Self::new()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl InMemoryCloud {
    /// An empty cloud where everything is instant.
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State::default()),
            latency: Mutex::new(Latency::NONE),
            log: Mutex::new(Vec::new()),
            faults: Mutex::new(Vec::new()),
            created: Instant::now(),
        }
    }

    /// An empty cloud with these latencies.
    pub fn with_latency(latency: Latency) -> Self {
        let cloud = Self::new();
        *lock(&cloud.latency) = latency;
        cloud
    }

    /// The same cloud behaving as a provider of `capabilities`: without firewalls it refuses
    /// security groups on load balancers and services, with self-managed certificates it issues them
    /// with no validation records.
    pub fn with_capabilities(self, capabilities: scaling_core::providers::Capabilities) -> Self {
        lock(&self.state).capabilities = state::CloudUnlessSet(capabilities);
        self
    }

    /// Shared, ready for [`Providers::from_cloud`](scaling_core::Providers::from_cloud).
    pub fn shared(self) -> Arc<Self> {
        Arc::new(self)
    }

    /// Changes the latencies from now on.
    pub fn set_latency(&self, latency: Latency) {
        *lock(&self.latency) = latency;
    }

    /// Adds a fault; its call counts start now.
    pub fn inject(&self, fault: Fault) {
        lock(&self.faults).push(ArmedFault::new(fault));
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        lock(&self.faults).clear();
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        lock(&self.log).clone()
    }

    /// Every mutating call so far.
    pub fn mutating_calls(&self) -> Vec<Call> {
        lock(&self.log).iter().filter(|c| c.mutating).cloned().collect()
    }

    /// Forgets the call log.
    pub fn clear_calls(&self) {
        lock(&self.log).clear();
    }

    /// Makes the public DNS delegate (or not) the zone named `domain` to its name servers.
    pub fn set_delegated(&self, domain: &str, delegated: bool) {
        let mut state = lock(&self.state);
        for zone in state.zones.values_mut().filter(|z| z.info.name == domain) {
            zone.delegated = delegated;
        }
    }

    /// Appends a line replica `replica` of service `service` wrote now (read back by `read_logs`).
    pub fn write_log(&self, service: &str, replica: &str, text: &str) {
        let line = scaling_core::providers::LogLine {
            at: Some(scaling_core::providers::epoch_millis(std::time::SystemTime::now())),
            replica: replica.to_string(),
            text: text.to_string(),
        };
        lock(&self.state).logs.entry(service.to_string()).or_default().push(line);
    }

    /// Makes every rollout started from now on fail with `reason` once it would have finished, its
    /// replicas stopped, as ECS's circuit breaker fails a first rollout whose tasks cannot start (an IAM
    /// role not usable yet, a secret missing); `None` lets rollouts succeed again (the cause was fixed).
    /// A rollout that failed stays failed until a new one starts.
    pub fn fail_rollouts(&self, reason: Option<&str>) {
        lock(&self.state).failing_rollouts = reason.map(str::to_string);
    }

    /// Marks every certificate of `domain` as due for renewal, `why` in words, as an authority that
    /// does not renew by itself (ACME) reports it once two thirds of its life have passed.
    pub fn due_for_renewal(&self, domain: &str, why: &str) {
        for cert in lock(&self.state).certificates.values_mut().filter(|c| c.info.spec.domain == domain) {
            cert.info.renewal_due = Some(why.to_string());
        }
    }

    /// Makes builds report this platform, whatever was asked (to test the mismatch check).
    pub fn set_build_platform(&self, platform: Option<scaling_core::Platform>) {
        lock(&self.state).build_platform = platform;
    }

    /// One line per resource, ids replaced by names, sorted: equal for equal clouds however the ids fell.
    pub fn inventory(&self) -> Vec<String> {
        inventory::lines(&lock(&self.state))
    }

    /// The inventory lines of resources `app` owns.
    pub fn owned_by(&self, app: &str) -> Vec<String> {
        let marker = format!("owner={app}");
        self.inventory().into_iter().filter(|line| line.split_whitespace().any(|w| w == marker)).collect()
    }

    /// Runs one call: waits the API latency, logs it, applies faults, and runs `effect` on the state.
    async fn call<T>(
        &self,
        operation: &'static str,
        resource: &str,
        mutating: bool,
        effect: impl FnOnce(&mut State, Instant) -> ProviderResult<T>,
    ) -> ProviderResult<T> {
        let at = Instant::now().duration_since(self.created);
        let latency = lock(&self.latency).api_call;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let fault = lock(&self.faults).iter_mut().find_map(|f| f.hits(operation, mutating).then(|| f.fault.clone()));
        let result = match &fault {
            Some(f) if f.timing == FaultTiming::BeforeEffect => Err(f.error(operation, resource)),
            _ => {
                let latency = *lock(&self.latency);
                let mut state = lock(&self.state);
                state.latency = latency;
                effect(&mut state, Instant::now()).and_then(|value| match &fault {
                    Some(f) => Err(f.error(operation, resource)),
                    None => Ok(value),
                })
            }
        };
        lock(&self.log).push(Call { operation, resource: resource.to_string(), mutating, failed: result.is_err(), at });
        result
    }
}

/// Errors the in-memory cloud reports, worded like a cloud's.
pub(crate) fn not_owned(operation: &str, resource: &str, owner: &Owner) -> ProviderError {
    ProviderError::new(
        operation,
        resource,
        ErrorKind::NotOwned,
        format!("{resource} exists but is not tagged as owned by {}", owner.app),
    )
}

pub(crate) fn not_found(operation: &str, resource: &str) -> ProviderError {
    ProviderError::new(operation, resource, ErrorKind::NotFound, format!("{resource} does not exist"))
}

impl scaling_core::providers::Capable for InMemoryCloud {
    fn capabilities(&self) -> scaling_core::providers::Capabilities {
        *lock(&self.state).capabilities
    }
}
