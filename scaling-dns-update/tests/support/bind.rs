//! A real BIND (`named`, Debian's bind9) on a free loopback port serving `example.test`, with a TSIG
//! key `scaling` that may update and transfer it; shared by this crate's tests and the ACME tests.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use scaling_dns_update::DnsUpdateSettings;

/// The key the server knows.
pub const SECRET: &str = "c2NhbGluZy10ZXN0LWtleS1ub3QtYS1yZWFsLXNlY3JldC0wMTIzNDU2Nzg5";

/// A `named` serving `example.test`; killed when dropped, and by the kernel if this test dies first.
pub struct Bind {
    child: Child,
    /// Its port on 127.0.0.1 (UDP and TCP).
    pub port: u16,
    /// Its scratch folder (removed when dropped).
    pub dir: PathBuf,
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

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts the server; `None` (outside CI) when bind9 is not installed.
pub fn start_bind() -> Option<Bind> {
    start_bind_notifying(&[])
}

/// Starts the primary, which notifies the secondaries on `secondary_ports` (127.0.0.1) of each change
/// and only them.
pub fn start_bind_notifying(secondary_ports: &[u16]) -> Option<Bind> {
    let notify = match secondary_ports {
        [] => String::new(),
        ports => format!(
            " notify explicit; also-notify {{ {} }};",
            ports.iter().map(|p| format!("127.0.0.1 port {p};")).collect::<String>()
        ),
    };
    start_named("primary", |dir| {
        let zone = "$TTL 300\n@ IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 300\n\
                    @ IN NS ns1.example.test.\nns1 IN A 127.0.0.1\nlegacy IN A 192.0.2.99\n";
        std::fs::write(dir.join("example.test.zone"), zone).unwrap();
        format!(
            "zone \"example.test\" {{ type primary; file \"{d}/example.test.zone\";\n\
             update-policy {{ grant scaling zonesub ANY; }}; allow-transfer {{ key scaling; }};{notify} }};\n",
            d = dir.display()
        )
    })
}

/// Starts a secondary of `primary`'s zone on `port`, transferring it with the key (at its start,
/// then when notified; its refresh is an hour).
pub fn start_secondary(primary: &Bind, port: u16) -> Option<Bind> {
    let bind = start_named_on("secondary", port, |dir| {
        format!(
            "zone \"example.test\" {{ type secondary; file \"{d}/example.test.copy\";\n\
             primaries {{ 127.0.0.1 port {p} key scaling; }}; }};\n",
            d = dir.display(),
            p = primary.port
        )
    })?;
    // Serving once its first transfer is in.
    for _ in 0..100 {
        if bind.dir.join("example.test.copy").exists() {
            return Some(bind);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "the secondary did not transfer the zone: {}",
        std::fs::read_to_string(bind.dir.join("named.log")).unwrap_or_default()
    );
}

fn start_named(role: &str, zone: impl Fn(&std::path::Path) -> String) -> Option<Bind> {
    start_named_on(role, free_port(), zone)
}

#[allow(clippy::zombie_processes)] // killed and waited for in `Drop`
fn start_named_on(role: &str, port: u16, zone: impl Fn(&std::path::Path) -> String) -> Option<Bind> {
    let Some(named) = named() else {
        eprintln!("skipping: named is not installed (scripts/test installs bind9)");
        return None;
    };
    let dir = std::env::temp_dir().join(format!("scaling-bind-{role}-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = format!(
        "options {{ directory \"{d}\"; pid-file \"{d}/named.pid\"; listen-on port {port} {{ 127.0.0.1; }};\n\
         listen-on-v6 {{ none; }}; recursion no; dnssec-validation no; }};\n\
         key \"scaling\" {{ algorithm hmac-sha256; secret \"{SECRET}\"; }};\n\
         controls {{ }};\n{zone}",
        d = dir.display(),
        zone = zone(&dir),
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

/// Settings for the server with the key `secret`, written to a 0600 file.
pub fn settings(bind: &Bind, secret: &str) -> DnsUpdateSettings {
    let key_file = bind.dir.join(format!("key-{}", &secret[..8]));
    std::fs::write(&key_file, format!("key \"scaling\" {{\n\talgorithm hmac-sha256;\n\tsecret \"{secret}\";\n}};\n"))
        .unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    DnsUpdateSettings::new(format!("127.0.0.1:{}", bind.port).parse().unwrap(), "example.test", "scaling", key_file)
}
