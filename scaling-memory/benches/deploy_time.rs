//! Deploy time on the in-memory cloud with AWS-like latencies (API call 100 ms, load balancer active
//! 180 s, certificate issued 120 s after its records exist, service stable 150 s), on tokio's paused
//! clock: the orchestrator's time against the critical path and against the seed's one-step-at-a-time
//! order. Also the real CPU time of a plan + apply with no latency. Prints ratios; asserts nothing.
//!
//! `cargo bench -p scaling-memory --bench deploy_time`

use std::time::{Duration, Instant};

use scaling_core::{DeployOptions, ErrorKind, ImageSpec, Orchestrator, Providers, Silent, Spec};
use scaling_memory::{Fault, InMemoryCloud, Latency};

/// The calls a first deploy on a new AWS account meets before AWS has caught up, each answering "not
/// yet" twice (as the moto realism layer has them, with its sources): the ECS service-linked role
/// (`CreateCluster`), a security group just made (`AuthorizeSecurityGroupIngress`), a role just made
/// (`RegisterTaskDefinition`), a listener just made (`CreateService`), a certificate just issued
/// (`CreateListener`).
const CATCHING_UP: [&str; 5] =
    ["ensure_cluster", "ensure_replica_firewall", "register_revision", "ensure_service", "ensure_listener"];

fn spec() -> Spec {
    let image = "registry.example/dashmath@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    Spec::new("dashmath", 8050, ImageSpec::prebuilt(image)).with_domain("dashmath.example.com").with_desired_count(3)
}

/// Reading a deployed app back (what `plan`, `status` and a no-op deploy do first), in rounds of one API
/// call's latency: the core's share of the reads, each provider adds what it calls in sequence inside.
async fn virtual_reads(latency: Latency) -> (Duration, Duration) {
    let cloud = InMemoryCloud::with_latency(latency).shared();
    let orchestrator = Orchestrator::new(Providers::from_cloud(cloud)).with_options(DeployOptions::default());
    let spec = spec();
    orchestrator.deploy(&spec, None, &Silent).await.expect("deploy");
    let start = tokio::time::Instant::now();
    let image = orchestrator.prepare_image(&spec, None).await.expect("image");
    orchestrator.plan(&spec, image).await.expect("plan");
    let plan = start.elapsed();
    let start = tokio::time::Instant::now();
    orchestrator.deploy(&spec, None, &Silent).await.expect("no-op deploy");
    (plan, start.elapsed())
}

/// The deploy's time, its critical path and the seed's sequential order (all with the reads first), and
/// how many calls answered "not yet".
async fn virtual_deploy(latency: Latency, catching_up: bool) -> (Duration, Duration, Duration, usize) {
    let cloud = InMemoryCloud::with_latency(latency).shared();
    for operation in CATCHING_UP.iter().filter(|_| catching_up) {
        for _ in 0..2 {
            cloud.inject(Fault::operation(*operation).kind(ErrorKind::CatchingUp));
        }
    }
    let orchestrator = Orchestrator::new(Providers::from_cloud(cloud.clone())).with_options(DeployOptions::default());
    let spec = spec();
    let start = tokio::time::Instant::now();
    let plan =
        orchestrator.plan(&spec, orchestrator.prepare_image(&spec, None).await.expect("image")).await.expect("plan");
    let observe = start.elapsed();
    orchestrator.apply(&plan, &Silent).await.expect("apply");
    let took = start.elapsed();
    let (critical, _) = plan.critical_path(|s| latency.step_cost(s));
    let sequential: Duration = plan.steps().iter().map(|s| latency.step_cost(*s)).sum();
    let not_yet = cloud.calls().iter().filter(|c| c.failed).count();
    (took, critical + observe, sequential + observe, not_yet)
}

fn main() {
    let paused =
        tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().expect("runtime");
    let (took, critical, sequential, _) = paused.block_on(virtual_deploy(Latency::REALISTIC, false));
    println!("virtual time, AWS-like latencies (observe included in all three):");
    println!("  orchestrator deploy     {:>8.1} s", took.as_secs_f64());
    println!(
        "  critical path           {:>8.1} s   deploy / critical path = {:.3}",
        critical.as_secs_f64(),
        took.as_secs_f64() / critical.as_secs_f64()
    );
    println!(
        "  seed's sequential order {:>8.1} s   sequential / deploy   = {:.2}x",
        sequential.as_secs_f64(),
        sequential.as_secs_f64() / took.as_secs_f64()
    );

    let (late, _, _, not_yet) = paused.block_on(virtual_deploy(Latency::REALISTIC, true));
    println!(
        "  with AWS catching up    {:>8.1} s   {not_yet} \"not yet\" answers ({} calls); / critical path = {:.3}",
        late.as_secs_f64(),
        CATCHING_UP.len(),
        late.as_secs_f64() / critical.as_secs_f64()
    );

    let (plan, noop) = paused.block_on(virtual_reads(Latency::REALISTIC));
    let call = Latency::REALISTIC.api_call.as_secs_f64();
    println!("reading a deployed app back, {:.0} ms per call:", call * 1e3);
    println!(
        "  plan                    {:>8.2} s   {:.0} sequential rounds",
        plan.as_secs_f64(),
        plan.as_secs_f64() / call
    );
    println!(
        "  no-op deploy            {:>8.2} s   {:.0} sequential rounds",
        noop.as_secs_f64(),
        noop.as_secs_f64() / call
    );

    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
    let runs = 200;
    let start = Instant::now();
    for _ in 0..runs {
        runtime.block_on(virtual_deploy(Latency::NONE, false));
    }
    let per = start.elapsed() / runs;
    println!(
        "real CPU time of observe + plan + apply on a fresh in-memory cloud: {:.3} ms per deploy ({runs} runs)",
        per.as_secs_f64() * 1e3
    );
}
