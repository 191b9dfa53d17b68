//! Running `scaling` as a user would: short commands with assert_cmd, long-running ones (the local
//! provider serves in the foreground) as child processes read line by line.
#![allow(dead_code)]

pub mod detached;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

/// Tests that count processes or use fixed ports hold this, so they do not see each other's replicas.
pub static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Takes [`SERIAL`], even after another test panicked while holding it.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().expect("workspace root")
}

/// The data folder the local provider uses in tests (shared, so its virtualenv cache is reused).
pub fn scaling_home() -> PathBuf {
    std::env::temp_dir().join("scaling-test-home")
}

/// `scaling` with the test environment.
pub fn scaling() -> Command {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("scaling"));
    command.env("SCALING_HOME", scaling_home()).env("NO_COLOR", "1").current_dir(root());
    command
}

/// The example's config with a fixed replica count: `app.desired_count = count`, autoscaling off.
pub fn fixed_count(config: String, count: u32) -> String {
    let start = config.find("\n[scaling]").expect("the example autoscales");
    let end = config[start + 1..].find("\n\n").map_or(config.len(), |e| start + 1 + e);
    let without = format!("{}{}", &config[..start], &config[end..]);
    assert!(without.contains("desired_count = 2"), "the example starts at 2 replicas");
    without.replacen("desired_count = 2", &format!("desired_count = {count}"), 1)
}

/// A copy of the dashmath example in a temporary folder, with `edit` applied to its scaling.toml.
pub fn example_copy(edit: impl Fn(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = root().join("examples/dashmath");
    for name in ["app.py", "gunicorn.conf.py", "requirements.txt", "Dockerfile", ".dockerignore"] {
        std::fs::copy(source.join(name), dir.path().join(name)).expect("copy example");
    }
    let config = std::fs::read_to_string(source.join("scaling.toml")).expect("example config");
    std::fs::write(dir.path().join("scaling.toml"), edit(config)).expect("write config");
    dir
}

/// Free ports for the local provider.
pub fn free_ports(config: String) -> String {
    config.replace("https_port = 8443", "https_port = 0").replace("http_port = 8080", "http_port = 0")
}

/// A `scaling` process whose stdout is read line by line.
pub struct Running {
    child: Child,
    lines: Receiver<String>,
    pub seen: Vec<String>,
}

impl Running {
    pub fn start(mut command: Command) -> Self {
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn scaling");
        let (tx, lines) = channel();
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let tx2 = tx.clone();
        std::thread::spawn(move || BufReader::new(stdout).lines().map_while(Result::ok).for_each(|l| drop(tx.send(l))));
        std::thread::spawn(move || {
            BufReader::new(stderr).lines().map_while(Result::ok).for_each(|l| drop(tx2.send(format!("stderr: {l}"))))
        });
        Self { child, lines, seen: Vec::new() }
    }

    /// Reads lines until one contains `text`; panics with everything seen after `timeout`.
    pub fn wait_for(&mut self, text: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(_) => panic!("no line with {text:?} after {timeout:?}; saw:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// Sends SIGINT (Ctrl-C) and waits for the exit, collecting the remaining output.
    pub fn interrupt(mut self) -> (ExitStatus, Vec<String>) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).expect("pid"));
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
        let status = self.child.wait().expect("wait");
        self.seen.extend(self.lines.try_iter());
        (status, std::mem::take(&mut self.seen))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// `curl` against `host` on 127.0.0.1:`port`, trusting only the local CA; returns (status, body).
pub fn curl(host: &str, port: u16, path: &str, scheme: &str) -> (String, String) {
    let ca = scaling_home().join("ca/ca.pem");
    let output = Command::new("curl")
        .args(["-sS", "--max-time", "10", "-w", "\n%{http_code}", "--cacert"])
        .arg(&ca)
        .arg("--resolve")
        .arg(format!("{host}:{port}:127.0.0.1"))
        .arg(format!("{scheme}://{host}:{port}{path}"))
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    (status.to_string(), body.to_string())
}

/// The port in a URL like `https://dashmath.localhost:8443`.
pub fn port_of(url: &str) -> u16 {
    url.trim().rsplit(':').next().and_then(|p| p.trim_end_matches('/').parse().ok()).expect("a port in the URL")
}

/// The processes whose command line contains `text`.
pub fn processes_with(text: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let cmdline = std::fs::read(Path::new("/proc").join(pid.to_string()).join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).replace('\0', " ").contains(text) {
            out.push(pid);
        }
    }
    out
}

/// The replica processes of `app`: gunicorn masters and workers whose working directory is a bundle
/// built from a config naming `app`.
pub fn replicas_of(app: &str) -> Vec<i32> {
    let marker = format!("name = \"{app}\"");
    processes_with("gunicorn.conf.py app:server")
        .into_iter()
        .filter(|pid| {
            let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap_or_default();
            std::fs::read_to_string(cwd.join("scaling.toml")).is_ok_and(|c| c.contains(&marker))
        })
        .collect()
}

/// Recognisable stand-in credentials made at run time (nothing credential-like is kept in the
/// source): an access key id, a secret key and a session token unique to this run.
pub fn marker_credentials() -> [String; 3] {
    let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
    let mut n = seed.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let mut letters = |len: usize| -> String {
        (0..len)
            .map(|_| {
                n = n.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                char::from(b'A' + u8::try_from((n >> 33) % 26).unwrap_or(0))
            })
            .collect()
    };
    [format!("AKIA{}", letters(16)), format!("marker{}", letters(34)), format!("session{}", letters(24))]
}
