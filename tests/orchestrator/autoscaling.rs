//! Autoscaling and secrets through the in-memory cloud: planned, applied, kept by later deploys,
//! shown by status, removed by destroy; secrets checked before any write.

use scaling_core::{Action, AutoscalingSpec, DestroyOptions, Error, RecordedEvents, StepId};
use scaling_memory::InMemoryCloud;
use scaling_tests::{image, orchestrator, seed_spec};

fn autoscaled() -> scaling_core::Spec {
    let mut scaling = AutoscalingSpec::on_cpu(2, 10, 60);
    scaling.requests_per_second = Some(100);
    seed_spec().with_autoscaling(scaling)
}

#[tokio::test(start_paused = true)]
async fn autoscaling_is_planned_applied_and_a_later_deploy_keeps_the_count_it_set() {
    let cloud = InMemoryCloud::new().shared();
    let o = orchestrator(&cloud);
    let spec = autoscaled();
    let plan = o.plan(&spec, o.prepare_image(&spec, Some(&image(1))).await.unwrap()).await.unwrap();
    let row = plan.change(StepId::Autoscaling).expect("an autoscaling row");
    assert_eq!(row.action, Action::Create);
    assert!(row.reason.contains("2–10 replicas on CPU 60%, 100 requests/s per replica"), "{}", row.reason);
    o.deploy(&spec, Some(&image(1)), &RecordedEvents::new()).await.unwrap();
    let owned = cloud.owned_by("dashmath");
    assert!(owned.iter().any(|l| l.starts_with("autoscaling dashmath owner=dashmath min=2 max=10")), "{owned:#?}");

    // The autoscaler decides 7; a deploy of a new image must not put the spec's count back.
    assert_eq!(cloud.autoscale("dashmath", 7, "CPU 91% over the 60% target"), Some(7));
    o.deploy(&spec, Some(&image(2)), &RecordedEvents::new()).await.unwrap();
    let status = o.status(&spec).await.unwrap();
    assert_eq!(status.service.as_ref().unwrap().spec.desired_count, 7, "the count autoscaling set stays");
    let autoscaling = status.autoscaling.expect("status shows autoscaling");
    assert_eq!((autoscaling.spec.min, autoscaling.spec.max), (2, 10));
    let decision = autoscaling.last_decision.expect("and its last decision");
    assert_eq!((decision.from, decision.to), (Some(3), Some(7)), "from the seed's 3");
    assert!(decision.reason.contains("CPU 91%"));

    // Unchanged: nothing written, autoscaling row included.
    cloud.clear_calls();
    o.deploy(&spec, Some(&image(2)), &RecordedEvents::new()).await.unwrap();
    assert_eq!(cloud.mutating_calls(), [], "a no-op deploy writes nothing");

    // Narrower bounds pull the count in; scaling by hand outside them is refused.
    let mut narrower = spec.clone();
    narrower.scaling.as_mut().unwrap().max = 4;
    o.deploy(&narrower, Some(&image(2)), &RecordedEvents::new()).await.unwrap();
    assert_eq!(o.status(&narrower).await.unwrap().service.unwrap().spec.desired_count, 4);
    let refused = o.scale(&narrower, 9, &RecordedEvents::new()).await.unwrap_err();
    assert!(matches!(refused, Error::InvalidSpec(_)) && refused.to_string().contains("2–4"), "{refused}");
    o.scale(&narrower, 3, &RecordedEvents::new()).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn removing_scaling_deletes_the_autoscaler_and_destroy_removes_it_first() {
    let cloud = InMemoryCloud::new().shared();
    let o = orchestrator(&cloud);
    o.deploy(&autoscaled(), Some(&image(1)), &RecordedEvents::new()).await.unwrap();
    cloud.autoscale("dashmath", 5, "requests");
    let plain = seed_spec();
    let plan = o.plan(&plain, o.prepare_image(&plain, Some(&image(1))).await.unwrap()).await.unwrap();
    assert_eq!(plan.change(StepId::Autoscaling).map(|c| c.action), Some(Action::Delete));
    o.deploy(&plain, Some(&image(1)), &RecordedEvents::new()).await.unwrap();
    assert!(!cloud.owned_by("dashmath").iter().any(|l| l.starts_with("autoscaling")), "removed");

    o.deploy(&autoscaled(), Some(&image(1)), &RecordedEvents::new()).await.unwrap();
    let preview = o.plan_destroy(&autoscaled(), &DestroyOptions::default()).await.unwrap();
    let first = preview.changes.iter().find(|c| c.action == Action::Delete).unwrap();
    assert_eq!(first.resource, "autoscaling of service dashmath", "removed before the service it scales");
    o.destroy(&autoscaled(), &DestroyOptions::default(), &RecordedEvents::new()).await.unwrap();
    let left = cloud.owned_by("dashmath");
    assert!(left.iter().all(|l| l.starts_with("repository") || l.starts_with("zone")), "{left:?}");
}

#[tokio::test(start_paused = true)]
async fn a_missing_secret_is_refused_by_plan_naming_it_before_any_write() {
    let cloud = InMemoryCloud::new().shared();
    let o = orchestrator(&cloud);
    let mut spec = seed_spec();
    spec.secrets.insert("DB_PASSWORD".into(), "vault:dashmath/db".into());
    spec.secrets.insert("API_KEY".into(), "vault:dashmath/api".into());
    cloud.remove_secret("vault:dashmath/api");
    let error = o.deploy(&spec, Some(&image(1)), &RecordedEvents::new()).await.unwrap_err();
    let Error::InvalidSpec(problems) = &error else { panic!("{error}") };
    let fields: Vec<&str> = problems.problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["secrets.API_KEY"]);
    assert_eq!(cloud.mutating_calls(), [], "nothing created");
    assert_eq!(o.check_secrets(&spec).await.unwrap().len(), 1);

    spec.secrets.remove("API_KEY");
    o.deploy(&spec, Some(&image(1)), &RecordedEvents::new()).await.unwrap();
    let revision = o.releases(&spec).await.unwrap();
    assert_eq!(revision.len(), 1);
}
