//! The provider against a real BIND (`named`, Debian's bind9) on a free loopback port, with a TSIG key
//! that may update and transfer the zone `example.test`: records written, read back with owners,
//! replaced, a foreign record refused and untouched, deletion of only the app's own, and a wrong key
//! refused with a message that names the settings to check and never the secret; with secondaries, a
//! change is done only once they serve it, and a secondary left behind fails it, named.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use scaling_core::providers::{Dns, DnsRecord, Owner, RecordKind, RecordValue};
use scaling_core::ErrorKind;
use scaling_dns_update::DnsUpdate;
use support::bind::{free_port, settings, start_bind, start_bind_notifying, start_secondary, SECRET};

fn record(name: &str, kind: RecordKind, values: &[&str], owner: &str) -> DnsRecord {
    DnsRecord {
        name: name.into(),
        kind,
        value: RecordValue::Values { values: values.iter().map(|v| v.to_string()).collect(), ttl: 60 },
        owner: Some(owner.into()),
    }
}

#[tokio::test]
async fn records_are_written_read_back_replaced_and_removed_and_foreign_ones_are_left_alone() {
    let Some(bind) = start_bind() else { return };
    let dns = DnsUpdate::new(&settings(&bind, SECRET)).unwrap();
    let zone = dns.find_zone("www.example.test").await.unwrap().expect("the zone that holds the name");
    assert_eq!(zone.name, "example.test");
    assert_eq!(zone.name_servers, ["ns1.example.test"]);
    assert_eq!(zone.owner, None, "the server's zone: never the app's to delete");
    assert!(dns.find_zone("example.org").await.unwrap().is_none());

    let app = Owner::new("dashmath");
    let wanted = vec![
        record("example.test", RecordKind::A, &["127.0.0.2"], "dashmath"),
        record("www.example.test", RecordKind::A, &["127.0.0.2"], "dashmath"),
        record("www.example.test", RecordKind::Aaaa, &["::1"], "dashmath"),
        record("_acme-challenge.example.test", RecordKind::Txt, &["\"token-1\""], "dashmath"),
    ];
    dns.upsert_records(&zone, &wanted).await.unwrap();
    let listed = dns.list_records(&zone).await.unwrap();
    for w in &wanted {
        assert!(listed.contains(w), "{w:?} in {listed:#?}");
    }
    assert!(listed.iter().all(|r| !r.name.starts_with("_scaling.")), "markers are hidden: {listed:#?}");
    let legacy = listed.iter().find(|r| r.name == "legacy.example.test").expect("the zone's own record");
    assert_eq!(legacy.owner, None);
    // The same again changes nothing; a new value replaces the set.
    dns.upsert_records(&zone, &wanted).await.unwrap();
    let moved = record("www.example.test", RecordKind::A, &["127.0.0.3", "127.0.0.4"], "dashmath");
    dns.upsert_records(&zone, std::slice::from_ref(&moved)).await.unwrap();
    assert!(dns.list_records(&zone).await.unwrap().contains(&moved));

    // Someone else's record: refused, and left as it was.
    let takeover = record("legacy.example.test", RecordKind::A, &["127.0.0.2"], "dashmath");
    let refused = dns.upsert_records(&zone, std::slice::from_ref(&takeover)).await.unwrap_err();
    assert_eq!(refused.kind, ErrorKind::Conflict, "{refused}");
    assert!(refused.message.contains("someone outside scaling"), "{refused}");
    assert_eq!(dns.delete_records(&app, &zone, &[takeover]).await.unwrap_err().kind, ErrorKind::Conflict);
    // A CNAME cannot sit beside someone else's address record (the server would drop it silently).
    let beside = record("legacy.example.test", RecordKind::Cname, &["dashmath.example.test"], "dashmath");
    let refused = dns.upsert_records(&zone, std::slice::from_ref(&beside)).await.unwrap_err();
    assert!(refused.message.contains("legacy.example.test A"), "{refused}");
    let other = record("api.example.test", RecordKind::A, &["127.0.0.9"], "other");
    dns.upsert_records(&zone, std::slice::from_ref(&other)).await.unwrap();
    let theirs = [record("api.example.test", RecordKind::A, &["127.0.0.2"], "dashmath")];
    assert!(dns.upsert_records(&zone, &theirs).await.unwrap_err().message.contains("the app other"));

    // Destroy's deletion: the app's own records and markers go; the rest stays.
    let owned: Vec<DnsRecord> =
        dns.list_records(&zone).await.unwrap().into_iter().filter(|r| r.owner.as_deref() == Some("dashmath")).collect();
    assert_eq!(owned.len(), 4);
    dns.delete_records(&app, &zone, &owned).await.unwrap();
    dns.delete_records(&app, &zone, &owned).await.unwrap();
    let left = dns.list_records(&zone).await.unwrap();
    let names: Vec<(&str, Option<&str>)> = left.iter().map(|r| (r.name.as_str(), r.owner.as_deref())).collect();
    assert_eq!(names, [("api.example.test", Some("other")), ("legacy.example.test", None), ("ns1.example.test", None)]);
}

#[tokio::test]
async fn a_wrong_key_is_refused_naming_what_to_check_and_never_the_secret() {
    let Some(bind) = start_bind() else { return };
    let wrong = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LTAx";
    let dns = DnsUpdate::new(&settings(&bind, wrong)).unwrap();
    let error = dns.find_zone("example.test").await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::AccessDenied, "{error}");
    let shown = format!("{error} {error:?} {dns:?}");
    assert!(shown.contains("key_name") && shown.contains("key_file"), "{shown}");
    assert!(!shown.contains(wrong) && !shown.contains(SECRET), "{shown}");
}

