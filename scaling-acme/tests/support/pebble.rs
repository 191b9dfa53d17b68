//! Pebble (Let's Encrypt's test authority, Debian's `pebble`) on free loopback ports, its HTTPS signed
//! by a CA made for the run; shared by this crate's tests and the local provider's public-domain test.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A Pebble on free loopback ports whose HTTPS is signed by a CA made for this run; killed when
/// dropped, and by the kernel if the test dies first.
pub struct Pebble {
    child: Child,
    /// The ACME directory's port on 127.0.0.1 (`https://127.0.0.1:<port>/dir`).
    pub port: u16,
    /// The management port (`/roots/0` is the root its certificates chain to).
    pub management: u16,
    /// The port its HTTP-01 validation connects to at the names' addresses.
    pub http_port: u16,
    /// Its scratch folder: `ca.pem` is the root of its own HTTPS.
    pub dir: PathBuf,
}

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts Pebble resolving through `dns_port`; `None` (outside CI) when it is not installed.
pub fn start_pebble(dns_port: u16) -> Option<Pebble> {
    start_pebble_issuing_for(dns_port, None)
}

/// [`start_pebble`] issuing certificates valid for `seconds` (Pebble's default is five years).
pub fn start_pebble_issuing_for(dns_port: u16, seconds: Option<u64>) -> Option<Pebble> {
    start(dns_port, seconds, 100)
}

/// [`start_pebble_issuing_for`], validating every order afresh (no authorization is reused), so that
/// a renewal is challenged as the first order was.
pub fn start_pebble_validating_every_order(dns_port: u16, seconds: Option<u64>) -> Option<Pebble> {
    start(dns_port, seconds, 0)
}

/// Pebble reusing `reuse` percent of the valid authorizations.
fn start(dns_port: u16, seconds: Option<u64>, reuse: u8) -> Option<Pebble> {
    let found = Path::new("/usr/bin/pebble").exists();
    assert!(found || std::env::var("CI").is_err(), "pebble is required in CI (scripts/test installs it)");
    if !found {
        eprintln!("skipping: pebble is not installed (scripts/test installs it)");
        return None;
    }
    // Its four ports chosen together (held open at once, so never the same one twice); another
    // process may still take one before Pebble binds it, so a start that exits is tried again.
    for _ in 0..3 {
        let held: Vec<std::net::TcpListener> =
            (0..4).map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap()).collect();
        let ports: Vec<u16> = held.iter().map(|l| l.local_addr().unwrap().port()).collect();
        drop(held);
        if let Some(pebble) = try_start(dns_port, seconds, reuse, [ports[0], ports[1], ports[2], ports[3]]) {
            return Some(pebble);
        }
    }
    panic!("pebble exited at each of three starts (see its log above)");
}

/// Pebble on `ports` (directory, management, HTTP-01, TLS-ALPN-01); `None` when it exited.
#[allow(clippy::zombie_processes)] // killed and waited for in `Drop`
fn try_start(dns_port: u16, seconds: Option<u64>, reuse: u8, ports: [u16; 4]) -> Option<Pebble> {
    let [port, management, http, tls] = ports;
    let dir = std::env::temp_dir().join(format!("scaling-pebble-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Pebble's own HTTPS: a CA made here, and a certificate for 127.0.0.1 signed by it.
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    // Names of their own: a leaf named as its issuer reads as self-signed to OpenSSL (curl).
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "scaling test CA for Pebble");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".into()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("cert.pem"), leaf.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
    let config = serde_json::json!({"pebble": {
        "listenAddress": format!("127.0.0.1:{port}"),
        "managementListenAddress": format!("127.0.0.1:{management}"),
        "certificate": dir.join("cert.pem"),
        "privateKey": dir.join("key.pem"),
        "httpPort": http,
        "tlsPort": tls,
        "ocspResponderURL": "",
        "externalAccountBindingRequired": false,
        "certificateValidityPeriod": seconds.unwrap_or(157_766_400)
    }});
    std::fs::write(dir.join("pebble.json"), config.to_string()).unwrap();
    let child = Command::new("setpriv")
        .args(["--pdeathsig", "KILL", "--", "pebble", "-config"])
        .arg(dir.join("pebble.json"))
        .args(["-dnsserver", &format!("127.0.0.1:{dns_port}")])
        // No random waits before validating and no refused nonces: the test's time is bounded.
        .env("PEBBLE_VA_NOSLEEP", "1")
        .env("PEBBLE_WFE_NONCEREJECT", "0")
        // Valid authorizations always reused unless asked otherwise, as Let's Encrypt does for 30
        // days (its integration guide): a renewal soon after the first order names no new records
        // (Pebble reuses half by default).
        .env("PEBBLE_AUTHZREUSE", reuse.to_string())
        .stdout(std::fs::File::create(dir.join("pebble.log")).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut pebble = Pebble { child, port, management, http_port: http, dir };
    // Generous: it makes its keys first, and the machine may be busy with other tests.
    for _ in 0..300 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(pebble);
        }
        if let Ok(Some(status)) = pebble.child.try_wait() {
            let log = std::fs::read_to_string(pebble.dir.join("pebble.log")).unwrap_or_default();
            eprintln!("pebble exited ({status}), trying other ports: {log}");
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "pebble did not start in 30 s: {}",
        std::fs::read_to_string(pebble.dir.join("pebble.log")).unwrap_or_default()
    );
}

/// The root Pebble's certificates chain to (PEM), from its management interface (which opens a
/// moment after the directory, once the root is made).
pub fn issuing_root(pebble: &Pebble) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        let out = Command::new("curl")
            .args(["-sSf", "--cacert"])
            .arg(pebble.dir.join("ca.pem"))
            .arg(format!("https://127.0.0.1:{}/roots/0", pebble.management))
            .output()
            .unwrap();
        if out.status.success() {
            return String::from_utf8(out.stdout).unwrap();
        }
        last = String::from_utf8_lossy(&out.stderr).into_owned();
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("pebble's root: {last}");
}
