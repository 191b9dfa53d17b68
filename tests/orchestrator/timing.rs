//! On tokio's paused clock with AWS-like latencies, deploy takes no longer than its critical path
//! (plus at most 5%), far less than doing the seed's steps one after another.

use tokio::time::Instant;

use scaling_core::memory::{InMemoryCloud, Latency};
use scaling_core::{DeployOptions, Orchestrator, Providers, RecordedEvents, StepId};
use scaling_tests::seed_spec;

#[tokio::test(start_paused = true)]
async fn deploy_finishes_within_five_percent_of_the_critical_path() {
    let latency = Latency::REALISTIC;
    let cloud = InMemoryCloud::with_latency(latency).shared();
    let orchestrator = Orchestrator::new(Providers::from_cloud(cloud.clone())).with_options(DeployOptions::default());
    let spec = seed_spec();

    let plan = orchestrator.plan(&spec, orchestrator.prepare_image(&spec, None).await.unwrap()).await.unwrap();
    let started = Instant::now();
    orchestrator.apply(&plan, &RecordedEvents::new()).await.unwrap();
    let took = started.elapsed();

    let (critical, path) = plan.critical_path(|s| latency.step_cost(s));
    let sequential: std::time::Duration = plan.steps().iter().map(|s| latency.step_cost(*s)).sum();
    assert_eq!(path.last(), Some(&StepId::LoadBalancerActive), "the load balancer is the long pole: {path:?}");
    let ratio = took.as_secs_f64() / critical.as_secs_f64();
    assert!(ratio <= 1.05, "deploy took {took:?}, critical path {critical:?} (ratio {ratio:.3})");
    assert!(took < sequential / 2, "concurrency beats the sequential {sequential:?} by far; took {took:?}");
}
