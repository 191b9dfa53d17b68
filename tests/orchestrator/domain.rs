//! Domain changes: delegation, alias changes, removal, and record ownership.

use scaling_core::providers::{CertificateSpec, DnsRecord, RecordKind, RecordValue};
use scaling_core::{Action, Dns, Error, RecordedEvents, StepId};
use scaling_memory::InMemoryCloud;
use scaling_tests::{orchestrator, seed_spec};

#[tokio::test(start_paused = true)]
async fn an_undelegated_zone_fails_the_certificate_with_the_name_servers_and_resumes_later() {
    let cloud = InMemoryCloud::new().shared();
    let orchestrator = orchestrator(&cloud);
    cloud
        .create_zone(&scaling_core::Owner::new("dashmath"), "dashmath.example.com", &Default::default())
        .await
        .unwrap();
    cloud.set_delegated("dashmath.example.com", false);
    let zone = cloud.find_zone("dashmath.example.com").await.unwrap().unwrap();

    let error = orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap_err();
    let Error::ZoneNotDelegated { name_servers, .. } = &error else { panic!("unexpected {error}") };
    assert_eq!(name_servers, &zone.name_servers);
    for ns in &zone.name_servers {
        assert!(error.to_string().contains(ns), "the message lists {ns}: {error}");
    }
    // Everything that does not need the certificate is up, serving plain HTTP meanwhile.
    let inventory = cloud.inventory();
    assert!(inventory.iter().any(|l| l.starts_with("service dashmath")));
    assert!(inventory.iter().any(|l| l.starts_with("listener dashmath:80") && l.contains("forward:dashmath")));

    cloud.set_delegated("dashmath.example.com", true);
    orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
    let inventory = cloud.inventory();
    assert!(inventory.iter().any(|l| l.starts_with("listener dashmath:80") && l.contains("redirect:443")));
    assert!(inventory.iter().any(|l| l.starts_with("listener dashmath:443")));
}

#[tokio::test(start_paused = true)]
async fn changing_the_aliases_replaces_the_certificate_and_removes_the_old_one() {
    let cloud = InMemoryCloud::new().shared();
    let orchestrator = orchestrator(&cloud);
    orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();

    let mut spec = seed_spec();
    spec.domain.as_mut().unwrap().aliases = vec!["www".into(), "app".into()];
    let plan = orchestrator.plan(&spec, orchestrator.prepare_image(&spec, None).await.unwrap()).await.unwrap();
    assert_eq!(plan.change(StepId::Certificate).unwrap().action, Action::Replace);
    orchestrator.apply(&plan, &RecordedEvents::new()).await.unwrap();

    let certificates: Vec<String> = cloud.inventory().into_iter().filter(|l| l.starts_with("certificate ")).collect();
    assert_eq!(certificates, ["certificate dashmath.example.com owner=dashmath names=[app.dashmath.example.com,www.dashmath.example.com] status=Issued"]);
    assert!(cloud.inventory().iter().any(|l| l.starts_with("record app.dashmath.example.com A owner=dashmath")));
    cloud.clear_calls();
    orchestrator.deploy(&spec, None, &RecordedEvents::new()).await.unwrap();
    assert_eq!(cloud.mutating_calls(), []);
}

#[tokio::test(start_paused = true)]
async fn moving_to_another_domain_finds_and_removes_the_old_domains_certificate() {
    // Certificates are read by the spec's domain (a cloud reads each one's tags), so the old domain's
    // certificate is found through the listener that still holds it.
    let cloud = InMemoryCloud::new().shared();
    let orchestrator = orchestrator(&cloud);
    orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();

    let mut spec = seed_spec();
    spec.domain.as_mut().unwrap().name = "dashmath.example.org".into();
    let plan = orchestrator.plan(&spec, orchestrator.prepare_image(&spec, None).await.unwrap()).await.unwrap();
    assert!(
        plan.owned_resources().iter().any(|row| row.starts_with("certificate dashmath.example.com")),
        "the old domain's certificate is seen: {:#?}",
        plan.owned_resources()
    );
    orchestrator.apply(&plan, &RecordedEvents::new()).await.unwrap();
    let certificates: Vec<String> = cloud.inventory().into_iter().filter(|l| l.starts_with("certificate ")).collect();
    assert_eq!(certificates.len(), 1, "{certificates:?}");
    assert!(certificates[0].starts_with("certificate dashmath.example.org "), "{certificates:?}");
    cloud.clear_calls();
    orchestrator.deploy(&spec, None, &RecordedEvents::new()).await.unwrap();
    assert_eq!(cloud.mutating_calls(), []);
}

