//! How fast `plan`, `status` and a no-op deploy read a deployed app back on AWS, measured against the
//! emulator through the real SDK clients with every call delayed by 100 ms, as a region is from a laptop.
//! Prints the time, the sequential rounds it amounts to, and the ratio to the 0.5 s goal; asserts nothing.
//!
//! `cargo bench --profile dev -p scaling-aws --bench read_rounds` (the test build: what it measures is
//! latency, not CPU; uses `SCALING_MOTO_URL`, or starts moto from the
//! test virtualenv that `scripts/test` makes).
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, missing_docs)]

#[path = "../tests/moto/realism.rs"]
#[allow(dead_code)]
mod realism;
#[path = "../tests/moto/support.rs"]
mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use scaling_core::{DeployOptions, ImageSpec, Orchestrator, Providers, RecordedEvents, RetryPolicy, Spec, Timeouts};
use support::{provider, Faults};

const DELAY: Duration = Duration::from_millis(100);
const GOAL: Duration = Duration::from_millis(500);

fn spec() -> Spec {
    let image = format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/dashmath-repository@sha256:{}", "1".repeat(64));
    Spec::new("dashmath", 8050, ImageSpec::prebuilt(image)).with_domain("dashmath.example.com").with_desired_count(3)
}

/// The emulator's URL, and the server this bench started, if it did.
fn moto() -> Option<(String, Option<std::process::Child>)> {
    if let Ok(url) = std::env::var("SCALING_MOTO_URL") {
        return Some((url, None));
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let venv = std::env::var("SCALING_TEST_VENV").map(PathBuf::from).unwrap_or_else(|_| root.join(".venv"));
    if !venv.join("bin/moto_server").exists() {
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    let child = std::process::Command::new(venv.join("bin/moto_server"))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        .env("MOTO_ACM_VALIDATION_WAIT", "0")
        .env("MOTO_ECS_SERVICE_RUNNING", "3")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((format!("http://127.0.0.1:{port}"), Some(child)));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

fn line(what: &str, took: Duration, reads: usize) {
    println!(
        "  {what:<14} {:>6.2} s  {:>4.1} rounds of 100 ms  {reads:>3} reads  time / 0.5 s goal = {:.2}",
        took.as_secs_f64(),
        took.as_secs_f64() / DELAY.as_secs_f64(),
        took.as_secs_f64() / GOAL.as_secs_f64()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Some((url, mut server)) = moto() else {
        println!("skipped: no emulator (set SCALING_MOTO_URL, or run scripts/test once to make the virtualenv)");
        return;
    };
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    let (aws, log, client, _) = provider(&url).await;
    let options = DeployOptions {
        poll_interval: Duration::from_millis(100),
        timeouts: Timeouts { service_stable: Duration::from_secs(30), ..Timeouts::default() },
        retry: RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(1),
            catching_up: Duration::from_secs(10),
        },
        ..DeployOptions::default()
    };
    let orchestrator = Orchestrator::new(Providers::from_cloud(aws)).with_options(options);
    orchestrator.deploy(&spec(), None, &RecordedEvents::new()).await.expect("deploy");

    client.set(Faults::Delay(DELAY));
    println!("reading the deployed seed recipe back, every call {} ms late:", DELAY.as_millis());
    // A first plan warms what the provider caches for its lifetime (the VPC and subnets).
    orchestrator.plan(&spec(), orchestrator.prepare_image(&spec(), None).await.unwrap()).await.unwrap();
    log.clear();
    let start = Instant::now();
    let image = orchestrator.prepare_image(&spec(), None).await.unwrap();
    orchestrator.plan(&spec(), image).await.unwrap();
    line("plan", start.elapsed(), log.calls().len());
    log.clear();
    let start = Instant::now();
    orchestrator.status(&spec()).await.unwrap();
    line("status", start.elapsed(), log.calls().len());
    log.clear();
    let start = Instant::now();
    orchestrator.deploy(&spec(), None, &RecordedEvents::new()).await.unwrap();
    line("no-op deploy", start.elapsed(), log.calls().len());
    assert!(log.mutating().is_empty(), "the no-op deploy wrote: {:?}", log.mutating());
    if let Some(server) = server.as_mut() {
        let _ = server.kill();
        let _ = server.wait();
    }
}
