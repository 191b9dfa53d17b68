//! One server on its own domain, from the config alone: `[provider.local.public]` with a real BIND
//! taking RFC 2136 updates and Pebble (Let's Encrypt's test authority) issuing through DNS-01, and
//! again through HTTP-01 answered by the balancer's plain port. The
//! deploy publishes A and AAAA records of the listed addresses, serves both names over HTTPS with a
//! certificate chaining to the authority's root, renews it by its own timer while serving under load
//! with no failed request, and `destroy` removes the app's records and certificate and nothing else.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../scaling-dns-update/tests/support/bind.rs"]
mod bind;
#[path = "../../scaling-acme/tests/support/pebble.rs"]
mod pebble;
mod support;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{example_copy, fixed_count, port_of, scaling, Running};

/// How the authority is shown the names are the app's.
#[derive(Clone, Copy, PartialEq)]
enum Challenge {
    /// TXT records through the DNS server.
    Dns01,
    /// Answers on the balancer's plain port (the one Pebble connects to).
    Http01,
}

/// The example's config served from this machine's loopback addresses as if they were public.
fn public_config(
    config: String,
    bind: &bind::Bind,
    pebble: &pebble::Pebble,
    key_file: &Path,
    challenge: Challenge,
) -> String {
    // HTTP-01 is checked on the authority's port, as Let's Encrypt checks port 80.
    let (http_port, challenge) = match challenge {
        Challenge::Dns01 => (0, "dns-01"),
        Challenge::Http01 => (pebble.http_port, "http-01"),
    };
    // Apps of their own: the tests share one home and run side by side (their names are in their
    // own DNS servers).
    let app = if challenge == "dns-01" { "pubmath" } else { "pubmath-h01" };
    let config = fixed_count(config, 1)
        .replace("name = \"dashmath\"", &format!("name = \"{app}\""))
        .replace("name = \"dashmath.example.com\"", "name = \"pubmath.example.test\"")
        .replace("https_port = 8443\nhttp_port = 8080", &format!("https_port = 0\nhttp_port = {http_port}"));
    let public = format!(
        "\n[provider.local.public]\naddresses = [\"127.0.0.1\", \"::1\"]\nrenewal_check = \"2s\"\n\n\
         [provider.local.public.acme]\ndirectory = \"https://127.0.0.1:{}/dir\"\ncontact = \"ops@example.test\"\n\
         state_dir = \"{}\"\ndirectory_root = \"{}\"\nchallenge = \"{challenge}\"\n\n\
         [provider.local.public.dns]\nserver = \"127.0.0.1:{}\"\nzone = \"example.test\"\nkey_name = \"scaling\"\n\
         key_file = \"{}\"\n",
        pebble.port,
        pebble.dir.join("acme").display(),
        pebble.dir.join("ca.pem").display(),
        bind.port,
        key_file.display(),
    );
    // The table goes right after [provider.local], before the environments.
    let ports = format!("http_port = {http_port}\n");
    config.replacen(&ports, &format!("{ports}{public}"), 1)
}