#[tokio::test(start_paused = true)]
async fn destroy_removes_a_certificate_of_a_domain_the_app_no_longer_names() {
    use scaling_core::providers::{Certificate, DesiredCertificate};
    let cloud = InMemoryCloud::new().shared();
    let orchestrator = orchestrator(&cloud);
    orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
    // Left by an earlier domain that nothing serves any more (a cleanup that found it in use).
    let owner = scaling_core::Owner::new("dashmath");
    let earlier = DesiredCertificate {
        spec: CertificateSpec { domain: "dashmath.example.org".into(), alternative_names: Vec::new() },
        request_key: "earlier".into(),
        tags: owner.tags(&Default::default()),
    };
    let left = cloud.request_certificate(&earlier).await.unwrap();
    let plan = orchestrator.plan_destroy(&seed_spec(), &scaling_core::DestroyOptions::default()).await.unwrap();
    assert!(plan.changes.iter().any(|c| c.resource.contains(&left.id)), "{:#?}", plan.changes);
    orchestrator.destroy(&seed_spec(), &scaling_core::DestroyOptions::default(), &RecordedEvents::new()).await.unwrap();
    let certificates: Vec<String> = cloud.inventory().into_iter().filter(|l| l.starts_with("certificate ")).collect();
    assert_eq!(certificates, Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn a_certificate_due_for_renewal_is_replaced_and_the_old_one_removed() {
    let cloud = InMemoryCloud::new().shared();
    let orchestrator = orchestrator(&cloud);
    orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
    let old = cloud.inventory().into_iter().filter(|l| l.starts_with("certificate ")).collect::<Vec<_>>();
    cloud.due_for_renewal("dashmath.example.com", "two thirds of its 90 days have passed");

    let spec = seed_spec();
    let plan = orchestrator.plan(&spec, orchestrator.prepare_image(&spec, None).await.unwrap()).await.unwrap();
    let row = plan.change(StepId::Certificate).unwrap();
    assert_eq!(row.action, Action::Replace);
    assert!(row.reason.starts_with("renew ") && row.reason.contains("two thirds"), "{row:?}");
    orchestrator.apply(&plan, &RecordedEvents::new()).await.unwrap();
    let now: Vec<String> = cloud.inventory().into_iter().filter(|l| l.starts_with("certificate ")).collect();
    assert_eq!(now.len(), 1, "the old one is removed once the listener serves the new: {now:?}");
    let listener = cloud.inventory().into_iter().find(|l| l.starts_with("listener dashmath:443")).unwrap();
    assert!(!old.is_empty() && !listener.is_empty());
    cloud.clear_calls();
    orchestrator.deploy(&spec, None, &RecordedEvents::new()).await.unwrap();
    assert_eq!(cloud.mutating_calls(), [], "renewed once, then nothing to do");
}

#[tokio::test(start_paused = true)]
async fn removing_the_domain_removes_https_records_and_certificate_but_keeps_the_zone() {
    let cloud = InMemoryCloud::new().shared();
    let orchestrator = orchestrator(&cloud);
    orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();

    let mut spec = seed_spec();
    spec.domain = None;
    let report = orchestrator.deploy(&spec, None, &RecordedEvents::new()).await.unwrap();
    let inventory = cloud.inventory();
    assert!(
        !inventory.iter().any(|l| l.starts_with("certificate") || l.starts_with("record") || l.contains(":443")),
        "{inventory:#?}"
    );
    assert!(inventory.iter().any(|l| l.starts_with("listener dashmath:80") && l.contains("forward:dashmath")));
    assert!(inventory.iter().any(|l| l.starts_with("zone dashmath.example.com")));
    assert_eq!(report.urls.len(), 1);
    assert!(report.urls[0].starts_with("http://dashmath-"), "{:?}", report.urls);
    cloud.clear_calls();
    orchestrator.deploy(&spec, None, &RecordedEvents::new()).await.unwrap();
    assert_eq!(cloud.mutating_calls(), []);
}

#[tokio::test(start_paused = true)]
async fn a_foreign_record_with_an_alias_name_is_never_overwritten() {
    let cloud = InMemoryCloud::new().shared();
    let zone = cloud
        .create_zone(&scaling_core::Owner::new("dashmath"), "dashmath.example.com", &Default::default())
        .await
        .unwrap();
    let theirs = DnsRecord {
        name: "www.dashmath.example.com".into(),
        kind: RecordKind::A,
        value: RecordValue::Values { values: vec!["192.0.2.1".into()], ttl: 60 },
        owner: None,
    };
    cloud.upsert_records(&zone, &[theirs]).await.unwrap();

    cloud.clear_calls();
    let error = orchestrator(&cloud).deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap_err();
    let provider = error.provider_error().expect("a provider error");
    assert_eq!(provider.kind, scaling_core::ErrorKind::NotOwned, "{error}");
    assert!(error.to_string().contains("www.dashmath.example.com A already exist(s)"), "{error}");
    assert_eq!(cloud.mutating_calls(), [], "found by the plan, before any write");
    // The app can still be destroyed, and the foreign record stays.
    let everything = scaling_core::DestroyOptions { delete_images: true, delete_zone: false, delete_logs: true };
    orchestrator(&cloud).destroy(&seed_spec(), &everything, &RecordedEvents::new()).await.unwrap();
    assert!(cloud.inventory().iter().any(|l| l.starts_with("record www.dashmath.example.com A owner= 192.0.2.1")));
}

#[tokio::test(start_paused = true)]
async fn a_replaced_certificate_still_in_use_never_fails_a_serving_deploy_and_goes_on_the_next_run() {
    let cloud = InMemoryCloud::new().shared();
    let orchestrator = orchestrator(&cloud);
    orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
    let mut spec = seed_spec();
    spec.domain.as_mut().unwrap().aliases = vec!["www".into(), "app".into()];
    // ACM keeps a certificate "in use" for minutes after its listener moved on.
    cloud.inject(scaling_memory::Fault::operation("delete_certificate").always().kind(scaling_core::ErrorKind::InUse));
    let events = RecordedEvents::new();
    orchestrator.deploy(&spec, None, &events).await.expect("the new certificate serves: the deploy succeeds");
    let said = format!("{:?}", events.events());
    assert!(said.contains("left certificate") && said.contains("the next deploy removes it"), "{said}");
    assert_eq!(cloud.inventory().iter().filter(|l| l.starts_with("certificate ")).count(), 2, "the old one is left");
    cloud.clear_faults();
    orchestrator.deploy(&spec, None, &RecordedEvents::new()).await.unwrap();
    assert_eq!(
        cloud.inventory().iter().filter(|l| l.starts_with("certificate ")).count(),
        1,
        "removed on the next run"
    );
}
