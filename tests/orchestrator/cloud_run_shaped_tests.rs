//! The Cloud-Run-shaped provider (`cloud_run_shaped`), written only against `scaling-core`'s public
//! API: its graph has none of the steps it lacks, it passes the whole conformance kit, and a deploy
//! runs in its order (the mapping after the service, the certificate after the records).

use std::sync::Arc;

use scaling_core::conformance::{self, Subject, ThroughTheProvider};
use scaling_core::{Action, AutoscalingSpec, Capabilities, Orchestrator, Providers, RecordedEvents, StepId};
use scaling_tests::{seed_spec, test_options};

use crate::cloud_run_shaped::{CloudRunShaped, CAPABILITIES, GRAPH};

fn providers() -> Providers {
    Providers::from_cloud(Arc::new(CloudRunShaped::default()))
}

#[test]
fn its_graph_has_none_of_the_steps_it_lacks() {
    use StepId::*;
    let lacking = [
        Cluster,
        ReplicaFirewall,
        Revision,
        LoadBalancerFirewall,
        Backend,
        HttpListener,
        HttpsListener,
        HttpRedirect,
        ValidationRecords,
    ];
    for step in lacking {
        assert!(!CAPABILITIES.has_step(step), "{step} is declared");
    }
    assert_eq!(CAPABILITIES.conflicts(), Vec::<String>::new());
    // Its own edges: the mapping needs the service, the certificate needs the mapping, issuance waits
    // for the records.
    assert_eq!(CAPABILITIES.dependencies(LoadBalancer), [Service]);
    assert_eq!(CAPABILITIES.dependencies(Certificate), [LoadBalancer]);
    assert_eq!(CAPABILITIES.dependencies(CertificateIssued), [Certificate, DnsRecords]);
    assert_eq!(CAPABILITIES.ordered(&GRAPH.steps()).first(), Some(&Repository));
    // Destroy reverses it: the mapping goes before the service it maps to.
    assert!(CAPABILITIES.teardown_round(LoadBalancer) < CAPABILITIES.teardown_round(Service));
}

#[tokio::test(start_paused = true)]
async fn it_passes_the_whole_conformance_kit() {
    let providers = providers();
    let subject = Subject::new(providers.clone(), seed_spec()).with_options(test_options());
    conformance::run_all(&subject, &ThroughTheProvider(providers)).await;
}

#[tokio::test(start_paused = true)]
async fn a_deploy_plans_only_its_steps_and_runs_in_its_order() {
    let orchestrator = Orchestrator::new(providers()).with_options(test_options());
    let spec = seed_spec();
    let image = orchestrator.prepare_image(&spec, None).await.unwrap();
    let plan = orchestrator.plan(&spec, image).await.unwrap();
    let rows: Vec<(StepId, &str)> = plan.changes.iter().map(|c| (c.step, c.resource.as_str())).collect();
    assert!(rows.iter().all(|(step, _)| GRAPH.has(*step)), "a row of a step it lacks: {rows:#?}");
    assert!(rows.contains(&(StepId::LoadBalancer, "domain mapping dashmath")), "its own words: {rows:#?}");
    assert!(rows.contains(&(StepId::Service, "Cloud Run service dashmath")), "its own words: {rows:#?}");

    let events = RecordedEvents::new();
    let report = orchestrator.deploy(&spec, None, &events).await.unwrap();
    assert_eq!(report.urls, ["https://dashmath.example.com", "https://www.dashmath.example.com"]);
    let events = events.events();
    let at = |step, finished| scaling_tests::event_at(&events, step, finished);
    assert!(at(StepId::Service, true) < at(StepId::LoadBalancer, false), "the mapping waits for its service");
    assert!(at(StepId::LoadBalancer, true) < at(StepId::Certificate, false), "the certificate waits for binding");
    assert!(at(StepId::DnsRecords, true) < at(StepId::CertificateIssued, true), "issued after the records");
    assert!(events.iter().all(|e| GRAPH.has(e.step)), "an event of a step it lacks");

    // A new image is a new revision, rolled out by the service; nothing else changes.
    let mut next = spec.clone();
    next.image.reference = Some(scaling_tests::image(2));
    let image = orchestrator.prepare_image(&next, None).await.unwrap();
    let plan = orchestrator.plan(&next, image).await.unwrap();
    let changed: Vec<_> = plan.changes.iter().filter(|c| c.action.mutates()).collect();
    assert_eq!(changed.len(), 1, "{changed:#?}");
    assert_eq!((changed[0].step, changed[0].action), (StepId::Service, Action::Update));
    assert!(changed[0].reason.starts_with("new revision: image:"), "{}", changed[0].reason);

    // With the count changed too, the row names both; the id placeholder is not a change of its own.
    next.app.desired_count += 1;
    let image = orchestrator.prepare_image(&next, None).await.unwrap();
    let plan = orchestrator.plan(&next, image).await.unwrap();
    let row = plan.change(StepId::Service).unwrap();
    assert_eq!(row.action, Action::Update);
    assert!(row.reason.starts_with("new revision: image:"), "{}", row.reason);
    assert!(row.reason.contains("desired count"), "the second change is named: {}", row.reason);
    assert!(!row.reason.contains("(new revision)"), "{}", row.reason);
}

