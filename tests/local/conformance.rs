//! The conformance kit on the local provider: real replicas, the embedded balancer, drift made through
//! the provider's own methods behind the orchestrator's back.

use std::sync::Arc;
use std::time::Duration;

use scaling_core::conformance::{self, Subject, ThroughTheProvider};
use scaling_core::{DeployOptions, Providers};
use scaling_local::LocalCloud;

use crate::{dashmath_spec, home};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_provider_passes_the_conformance_kit() {
    let spec = dashmath_spec();
    let cloud = Arc::new(LocalCloud::new(home(), spec.settings().unwrap()));
    let providers = Providers::from_cloud(cloud.clone());
    let options = DeployOptions { poll_interval: Duration::from_millis(250), ..DeployOptions::default() };
    let subject = Subject::new(providers.clone(), spec).with_options(options);
    conformance::run_all(&subject, &ThroughTheProvider(providers)).await;
    assert!(cloud.supervisor().replica_pids("dashmath").is_empty(), "no replica outlives the kit");
}
