//! Destroy deletes only what the app owns, and keeps the zone unless asked.

use scaling_core::providers::{
    DesiredFirewall, DesiredLoadBalancer, DnsRecord, FirewallSpec, IngressRule, LoadBalancerSpec, RecordKind,
    RecordValue, TrafficFrom,
};
use scaling_core::{DestroyOptions, Dns, LoadBalancer, Owner, RecordedEvents};
use scaling_memory::InMemoryCloud;
use scaling_tests::{orchestrator, seed_spec};

/// A load balancer and a zone record that belong to someone else.
async fn add_foreign_resources(cloud: &InMemoryCloud) {
    let tags = Owner::new("billing").tags(&Default::default());
    let group = DesiredFirewall {
        spec: FirewallSpec {
            name: "billing-alb-sg".into(),
            ingress: vec![IngressRule { port: 443, from: TrafficFrom::Anywhere }],
        },
        description: "billing".into(),
        tags: tags.clone(),
    };
    let group = cloud.ensure_firewall(&group).await.unwrap();
    let lb = DesiredLoadBalancer {
        spec: LoadBalancerSpec { name: "billing-alb".into(), idle_timeout: std::time::Duration::from_secs(60) },
        firewall_id: Some(group.id),
        drop_invalid_header_fields: true,
        hosts: Vec::new(),
        tags,
    };
    cloud.ensure_load_balancer(&lb).await.unwrap();
    let zone = cloud.find_zone("dashmath.example.com").await.unwrap().unwrap();
    let mail = DnsRecord {
        name: "dashmath.example.com".into(),
        kind: RecordKind::Txt,
        value: RecordValue::Values { values: vec!["v=spf1 -all".into()], ttl: 300 },
        owner: None,
    };
    cloud.upsert_records(&zone, &[mail]).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn destroy_keeps_foreign_resources_and_the_zone() {
    let cloud = InMemoryCloud::new().shared();
    let orchestrator = orchestrator(&cloud);
    orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
    add_foreign_resources(&cloud).await;

    let report = orchestrator.destroy(&seed_spec(), &DestroyOptions::default(), &RecordedEvents::new()).await.unwrap();

    let left = cloud.inventory();
    assert!(left.iter().any(|l| l.starts_with("load_balancer billing-alb owner=billing")), "{left:#?}");
    assert!(left.iter().any(|l| l.starts_with("firewall billing-alb-sg owner=billing")));
    assert!(
        left.iter().any(|l| l.starts_with("record dashmath.example.com Txt owner= ")),
        "the foreign record survives"
    );
    assert!(left.iter().any(|l| l == "zone dashmath.example.com owner=dashmath"), "the zone stays unless asked");
    assert!(left.iter().any(|l| l.starts_with("repository dashmath")), "images stay unless asked");
    assert_eq!(cloud.owned_by("dashmath").len(), 2, "only the zone and repository remain: {left:#?}");
    assert!(report.kept.iter().any(|k| k.contains("--delete-zone")));
    assert!(report.kept.iter().any(|k| k.contains("--delete-images")));
    assert!(report.deleted.iter().any(|d| d == "load balancer dashmath"));
}

#[tokio::test(start_paused = true)]
async fn destroy_with_consent_removes_everything_owned() {
    let cloud = InMemoryCloud::new().shared();
    let orchestrator = orchestrator(&cloud);
    orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();

    let options = DestroyOptions { delete_images: true, delete_zone: true, delete_logs: true };
    orchestrator.destroy(&seed_spec(), &options, &RecordedEvents::new()).await.unwrap();
    assert_eq!(cloud.inventory(), Vec::<String>::new());

    cloud.clear_calls();
    orchestrator.destroy(&seed_spec(), &options, &RecordedEvents::new()).await.unwrap();
    assert_eq!(cloud.mutating_calls(), [], "destroying nothing calls nothing");
}

#[tokio::test(start_paused = true)]
async fn destroy_never_deletes_a_zone_it_did_not_create() {
    let cloud = InMemoryCloud::new().shared();
    let stranger = Owner::new("someone-else");
    cloud.create_zone(&stranger, "example.com", &Default::default()).await.unwrap();
    let orchestrator = orchestrator(&cloud);
    orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
    assert!(
        !cloud.inventory().iter().any(|l| l.starts_with("zone dashmath.example.com")),
        "the enclosing zone is reused"
    );

    let options = DestroyOptions { delete_images: true, delete_zone: true, delete_logs: true };
    let report = orchestrator.destroy(&seed_spec(), &options, &RecordedEvents::new()).await.unwrap();
    assert_eq!(cloud.inventory(), ["zone example.com owner=someone-else"]);
    assert!(report.kept.iter().any(|k| k.contains("not created by dashmath")));
}
