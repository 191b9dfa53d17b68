//! Your own domain on one server: the local provider's compute and balancer, the RFC 2136 DNS
//! provider on a real BIND, and the ACME provider on Pebble (Let's Encrypt's test authority). A deploy
//! gets a certificate through DNS-01, publishes the app's names in the zone, and serves the page over
//! HTTPS with a certificate that chains to the authority's root, in a TLS client and in Chromium; once
//! two thirds of the certificate's (short) life have passed, a deploy renews it under load with no
//! failed request; destroy removes the app's records and certificate and nothing else. The conformance
//! kit runs with both challenges: DNS-01 records in the zone, and HTTP-01 answered on the balancer's
//! plain port, which Pebble reaches at the names' A records.

#[path = "../../scaling-dns-update/tests/support/bind.rs"]
mod bind;
#[path = "../../scaling-acme/tests/support/pebble.rs"]
mod pebble;

use std::sync::Arc;
use std::time::Duration;

use scaling_acme::{Acme, AcmeSettings};
use scaling_core::providers::Dns;
use scaling_core::{Certificate, DeployOptions, DestroyOptions, Event, Orchestrator, Owner, Providers, Timeouts};
use scaling_dns_update::DnsUpdate;
use scaling_local::LocalCloud;

use crate::browser::{require, trust, HEADLESS};
use crate::{dashmath_spec, home};

/// The local compute with the RFC 2136 DNS on `bind` and ACME on `pebble`, as one deployment's
/// providers: names through the zone, certificates validated by the records the DNS provider writes.
fn providers(
    bind: &bind::Bind,
    pebble: &pebble::Pebble,
    spec: &scaling_core::Spec,
) -> (Providers, Arc<LocalCloud>, Arc<DnsUpdate>, Arc<Acme>) {
    let dns = Arc::new(DnsUpdate::new(&bind::settings(bind, bind::SECRET)).unwrap());
    let acme = Arc::new(
        Acme::new(AcmeSettings {
            directory: format!("https://127.0.0.1:{}/dir", pebble.port),
            contact: "ops@example.test".into(),
            state_dir: pebble.dir.join("acme"),
            directory_root: Some(pebble.dir.join("ca.pem")),
            challenge: scaling_acme::ChallengeKind::Dns01,
        })
        .unwrap(),
    );
    let cloud = Arc::new(LocalCloud::new(home(), spec.settings().unwrap()).serving_certificates_of(acme.clone()));
    let mut providers =
        Providers { dns: dns.clone(), certificate: acme.clone(), ..Providers::from_cloud(cloud.clone()) };
    // Composed in Rust (the config's `[provider.local.public]` does the same, tested through the CLI).
    providers.capabilities = scaling_local::public_capabilities(scaling_acme::ChallengeKind::Dns01);
    (providers, cloud, dns, acme)
}

/// The same server serving its names publicly on loopback, with certificates proven by HTTP-01: the
/// A records of the names lead Pebble to the balancer's plain port, which answers its tokens.
fn http_01_providers(bind: &bind::Bind, pebble: &pebble::Pebble) -> (Providers, Arc<LocalCloud>, Arc<DnsUpdate>) {
    let dns_settings = bind::settings(bind, bind::SECRET);
    let acme_settings = AcmeSettings {
        directory: format!("https://127.0.0.1:{}/dir", pebble.port),
        contact: "ops@example.test".into(),
        state_dir: pebble.dir.join("acme-http-01"),
        directory_root: Some(pebble.dir.join("ca.pem")),
        challenge: scaling_acme::ChallengeKind::Http01,
    };
    let public = scaling_local::PublicSettings {
        addresses: vec![std::net::IpAddr::from([127, 0, 0, 1])],
        acme: acme_settings.clone(),
        dns: dns_settings.clone(),
        renewal_check: Duration::from_secs(3600),
    };
    // Pebble validates HTTP-01 on its configured port, as Let's Encrypt does on port 80.
    let settings = scaling_local::LocalSettings {
        https_port: Some(0),
        http_port: Some(pebble.http_port),
        public: Some(public),
        ..Default::default()
    };
    let dns = Arc::new(DnsUpdate::new(&dns_settings).unwrap());
    let acme = Arc::new(Acme::new(acme_settings).unwrap());
    let cloud = Arc::new(LocalCloud::new(home(), settings).serving_certificates_of(acme.clone()));
    // The capabilities are the cloud's own for this table: validation after binding.
    let providers = Providers { dns: dns.clone(), certificate: acme, ..Providers::from_cloud(cloud.clone()) };
    (providers, cloud, dns)
}

