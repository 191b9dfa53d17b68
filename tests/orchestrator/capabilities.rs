//! The steps come from what the providers are: a provider without firewalls or with self-validating
//! certificates has no such steps (dropped, not faked), and a pairing that cannot work is refused
//! before any call (a load balancer and a certificate provider of other kinds: before any write).

use scaling_core::providers::{CertificateInfo, DesiredCertificate, Owner};
use scaling_core::{Capabilities, Error, Orchestrator, ProviderResult, Providers, RecordedEvents, StepId};
use scaling_memory::InMemoryCloud;
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
    for dropped in [StepId::LoadBalancerFirewall, StepId::ReplicaFirewall, StepId::ValidationRecords] {
        assert!(!plan.steps().contains(&dropped), "{dropped} is planned: {:?}", plan.steps());
        assert!(plan.change(dropped).is_none(), "{dropped} has a row");
    }
    for kept in [StepId::Zone, StepId::Certificate, StepId::CertificateIssued, StepId::DnsRecords] {
        assert!(plan.steps().contains(&kept), "{kept} is missing");
    }

    let report = orchestrator.apply(&plan, &RecordedEvents::new()).await.unwrap();
    assert_eq!(report.urls, ["https://dashmath.example.com", "https://www.dashmath.example.com"]);
    let inventory = cloud.inventory();
    assert!(!inventory.iter().any(|l| l.starts_with("firewall")), "{inventory:#?}");
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
    for dropped in [StepId::Zone, StepId::DnsRecords, StepId::ValidationRecords] {
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
            mixed.graph = mixed.graph.without_step(StepId::LoadBalancerFirewall);
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

/// The in-memory cloud's certificates, said to hand out their keys (as an ACME authority's are) or
/// not (as ACM's are not).
struct Paired {
    cloud: std::sync::Arc<InMemoryCloud>,
    keys: bool,
}

#[async_trait::async_trait]
impl scaling_core::Certificate for Paired {
    async fn find_certificates(&self, o: &Owner, d: &[String]) -> ProviderResult<Vec<CertificateInfo>> {
        self.cloud.find_certificates(o, d).await
    }
    async fn request_certificate(&self, desired: &DesiredCertificate) -> ProviderResult<CertificateInfo> {
        self.cloud.request_certificate(desired).await
    }
    async fn describe_certificate(&self, certificate: &CertificateInfo) -> ProviderResult<CertificateInfo> {
        self.cloud.describe_certificate(certificate).await
    }
    async fn delete_certificate(&self, owner: &Owner, certificate: &CertificateInfo) -> ProviderResult<()> {
        self.cloud.delete_certificate(owner, certificate).await
    }
    fn hands_out_key_material(&self) -> bool {
        self.keys
    }
}

#[tokio::test(start_paused = true)]
async fn a_load_balancer_and_a_certificate_provider_of_other_kinds_are_refused_by_field_before_any_call() {
    // An ALB-like balancer (its own cloud's certificates by id) with an ACME-like authority.
    let cloud = InMemoryCloud::new().shared();
    let certificate = std::sync::Arc::new(Paired { cloud: cloud.clone(), keys: true });
    let providers = Providers { certificate, ..Providers::from_cloud(cloud.clone()) };
    let orchestrator = Orchestrator::new(providers).with_options(test_options());
    let error = orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap_err();
    let Error::InvalidSpec(problems) = &error else { panic!("{error:?}") };
    assert_eq!(problems.problems.iter().map(|p| p.field.as_str()).collect::<Vec<_>>(), ["domain.https"]);
    assert!(error.to_string().contains("ALB takes ACM"), "{error}");
    assert!(cloud.mutating_calls().is_empty(), "refused before any write: {:?}", cloud.mutating_calls());

    // Without HTTPS the pair has nothing to disagree on.
    let mut plain = seed_spec();
    plain.domain = None;
    orchestrator.deploy(&plain, None, &RecordedEvents::new()).await.expect("HTTP only");
}

/// The position of `step`'s `Done` event.
fn done_at(events: &[scaling_core::Event], step: StepId) -> usize {
    events
        .iter()
        .position(|e| e.step == step && matches!(e.kind, scaling_core::EventKind::Done { .. }))
        .unwrap_or_else(|| panic!("{step} never finished: {events:#?}"))
}

#[tokio::test(start_paused = true)]
async fn a_certificate_issued_after_binding_waits_for_the_dns_records_and_publishes_none() {
    // A platform with a bundled certificate (Cloud Run domain mappings, Fly.io): no firewalls, no
    // validation records, issued once the names lead to the app.
    let platform = Capabilities::CLOUD.without_firewalls().with_certificates_after_binding();
    let (cloud, orchestrator) = orchestrator_for(platform);
    let image = orchestrator.prepare_image(&seed_spec(), None).await.unwrap();
    let plan = orchestrator.plan(&seed_spec(), image).await.unwrap();
    assert!(!plan.steps().contains(&StepId::ValidationRecords), "{:?}", plan.steps());

    let events = RecordedEvents::new();
    let report = orchestrator.apply(&plan, &events).await.unwrap();
    assert_eq!(report.urls, ["https://dashmath.example.com", "https://www.dashmath.example.com"]);
    let events = events.events();
    assert!(done_at(&events, StepId::DnsRecords) < done_at(&events, StepId::CertificateIssued));
    assert!(done_at(&events, StepId::CertificateIssued) < done_at(&events, StepId::HttpsListener));
    let inventory = cloud.inventory();
    assert!(!inventory.iter().any(|l| l.contains(" Cname ")), "no validation records: {inventory:#?}");

    cloud.clear_calls();
    orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
    assert!(cloud.mutating_calls().is_empty(), "a re-deploy writes nothing: {:?}", cloud.mutating_calls());
}

#[tokio::test(start_paused = true)]
async fn a_service_that_needs_no_listener_does_not_wait_for_one() {
    let caps = Capabilities::CLOUD.without_firewalls().with_services_before_listeners();
    assert!(!caps.dependencies(StepId::Service).contains(&StepId::HttpListener));
    assert!(Capabilities::CLOUD.dependencies(StepId::Service).contains(&StepId::HttpListener), "ECS needs one");

    // Every call takes a second: the listener comes after the load balancer, two calls later than the
    // service's own inputs; the service starts meanwhile.
    let latency =
        scaling_memory::Latency { api_call: std::time::Duration::from_secs(1), ..scaling_memory::Latency::NONE };
    let cloud = InMemoryCloud::with_latency(latency).with_capabilities(caps).shared();
    let orchestrator = Orchestrator::new(Providers::from_cloud(cloud.clone())).with_options(test_options());
    let events = RecordedEvents::new();
    orchestrator.deploy(&seed_spec(), None, &events).await.unwrap();
    let events = events.events();
    let service_started = events
        .iter()
        .position(|e| e.step == StepId::Service && matches!(e.kind, scaling_core::EventKind::Started { .. }))
        .unwrap();
    assert!(service_started < done_at(&events, StepId::HttpListener), "the service waited for the listener");
}

#[test]
fn every_graph_of_every_capability_is_ordered_and_torn_down_in_reverse() {
    let variants = [
        Capabilities::CLOUD,
        Capabilities::CLOUD.without_firewalls().with_self_managed_certificates().without_dns_records(),
        Capabilities::CLOUD.without_firewalls().with_certificates_after_binding(),
        Capabilities::CLOUD.with_services_before_listeners(),
    ];
    for caps in variants {
        let steps: Vec<StepId> = StepId::ALL.into_iter().filter(|s| caps.has_step(*s)).collect();
        let order = caps.ordered(&steps);
        assert_eq!(order.len(), steps.len());
        for (i, step) in order.iter().enumerate() {
            for dep in caps.dependencies(*step).iter().filter(|d| steps.contains(d)) {
                let at = order.iter().position(|s| s == dep).unwrap();
                assert!(at < i, "{caps:?}: {step} runs before its dependency {dep}");
                if *step != StepId::Cleanup {
                    assert!(caps.teardown_round(*dep) > caps.teardown_round(*step), "{dep} is torn down before {step}");
                }
            }
        }
    }
}
