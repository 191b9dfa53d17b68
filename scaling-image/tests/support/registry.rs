//! A real registry server (Debian's `docker-registry`) with basic auth on a free loopback port, for
//! the push tests and the push-memory benchmark.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use scaling_image::{digest_of, Credentials, Destination, Upload};

/// A registry server with htpasswd auth on a free port; stopped when dropped.
pub struct Registry {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The password of user `pusher`, made for this run.
    pub password: String,
    /// Its scratch folder (removed when dropped).
    pub dir: std::path::PathBuf,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn tool(name: &str) -> bool {
    let found =
        Command::new("sh").arg("-c").arg(format!("command -v {name}")).output().is_ok_and(|o| o.status.success());
    assert!(found || std::env::var("CI").is_err(), "{name} is required in CI (scripts/test installs it)");
    found
}

// The server process is killed and waited for by `Registry`'s `Drop`.
#[allow(clippy::zombie_processes)]
/// Starts the server; `None` (outside CI) when it is not installed.
pub fn start_registry() -> Option<Registry> {
    if !tool("docker-registry") || !tool("htpasswd") {
        eprintln!("skipping: docker-registry or htpasswd is not installed (scripts/test installs them)");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = std::env::temp_dir().join(format!("scaling-registry-{}-{port}", std::process::id()));
    std::fs::create_dir_all(dir.join("data")).unwrap();
    // A password made for this run only.
    let password = digest_of(format!("{:?}{port}", std::time::SystemTime::now()).as_bytes())[7..31].to_string();
    let out = Command::new("htpasswd").args(["-Bbn", "pusher", &password]).output().unwrap();
    assert!(out.status.success());
    std::fs::write(dir.join("htpasswd"), out.stdout).unwrap();
    let config = format!(
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\nauth:\n  htpasswd:\n    realm: scaling-test\n    path: {}\n",
        dir.join("data").display(),
        dir.join("htpasswd").display()
    );
    std::fs::write(dir.join("config.yml"), config).unwrap();
    let child = Command::new("docker-registry")
        .arg("serve")
        .arg(dir.join("config.yml"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(Registry { child, port, password, dir });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the registry did not start");
}

impl Registry {
    /// Where to push: repository `dashmath-repository`, user `pusher` with `password`.
    pub fn destination(&self, password: &str) -> Destination {
        Destination {
            registry: format!("127.0.0.1:{}", self.port),
            repository: "dashmath-repository".into(),
            credentials: Credentials::Basic { username: "pusher".into(), password: password.into() },
            plain_http: true,
            upload: Upload::Chunked,
        }
    }
}