/// Waits of two minutes at most: the servers answer in seconds, and a stall fails instead of holding
/// the suite for the defaults' quarter hours.
fn bounded_options() -> DeployOptions {
    let wait = Duration::from_secs(120);
    let timeouts =
        Timeouts { load_balancer_active: wait, certificate_issued: wait, service_stable: wait, dependency_drain: wait };
    DeployOptions { poll_interval: Duration::from_millis(250), timeouts, ..DeployOptions::default() }
}

/// The whole conformance kit with this DNS and certificate beside the local compute; drift made
/// through the providers' own methods (a record pointed elsewhere in the zone among them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rfc_2136_dns_and_acme_certificate_pass_the_conformance_kit() {
    let Some(bind) = bind::start_bind() else { return };
    let Some(pebble) = pebble::start_pebble(bind.port) else { return };
    let spec = dashmath_spec().with_domain("dashmath.example.test");
    let (providers, cloud, dns, _) = providers(&bind, &pebble, &spec);
    run_the_kit(providers, spec, &cloud, &dns).await;
}

/// The whole conformance kit, then: no replica left running and only the zone's own records left.
async fn run_the_kit(providers: Providers, spec: scaling_core::Spec, cloud: &LocalCloud, dns: &DnsUpdate) {
    use scaling_core::conformance::{self, Subject, ThroughTheProvider};
    let subject = Subject::new(providers.clone(), spec).with_options(bounded_options());
    let drift = ThroughTheProvider(providers);
    let kit = tokio::time::timeout(Duration::from_secs(480), conformance::run_all(&subject, &drift));
    kit.await.expect("the conformance kit finishes within 8 minutes");
    assert!(cloud.supervisor().replica_pids("dashmath").is_empty(), "no replica outlives the kit");
    let zone = dns.find_zone("example.test").await.unwrap().unwrap();
    let left: Vec<String> = dns.list_records(&zone).await.unwrap().into_iter().map(|r| r.name).collect();
    assert_eq!(left, ["legacy.example.test", "ns1.example.test"], "the kit left records behind");
}

/// The kit again with HTTP-01: every certificate it orders is proven through the balancer's plain
/// port, and nothing it writes to the zone is a challenge record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_acme_certificate_proven_over_http_01_passes_the_conformance_kit() {
    let Some(bind) = bind::start_bind() else { return };
    let Some(pebble) = pebble::start_pebble(bind.port) else { return };
    let spec = dashmath_spec().with_domain("dashmath.example.test");
    let (providers, cloud, dns) = http_01_providers(&bind, &pebble);
    assert!(!providers.capabilities.has_step(scaling_core::StepId::ValidationRecords), "no records to publish");
    run_the_kit(providers, spec, &cloud, &dns).await;
    let log = std::fs::read_to_string(pebble.dir.join("pebble.log")).unwrap_or_default();
    // Pebble logs each validation task, and for HTTP-01 each of its fetches (it logs nothing for DNS-01).
    let count = |what: &str| log.lines().filter(|l| l.contains(what)).count();
    for name in ["dashmath.example.test", "www.dashmath.example.test"] {
        let fetched = format!("validate w/ HTTP: http://{name}:{}/.well-known/acme-challenge/", pebble.http_port);
        assert!(log.contains(&fetched), "{name} proven over HTTP-01:\n{log}");
    }
    assert!(count("validate w/ HTTP") >= count("Pulled a task"), "every task fetched over HTTP:\n{log}");
}

