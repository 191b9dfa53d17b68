//! AWS compute with the domain's zone on your own DNS server, not Route 53: the RFC 2136 provider
//! (`scaling-dns-update`) on a real BIND holds the names and ACM's validation records, the ALB serves
//! ACM's certificate, and destroy takes out of the zone only what the app wrote.

#[path = "../../../scaling-dns-update/tests/support/bind.rs"]
mod bind;

use std::sync::Arc;

use scaling_core::providers::{Dns, RecordKind, RecordValue};
use scaling_core::{ImageSpec, Orchestrator, Providers, RecordedEvents, Spec};
use scaling_dns_update::DnsUpdate;

use crate::support::{moto_url, provider, sdk, CallLog};
use crate::{image, orchestrator_of, EVERYTHING};

/// The seed's app on a name inside BIND's `example.test`: below the apex, so a CNAME can lead it to
/// the ALB's host name.
fn spec() -> Spec {
    Spec::new("dashmath", 8050, ImageSpec::prebuilt(image(1)))
        .with_domain("dashmath.example.test")
        .with_desired_count(3)
}

/// AWS on the emulator with the RFC 2136 provider on a fresh BIND as its DNS; `None` (outside CI)
/// without the emulator or bind9.
struct OwnDns {
    url: String,
    account: String,
    log: CallLog,
    dns: Arc<DnsUpdate>,
    orchestrator: Orchestrator,
    _server: bind::Bind,
}

async fn own_dns() -> Option<OwnDns> {
    let url = moto_url()?;
    let server = bind::start_bind()?;
    let (aws, log, _, account) = provider(&url).await;
    let dns = Arc::new(DnsUpdate::new(&bind::settings(&server, bind::SECRET)).expect("settings"));
    let orchestrator = orchestrator_of(Providers { dns: dns.clone(), ..Providers::from_cloud(aws) });
    Some(OwnDns { url, account, log, dns, orchestrator, _server: server })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_zone_on_your_own_dns_server_beside_aws_compute() {
    let Some(OwnDns { url, account, log, dns, orchestrator, _server }) = own_dns().await else { return };

    let report = orchestrator.deploy(&spec(), None, &RecordedEvents::new()).await.unwrap();
    assert_eq!(report.urls, ["https://dashmath.example.test", "https://www.dashmath.example.test"]);
    assert_eq!(report.new_zone, None, "the server's zone is used, never made");

    // BIND holds CNAMEs of both names to the ALB, and ACM's validation record, all the app's.
    let alb = report.endpoint.and_then(|e| e.hostname).expect("the ALB's host name");
    let zone = dns.find_zone("dashmath.example.test").await.unwrap().expect("the zone");
    let records = dns.list_records(&zone).await.unwrap();
    for name in ["dashmath.example.test", "www.dashmath.example.test"] {
        let pointer = records.iter().find(|r| r.name == name && r.kind == RecordKind::Cname).expect(name);
        let RecordValue::Values { values, .. } = &pointer.value else { panic!("{pointer:?}") };
        assert_eq!(values.iter().map(|v| v.trim_end_matches('.')).collect::<Vec<_>>(), [alb.as_str()]);
        assert_eq!(pointer.owner.as_deref(), Some("dashmath"));
    }
    let validation = records.iter().filter(|r| r.name.starts_with('_') && r.kind == RecordKind::Cname).count();
    assert!(validation >= 1, "ACM's validation record is published in BIND: {records:#?}");
    let sdk = sdk(&url, &account).await;
    let zones = sdk.route53.list_hosted_zones().send().await.unwrap();
    assert!(zones.hosted_zones().is_empty(), "nothing on Route 53: {zones:?}");

    // Deployed again: nothing to do, on either side.
    log.clear();
    let image = orchestrator.prepare_image(&spec(), None).await.unwrap();
    let plan = orchestrator.plan(&spec(), image).await.unwrap();
    assert!(!plan.has_changes(), "{:#?}", plan.changes);
    orchestrator.deploy(&spec(), None, &RecordedEvents::new()).await.unwrap();
    assert_eq!(log.mutating(), Vec::<String>::new());

    // Destroy: the app's records leave the zone; the zone's own and the zone itself stay.
    orchestrator.destroy(&spec(), &EVERYTHING, &RecordedEvents::new()).await.unwrap();
    let left = dns.list_records(&zone).await.unwrap();
    assert!(left.iter().all(|r| r.owner.as_deref() != Some("dashmath")), "{left:#?}");
    assert!(left.iter().any(|r| r.name == "legacy.example.test"), "the zone's own record stays: {left:#?}");
    let owned = orchestrator.plan_destroy(&spec(), &EVERYTHING).await.unwrap().owned_resources();
    assert_eq!(owned, Vec::<String>::new(), "{owned:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apex_on_your_own_dns_server_behind_an_alb_is_refused_before_any_write() {
    let Some(OwnDns { log, dns, orchestrator, _server, .. }) = own_dns().await else { return };
    let zone = dns.find_zone("example.test").await.unwrap().expect("the zone");
    let before = dns.list_records(&zone).await.unwrap();

    let apex = Spec::new("dashmath", 8050, ImageSpec::prebuilt(image(1))).with_domain("example.test");
    let refused = orchestrator.deploy(&apex, None, &RecordedEvents::new()).await.unwrap_err();
    let text = refused.to_string();
    assert!(text.contains("domain.name") && text.contains("app.example.test"), "{text}");
    assert_eq!(log.mutating(), Vec::<String>::new(), "nothing made on AWS");
    assert_eq!(dns.list_records(&zone).await.unwrap(), before, "nothing written in the zone");
}
