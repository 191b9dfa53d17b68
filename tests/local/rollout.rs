//! A new revision rolls out replica by replica with no failed request; a second deploy changes nothing.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use scaling_core::{Action, RecordedEvents};

use crate::{dashmath_spec, deploy, load};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_revision_rolls_out_without_failed_requests() {
    let mut spec = dashmath_spec();
    spec.app.desired_count = 2;
    let d = deploy(spec.clone()).await;
    let before = d.cloud.supervisor().replica_pids("dashmath");

    // Re-deploying the same spec plans no change.
    let plan = d.orchestrator.plan(&spec, d.orchestrator.prepare_image(&spec, None).await.unwrap()).await.unwrap();
    assert!(plan.changes.iter().all(|c| c.action == Action::NoChange), "{:#?}", plan.changes);

    let stop = Arc::new(tokio::sync::Notify::new());
    let counts = load(&d, 6, stop.clone(), Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    spec.env.insert("DASHMATH_REVISION".into(), "2".into());
    let report = d.orchestrator.deploy(&spec, None, &RecordedEvents::new()).await.unwrap();
    stop.notify_waiters();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let changed: Vec<_> = report.changes.iter().filter(|c| c.action.mutates()).map(|c| c.resource.clone()).collect();
    assert_eq!(changed, ["start command of dashmath", "2 replica(s) of dashmath"]);
    let after = d.cloud.supervisor().replica_pids("dashmath");
    assert_eq!(after.len(), 2);
    assert!(after.iter().all(|p| !before.contains(p)), "every replica was replaced: {before:?} → {after:?}");
    let (ok, failed) = (counts.ok.load(Ordering::Relaxed), counts.failed.load(Ordering::Relaxed));
    assert_eq!(failed, 0, "no request fails during the rollout ({ok} succeeded)");
    assert!(ok > 20);
    d.cloud.shutdown().await;
    assert!(d.cloud.supervisor().replica_pids("dashmath").is_empty());
}
