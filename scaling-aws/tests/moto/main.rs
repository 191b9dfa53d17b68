//! The AWS provider against the moto server, through the real SDK clients: the seed's recipe as it
//! lands in the account, idempotence, image changes, destroy, faults and throttling.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod autoscaling;
mod certificates;
mod conformance;
mod deploy;
mod drift;
mod faults;
mod lock;
mod logs;
mod own_dns;
mod permissions;
mod realism;
mod realistic;
mod releases;
mod support;
mod zones;

use std::sync::Arc;
use std::time::Duration;

use scaling_aws::AwsProvider;
use scaling_core::{DeployOptions, ImageSpec, Orchestrator, Providers, RetryPolicy, Spec, Timeouts};

/// A digest-pinned image in the app's ECR repository (the emulator has no registry to push to).
pub fn image(n: u8) -> String {
    let digit = char::from_digit(u32::from(n % 10), 10).unwrap();
    format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/dashmath-repository@sha256:{}", digit.to_string().repeat(64))
}

/// The seed's deployment: dashmath, 3 tasks, the apex and www over HTTPS.
pub fn spec() -> Spec {
    Spec::new("dashmath", 8050, ImageSpec::prebuilt(image(1))).with_domain("dashmath.example.com").with_desired_count(3)
}

pub fn orchestrator(provider: &Arc<AwsProvider>) -> Orchestrator {
    orchestrator_of(Providers::from_cloud(provider.clone()))
}

/// An orchestrator over `providers` (AWS mixed with others) with the emulator's short polls.
pub fn orchestrator_of(providers: Providers) -> Orchestrator {
    let options = DeployOptions {
        poll_interval: Duration::from_millis(100),
        timeouts: Timeouts {
            load_balancer_active: Duration::from_secs(30),
            certificate_issued: Duration::from_secs(30),
            service_stable: Duration::from_secs(30),
            dependency_drain: Duration::from_secs(30),
        },
        retry: RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(1),
            catching_up: Duration::from_secs(10),
        },
        ..DeployOptions::default()
    };
    Orchestrator::new(providers).with_options(options)
}

/// Everything the app owns, destroyed: the zone, images and logs too.
pub const EVERYTHING: scaling_core::DestroyOptions =
    scaling_core::DestroyOptions { delete_images: true, delete_zone: true, delete_logs: true };
