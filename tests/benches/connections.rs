//! How many kept-alive TLS connections the local balancer holds, and what it costs: at 1,000, 5,000
//! and 10,000 connections, each sending 3 requests a second apart through the balancer to the example's
//! two Dash replicas, while fresh requests probe how long a newcomer waits. Prints connections held,
//! requests answered, failures, probe p50/p99 and the serving process's memory per connection.
//!
//! The balancer runs in this process (which raises its open-file limit as `scaling` does); the clients
//! run in a child process of their own, as real clients would, so the two do not share one limit.
//! Every load is bounded (a fixed number of connections and requests, each level under a deadline)
//! and talks only to 127.0.0.1.
//!
//! `cargo bench -p scaling-tests --bench connections`

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use scaling_core::{DeployOptions, Orchestrator, Providers, RecordedEvents, Spec};
use scaling_local::{localize, LocalCloud, Paths};
use scaling_tests::https::{trusting, Connection, TlsConfig};

const LEVELS: [usize; 3] = [1_000, 5_000, 10_000];
const REQUESTS_PER_CONNECTION: usize = 3;
/// The most one level may take, connecting included.
const LEVEL_DEADLINE: Duration = Duration::from_secs(150);
const HOST: &str = "dashmath.localhost";

/// What the client process reports on its last line: `held answered failed`.
struct Counts {
    held: usize,
    answered: usize,
    failed: usize,
}

/// The client side, in the child: `connections` kept-alive connections to `port`, each sending its
/// requests a second apart, all of them open at once in the middle of the run.
fn client_main(port: u16, connections: usize, ca: &str) {
    scaling_local::fd_limit::raise();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let tls = trusting(ca);
    let counts = runtime.block_on(async move {
        let all_open = Arc::new(tokio::sync::Barrier::new(connections));
        let tasks: Vec<_> = (0..connections)
            .map(|_| {
                let (tls, all_open) = (tls.clone(), all_open.clone());
                tokio::spawn(tokio::time::timeout(LEVEL_DEADLINE, one_client(port, tls, all_open)))
            })
            .collect();
        let mut counts = Counts { held: 0, answered: 0, failed: 0 };
        for task in tasks {
            match task.await {
                Ok(Ok((held, answered))) => {
                    counts.held += usize::from(held);
                    counts.answered += answered;
                    counts.failed += REQUESTS_PER_CONNECTION - answered;
                }
                _ => counts.failed += REQUESTS_PER_CONNECTION,
            }
        }
        counts
    });
    println!("{} {} {}", counts.held, counts.answered, counts.failed);
}

/// One client: (connected, requests answered).
async fn one_client(port: u16, tls: TlsConfig, all_open: Arc<tokio::sync::Barrier>) -> (bool, usize) {
    let opened = Connection::open(HOST, port, Some(tls)).await;
    let mut answered = 0;
    let Ok(mut connection) = opened else {
        all_open.wait().await;
        return (false, 0);
    };
    for n in 0..REQUESTS_PER_CONNECTION {
        if matches!(connection.send("GET", "/", None).await, Ok(r) if r.status == 200) {
            answered += 1;
        }
        if n == 0 {
            all_open.wait().await; // every connection is open (and has been answered once) here
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    (true, answered)
}

/// The serving process's resident memory, in bytes.
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok());
    kib.unwrap_or(0u64) * 1024
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--client") {
        let port = args[at + 1].parse().expect("port");
        let connections = args[at + 2].parse().expect("connections");
        let ca = std::fs::read_to_string(&args[at + 3]).expect("CA file");
        return client_main(port, connections, &ca);
    }
    let limits = scaling_local::fd_limit::raise();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(async {
        let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/dashmath/scaling.toml");
        let mut spec: Spec = Spec::load(&path).expect("example config");
        spec.scaling = None;
        spec.app.desired_count = 2;
        let local = spec.settings::<scaling_local::LocalSettings>().expect("settings").on_free_ports();
        spec.set_settings(&local);
        let spec = localize(&spec);
        let home = std::env::temp_dir().join("scaling-test-home");
        let cloud = Arc::new(LocalCloud::new(Paths::at(&home), spec.settings().expect("settings")));
        let orchestrator =
            Orchestrator::new(Providers::from_cloud(cloud.clone())).with_options(DeployOptions::default());
        orchestrator.deploy(&spec, None, &RecordedEvents::new()).await.expect("deploy");
        let port = cloud.listener_port(443).expect("https");
        let ca_file = home.join("ca/ca.pem");
        let tls = trusting(&std::fs::read_to_string(&ca_file).expect("CA"));
        println!(
            "open-file limit: found {} (soft), raised to {} (hard {}); clients may hold {}\n",
            limits.found_soft,
            limits.soft,
            limits.hard,
            scaling_local::fd_limit::FdBudget::of(limits.soft).clients
        );
        println!("| connections | held   | requests answered | failed | probe p50 ms | probe p99 ms | bytes/conn |");
        println!("|------------:|-------:|------------------:|-------:|-------------:|-------------:|-----------:|");
        for level in LEVELS {
            let before = resident_bytes();
            let mut child = Command::new(std::env::current_exe().expect("this bench"))
                .args(["--client", &port.to_string(), &level.to_string()])
                .arg(&ca_file)
                .stdout(Stdio::piped())
                .spawn()
                .expect("the client process");
            let started = Instant::now();
            let (mut probes, mut peak) = (Vec::new(), before);
            while child.try_wait().expect("the client").is_none() && started.elapsed() < LEVEL_DEADLINE {
                let sent = Instant::now();
                let reply = tokio::time::timeout(Duration::from_secs(30), async {
                    let mut c = Connection::open(HOST, port, Some(tls.clone())).await.map_err(|e| e.to_string())?;
                    c.send("GET", "/", None).await
                })
                .await;
                if matches!(reply, Ok(Ok(ref r)) if r.status == 200) {
                    probes.push(sent.elapsed());
                }
                peak = peak.max(resident_bytes());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let _ = child.kill();
            let output = child.wait_with_output().expect("the client's report");
            let line = String::from_utf8_lossy(&output.stdout).lines().last().unwrap_or("0 0 0").to_string();
            let numbers: Vec<usize> = line.split_whitespace().filter_map(|n| n.parse().ok()).collect();
            let counts = match numbers[..] {
                [held, answered, failed] => Counts { held, answered, failed },
                _ => Counts { held: 0, answered: 0, failed: level * REQUESTS_PER_CONNECTION },
            };
            probes.sort();
            println!(
                "| {level:>11} | {:>6} | {:>17} | {:>6} | {:>12.1} | {:>12.1} | {:>10} |",
                counts.held,
                counts.answered,
                counts.failed,
                percentile(&probes, 0.5).as_secs_f64() * 1000.0,
                percentile(&probes, 0.99).as_secs_f64() * 1000.0,
                peak.saturating_sub(before) / level as u64,
            );
            tokio::time::sleep(Duration::from_secs(2)).await; // the connections close and are reaped
        }
        cloud.shutdown().await;
    });
}
