//! The local load balancer against HAProxy 2.6 (Debian), side by side in one run, over the same two
//! Dash replicas: direct (round robin from the client), through ours, through HAProxy with a tuned
//! config; 50 and 1000 concurrent keep-alive TLS connections; GET / and the callback POST; then a
//! replica killed mid-run. Prints throughput, p50/p99 latency and errors, and the ratios. Our balancer
//! runs on a runtime of its own, apart from the load generator's, as HAProxy runs in its own process.
//! Every load loop is bounded in time and count, and only talks to 127.0.0.1.
//!
//! `cargo bench -p scaling-tests --bench balancer`

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use scaling_core::{DeployOptions, Orchestrator, Providers, RecordedEvents, Spec};
use scaling_local::{localize, LocalCloud, Paths};
use scaling_tests::https::{trusting, Connection};

const CALLBACK: &str = r#"{"output":"result.children","outputs":{"id":"result","property":"children"},"inputs":[{"id":"left","property":"value","value":6},{"id":"operator","property":"value","value":"*"},{"id":"right","property":"value","value":7}],"changedPropIds":["right.value"],"state":[]}"#;
const MAX_REQUESTS_PER_CLIENT: usize = 100_000;
/// Measuring rounds per cell.
const ROUNDS: usize = 4;

#[derive(Clone, Copy, PartialEq)]
enum Request {
    Page,
    Callback,
}

#[derive(Clone)]
enum Target {
    Direct(Vec<u16>),
    Tls(u16, Arc<rustls::ClientConfig>),
}

struct Stats {
    requests: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Stats {
    fn empty() -> Self {
        Stats { requests: 0, errors: 0, elapsed: Duration::ZERO, latencies: Vec::new() }
    }

    /// Adds another run's counts, time and latencies.
    fn merge(&mut self, other: Stats) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
        self.latencies.sort();
    }

    fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[index]
    }
}

async fn connect(target: &Target, n: usize) -> Option<Connection> {
    match target {
        Target::Direct(ports) => Connection::open("127.0.0.1", ports[n % ports.len()], None).await.ok(),
        Target::Tls(port, tls) => Connection::open("dashmath.localhost", *port, Some(tls.clone())).await.ok(),
    }
}

/// `clients` connections sending `request` for `duration`, after a short warm-up.
async fn load(
    target: &Target,
    clients: usize,
    request: Request,
    duration: Duration,
    kill: Option<(Duration, i32)>,
) -> Stats {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for n in 0..clients {
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut errors, mut latencies) = (0usize, 0usize, Vec::new());
            let mut connection = connect(&target, n).await;
            while Instant::now() < deadline && ok + errors < MAX_REQUESTS_PER_CLIENT {
                let Some(conn) = connection.as_mut() else {
                    errors += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    connection = connect(&target, n).await;
                    continue;
                };
                let sent = Instant::now();
                let reply = match request {
                    Request::Page => conn.send("GET", "/", None).await,
                    Request::Callback => conn.send("POST", "/_dash-update-component", Some(CALLBACK)).await,
                };
                match reply {
                    Ok(r) if r.status == 200 => {
                        ok += 1;
                        latencies.push(sent.elapsed());
                    }
                    _ => {
                        errors += 1;
                        connection = connect(&target, n).await;
                    }
                }
                // Replicas close after each request (sync workers), so direct clients reconnect.
                if matches!(target, Target::Direct(_)) {
                    connection = connect(&target, n).await;
                }
            }
            (ok, errors, latencies)
        }));
    }
    if let Some((at, pgid)) = kill {
        tokio::time::sleep(at).await;
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), nix::sys::signal::Signal::SIGKILL);
    }
    let mut stats = Stats::empty();
    for task in tasks {
        if let Ok((ok, errors, latencies)) = task.await {
            stats.requests += ok;
            stats.errors += errors;
            stats.latencies.extend(latencies);
        }
    }
    stats.elapsed = started.elapsed();
    stats.latencies.sort();
    stats
}