/// `dig` against the test server: the values of `name`'s `kind` records.
fn dig(bind: &bind::Bind, name: &str, kind: &str) -> Vec<String> {
    let out = Command::new("dig")
        .args(["+short", "-p", &bind.port.to_string(), "@127.0.0.1", name, kind])
        .output()
        .expect("dig (scripts/test installs bind9-dnsutils)");
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

/// `curl` of `https://<host>:<port>/` at `address`, trusting only `root`: (status, body).
fn fetch(host: &str, address: &str, port: u16, root: &Path) -> (String, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "-o", "-", "-w", "\n%{http_code}", "--cacert"])
        .arg(root)
        .args(["--resolve", &format!("{host}:{port}:{address}"), &format!("https://{host}:{port}/")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", ""));
    (status.to_string(), format!("{body}{}", String::from_utf8_lossy(&out.stderr)))
}

/// The serial number of the certificate `host` is served with.
fn served_serial(host: &str, port: u16) -> String {
    let script = format!(
        "openssl s_client -connect 127.0.0.1:{port} -servername {host} </dev/null 2>/dev/null | openssl x509 -noout -serial"
    );
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `curl` of `http://127.0.0.1:<port><path>`: (status, body).
fn fetch_plain(port: u16, path: &str) -> (String, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "-o", "-", "-w", "\n%{http_code}"])
        .arg(format!("http://127.0.0.1:{port}{path}"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", ""));
    (status.to_string(), body.to_string())
}

#[test]
fn the_config_alone_serves_the_domain_renews_while_serving_and_destroy_removes_only_the_apps() {
    serve_renew_and_destroy(Challenge::Dns01);
}

#[test]
fn http_01_is_answered_on_the_plain_port_at_the_first_deploy_and_while_it_redirects_at_renewal() {
    serve_renew_and_destroy(Challenge::Http01);
}

fn serve_renew_and_destroy(challenge: Challenge) {
    let Some(bind) = bind::start_bind() else { return };
    // Certificates of 60 seconds: due after 40, renewed by the serving process's own timer.
    // With HTTP-01 the renewal is challenged afresh, answered while the plain port redirects.
    let pebble = match challenge {
        Challenge::Dns01 => pebble::start_pebble_issuing_for(bind.port, Some(60)),
        Challenge::Http01 => pebble::start_pebble_validating_every_order(bind.port, Some(60)),
    };
    let Some(pebble) = pebble else { return };
    let key_file = bind::settings(&bind, bind::SECRET).key_file;
    let dir = example_copy(|c| public_config(c, &bind, &pebble, &key_file, challenge));
    let config = dir.path().join("scaling.toml");
    let run = |args: &[&str]| scaling().arg("--config").arg(&config).args(args).output().unwrap();

    let validated = run(&["validate"]);
    assert!(validated.status.success(), "{}", String::from_utf8_lossy(&validated.stderr));

    let mut deploy = scaling();
    deploy.arg("--config").arg(&config).args(["deploy", "--provider", "local"]);
    let mut running = Running::start(deploy);
    let url = running.wait_for("https://pubmath.example.test:", Duration::from_secs(600));
    running.wait_for("Serving here until Ctrl-C", Duration::from_secs(10));
    assert!(!running.seen.iter().any(|l| l.contains("local CA")), "no local-CA hint: {}", running.seen.join("\n"));
    let port = port_of(&url);

    // The names lead to the listed addresses, as A and AAAA records the app marks as its own.
    for name in ["pubmath.example.test", "www.pubmath.example.test"] {
        assert_eq!(dig(&bind, name, "A"), ["127.0.0.1"], "{name}");
        assert_eq!(dig(&bind, name, "AAAA"), ["::1"], "{name}");
    }
    // Both names, on both addresses, over HTTPS trusted through the authority's root alone.
    let root = pebble.dir.join("root.pem");
    std::fs::write(&root, pebble::issuing_root(&pebble)).unwrap();
    for (host, address) in [("pubmath.example.test", "127.0.0.1"), ("www.pubmath.example.test", "[::1]")] {
        let (status, body) = fetch(host, address, port, &root);
        assert_eq!(status, "200", "{host} at {address}: {body}");
        assert!(body.contains("_dash-config"), "{host}: the Dash page");
    }
    let first = served_serial("pubmath.example.test", port);
    assert!(first.starts_with("serial="), "{first}");
    if challenge == Challenge::Http01 {
        // Nothing went through the zone for the proof, and the answers were removed once issued;
        // the plain port still redirects everything but the challenge path.
        assert_eq!(dig(&bind, "_acme-challenge.pubmath.example.test", "TXT"), Vec::<String>::new());
        assert_eq!(std::fs::read_dir(pebble.dir.join("acme/challenges")).unwrap().count(), 0, "answers kept");
        assert_eq!(fetch_plain(pebble.http_port, "/").0, "301");
        assert_eq!(fetch_plain(pebble.http_port, "/.well-known/acme-challenge/unknown").0, "404");
        assert_eq!(fetch_plain(pebble.http_port, "/.well-known/acme-challenge/..%2faccount.json").0, "404");
    }

    // Load while the timer renews: new connections all the while, none may fail.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let (stop, ok, failed, root) = (stop.clone(), ok.clone(), failed.clone(), root.clone());
            std::thread::spawn(move || {
                let started = Instant::now();
                while !stop.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(150) {
                    match fetch("pubmath.example.test", "127.0.0.1", port, &root) {
                        (status, _) if status == "200" => ok.fetch_add(1, Ordering::Relaxed),
                        (status, body) => {
                            eprintln!("failed request: {status} {body}");
                            failed.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    let renewed = loop {
        let now = served_serial("pubmath.example.test", port);
        if now.starts_with("serial=") && now != first {
            break now;
        }
        assert!(Instant::now() < deadline, "not renewed within two minutes; saw:\n{}", running.seen.join("\n"));
        std::thread::sleep(Duration::from_millis(500));
    };
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    clients.into_iter().for_each(|c| c.join().unwrap());
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    eprintln!("renewal by the timer under load: {ok} requests succeeded, {failed} failed ({first} → {renewed})");
    assert_eq!(failed, 0, "no request failed during the renewal ({ok} succeeded)");
    assert!(ok > 0);
    assert_eq!(served_serial("www.pubmath.example.test", port), renewed, "every name gets the new certificate");
    if challenge == Challenge::Http01 {
        // Both orders were proven over HTTP on the plain port: two names each, the renewal's while
        // that port redirected.
        let log = std::fs::read_to_string(pebble.dir.join("pebble.log")).unwrap_or_default();
        let proven = log.lines().filter(|l| l.contains("set VALID by completed challenge")).count();
        let over_http = log
            .lines()
            .any(|l| l.contains(&format!("validate w/ HTTP: http://pubmath.example.test:{}", pebble.http_port)));
        assert!(proven >= 4 && over_http, "four HTTP-01 validations:\n{log}");
    }

    // Destroy: the serving process stops, the app's records and certificates go, the zone's stay.
    let destroyed = run(&["destroy", "--yes"]);
    let said = String::from_utf8_lossy(&destroyed.stdout).into_owned();
    assert!(destroyed.status.success(), "{said}{}", String::from_utf8_lossy(&destroyed.stderr));
    let (exit, seen) = running.interrupt();
    assert!(exit.success() || exit.code().is_none(), "{exit:?}\n{}", seen.join("\n"));
    for name in ["pubmath.example.test", "www.pubmath.example.test"] {
        assert_eq!(dig(&bind, name, "A"), Vec::<String>::new(), "{name} is gone: {said}");
        assert_eq!(dig(&bind, &format!("_scaling.{name}"), "TXT"), Vec::<String>::new(), "its marker too");
    }
    assert_eq!(dig(&bind, "legacy.example.test", "A"), ["192.0.2.99"], "a record of someone else's stays");
    assert_eq!(dig(&bind, "ns1.example.test", "A"), ["127.0.0.1"]);
    let kept: Vec<String> = std::fs::read_dir(pebble.dir.join("acme/certificates"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(kept, Vec::<String>::new(), "the certificates and their keys are removed: {said}");
}

#[test]
fn a_hostile_public_table_is_refused_by_validate_and_deploy_before_anything_is_made() {
    let scratch = tempfile::tempdir().unwrap();
    let key_file = scratch.path().join("tsig.key");
    std::fs::write(&key_file, format!("key \"scaling\" {{ algorithm hmac-sha256; secret \"{}\"; }};\n", bind::SECRET))
        .unwrap();
    std::fs::set_permissions(&key_file, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let state = scratch.path().join("acme");
    let dir = example_copy(|c| {
        fixed_count(c, 1).replacen(
            "http_port = 8080\n",
            &format!(
                "http_port = 8080\n\n[provider.local.public]\naddresses = [\"203.0.113.9\"]\n\
                 [provider.local.public.acme]\ndirectory = \"http://acme.example/dir\"\ncontact = \"nobody\"\n\
                 state_dir = \"{}\"\n[provider.local.public.dns]\nserver = \"127.0.0.1:9\"\nzone = \"example.test\"\n\
                 key_name = \"scaling\"\nkey_file = \"{}\"\n",
                state.display(),
                key_file.display()
            ),
            1,
        )
    });
    let config = dir.path().join("scaling.toml");
    for args in [&["validate"][..], &["deploy", "--provider", "local"]] {
        let out = scaling().arg("--config").arg(&config).args(args).output().unwrap();
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!out.status.success(), "{args:?} refuses: {said}");
        for field in [
            "provider.local.public.addresses[0]",
            "provider.local.public.acme.directory",
            "provider.local.public.acme.contact",
            "provider.local.public.dns.key_file",
            // The example's domain is not in the zone the server updates.
            "domain",
        ] {
            assert!(said.contains(field), "{args:?} names {field}: {said}");
        }
        assert!(said.contains("chmod 600") && said.contains("ip -brief address"), "with the fixes: {said}");
        assert!(!said.contains(bind::SECRET), "never the key's secret: {said}");
        assert!(!state.exists(), "{args:?} made no ACME account folder");
    }
}
