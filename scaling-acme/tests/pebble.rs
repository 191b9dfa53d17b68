//! The provider against Pebble (Let's Encrypt's test authority, Debian's `pebble`) on loopback, its
//! DNS-01 challenges answered through a real BIND by the RFC 2136 provider: a certificate for the app's
//! names issued, the same request answered by the same order, keys kept 0600, a failed validation
//! reported with the authority's reason, and delete removing only the owner's files.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../../scaling-dns-update/tests/support/bind.rs"]
mod bind;
mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use scaling_acme::{Acme, AcmeSettings};
use scaling_core::providers::{
    Certificate, CertificateInfo, CertificateSpec, CertificateStatus, DesiredCertificate, Dns, DnsRecord, Owner,
};
use scaling_dns_update::DnsUpdate;
use support::pebble::{start_pebble, Pebble};

fn acme(pebble: &Pebble, state: &Path) -> Acme {
    Acme::new(AcmeSettings {
        directory: format!("https://127.0.0.1:{}/dir", pebble.port),
        contact: "ops@example.test".into(),
        state_dir: state.to_path_buf(),
        directory_root: Some(pebble.dir.join("ca.pem")),
        challenge: scaling_acme::ChallengeKind::Dns01,
    })
    .unwrap()
}

fn desired(app: &str, key: &str) -> DesiredCertificate {
    DesiredCertificate {
        spec: CertificateSpec {
            domain: "dashmath.example.test".into(),
            alternative_names: vec!["www.dashmath.example.test".into()],
        },
        request_key: key.into(),
        tags: Owner::new(app).tags(&Default::default()),
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Looks at the order until it is issued or failed (15 s at most), as the orchestrator's wait does.
async fn settled(acme: &Acme, mut now: CertificateInfo) -> CertificateInfo {
    for _ in 0..60 {
        now = acme.describe_certificate(&now).await.unwrap();
        if now.status != CertificateStatus::PendingValidation {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    now
}

/// Publishes the records as the orchestrator's validation step does, owned by `app`.
async fn publish(dns: &DnsUpdate, records: &[DnsRecord], app: &str) {
    let zone = dns.find_zone("example.test").await.unwrap().unwrap();
    let owned: Vec<DnsRecord> = records.iter().cloned().map(|r| DnsRecord { owner: Some(app.into()), ..r }).collect();
    dns.upsert_records(&zone, &owned).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_is_issued_through_dns_01_and_kept_as_the_owners_alone() {
    let Some(bind) = bind::start_bind() else { return };
    let Some(pebble) = start_pebble(bind.port) else { return };
    let dns = DnsUpdate::new(&bind::settings(&bind, bind::SECRET)).unwrap();
    let state = pebble.dir.join("state");
    let acme = acme(&pebble, &state);

    let requested = acme.request_certificate(&desired("dashmath", "run-1")).await.unwrap();
    assert_eq!(requested.status, CertificateStatus::PendingValidation);
    let names: Vec<&str> = requested.validation_records.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["_acme-challenge.dashmath.example.test", "_acme-challenge.www.dashmath.example.test"]);
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("account.json")), 0o600, "the account key is the owner's alone");
    // A retried request (a kill, a re-run) is the same order.
    let again = acme.request_certificate(&desired("dashmath", "run-1")).await.unwrap();
    assert_eq!(again.id, requested.id);

    publish(&dns, &requested.validation_records, "dashmath").await;
    let now = settled(&acme, requested.clone()).await;
    assert_eq!(now.status, CertificateStatus::Issued, "{:?}", now.status);
    let (chain, key) = acme.files(&now).expect("the chain and key");
    assert_eq!(mode(&key), 0o600);
    let text =
        Command::new("openssl").args(["x509", "-noout", "-ext", "subjectAltName", "-in"]).arg(&chain).output().unwrap();
    let sans = String::from_utf8_lossy(&text.stdout);
    assert!(sans.contains("DNS:dashmath.example.test") && sans.contains("DNS:www.dashmath.example.test"), "{sans}");

    // A new provider on the same folder (the next run) sees it, and only its owner does.
    let next_run = self::acme(&pebble, &state);
    let found = next_run.find_certificates(&Owner::new("dashmath"), &[]).await.unwrap();
    assert_eq!(found.iter().map(|c| (&c.id, &c.status)).collect::<Vec<_>>(), [(&now.id, &CertificateStatus::Issued)]);
    assert_eq!(next_run.find_certificates(&Owner::new("other"), &[]).await.unwrap(), []);
    let refused = next_run.delete_certificate(&Owner::new("other"), &now).await.unwrap_err();
    assert!(refused.message.contains("not other's"), "{refused}");
    next_run.delete_certificate(&Owner::new("dashmath"), &now).await.unwrap();
    assert!(next_run.files(&now).is_none() && !key.exists());
    next_run.delete_certificate(&Owner::new("dashmath"), &now).await.unwrap();

    // A renewal while the authority still holds the names' validation (Let's Encrypt keeps it 30
    // days): no records to publish, and the order is issued by looking at it alone.
    let renewal = next_run.request_certificate(&desired("dashmath", "run-2")).await.unwrap();
    assert_eq!(renewal.validation_records, [], "the names are still validated");
    let now = settled(&next_run, renewal).await;
    assert_eq!(now.status, CertificateStatus::Issued, "{:?}", now.status);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validation_that_fails_says_which_name_and_why() {
    let Some(bind) = bind::start_bind() else { return };
    let Some(pebble) = start_pebble(bind.port) else { return };
    let acme = acme(&pebble, &pebble.dir.join("state"));
    // Records never published: the authority finds no TXT record.
    let now = settled(&acme, acme.request_certificate(&desired("dashmath", "run-1")).await.unwrap()).await;
    let CertificateStatus::Failed(reason) = &now.status else { panic!("{:?}", now.status) };
    assert!(reason.contains("dashmath.example.test"), "names the name: {reason}");
    assert!(reason.to_ascii_lowercase().contains("txt"), "says what was missing: {reason}");
    assert!(reason.contains("secondaries") && reason.contains("next deploy"), "and what to check: {reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_a_killed_run_left_pending_and_the_authority_failed_is_found_failed_by_the_next_run() {
    let Some(bind) = bind::start_bind() else { return };
    let Some(pebble) = start_pebble(bind.port) else { return };
    let state = pebble.dir.join("state");
    let killed = acme(&pebble, &state);
    // The run readied the challenges (records never published) and stopped before it looked again.
    let requested = killed.request_certificate(&desired("dashmath", "run-1")).await.unwrap();
    let readied = killed.describe_certificate(&requested).await.unwrap();
    assert_eq!(readied.status, CertificateStatus::PendingValidation, "the look that readied it");
    drop(killed);

    // The next run's read (a plan's: nothing moved on) finds it failed, so the plan replaces it.
    let next_run = acme(&pebble, &state);
    let mut found = Vec::new();
    for _ in 0..60 {
        found = next_run.find_certificates(&Owner::new("dashmath"), &[]).await.unwrap();
        if found[0].status != CertificateStatus::PendingValidation {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let CertificateStatus::Failed(reason) = &found[0].status else { panic!("{:?}", found[0].status) };
    assert!(reason.contains("dashmath.example.test"), "with the authority's reason: {reason}");

    // An order still being validated is left as it is by the read.
    let fresh = next_run.request_certificate(&desired("dashmath", "run-2")).await.unwrap();
    let found = next_run.find_certificates(&Owner::new("dashmath"), &[]).await.unwrap();
    let fresh_now = found.iter().find(|c| c.id == fresh.id).expect("the new order");
    assert_eq!(fresh_now.status, CertificateStatus::PendingValidation, "a read readies nothing");
}