/// HAProxy tuned as for production: each server takes as many connections at once as its replica
/// has workers (the rest queue in HAProxy, where `leastconn` and `redispatch` can use them).
fn haproxy(dir: &std::path::Path, pem: &str, port: u16, replicas: &[u16], workers: u32) -> Child {
    let pem_path = dir.join("haproxy.pem");
    std::fs::write(&pem_path, pem).expect("pem");
    std::fs::set_permissions(&pem_path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("mode");
    let servers: String = replicas
        .iter()
        .enumerate()
        .map(|(i, p)| format!("    server r{i} 127.0.0.1:{p} check inter 1s fall 2 rise 1 maxconn {workers}\n"))
        .collect();
    let config = format!(
        "global\n    maxconn 4096\n    nbthread 2\n    tune.ssl.cachesize 20000\n\
         defaults\n    mode http\n    option http-keep-alive\n    option redispatch\n    retries 3\n    retry-on conn-failure empty-response\n    \
         timeout connect 2s\n    timeout client 60s\n    timeout server 60s\n    timeout queue 30s\n    timeout http-keep-alive 60s\n\
         frontend web\n    bind 127.0.0.1:{port} ssl crt {} alpn h2,http/1.1\n    default_backend dash\n\
         backend dash\n    balance leastconn\n    option httpchk GET /\n    http-check expect status 200\n{servers}",
        pem_path.display()
    );
    std::fs::write(dir.join("haproxy.cfg"), config).expect("config");
    Command::new("haproxy")
        .arg("-db")
        .arg("-f")
        .arg(dir.join("haproxy.cfg"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("haproxy (apt-get install haproxy)")
}

fn row(name: &str, clients: usize, request: Request, s: &Stats) {
    let kind = if request == Request::Page { "GET /" } else { "POST callback" };
    println!(
        "| {name:<13} | {clients:>5} | {kind:<13} | {:>9.0} | {:>8.1} | {:>8.1} | {:>6} |",
        s.throughput(),
        s.percentile(0.5).as_secs_f64() * 1e3,
        s.percentile(0.99).as_secs_f64() * 1e3,
        s.errors
    );
}

#[allow(clippy::zombie_processes)]
fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    // Our balancer gets a runtime of its own, as in the `scaling` process (and as HAProxy has its own
    // two threads): sharing the load generator's workers would measure the generator, not the balancer.
    let balancer_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("balancer")
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/dashmath/scaling.toml");
        let mut spec: Spec = Spec::load(&path).expect("example config");
        spec.app.desired_count = 2;
        let local = spec.settings::<scaling_local::LocalSettings>().expect("settings").on_free_ports();
        spec.set_settings(&local);
        let spec = localize(&spec);
        let cloud = Arc::new(LocalCloud::new(
            Paths::at(std::env::temp_dir().join("scaling-test-home")),
            spec.settings().expect("settings"),
        ));
        let orchestrator =
            Orchestrator::new(Providers::from_cloud(cloud.clone())).with_options(DeployOptions::default());
        let (deployer, deployed) = (orchestrator.clone(), spec.clone());
        balancer_runtime
            .spawn(async move { deployer.deploy(&deployed, None, &RecordedEvents::new()).await.map(|_| ()) })
            .await
            .expect("the deploy task")
            .expect("deploy");
        let status = orchestrator.status(&spec).await.expect("status");
        let replicas: Vec<u16> =
            status.targets.iter().filter_map(|t| t.target.rsplit(':').next()?.parse().ok()).collect();
        let ours = cloud.listener_port(443).expect("https");
        let ca = scaling_local::ca::LocalCa::open(&cloud.paths().ca()).expect("CA");
        let tls = trusting(ca.certificate_pem());
        let dir = std::env::temp_dir().join(format!("scaling-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let haproxy_port =
            std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let names = vec!["dashmath.localhost".to_string(), "www.dashmath.localhost".to_string()];
        let workers = spec.app.cpu.whole_cpus_rounded_up();
        let mut haproxy = haproxy(&dir, &ca.issue_pem(&names).expect("pem"), haproxy_port, &replicas, workers);
        tokio::time::sleep(Duration::from_secs(3)).await;

        let targets = [
            ("direct", Target::Direct(replicas.clone())),
            ("scaling LB", Target::Tls(ours, tls.clone())),
            ("HAProxy 2.6", Target::Tls(haproxy_port, tls.clone())),
        ];
        let profile = if cfg!(debug_assertions) {
            "with the dev profile, as `cargo run` builds it"
        } else {
            "with the release profile"
        };
        println!(
            "our balancer built {profile} (its TLS, HTTP and runtime crates optimized in both, see \
             [profile.dev.package] in Cargo.toml); HAProxy: maxconn {workers} per server (= workers per replica), \
             leastconn, redispatch, retries\n"
        );
        println!("| target        | conns | request       |  req/s    | p50 ms   | p99 ms   | errors |");
        println!("|---------------|------:|---------------|----------:|---------:|---------:|-------:|");
        let mut results = Vec::new();
        // Each cell is measured in rounds that alternate the order of the targets, so the machine's
        // drift (it is shared) falls on all of them alike.
        for (clients, seconds) in [(50, 2), (1000, 4)] {
            for request in [Request::Page, Request::Callback] {
                let mut merged: Vec<Stats> = targets.iter().map(|_| Stats::empty()).collect();
                for round in 0..ROUNDS {
                    let order: Vec<usize> =
                        if round % 2 == 0 { (0..targets.len()).collect() } else { (0..targets.len()).rev().collect() };
                    for i in order {
                        let target = &targets[i].1;
                        let _ = load(target, clients.min(20), request, Duration::from_millis(300), None).await;
                        merged[i].merge(load(target, clients, request, Duration::from_secs(seconds), None).await);
                    }
                }
                for ((name, target), stats) in targets.iter().zip(merged) {
                    row(name, clients, request, &stats);
                    if stats.errors > 0 && stats.requests == 0 {
                        let log = std::fs::read_to_string(dir.join("haproxy.log")).unwrap_or_default();
                        println!(
                            "  {name} failed every request; its log ends with:\n{}",
                            log.lines().rev().take(8).collect::<Vec<_>>().join("\n")
                        );
                        let probe = connect(target, 0).await;
                        println!("  probe connection: {}", if probe.is_some() { "connected" } else { "failed" });
                        if let Some(mut c) = probe {
                            println!("  probe request: {:?}", c.send("GET", "/", None).await.map(|r| r.status));
                        }
                    }
                    results.push((name.to_string(), clients, request, stats));
                }
            }
        }

        println!("\nA replica killed 1 s into a 6 s run at 50 connections (GET /):");
        let pids = cloud.supervisor().replica_pids("dashmath");
        let haproxy_kill =
            load(&targets[2].1, 50, Request::Page, Duration::from_secs(6), Some((Duration::from_secs(1), pids[0])))
                .await;
        row("HAProxy 2.6", 50, Request::Page, &haproxy_kill);
        tokio::time::sleep(Duration::from_secs(5)).await;
        let pids = cloud.supervisor().replica_pids("dashmath");
        let ours_kill =
            load(&targets[1].1, 50, Request::Page, Duration::from_secs(6), Some((Duration::from_secs(1), pids[0])))
                .await;
        row("scaling LB", 50, Request::Page, &ours_kill);

        println!("\nscaling LB / HAProxy:");
        for (clients, request) in
            [(50, Request::Page), (50, Request::Callback), (1000, Request::Page), (1000, Request::Callback)]
        {
            let find = |n: &str| {
                results.iter().find(|(name, c, r, _)| name == n && *c == clients && *r == request).map(|(_, _, _, s)| s)
            };
            if let (Some(o), Some(h)) = (find("scaling LB"), find("HAProxy 2.6")) {
                let kind = if request == Request::Page { "GET /" } else { "POST callback" };
                println!(
                    "  {clients:>4} conns {kind:<13}: throughput {:.2}x, p99 {:.2}x",
                    o.throughput() / h.throughput(),
                    o.percentile(0.99).as_secs_f64() / h.percentile(0.99).as_secs_f64().max(1e-9)
                );
            }
        }
        let _ = haproxy.kill();
        let _ = haproxy.wait();
        let stopping = cloud.clone();
        let _ = balancer_runtime.spawn(async move { stopping.shutdown().await }).await;
        let _ = std::fs::remove_dir_all(&dir);
    });
}
