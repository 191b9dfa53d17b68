//! The steps come from what the providers are: a provider without firewalls or with self-validating
//! certificates has no such steps (dropped, not faked), and a pairing that cannot work is refused
//! before any call.

use scaling_core::memory::InMemoryCloud;
use scaling_core::{Capabilities, Error, Orchestrator, Providers, RecordedEvents, StepId};
use scaling_tests::{seed_spec, test_options};

fn orchestrator_for(capabilities: Capabilities) -> (std::sync::Arc<InMemoryCloud>, Orchestrator) {
    let cloud = InMemoryCloud::new().with_capabilities(capabilities).shared();
    let orchestrator = Orchestrator::new(Providers::from_cloud(cloud.clone())).with_options(test_options());
    (cloud, orchestrator)
}

#[tokio::test(start_paused = true)]
async fn a_provider_without_firewalls_or_published_validation_has_no_such_steps() {
    let capabilities = Capabilities::CLOUD.without_firewalls().with_self_managed_certificates();
    let (cloud, orchestrator) = orchestrator_for(capabilities);
    let image = orchestrator.prepare_image(&seed_spec(), None).await.unwrap();
    let plan = orchestrator.plan(&seed_spec(), image).await.unwrap();
    for dropped in [StepId::LoadBalancerSecurityGroup, StepId::TaskSecurityGroup, StepId::ValidationRecords] {
        assert!(!plan.steps().contains(&dropped), "{dropped} is planned: {:?}", plan.steps());
        assert!(plan.change(dropped).is_none(), "{dropped} has a row");
    }
    for kept in [StepId::Zone, StepId::Certificate, StepId::CertificateIssued, StepId::AliasRecords] {
        assert!(plan.steps().contains(&kept), "{kept} is missing");
    }

    let report = orchestrator.apply(&plan, &RecordedEvents::new()).await.unwrap();
    assert_eq!(report.urls, ["https://dashmath.example.com", "https://www.dashmath.example.com"]);
    let inventory = cloud.inventory();
    assert!(!inventory.iter().any(|l| l.starts_with("security_group")), "{inventory:#?}");
    assert!(!inventory.iter().any(|l| l.contains(" Cname ")), "no validation records: {inventory:#?}");
    cloud.clear_calls();
    orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
    assert!(cloud.mutating_calls().is_empty(), "a re-deploy writes nothing: {:?}", cloud.mutating_calls());
}

#[tokio::test(start_paused = true)]
async fn names_that_resolve_by_themselves_need_no_zone_and_no_records() {
    let local_like = Capabilities::CLOUD.without_firewalls().with_self_managed_certificates().without_dns_records();
    let (cloud, orchestrator) = orchestrator_for(local_like);
    let image = orchestrator.prepare_image(&seed_spec(), None).await.unwrap();
    let plan = orchestrator.plan(&seed_spec(), image).await.unwrap();
    for dropped in [StepId::Zone, StepId::AliasRecords, StepId::ValidationRecords] {
        assert!(!plan.steps().contains(&dropped), "{dropped} is planned");
    }
    orchestrator.apply(&plan, &RecordedEvents::new()).await.unwrap();
    let inventory = cloud.inventory();
    assert!(!inventory.iter().any(|l| l.starts_with("zone") || l.starts_with("record")), "{inventory:#?}");
}

#[tokio::test(start_paused = true)]
async fn a_pairing_that_cannot_work_is_refused_before_any_call() {
    for broken in [
        // Published validation records, but a DNS provider that writes none.
        Capabilities::CLOUD.without_dns_records(),
        // A task firewall that admits only the load balancer's firewall, which does not exist.
        {
            let mut mixed = Capabilities::CLOUD;
            mixed.load_balancer_firewall = false;
            mixed
        },
    ] {
        let (cloud, orchestrator) = orchestrator_for(broken);
        let error = orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap_err();
        assert!(matches!(error, Error::Incompatible { .. }), "{error}");
        assert!(error.to_string().contains("cannot work together"), "{error}");
        assert!(cloud.calls().is_empty(), "a refused pairing called the provider: {:?}", cloud.calls());
    }
}
