//! Shared helpers for the integration tests: specs, options, an HTTPS client.
#![allow(clippy::expect_used)]

pub mod https;

use std::sync::Arc;
use std::time::Duration;

use scaling_core::{DeployOptions, Event, EventKind, ImageSpec, Orchestrator, Providers, RetryPolicy, Spec, StepId};
use scaling_memory::InMemoryCloud;

/// A digest made of one repeated hex digit.
pub fn digest(n: u8) -> String {
    let c = char::from_digit(u32::from(n % 16), 16).unwrap_or('0');
    format!("sha256:{}", c.to_string().repeat(64))
}

/// A prebuilt, digest-pinned image reference.
pub fn image(n: u8) -> String {
    format!("registry.example/dashmath@{}", digest(n))
}

/// The seed's deployment: dashmath, 3 replicas, the apex and `www` over HTTPS.
pub fn seed_spec() -> Spec {
    Spec::new("dashmath", 8050, ImageSpec::prebuilt(image(1))).with_domain("dashmath.example.com").with_desired_count(3)
}

/// Options for tests: short polls and retries (on tokio's paused clock they cost nothing).
pub fn test_options() -> DeployOptions {
    DeployOptions {
        poll_interval: Duration::from_secs(1),
        retry: RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            catching_up: Duration::from_secs(5),
        },
        ..DeployOptions::default()
    }
}

/// An orchestrator over `cloud` with [`test_options`].
pub fn orchestrator(cloud: &Arc<InMemoryCloud>) -> Orchestrator {
    Orchestrator::new(Providers::from_cloud(cloud.clone())).with_options(test_options())
}

/// Where the first event of `step` saying it finished (`finished`) or started stands in `events`;
/// panics naming the step when there is none.
pub fn event_at(events: &[Event], step: StepId, finished: bool) -> usize {
    events
        .iter()
        .position(|e| {
            e.step == step
                && match finished {
                    true => matches!(e.kind, EventKind::Done { .. }),
                    false => matches!(e.kind, EventKind::Started { .. }),
                }
        })
        .unwrap_or_else(|| panic!("no {} event of {step}: {events:#?}", if finished { "done" } else { "started" }))
}
