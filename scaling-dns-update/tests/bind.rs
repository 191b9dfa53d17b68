//! The provider against a real BIND (`named`, Debian's bind9) on a free loopback port, with a TSIG key
//! that may update and transfer the zone `example.test`: records written, read back with owners,
//! replaced, a foreign record refused and untouched, deletion of only the app's own, and a wrong key
//! refused with a message that names the settings to check and never the secret.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use scaling_core::providers::{Dns, DnsRecord, Owner, RecordKind, RecordValue};
use scaling_core::ErrorKind;
use scaling_dns_update::{DnsUpdate, DnsUpdateSettings};

const SECRET: &str = "c2NhbGluZy10ZXN0LWtleS1ub3QtYS1yZWFsLXNlY3JldC0wMTIzNDU2Nzg5";

/// A `named` serving `example.test`; killed when dropped, and by the kernel if this test dies first.
struct Bind {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Bind {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn named() -> Option<PathBuf> {
    let found = ["/usr/sbin/named", "/usr/bin/named"].into_iter().map(PathBuf::from).find(|p| p.exists());
    assert!(found.is_some() || std::env::var("CI").is_err(), "named is required in CI (scripts/test installs bind9)");
    found
}

#[allow(clippy::zombie_processes)] // killed and waited for in `Drop`
fn start_bind() -> Option<Bind> {
    let Some(named) = named() else {
        eprintln!("skipping: named is not installed (scripts/test installs bind9)");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = std::env::temp_dir().join(format!("scaling-bind-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let zone = "$TTL 300\n@ IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 300\n\
                @ IN NS ns1.example.test.\nns1 IN A 127.0.0.1\nlegacy IN A 192.0.2.99\n";
    std::fs::write(dir.join("example.test.zone"), zone).unwrap();
    let conf = format!(
        "options {{ directory \"{d}\"; pid-file \"{d}/named.pid\"; listen-on port {port} {{ 127.0.0.1; }};\n\
         listen-on-v6 {{ none; }}; recursion no; dnssec-validation no; }};\n\
         key \"scaling\" {{ algorithm hmac-sha256; secret \"{SECRET}\"; }};\n\
         controls {{ }};\n\
         zone \"example.test\" {{ type primary; file \"{d}/example.test.zone\";\n\
         update-policy {{ grant scaling zonesub ANY; }}; allow-transfer {{ key scaling; }}; }};\n",
        d = dir.display()
    );
    std::fs::write(dir.join("named.conf"), conf).unwrap();
    let child = Command::new("setpriv")
        .args(["--pdeathsig", "KILL", "--"])
        .arg(named)
        .args(["-g", "-n", "1", "-c"])
        .arg(dir.join("named.conf"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("named.log")).unwrap())
        .spawn()
        .unwrap();
    let bind = Bind { child, port, dir };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(bind);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("named did not start: {}", std::fs::read_to_string(bind.dir.join("named.log")).unwrap_or_default());
}

fn settings(bind: &Bind, secret: &str) -> DnsUpdateSettings {
    let key_file = bind.dir.join(format!("key-{}", &secret[..8]));
    std::fs::write(&key_file, format!("key \"scaling\" {{\n\talgorithm hmac-sha256;\n\tsecret \"{secret}\";\n}};\n"))
        .unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    DnsUpdateSettings {
        server: format!("127.0.0.1:{}", bind.port).parse().unwrap(),
        zone: "example.test".into(),
        key_name: "scaling".into(),
        key_algorithm: "hmac-sha256".into(),
        key_file,
    }
}

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
    use scaling_core::memory::InMemoryCloud;
    use scaling_core::{DestroyOptions, ImageSpec, Orchestrator, Providers, RecordedEvents, Spec};
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