#[tokio::test(start_paused = true)]
async fn a_feature_it_lacks_is_refused_by_name() {
    let orchestrator = Orchestrator::new(providers()).with_options(test_options());
    let mut scaled = seed_spec();
    scaled.scaling = Some(AutoscalingSpec::on_cpu(2, 4, 60));
    let refused = orchestrator.deploy(&scaled, None, &RecordedEvents::new()).await.unwrap_err();
    assert!(refused.to_string().contains("no autoscaling"), "{refused}");
}

#[tokio::test(start_paused = true)]
async fn what_its_graph_cannot_carry_is_refused_before_any_write() {
    // The same platform declaring neither certificates nor autoscaling.
    let bare = CAPABILITIES.with_graph(GRAPH.without_step(StepId::Certificate).without_step(StepId::Autoscaling));
    let platform = Arc::new(CloudRunShaped::default());
    let providers = Providers { capabilities: bare, ..Providers::from_cloud(platform) };
    let recorded = scaling_core::conformance::Recorded::new(providers);
    let orchestrator = Orchestrator::new(Providers::from_cloud(recorded.clone())).with_options(test_options());
    let mut spec = seed_spec();
    spec.scaling = Some(AutoscalingSpec::on_cpu(2, 4, 60));
    let refused = orchestrator.deploy(&spec, None, &RecordedEvents::new()).await.unwrap_err();
    let scaling_core::Error::InvalidSpec(problems) = &refused else { panic!("{refused}") };
    let fields: Vec<&str> = problems.problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["domain.https", "scaling"], "{refused}");
    assert_eq!(recorded.writes(), Vec::<&str>::new(), "a refused deploy wrote");
}

#[tokio::test(start_paused = true)]
async fn status_scale_releases_and_rollback_work_without_a_cluster() {
    let orchestrator = Orchestrator::new(providers()).with_options(test_options());
    let spec = seed_spec();
    orchestrator.deploy(&spec, None, &RecordedEvents::new()).await.unwrap();
    let mut next = spec.clone();
    next.image.reference = Some(scaling_tests::image(2));
    orchestrator.deploy(&next, None, &RecordedEvents::new()).await.unwrap();

    let status = orchestrator.status(&next).await.unwrap();
    assert_eq!(status.service.as_ref().map(|s| s.running_count), Some(3), "{status:#?}");
    let scaled = orchestrator.scale(&next, 2, &RecordedEvents::new()).await.unwrap();
    assert_eq!(scaled.spec.desired_count, 2);

    let releases = orchestrator.releases(&next).await.unwrap();
    let images: Vec<(&str, bool)> = releases.iter().map(|r| (r.image.as_str(), r.current)).collect();
    assert_eq!(images, [(scaling_tests::image(2).as_str(), true), (scaling_tests::image(1).as_str(), false)]);
    orchestrator.rollback(&next, None, &RecordedEvents::new()).await.unwrap();
    let releases = orchestrator.releases(&next).await.unwrap();
    assert_eq!(releases.iter().find(|r| r.current).map(|r| r.image.clone()), Some(scaling_tests::image(1)));
}

#[tokio::test(start_paused = true)]
async fn a_step_it_lacks_gets_no_call_at_all() {
    let recorded = scaling_core::conformance::Recorded::new(providers());
    let orchestrator = Orchestrator::new(Providers::from_cloud(recorded.clone())).with_options(test_options());
    let spec = seed_spec();
    orchestrator.deploy(&spec, None, &RecordedEvents::new()).await.unwrap();
    orchestrator.status(&spec).await.unwrap();
    orchestrator.scale(&spec, 2, &RecordedEvents::new()).await.unwrap();
    let everything = scaling_core::DestroyOptions { delete_images: true, delete_zone: true, delete_logs: true };
    let destroyed = RecordedEvents::new();
    orchestrator.destroy(&spec, &everything, &destroyed).await.unwrap();
    assert!(destroyed.events().iter().all(|e| GRAPH.has(e.step)), "an event of a step it lacks");
    let lacking = ["cluster", "firewall", "backend", "listener", "support_resource", "target_health"];
    let called: Vec<&str> = recorded
        .calls()
        .into_iter()
        .map(|c| c.method)
        .filter(|method| *method == "register_revision" || lacking.iter().any(|l| method.contains(l)))
        .collect();
    assert_eq!(called, Vec::<&str>::new(), "calls for steps it does not have");
}

#[test]
fn a_graph_without_a_service_is_refused() {
    let nothing = Capabilities::new(scaling_core::providers::StepGraph::EMPTY);
    assert!(nothing.conflicts().iter().any(|c| c.contains("no service step")), "{:?}", nothing.conflicts());
}
