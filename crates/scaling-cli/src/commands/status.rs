//! `scaling status` and `scaling scale`.

use anyhow::Result;
use scaling_core::providers::{Delegation, TargetState};
use scaling_core::{ProviderKind, StatusReport};

use super::{connect, finish};
use crate::args::Global;
use crate::render::Renderer;

const LOCAL_NOTE: &str = "local deployments live in the `scaling deploy --provider local` process that serves them";

fn text(report: &StatusReport, kind: ProviderKind) -> String {
    let Some(service) = &report.service else {
        let note = if kind == ProviderKind::Local { format!(" ({LOCAL_NOTE})") } else { String::new() };
        return format!("{} is not deployed{note}.", report.app);
    };
    let mut out = format!(
        "{}: {}/{} running, {} pending, rollout {:?}\n",
        report.app, service.running_count, service.desired_count, service.pending_count, service.rollout
    );
    let healthy = report.targets.iter().filter(|t| t.state == TargetState::Healthy).count();
    out.push_str(&format!("  targets: {healthy}/{} healthy\n", report.targets.len()));
    for target in report.targets.iter().filter(|t| t.state != TargetState::Healthy) {
        out.push_str(&format!(
            "    {} {:?}: {}\n",
            target.target,
            target.state,
            target.reason.as_deref().unwrap_or("")
        ));
    }
    if let Some(cert) = &report.certificate {
        out.push_str(&format!("  certificate: {cert:?}\n"));
    }
    match &report.delegation {
        Some(Delegation::NotDelegated { expected, found }) => out.push_str(&format!(
            "  DNS: not delegated — the registrar lists [{}]; set it to [{}]\n",
            found.join(", "),
            expected.join(", ")
        )),
        Some(Delegation::Unknown(why)) => out.push_str(&format!("  DNS: delegation unknown ({why})\n")),
        _ => {}
    }
    for url in &report.urls {
        out.push_str(&format!("  {url}\n"));
    }
    out.trim_end().to_string()
}

pub async fn status(global: &Global) -> Result<()> {
    let (selected, orchestrator) = connect(global, true).await?;
    let report = orchestrator.status(&selected.spec).await?;
    let renderer = Renderer::new(global.output, true);
    finish(global, &renderer, &report, || text(&report, selected.kind));
    Ok(())
}

pub async fn scale(global: &Global, count: u32, wait: bool) -> Result<()> {
    let (selected, orchestrator) = connect(global, wait).await?;
    let renderer = Renderer::new(global.output, global.no_color);
    let service =
        orchestrator.scale(&selected.spec, count, &renderer).await.map_err(|e| match (&e, selected.kind) {
            (scaling_core::Error::NotDeployed { .. }, ProviderKind::Local) => anyhow::anyhow!("{e} ({LOCAL_NOTE})"),
            _ => e.into(),
        })?;
    finish(global, &renderer, &service, || {
        format!("✓ {} now wants {} replica(s)", service.name, service.desired_count)
    });
    Ok(())
}
