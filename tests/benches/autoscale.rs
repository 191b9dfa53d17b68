//! The local autoscaler under a load step: 10 connections of calculator callbacks (each pausing
//! 100 ms between requests), then 300 with no pause, then 10 again. Prints the time from the step
//! to the scale-out decision and to the new replicas taking traffic, the time back to the minimum
//! after the load falls, failed requests across all of it, and p99 latency before, during the
//! surge once scaled out, and after. Goal: a decision within 10 s and 0 failed requests. Bounded in
//! time and count; talks only to 127.0.0.1.
//!
//! `cargo bench -p scaling-tests --bench autoscale`

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use scaling_core::{AutoscalingSpec, DeployOptions, Orchestrator, Providers, RecordedEvents, Spec};
use scaling_local::{localize, LocalCloud, Paths};
use scaling_tests::https::{trusting, Connection};

const CALLBACK: &str = r#"{"output":"result.children","outputs":{"id":"result","property":"children"},"inputs":[{"id":"left","property":"value","value":6},{"id":"operator","property":"value","value":"*"},{"id":"right","property":"value","value":7}],"changedPropIds":["right.value"],"state":[]}"#;
const MAX_REQUESTS_PER_CLIENT: usize = 20_000;

/// (when it was sent, how long it took; `None` for a failure).
type Samples = Arc<Mutex<Vec<(Instant, Option<Duration>)>>>;

/// `clients` keep-alive connections sending the callback for `duration`, pausing `think` between.
fn phase(
    port: u16,
    tls: &Arc<rustls::ClientConfig>,
    clients: usize,
    think: Duration,
    duration: Duration,
    samples: &Samples,
) -> Vec<tokio::task::JoinHandle<()>> {
    let deadline = Instant::now() + duration;
    (0..clients)
        .map(|_| {
            let (tls, samples) = (tls.clone(), samples.clone());
            tokio::spawn(async move {
                let mut connection = Connection::open("dashmath.localhost", port, Some(tls.clone())).await.ok();
                let mut sent_count = 0;
                while Instant::now() < deadline && sent_count < MAX_REQUESTS_PER_CLIENT {
                    sent_count += 1;
                    let sent = Instant::now();
                    let ok = match connection.as_mut() {
                        Some(c) => matches!(c.send("POST", "/_dash-update-component", Some(CALLBACK)).await, Ok(r) if r.status == 200),
                        None => false,
                    };
                    samples.lock().expect("samples").push((sent, ok.then(|| sent.elapsed())));
                    if !ok {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        connection = Connection::open("dashmath.localhost", port, Some(tls.clone())).await.ok();
                    }
                    if !think.is_zero() {
                        tokio::time::sleep(think).await;
                    }
                }
            })
        })
        .collect()
}

fn p99(samples: &[(Instant, Option<Duration>)], from: Instant, to: Instant) -> Duration {
    let mut latencies: Vec<Duration> =
        samples.iter().filter(|(at, _)| *at >= from && *at < to).filter_map(|s| s.1).collect();
    latencies.sort();
    latencies.get(((latencies.len() as f64 - 1.0) * 0.99).round().max(0.0) as usize).copied().unwrap_or_default()
}

