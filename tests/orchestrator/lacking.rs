//! A provider that lacks the features beside the cluster — no deploy lock, no logs, no secret store,
//! no autoscaling, no release history — states it with empty impls of the small traits (their defaults answer
//! `Unsupported`): it passes the whole conformance kit, deploys without a lock, and each feature it
//! lacks is refused by name only when a spec or a command asks for it.

use std::collections::BTreeMap;
use std::sync::Arc;

use scaling_core::conformance::{self, Subject, ThroughTheProvider};
use scaling_core::providers::{Autoscaler, Locks, LogQuery, Logs, Releases, SecretStore};
use scaling_core::{AutoscalingSpec, Error, ErrorKind, Providers, RecordedEvents};
use scaling_memory::InMemoryCloud;
use scaling_tests::{seed_spec, test_options};

/// Has none of the five: every method is the trait's default.
struct Lacking;
impl Locks for Lacking {}
impl Logs for Lacking {}
impl SecretStore for Lacking {}
impl Autoscaler for Lacking {}
impl Releases for Lacking {}

fn lacking(cloud: &Arc<InMemoryCloud>) -> Providers {
    let lacking = Arc::new(Lacking);
    Providers {
        locks: lacking.clone(),
        logs: lacking.clone(),
        secrets: lacking.clone(),
        autoscaler: lacking.clone(),
        releases: lacking,
        ..Providers::from_cloud(cloud.clone())
    }
}

#[tokio::test(start_paused = true)]
async fn a_provider_without_them_passes_the_conformance_kit() {
    let cloud = InMemoryCloud::new().shared();
    let providers = lacking(&cloud);
    let subject = Subject::new(providers.clone(), seed_spec()).with_options(test_options());
    conformance::run_all(&subject, &ThroughTheProvider(providers)).await;
    assert_eq!(cloud.owned_by("dashmath"), Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn it_deploys_and_reports_without_a_lock_and_refuses_each_missing_feature_by_name() {
    let cloud = InMemoryCloud::new().shared();
    let orchestrator = scaling_core::Orchestrator::new(lacking(&cloud)).with_options(test_options());
    let spec = seed_spec();
    orchestrator.deploy(&spec, None, &RecordedEvents::new()).await.expect("deploys, unguarded");
    let status = orchestrator.status(&spec).await.expect("status");
    assert_eq!(status.lock, None, "no lock to show");
    assert!(status.service.is_some());

    let logs = orchestrator.logs(&spec, &LogQuery::default()).await.unwrap_err();
    assert!(matches!(&logs, Error::Provider { source, .. } if source.kind == ErrorKind::Unsupported), "{logs:?}");
    assert!(logs.to_string().contains("no replica logs"), "{logs}");

    let mut secret = spec.clone();
    secret.secrets = BTreeMap::from([("DB_PASSWORD".to_string(), "ssm:/dashmath/db".to_string())]);
    let problems = orchestrator.check_secrets(&secret).await.expect("checked");
    assert_eq!(problems.iter().map(|p| p.field.as_str()).collect::<Vec<_>>(), ["secrets.DB_PASSWORD"]);
    assert!(problems[0].message.contains("no secret store"), "{problems:?}");

    let mut scaled = spec.clone();
    scaled.scaling = Some(AutoscalingSpec::on_cpu(2, 4, 60));
    let refused = orchestrator.deploy(&scaled, None, &RecordedEvents::new()).await.unwrap_err();
    assert!(refused.to_string().contains("no autoscaling"), "{refused}");

    // Without a history, a deploy of a new image keeps every revision (nothing to prune by), and
    // `releases` and `rollback` are refused by name.
    let mut next = spec.clone();
    next.image = scaling_core::ImageSpec::prebuilt(scaling_tests::image(2));
    orchestrator.deploy(&next, None, &RecordedEvents::new()).await.expect("a new revision without pruning");
    let releases = orchestrator.releases(&next).await.unwrap_err();
    assert!(releases.to_string().contains("no release history"), "{releases}");
    let rollback = orchestrator.rollback(&next, None, &RecordedEvents::new()).await.unwrap_err();
    assert!(rollback.to_string().contains("no release history"), "{rollback}");
}