/// The in-memory cloud's compute with this provider's DNS: a deploy publishes the app's names in the
/// server's zone, a re-deploy writes nothing, and destroy removes the app's records and nothing else
/// (the zone is the server's, never the app's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_orchestrator_publishes_through_it_and_destroy_removes_only_the_apps_records() {
    use scaling_core::{DestroyOptions, ImageSpec, Orchestrator, Providers, RecordedEvents, Spec};
    use scaling_memory::InMemoryCloud;
    let Some(bind) = start_bind() else { return };
    let dns = std::sync::Arc::new(DnsUpdate::new(&settings(&bind, SECRET)).unwrap());
    let cloud = InMemoryCloud::new().shared();
    let providers = Providers { dns: dns.clone(), ..Providers::from_cloud(cloud.clone()) };
    let orchestrator = Orchestrator::new(providers);
    let image = "registry.example/dashmath@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let mut spec = Spec::new("dashmath", 8050, ImageSpec::prebuilt(image)).with_domain("dashmath.example.test");
    let domain = spec.domain.as_mut().unwrap();
    (domain.https, domain.redirect_http) = (false, false);

    orchestrator.deploy(&spec, None, &RecordedEvents::new()).await.unwrap();
    let zone = dns.find_zone("dashmath.example.test").await.unwrap().unwrap();
    let owned: Vec<(String, RecordKind)> = dns
        .list_records(&zone)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.owner.as_deref() == Some("dashmath"))
        .map(|r| (r.name, r.kind))
        .collect();
    assert_eq!(
        owned,
        [
            ("dashmath.example.test".to_string(), RecordKind::Cname),
            ("www.dashmath.example.test".into(), RecordKind::Cname)
        ]
    );
    cloud.clear_calls();
    let before = dns.list_records(&zone).await.unwrap();
    orchestrator.deploy(&spec, None, &RecordedEvents::new()).await.unwrap();
    assert_eq!(cloud.mutating_calls(), []);
    assert_eq!(dns.list_records(&zone).await.unwrap(), before, "a re-deploy writes no record");

    let everything = DestroyOptions { delete_images: true, delete_zone: true, delete_logs: true };
    let report = orchestrator.destroy(&spec, &everything, &RecordedEvents::new()).await.unwrap();
    let left: Vec<String> = dns.list_records(&zone).await.unwrap().into_iter().map(|r| r.name).collect();
    assert_eq!(left, ["legacy.example.test", "ns1.example.test"], "{report:?}");
    assert!(dns.find_zone("example.test").await.unwrap().is_some(), "the server's zone stays");
}

/// `dig` against `port`: the values of `name`'s `kind` records.
fn dig(port: u16, name: &str, kind: &str) -> Vec<String> {
    let out = std::process::Command::new("dig")
        .args(["+short", "+tcp", "-p", &port.to_string(), "@127.0.0.1", name, kind])
        .output()
        .expect("dig (scripts/test installs bind9-dnsutils)");
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_is_done_once_every_secondary_serves_it_and_one_left_behind_is_named() {
    let (notified_port, silent_port) = (free_port(), free_port());
    let Some(primary) = start_bind_notifying(&[notified_port]) else { return };
    let notified = start_secondary(&primary, notified_port).expect("a secondary");
    let silent = start_secondary(&primary, silent_port).expect("a secondary it does not notify");

    // Written, then served by the notified secondary the moment the call returns.
    let mut with_secondary = settings(&primary, SECRET);
    with_secondary.secondaries = vec![format!("127.0.0.1:{}", notified.port).parse().unwrap()];
    let dns = DnsUpdate::new(&with_secondary).unwrap();
    let zone = dns.find_zone("example.test").await.unwrap().unwrap();
    let challenge = record("_acme-challenge.example.test", RecordKind::Txt, &["\"token-2\""], "dashmath");
    for value in ["\"token-2\"", "\"token-3\""] {
        let challenge = record("_acme-challenge.example.test", RecordKind::Txt, &[value], "dashmath");
        dns.upsert_records(&zone, std::slice::from_ref(&challenge)).await.unwrap();
        assert_eq!(dig(notified.port, "_acme-challenge.example.test", "TXT"), [value], "served by the secondary");
    }

    // A secondary that is never told stays at its first serial: the change fails, naming it and the fix,
    // within the wait it was given (longer than BIND's notify-delay of 5 s, which holds back a NOTIFY
    // that follows another within that time, so the notified one catches up meanwhile).
    let mut with_both = with_secondary.clone();
    with_both.secondaries.push(format!("127.0.0.1:{}", silent.port).parse().unwrap());
    with_both.propagation_timeout = std::time::Duration::from_secs(12);
    let dns = DnsUpdate::new(&with_both).unwrap();
    let started = std::time::Instant::now();
    let behind = dns.upsert_records(&zone, std::slice::from_ref(&challenge)).await.unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "bounded by propagation_timeout");
    assert_eq!(behind.kind, ErrorKind::Unavailable, "{behind}");
    assert!(behind.message.contains(&format!("127.0.0.1:{} serves serial 1", silent.port)), "{behind}");
    assert!(behind.message.contains("also-notify"), "{behind}");
    assert!(!behind.message.contains(&notified.port.to_string()), "the notified one is not behind: {behind}");
    let app = Owner::new("dashmath");
    let gone = dns.delete_records(&app, &zone, &[challenge]).await.unwrap_err();
    assert_eq!(gone.kind, ErrorKind::Unavailable, "a deletion waits for them too: {gone}");
}
