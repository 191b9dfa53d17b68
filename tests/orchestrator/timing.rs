//! On tokio's paused clock with AWS-like latencies, deploy takes no longer than its critical path
//! (plus at most 5%), far less than doing the seed's steps one after another.

use tokio::time::Instant;

use scaling_core::{DeployOptions, Orchestrator, Providers, RecordedEvents, StepId};
use scaling_memory::{InMemoryCloud, Latency};
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

#[tokio::test(start_paused = true)]
async fn a_rollout_that_settles_in_a_second_is_seen_in_a_second_and_reported_with_its_reads() {
    // Replicas healthy 1.2 s after the service starts; the default poll interval is 5 s.
    let latency = Latency { service_stable: std::time::Duration::from_millis(1200), ..Latency::NONE };
    let cloud = InMemoryCloud::with_latency(latency).shared();
    let orchestrator = Orchestrator::new(Providers::from_cloud(cloud)).with_options(DeployOptions::default());
    let started = Instant::now();
    let report = orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(2), "seen soon after it settled, not at the next 5 s tick: {took:?}");
    assert_eq!(report.elapsed, took, "the reported time is the whole deploy, reads and waits included");
}
