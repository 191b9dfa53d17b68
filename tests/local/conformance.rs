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

/// This machine's balancer serves certificates from their keys: beside a certificate provider that
/// keeps its keys (ACM-like, here the in-memory cloud's), HTTPS is refused by field before any write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn its_balancer_with_certificates_that_keep_their_keys_is_refused_before_any_write() {
    let spec = dashmath_spec().with_domain("dashmath.example.test");
    let cloud = Arc::new(LocalCloud::new(home(), spec.settings().unwrap()));
    let elsewhere = scaling_memory::InMemoryCloud::new().shared();
    let providers = Providers { certificate: elsewhere.clone(), ..Providers::from_cloud(cloud.clone()) };
    let orchestrator = scaling_core::Orchestrator::new(providers);
    let image = orchestrator.prepare_image(&spec, None).await.expect("the bundle");
    let error = orchestrator.plan(&spec, image).await.unwrap_err();
    let text = error.to_string();
    assert!(text.contains("domain.https") && text.contains("keeps its keys"), "{text}");
    assert!(elsewhere.mutating_calls().is_empty(), "nothing requested: {:?}", elsewhere.mutating_calls());
    assert!(cloud.supervisor().replica_pids("dashmath").is_empty(), "nothing started");
}
