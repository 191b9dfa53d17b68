//! Releases and rollback through the in-memory cloud.

use scaling_core::providers::{Owner, Releases};
use scaling_core::{Error, RecordedEvents};
use scaling_memory::InMemoryCloud;
use scaling_tests::{image, orchestrator, seed_spec};

#[tokio::test(start_paused = true)]
async fn releases_list_newest_first_and_rollback_redeploys_an_earlier_image_without_a_build() {
    let cloud = InMemoryCloud::new().shared();
    let o = orchestrator(&cloud);
    assert_eq!(o.releases(&seed_spec()).await.unwrap(), [], "nothing deployed, no releases");
    for n in 1..=3 {
        o.deploy(&seed_spec(), Some(&image(n)), &RecordedEvents::new()).await.unwrap();
    }
    let releases = o.releases(&seed_spec()).await.unwrap();
    let seen: Vec<_> = releases.iter().map(|r| (r.number, r.image.clone(), r.current)).collect();
    assert_eq!(seen, [(3, image(3), true), (2, image(2), false), (1, image(1), false)]);
    assert!(releases.iter().all(|r| r.registered_at.is_some()), "each says when it was made");

    cloud.clear_calls();
    let report = o.rollback(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
    assert_eq!(report.image, image(2), "back to the one before");
    assert!(!cloud.calls().iter().any(|c| c.operation == "build_image" || c.operation == "push_image"), "no rebuild");
    let releases = o.releases(&seed_spec()).await.unwrap();
    assert_eq!((releases[0].number, releases[0].image.clone(), releases[0].current), (4, image(2), true));

    o.rollback(&seed_spec(), Some(1), &RecordedEvents::new()).await.unwrap();
    assert_eq!(o.releases(&seed_spec()).await.unwrap()[0].image, image(1), "--to 1");
    let error = o.rollback(&seed_spec(), Some(42), &RecordedEvents::new()).await.unwrap_err();
    assert!(error.to_string().contains("release 42 is not kept"), "{error}");
    let current = o.releases(&seed_spec()).await.unwrap()[0].number;
    let error = o.rollback(&seed_spec(), Some(current), &RecordedEvents::new()).await.unwrap_err();
    assert!(
        matches!(error, Error::RolloutFailed { .. }) && error.to_string().contains("is the one running"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn only_the_newest_releases_are_kept_and_a_no_op_deploy_prunes_nothing() {
    let cloud = InMemoryCloud::new().shared();
    let o = orchestrator(&cloud);
    let mut spec = seed_spec();
    spec.app.keep_releases = 2;
    for n in 1..=4 {
        o.deploy(&spec, Some(&image(n)), &RecordedEvents::new()).await.unwrap();
    }
    let ids = cloud.revision_ids(&Owner::new("dashmath"), "dashmath").await.unwrap();
    assert_eq!(ids, ["dashmath:4", "dashmath:3"], "the two newest stay");
    cloud.clear_calls();
    o.deploy(&spec, Some(&image(4)), &RecordedEvents::new()).await.unwrap();
    assert_eq!(cloud.mutating_calls(), [], "nothing new, nothing pruned");
    spec.app.keep_releases = 0;
    let error = o.deploy(&spec, None, &RecordedEvents::new()).await.unwrap_err();
    assert!(error.to_string().contains("app.keep_releases"), "{error}");
}
