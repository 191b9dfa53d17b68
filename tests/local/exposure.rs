//! An app that ignores `$HOST` and listens on every interface is reported by the deploy and by
//! status, with the fix; the example, which honours it, is not.

use scaling_core::{DestroyOptions, EventKind, Orchestrator, Providers, RecordedEvents, StepId};
use scaling_local::LocalCloud;

use crate::{dashmath_spec, home};

/// A copy of the example whose gunicorn binds 0.0.0.0 whatever `HOST` says.
fn careless_copy() -> tempfile::TempDir {
    crate::example_copy(|file, text| match file {
        "gunicorn.conf.py" => {
            let careless = text.replace("os.environ.get('HOST') or '0.0.0.0'", "'0.0.0.0'");
            assert_ne!(text, careless, "the example's bind line changed; update this test");
            careless
        }
        _ => text,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_listening_on_every_interface_is_reported_with_the_fix() {
    let app = careless_copy();
    let spec = crate::spec_for(&app, "careless", 1);
    let cloud = std::sync::Arc::new(LocalCloud::new(home(), spec.settings().unwrap()));
    let orchestrator = Orchestrator::new(Providers::from_cloud(cloud.clone()));
    let events = RecordedEvents::new();
    orchestrator.deploy(&spec, None, &events).await.expect("deploy");

    let stable = events.events().into_iter().find_map(|e| match e.kind {
        EventKind::Done { detail } if e.step == StepId::ServiceStable => Some(detail),
        _ => None,
    });
    let stable = stable.expect("the service became stable");
    assert!(stable.contains("warning: a replica listens on 0.0.0.0:"), "{stable}");
    assert!(stable.contains("bind to $HOST"), "the fix is named: {stable}");
    let status = orchestrator.status(&spec).await.unwrap();
    assert_eq!(status.service.unwrap().warnings.len(), 1, "one replica, one warning");

    let everything = DestroyOptions { delete_images: true, delete_zone: true, delete_logs: true };
    orchestrator.destroy(&spec, &everything, &RecordedEvents::new()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_listens_on_loopback_only() {
    let d = crate::deploy(dashmath_spec()).await;
    let status = d.orchestrator.status(&d.spec).await.unwrap();
    assert_eq!(status.service.unwrap().warnings, Vec::<String>::new());
    let everything = DestroyOptions { delete_images: true, delete_zone: true, delete_logs: true };
    d.orchestrator.destroy(&d.spec, &everything, &RecordedEvents::new()).await.unwrap();
}
