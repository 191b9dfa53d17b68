//! Builds a spec in code, plans and deploys it on the in-memory cloud with AWS-like latencies
//! (on tokio's paused clock, so minutes pass instantly), and prints the plan and the progress events.
//!
//! Run it with `cargo run -p scaling-examples --example in_memory_deploy`.

use scaling_core::{Event, EventKind, ImageSpec, Orchestrator, Providers, Spec};
use scaling_memory::{InMemoryCloud, Latency};

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() -> Result<(), scaling_core::Error> {
    let image = "registry.example/dashmath@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let spec = Spec::new("dashmath", 8050, ImageSpec::prebuilt(image))
        .with_domain("dashmath.example.com")
        .with_desired_count(3);

    let cloud = InMemoryCloud::with_latency(Latency::REALISTIC).shared();
    let orchestrator = Orchestrator::new(Providers::from_cloud(cloud.clone()));

    let plan = orchestrator.plan(&spec, orchestrator.prepare_image(&spec, None).await?).await?;
    println!("Plan for {}:", plan.app);
    for change in &plan.changes {
        println!("  {:<10} {:<55} {}", format!("{:?}", change.action), change.resource, change.reason);
    }

    println!("\nDeploying:");
    let print = |event: &Event| {
        let what = match &event.kind {
            EventKind::Started { action } => format!("start ({action:?})"),
            EventKind::Waiting { detail } => format!("waiting: {detail}"),
            EventKind::Retrying { attempt, error } => format!("retry {attempt}: {error}"),
            EventKind::Done { detail } => format!("done: {detail}"),
            EventKind::Failed { error } => format!("FAILED: {error}"),
            EventKind::Skipped { because } => format!("skipped ({because} failed)"),
        };
        println!("  [{:>6.1}s] {:<28} {}", event.elapsed.as_secs_f64(), event.step.name(), what);
    };
    let report = orchestrator.apply(&plan, &print).await?;

    println!("\nDone in {:.1}s (virtual). URLs: {}", report.elapsed.as_secs_f64(), report.urls.join(", "));
    if let Some(zone) = report.new_zone {
        println!("Set these name servers at your registrar: {}", zone.name_servers.join(", "));
    }
    println!("{} resources in the cloud, {} API calls.", cloud.inventory().len(), cloud.calls().len());
    Ok(())
}