/// When `counts` first says `done`, polling every 50 ms for at most `within`.
async fn when(within: Duration, done: impl Fn() -> bool) -> Option<Instant> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if done() {
            return Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    // The balancer and the autoscaler get a runtime of their own, as in the `scaling` process.
    let serving = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    runtime.block_on(async {
        let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/dashmath/scaling.toml");
        let mut spec: Spec = Spec::load(&path).expect("example config");
        spec.app.desired_count = 1;
        spec.scaling = Some(AutoscalingSpec {
            min: 1,
            max: 10,
            cpu_percent: Some(60),
            requests_per_second: None,
            scale_out_cooldown: Duration::from_secs(5),
            scale_in_cooldown: Duration::from_secs(10),
        });
        let local = spec.settings::<scaling_local::LocalSettings>().expect("settings").on_free_ports();
        spec.set_settings(&local);
        let spec = localize(&spec);
        let cloud = Arc::new(LocalCloud::new(Paths::at(std::env::temp_dir().join("scaling-test-home")), local));
        let options = DeployOptions { poll_interval: Duration::from_millis(100), ..DeployOptions::default() };
        let orchestrator = Orchestrator::new(Providers::from_cloud(cloud.clone())).with_options(options);
        let (deployer, deployed) = (orchestrator.clone(), spec.clone());
        serving
            .spawn(async move { deployer.deploy(&deployed, None, &RecordedEvents::new()).await.map(|_| ()) })
            .await
            .expect("the deploy task")
            .expect("deploy");
        let port = cloud.listener_port(443).expect("https port");
        let tls = trusting(&std::fs::read_to_string(cloud.paths().ca().join("ca.pem")).expect("CA"));
        let name = spec.app.name.clone();
        let counts = || cloud.supervisor().counts(&name).expect("the service runs");
        let cap = scaling_local::autoscaler::machine_cap(1).min(10);
        let samples: Samples = Arc::default();

        let start = Instant::now();
        let calm = phase(port, &tls, 10, Duration::from_millis(100), Duration::from_secs(8), &samples);
        futures::future::join_all(calm).await;
        let at_step = counts().desired;
        if at_step > 1 {
            let early = orchestrator.status(&spec).await.ok().and_then(|s| s.autoscaling).and_then(|a| a.last_decision);
            println!("  scaled out before the step: {early:?}");
        }
        let step = Instant::now();
        let surge = phase(port, &tls, 300, Duration::ZERO, Duration::from_secs(25), &samples);
        let decided = when(Duration::from_secs(25), || counts().desired > 1).await;
        let serving_at = when(Duration::from_secs(25), || {
            let c = counts();
            c.desired > 1 && c.running == c.desired
        })
        .await;
        futures::future::join_all(surge).await;
        let fall = Instant::now();
        let after = phase(port, &tls, 10, Duration::from_millis(100), Duration::from_secs(30), &samples);
        let back = when(Duration::from_secs(30), || counts().desired == 1 && counts().running == 1).await;
        futures::future::join_all(after).await;
        let end = Instant::now();

        let samples = samples.lock().expect("samples").clone();
        let failed = samples.iter().filter(|s| s.1.is_none()).count();
        let scaled_out_from = serving_at.unwrap_or(fall);
        let secs = |at: Option<Instant>, from: Instant| {
            at.map_or_else(|| "never".to_string(), |at| format!("{:.1} s", at.duration_since(from).as_secs_f64()))
        };
        let (before, during, after) = (p99(&samples, start, step), p99(&samples, scaled_out_from, fall), p99(&samples, fall, end));
        println!("autoscale: 10 → 300 → 10 connections of calculator callbacks, 1 replica to at most {cap} (this machine's cores)");
        println!("  replicas at the step           {at_step} (the calm phase must not scale out)");
        println!("  requests                       {} ({failed} failed)", samples.len());
        println!("  step → scale-out decision      {} (goal ≤ 10 s)", secs(decided, step));
        println!("  step → new replicas serving    {}", secs(serving_at, step));
        println!("  fall → back to 1 replica       {} (scale-in cooldown 10 s)", secs(back, fall));
        println!("  p99 before                     {:.1} ms", before.as_secs_f64() * 1e3);
        println!("  p99 at 300, scaled out         {:.1} ms", during.as_secs_f64() * 1e3);
        println!("  p99 after                      {:.1} ms", after.as_secs_f64() * 1e3);
        println!("  ratio p99 after / before       {:.2}", after.as_secs_f64() / before.as_secs_f64().max(1e-9));
        if let Some(decision) = orchestrator.status(&spec).await.ok().and_then(|s| s.autoscaling).and_then(|a| a.last_decision) {
            println!("  last decision                  {:?} → {:?}: {}", decision.from, decision.to, decision.reason);
        }
        let stopper = cloud.clone();
        serving.spawn(async move { stopper.shutdown().await }).await.expect("shutdown");
    });
}