/// Says where the scenario stands, so that a run that stalls shows at which step.
fn mark(step: &str) {
    eprintln!("public_domain: {step}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_serves_the_domain_with_a_certificate_from_the_acme_authority() {
    // Every wait below is bounded; this bounds them all together, so a stall fails with the last step
    // marked instead of holding the suite.
    let bounded = tokio::time::timeout(Duration::from_secs(420), serve_renew_and_destroy()).await;
    bounded.expect("the public-domain scenario finishes within 7 minutes (see the last `public_domain:` line)");
}

async fn serve_renew_and_destroy() {
    let Some(bind) = bind::start_bind() else { return };
    // Certificates of 90 seconds: due for renewal after 60, which leaves the checks before it time
    // on a slow machine (a handshake after the end of the first one would fail).
    let Some(pebble) = pebble::start_pebble_issuing_for(bind.port, Some(90)) else { return };
    if !require("chromium") || !require("certutil") || !require("curl") {
        return;
    }
    let mut spec = dashmath_spec().with_domain("dashmath.example.test");
    spec.app.desired_count = 2;
    let (providers, cloud, dns, acme) = providers(&bind, &pebble, &spec);
    let orchestrator = Orchestrator::new(providers).with_options(bounded_options());
    let progress = |event: &Event| eprintln!("public_domain: {event:?}");

    mark("first deploy");
    let report = orchestrator.deploy(&spec, None, &progress).await.expect("deploy");
    assert!(report.urls.iter().any(|u| u.starts_with("https://dashmath.example.test")), "{:?}", report.urls);
    let zone = dns.find_zone("dashmath.example.test").await.unwrap().unwrap();
    let published: Vec<String> = dns
        .list_records(&zone)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.owner.as_deref() == Some("dashmath"))
        .map(|r| format!("{} {}", r.name, r.kind))
        .collect();
    for wanted in ["dashmath.example.test CNAME", "www.dashmath.example.test CNAME"] {
        assert!(published.iter().any(|p| p == wanted), "{wanted} in {published:?}");
    }

    mark("TLS clients");
    // A client that trusts only the authority's root reaches both names.
    let root = pebble::issuing_root(&pebble);
    let port = cloud.listener_port(443).expect("https listener");
    for host in ["dashmath.example.test", "www.dashmath.example.test"] {
        let reply = scaling_tests::https::once(host, port, Some(scaling_tests::https::trusting(&root)), "/")
            .await
            .unwrap_or_else(|e| panic!("{host}: {e}"));
        assert_eq!(reply.status, 200, "{host}");
        assert!(reply.body.contains("_dash-config"), "{host}: the Dash page");
    }

    mark("Chromium");
    // And so does Chromium, trusting that root as a user's browser trusts Let's Encrypt's.
    let browser_home = pebble.dir.join("chromium");
    std::fs::create_dir_all(&browser_home).unwrap();
    std::fs::write(browser_home.join("root.pem"), &root).unwrap();
    trust(&browser_home, &browser_home.join("root.pem"));
    let output = tokio::process::Command::new("chromium")
        .env("HOME", &browser_home)
        .args(HEADLESS)
        .arg("--host-resolver-rules=MAP *.example.test 127.0.0.1, MAP example.test 127.0.0.1")
        .args(["--virtual-time-budget=15000", "--dump-dom"])
        .arg(format!("--user-data-dir={}", browser_home.join("profile").display()))
        .arg(format!("https://dashmath.example.test:{port}/"))
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(90), output).await.expect("Chromium within 90 s").unwrap();
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(dom.contains("Dash Arithmetic"), "rendered: {dom}\nstderr: {}", String::from_utf8_lossy(&output.stderr));

    // Renewal under load: keep-alive clients and new connections all the while, none may fail.
    let owner = Owner::new("dashmath");
    let first = acme.find_certificates(&owner, &[]).await.unwrap();
    assert_eq!(first.len(), 1);
    mark("waiting for the renewal to be due, under load");
    let load = Load::start(port, scaling_tests::https::trusting(&root));
    for _ in 0..400 {
        if acme.find_certificates(&owner, &[]).await.unwrap()[0].renewal_due.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let due = acme.find_certificates(&owner, &[]).await.unwrap()[0].renewal_due.clone();
    assert!(due.as_deref().is_some_and(|d| d.contains("two thirds")), "{due:?}");
    mark("the renewing deploy");
    orchestrator.deploy(&spec, None, &progress).await.expect("the renewing deploy");
    let (ok, failed) = load.stop().await;
    eprintln!("renewal under load: {ok} requests succeeded, {failed} failed");
    let now = acme.find_certificates(&owner, &[]).await.unwrap();
    assert_eq!(now.len(), 1, "the old certificate is removed: {now:?}");
    assert_ne!(now[0].id, first[0].id, "a new certificate");
    assert!(now[0].renewal_due.is_none());
    assert_eq!(failed, 0, "no request failed during the renewal ({ok} succeeded)");
    assert!(ok > 0);
    let fresh =
        scaling_tests::https::once("www.dashmath.example.test", port, Some(scaling_tests::https::trusting(&root)), "/");
    assert_eq!(fresh.await.unwrap().status, 200, "a new connection gets the new certificate");

    // Destroy: the app's records and certificate go; the server's zone and its own records stay.
    mark("destroy");
    orchestrator.destroy(&spec, &DestroyOptions::default(), &progress).await.expect("destroy");
    let left: Vec<String> = dns.list_records(&zone).await.unwrap().into_iter().map(|r| r.name).collect();
    assert_eq!(left, ["legacy.example.test", "ns1.example.test"]);
    assert_eq!(acme.find_certificates(&Owner::new("dashmath"), &[]).await.unwrap(), []);
}

