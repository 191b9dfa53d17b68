//! Releases and rollback on the emulator: task-definition revisions, the newest kept.

use scaling_core::RecordedEvents;

use crate::support::{moto_url, provider, sdk};
use crate::{image, orchestrator, spec};

#[tokio::test]
async fn task_definition_revisions_are_the_releases_and_rollback_runs_the_earlier_image_again() {
    let Some(url) = moto_url() else { return };
    let (aws, _, _, account) = provider(&url).await;
    let o = orchestrator(&aws);
    let mut spec = spec();
    spec.app.keep_releases = 2;
    for n in 1..=3 {
        o.deploy(&spec, Some(&image(n)), &RecordedEvents::new()).await.unwrap();
    }
    let releases = o.releases(&spec).await.unwrap();
    let seen: Vec<_> = releases.iter().map(|r| (r.number, r.image.clone(), r.current)).collect();
    assert_eq!(seen, [(3, image(3), true), (2, image(2), false)], "the two newest are kept");
    // (The emulator leaves out `registeredAt`, which AWS returns: the time is shown where known.)
    let sdk = sdk(&url, &account).await;
    let active = sdk
        .ecs
        .list_task_definitions()
        .family_prefix("dashmath-taskdef")
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await
        .unwrap();
    assert_eq!(active.task_definition_arns().len(), 2, "the oldest was deregistered: {active:?}");

    let report = o.rollback(&spec, None, &RecordedEvents::new()).await.unwrap();
    assert_eq!(report.image, image(2));
    let described =
        sdk.ecs.describe_services().cluster("dashmath-cluster").services("dashmath-service").send().await.unwrap();
    let running = described.services()[0].task_definition().unwrap().to_string();
    let definition = sdk.ecs.describe_task_definition().task_definition(&running).send().await.unwrap();
    let container = &definition.task_definition().unwrap().container_definitions()[0];
    assert_eq!(container.image(), Some(image(2).as_str()), "the service runs the earlier image again");
}
