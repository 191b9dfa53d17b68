//! `scaling deploy`: build, push, apply; the local provider then serves in the foreground until Ctrl-C.

use anyhow::Result;
use scaling_core::DeployReport;

use super::{connect, finish};
use crate::args::Global;
use crate::provider::Selected;
use crate::render::Renderer;

fn summary(report: &DeployReport, selected: &Selected) -> String {
    let mut text = format!(
        "✓ {} is deployed: {} replica(s) in {:.1}s\n",
        selected.spec.app.name,
        selected.spec.app.desired_count,
        report.elapsed.as_secs_f64()
    );
    for url in &report.urls {
        text.push_str(&format!("  {url}\n"));
    }
    if let Some(zone) = report.new_zone.as_ref().filter(|z| !z.name_servers.is_empty()) {
        text.push_str(&format!(
            "  New DNS zone {}: set these name servers at your domain's registrar:\n    {}\n",
            zone.name,
            zone.name_servers.join("\n    ")
        ));
    }
    if let Some(local) = &selected.local {
        if let Ok(ca) = local.ca() {
            text.push_str(&format!("  To {}.\n", ca.trust_hint()));
        }
        text.push_str("  Serving here until Ctrl-C.");
    }
    text.trim_end().to_string()
}

/// Ctrl-C and SIGTERM, listened for from the start so that none is missed.
struct StopSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self { interrupt: signal(SignalKind::interrupt())?, terminate: signal(SignalKind::terminate())? })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

pub async fn run(global: &Global, image: Option<&str>, wait: bool) -> Result<()> {
    let (selected, orchestrator) = connect(global, wait).await?;
    let renderer = Renderer::new(global.output, global.no_color);
    let mut signals = StopSignals::install()?;
    let deployed = tokio::select! {
        deployed = orchestrator.deploy(&selected.spec, image, &renderer) => deployed.map_err(anyhow::Error::from),
        _ = signals.recv() => Err(anyhow::anyhow!("interrupted; the next deploy picks up where this one stopped")),
    };
    let report = match deployed {
        Ok(report) => report,
        Err(error) => {
            if let Some(local) = &selected.local {
                local.shutdown().await;
            }
            return Err(error);
        }
    };
    finish(global, &renderer, &report, || summary(&report, &selected));
    if let Some(local) = &selected.local {
        signals.recv().await;
        renderer.println("Stopping: draining replicas and the load balancer…");
        local.shutdown().await;
        renderer.println("Stopped.");
    }
    Ok(())
}