/// Clients requesting `/` until stopped: half on one keep-alive connection each, half on a new
/// connection per request, bounded to two minutes.
struct Load {
    stop: Arc<tokio::sync::Notify>,
    tasks: Vec<tokio::task::JoinHandle<(usize, usize)>>,
}

impl Load {
    fn start(port: u16, tls: scaling_tests::https::TlsConfig) -> Self {
        let stop = Arc::new(tokio::sync::Notify::new());
        let tasks = (0..6)
            .map(|n| {
                let (stop, tls) = (stop.clone(), tls.clone());
                tokio::spawn(async move {
                    let (mut ok, mut failed) = (0, 0);
                    let started = tokio::time::Instant::now();
                    let mut kept = None;
                    let stopped = stop.notified();
                    tokio::pin!(stopped);
                    while started.elapsed() < Duration::from_secs(120) {
                        let reply = async {
                            if n % 2 == 1 || kept.is_none() {
                                let connection = scaling_tests::https::Connection::open(
                                    "dashmath.example.test",
                                    port,
                                    Some(tls.clone()),
                                );
                                kept = Some(connection.await.map_err(|e| e.to_string())?);
                            }
                            kept.as_mut().expect("a connection").send("GET", "/", None).await
                        };
                        tokio::select! {
                            _ = &mut stopped => break,
                            reply = reply => match reply {
                                Ok(r) if r.status == 200 => ok += 1,
                                _ => failed += 1,
                            },
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    (ok, failed)
                })
            })
            .collect();
        Self { stop, tasks }
    }

    async fn stop(self) -> (usize, usize) {
        self.stop.notify_waiters();
        let mut totals = (0, 0);
        for task in self.tasks {
            let (ok, failed) = task.await.unwrap();
            totals = (totals.0 + ok, totals.1 + failed);
        }
        totals
    }
}
