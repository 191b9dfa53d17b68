//! Faults mid-deploy lose nothing: for every mutating call of a fresh deploy, failing it and re-running
//! converges to the state of a clean deploy, without duplicates; destroy then leaves nothing owned.

use scaling_core::{DestroyOptions, Error, EventKind, RecordedEvents};
use scaling_memory::{Fault, InMemoryCloud};
use scaling_tests::{orchestrator, seed_spec};

async fn clean_deploy() -> (Vec<String>, usize) {
    let cloud = InMemoryCloud::new().shared();
    orchestrator(&cloud).deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
    (cloud.inventory(), cloud.mutating_calls().len())
}

async fn sweep(fault: impl Fn(usize) -> Fault) {
    let (clean, mutating) = clean_deploy().await;
    assert!(mutating >= 15, "a fresh deploy with a domain makes at least 15 mutating calls, made {mutating}");
    for k in 1..=mutating {
        let cloud = InMemoryCloud::new().shared();
        let orchestrator = orchestrator(&cloud);
        cloud.inject(fault(k));
        let first = orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await;
        assert!(first.is_err(), "the fault on mutating call {k} must surface");
        cloud.clear_faults();

        orchestrator
            .deploy(&seed_spec(), None, &RecordedEvents::new())
            .await
            .unwrap_or_else(|e| panic!("re-run after fault {k}: {e}"));
        assert_eq!(
            cloud.inventory(),
            clean,
            "after a fault on mutating call {k}, the re-run must converge to the clean state"
        );

        let options = DestroyOptions { delete_images: true, delete_zone: true, delete_logs: true };
        orchestrator.destroy(&seed_spec(), &options, &RecordedEvents::new()).await.unwrap();
        assert_eq!(cloud.owned_by("dashmath"), Vec::<String>::new(), "destroy after fault {k} leaves nothing owned");
    }
}

#[tokio::test(start_paused = true)]
async fn a_failed_call_without_effect_then_a_rerun_converges() {
    sweep(Fault::nth_mutating_call).await;
}

#[tokio::test(start_paused = true)]
async fn a_lost_response_then_a_rerun_converges_without_duplicates() {
    sweep(|k| Fault::nth_mutating_call(k).after_effect()).await;
}

#[tokio::test(start_paused = true)]
async fn retryable_errors_are_retried_within_one_deploy() {
    let (clean, _) = clean_deploy().await;
    // The first call of every operation a deploy writes with is throttled once (whatever the order the
    // retries' jitter gives the calls).
    let probe = InMemoryCloud::new().shared();
    orchestrator(&probe).deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
    let operations: std::collections::BTreeSet<&str> = probe.mutating_calls().iter().map(|c| c.operation).collect();
    let cloud = InMemoryCloud::new().shared();
    for operation in &operations {
        cloud.inject(Fault::operation(*operation).retryable());
    }
    let events = RecordedEvents::new();
    orchestrator(&cloud).deploy(&seed_spec(), None, &events).await.unwrap();
    assert_eq!(cloud.inventory(), clean);
    let retries = events.events().iter().filter(|e| matches!(e.kind, EventKind::Retrying { .. })).count();
    assert!(
        retries >= operations.len(),
        "every injected throttle is retried and reported: {retries} of {}",
        operations.len()
    );
}

#[tokio::test(start_paused = true)]
async fn a_permanent_failure_names_the_step_and_resource_and_skips_only_dependents() {
    let cloud = InMemoryCloud::new().shared();
    cloud.inject(Fault::operation("ensure_cluster").always());
    let events = RecordedEvents::new();
    let error = orchestrator(&cloud).deploy(&seed_spec(), None, &events).await.unwrap_err();

    let Error::Provider { step, source } = &error else { panic!("unexpected {error}") };
    assert_eq!(
        (step.name(), source.resource.as_str(), source.operation.as_str()),
        ("cluster", "dashmath", "ensure_cluster")
    );
    let skipped: Vec<&str> =
        events.events().iter().filter(|e| matches!(e.kind, EventKind::Skipped { .. })).map(|e| e.step.name()).collect();
    assert_eq!(skipped, ["service", "service_stable"]);
    assert!(cloud.inventory().iter().any(|l| l.starts_with("listener dashmath:443")), "independent steps still finish");
}

#[tokio::test(start_paused = true)]
async fn destroy_waits_while_network_interfaces_linger_on_the_task_group() {
    let cloud = InMemoryCloud::new().shared();
    let orchestrator = orchestrator(&cloud);
    orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
    for _ in 0..3 {
        cloud.inject(Fault::operation("delete_replica_firewall").kind(scaling_core::ErrorKind::DependencyViolation));
    }
    let events = RecordedEvents::new();
    let options = DestroyOptions { delete_images: true, delete_zone: true, delete_logs: true };
    orchestrator.destroy(&seed_spec(), &options, &events).await.unwrap();
    assert_eq!(cloud.inventory(), Vec::<String>::new());
    let waits = events
        .events()
        .into_iter()
        .filter(|e| matches!(&e.kind, EventKind::Waiting { detail } if detail.contains("still in use")))
        .count();
    assert!(waits >= 1, "the wait is reported");
}

#[tokio::test(start_paused = true)]
async fn a_certificate_stuck_in_validation_times_out_saying_what_is_pending() {
    let latency = scaling_memory::Latency {
        certificate_issued: std::time::Duration::from_secs(7200),
        ..scaling_memory::Latency::NONE
    };
    let cloud = InMemoryCloud::with_latency(latency).shared();
    let mut options = scaling_tests::test_options();
    options.timeouts.certificate_issued = std::time::Duration::from_secs(600);
    let orchestrator =
        scaling_core::Orchestrator::new(scaling_core::Providers::from_cloud(cloud.clone())).with_options(options);
    let error = orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap_err();
    let Error::Timeout { step, pending, .. } = &error else { panic!("unexpected {error}") };
    assert_eq!(*step, scaling_core::StepId::CertificateIssued);
    assert!(pending.contains("DNS validation records of dashmath.example.com, www.dashmath.example.com"), "{pending}");
    assert!(error.to_string().contains("10m"), "{error}");
    assert!(cloud.inventory().iter().any(|l| l.starts_with("service dashmath")), "independent steps finished");
}
