//! Faults through the SDK layer: an operation failing once, then a re-run converges; a storm of
//! throttling errors on 30 % of calls does not stop a deploy.

use std::sync::atomic::Ordering;

use scaling_core::RecordedEvents;

use crate::support::{moto_url, provider, Faults};
use crate::{orchestrator, spec};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operation_failing_once_then_a_rerun_converges_without_duplicates() {
    let Some(url) = moto_url() else { return };
    for operation in [
        "CreateLoadBalancer",
        "RequestCertificate",
        "CreateListener",
        "ChangeResourceRecordSets",
        "RegisterTaskDefinition",
        "CreateService",
    ] {
        let (aws, log, client, _) = provider(&url).await;
        let orchestrator = orchestrator(&aws);
        client.set(Faults::FailOnce(operation.into()));
        let error = orchestrator.deploy(&spec(), None, &RecordedEvents::new()).await.unwrap_err();
        assert!(error.to_string().contains("InjectedFault"), "{operation}: {error}");
        orchestrator
            .deploy(&spec(), None, &RecordedEvents::new())
            .await
            .unwrap_or_else(|e| panic!("re-run after {operation}: {e}"));
        log.clear();
        orchestrator.deploy(&spec(), None, &RecordedEvents::new()).await.unwrap();
        assert_eq!(log.mutating(), Vec::<String>::new(), "after a fault on {operation}, the state is complete");
        let plan = orchestrator.plan_destroy(&spec(), &Default::default()).await.unwrap();
        let owned = plan.owned_resources();
        for (kind, count) in [
            ("load balancer", 1),
            ("listener", 2),
            ("certificate", 1),
            ("service", 1),
            ("record", 4),
            ("security group", 2),
        ] {
            assert_eq!(
                owned.iter().filter(|r| r.starts_with(kind)).count(),
                count,
                "{operation}: {kind} in {owned:#?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttling_storm_on_30_percent_of_calls_does_not_stop_a_deploy() {
    let Some(url) = moto_url() else { return };
    let (aws, log, client, _) = provider(&url).await;
    let orchestrator = orchestrator(&aws);
    client.set(Faults::Throttle(30));
    orchestrator.deploy(&spec(), None, &RecordedEvents::new()).await.unwrap();
    let injected = client.injected.load(Ordering::Relaxed);
    assert!(injected >= 20, "the storm really happened ({injected} throttled responses)");
    client.set(Faults::None);
    log.clear();
    orchestrator.deploy(&spec(), None, &RecordedEvents::new()).await.unwrap();
    assert_eq!(log.mutating(), Vec::<String>::new(), "the throttled deploy completed everything");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_call_is_retried_by_one_layer_only() {
    use scaling_core::{Cluster, Owner};
    let Some(url) = moto_url() else { return };
    let (aws, _, client, _) = provider(&url).await;
    client.set(Faults::Throttle(100));
    let error = aws.find_cluster(&Owner::new("dashmath"), "dashmath-cluster").await.unwrap_err();
    let injected = client.injected.load(Ordering::Relaxed);
    assert_eq!(injected, crate::support::SDK_ATTEMPTS as usize, "the SDK's attempts for one call, no more");
    assert_eq!(error.kind, scaling_core::ErrorKind::Throttled, "{error}");
    assert!(error.retried_by_client, "marked, so the orchestrator does not retry it again");

    // Through the orchestrator, the step's call is made once more by nobody: still one layer.
    client.injected.store(0, Ordering::Relaxed);
    let error = orchestrator(&aws).scale(&spec(), 2, &RecordedEvents::new()).await.unwrap_err();
    assert!(error.to_string().contains("Throttl"), "{error}");
    assert_eq!(client.injected.load(Ordering::Relaxed), crate::support::SDK_ATTEMPTS as usize);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quota_error_is_not_throttling_it_fails_at_once_naming_the_quota() {
    use scaling_core::{Cluster, Owner};
    let Some(url) = moto_url() else { return };
    let (aws, _, client, _) = provider(&url).await;
    // ECS answers an account limit with LimitExceededException, which the SDK's standard mode lists
    // among its throttling codes: it must not be retried, by the SDK or by the orchestrator.
    client.set(Faults::Answer("DescribeClusters".into(), "LimitExceededException".into()));
    let error = aws.find_cluster(&Owner::new("dashmath"), "dashmath-cluster").await.unwrap_err();
    assert_eq!(client.injected.load(Ordering::Relaxed), 1, "asked once: no retry of a quota");
    assert_eq!(error.kind, scaling_core::ErrorKind::LimitExceeded, "{error}");
    assert!(!error.is_retryable(), "{error}");
    client.set(Faults::None);
}
