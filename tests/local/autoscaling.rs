//! The local autoscaler under real load: requests queueing on one replica scale the service out (to
//! what this machine's cores hold), calm scales it back in after the cooldown, no request fails, and
//! status says why. A secret reaches the replicas' environment and nothing else.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use scaling_core::{AutoscalingSpec, RecordedEvents};
use scaling_local::secrets::SecretValues;

use crate::{dashmath_spec, deploy_on, load};

const VALUE: &str = "local-secret-5c1e9d";

async fn wait_for_count(d: &crate::Deployed, count: u32, within: Duration) -> scaling_core::StatusReport {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let status = d.orchestrator.status(&d.spec).await.unwrap();
        let service = status.service.clone().unwrap();
        if service.spec.desired_count == count && service.running_count == count {
            return status;
        }
        assert!(tokio::time::Instant::now() < deadline, "not {count} replicas within {within:?}: {service:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queueing_scales_out_calm_scales_in_without_failed_requests_and_a_secret_stays_in_the_replicas() {
    let mut spec = dashmath_spec();
    spec.app.desired_count = 1;
    spec.scaling = Some(AutoscalingSpec {
        min: 1,
        max: 4,
        cpu_percent: Some(60),
        requests_per_second: None,
        scale_out_cooldown: Duration::from_secs(2),
        scale_in_cooldown: Duration::from_secs(4),
    });
    spec.secrets.insert("DASHMATH_TOKEN".into(), "ssm:/dashmath/token".into());
    let shell = SecretValues::from_pairs([("DASHMATH_TOKEN".to_string(), VALUE.to_string())]);
    let events = RecordedEvents::new();
    let d = deploy_on(spec.clone(), |cloud| cloud.with_secrets(shell, None)).await;
    let cap = scaling_local::autoscaler::machine_cap(1).clamp(1, 4);

    // The value is in the replica's environment, as the variable the spec names.
    let pid = d.cloud.supervisor().replica_pids(&spec.app.name)[0];
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let wanted = format!("DASHMATH_TOKEN={VALUE}");
    assert!(environ.split(|b| *b == 0).any(|v| v == wanted.as_bytes()), "the replica gets the secret");

    let stop = Arc::new(tokio::sync::Notify::new());
    let counts = load(&d, 12, stop.clone(), Duration::from_secs(60)).await;
    let out = wait_for_count(&d, cap, Duration::from_secs(20)).await;
    let decision = out.autoscaling.as_ref().and_then(|a| a.last_decision.clone());
    if cap > 1 {
        let decision = decision.expect("a decision");
        assert_eq!((decision.from, decision.to), (Some(1), Some(cap)));
        assert!(
            decision.reason.contains("in flight or waiting") || decision.reason.contains("CPU"),
            "{}",
            decision.reason
        );
    }
    stop.notify_waiters();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let calm = wait_for_count(&d, 1, Duration::from_secs(20)).await;
    let (ok, failed) = (counts.ok.load(Ordering::Relaxed), counts.failed.load(Ordering::Relaxed));
    assert_eq!(failed, 0, "no request fails across scale-out and scale-in ({ok} succeeded)");

    // A deploy of the same spec writes nothing, autoscaling included; the value is nowhere else.
    let plan = d.orchestrator.plan(&spec, d.orchestrator.prepare_image(&spec, None).await.unwrap()).await.unwrap();
    assert!(!plan.has_changes(), "{:#?}", plan.changes);
    d.orchestrator.deploy(&spec, None, &events).await.unwrap();
    let said = format!("{:?}{:?}{}", events.events(), plan.changes, serde_json::to_string(&calm).unwrap());
    assert!(!said.contains(VALUE), "the value was shown");
    for dir in [d.cloud.paths().logs(), d.cloud.paths().state()] {
        for entry in walk(&dir) {
            let text = std::fs::read(&entry).unwrap_or_default();
            assert!(!String::from_utf8_lossy(&text).contains(VALUE), "the value is in {}", entry.display());
        }
    }
    d.cloud.shutdown().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries.flatten().flat_map(|e| if e.path().is_dir() { walk(&e.path()) } else { vec![e.path()] }).collect()
}
