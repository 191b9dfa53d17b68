//! `scaling status` and `scaling scale`.

use anyhow::Result;
use scaling_core::providers::{Delegation, TargetState};
use scaling_core::StatusReport;

use crate::provider::ProviderKind;

use super::{connect, finish, load};
use crate::args::Global;
use crate::render::Renderer;
use scaling_local::reach::{self, START_HINT as LOCAL_NOTE};

fn text(report: &StatusReport, kind: ProviderKind) -> String {
    let Some(service) = &report.service else {
        let note = if kind == ProviderKind::Local { format!(" ({LOCAL_NOTE})") } else { String::new() };
        return format!("{} is not deployed{note}.", report.app);
    };
    let mut out = format!(
        "{}: {}/{} running, {} pending, rollout {}\n",
        report.app, service.running_count, service.desired_count, service.pending_count, service.rollout
    );
    let healthy = report.targets.iter().filter(|t| t.state == TargetState::Healthy).count();
    out.push_str(&format!("  targets: {healthy}/{} healthy\n", report.targets.len()));
    for target in report.targets.iter().filter(|t| t.state != TargetState::Healthy) {
        out.push_str(&format!("    {} {}: {}\n", target.target, target.state, target.reason.as_deref().unwrap_or("")));
    }
    if !service.replicas.is_empty() {
        out.push_str("  replicas:\n");
    }
    for replica in &service.replicas {
        out.push_str(&format!(
            "    {:<3} {:<9} pid {:<7} {:<16} up {}",
            replica.id,
            replica.state.to_string(),
            replica.pid.map_or_else(|| "-".to_string(), |p| p.to_string()),
            replica.address,
            uptime(replica.uptime)
        ));
        if replica.restarts > 0 {
            let times = if replica.restarts == 1 { "once".to_string() } else { format!("{} times", replica.restarts) };
            out.push_str(&format!("  restarted {times}"));
        }
        if let Some(reason) = &replica.reason {
            out.push_str(&format!("  ({reason})"));
        }
        out.push('\n');
    }
    if let Some(cert) = &report.certificate {
        out.push_str(&format!("  certificate: {cert}\n"));
    }
    for warning in &service.warnings {
        out.push_str(&format!("  warning: {warning}\n"));
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

/// `42s`, `3m 5s`, `2h 10m`.
fn uptime(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        _ => format!("{}h {}m", s / 3600, (s % 3600) / 60),
    }
}

pub async fn status(global: &Global) -> Result<()> {
    let spec = load(global)?;
    let kind = crate::provider::kind(global, &spec);
    let (report, stale) = if kind == ProviderKind::Local {
        let local = reach::status(&spec.app.name).await?;
        (local.report, local.note)
    } else {
        let (selected, orchestrator) = connect(global, true).await?;
        (orchestrator.status(&selected.spec).await?, None)
    };
    if let (Some(note), crate::args::Output::Json) = (&stale, global.output) {
        eprintln!("note: {note}");
    }
    let renderer = Renderer::new(global.output, true);
    finish(global, &renderer, &report, || {
        let mut out = text(&report, kind);
        if let Some(note) = &stale {
            out.push_str(&format!("\n  note: {note}"));
        }
        if kind == ProviderKind::Local && report.service.is_some() {
            let ca = scaling_local::Paths::from_env().ca().join("ca.pem");
            out.push_str(&format!(
                "\n  To open it without warnings, trust the local CA: import {} in your browser (Authorities)",
                ca.display()
            ));
        }
        out
    });
    Ok(())
}

pub async fn scale(global: &Global, count: u32, wait: bool) -> Result<()> {
    let spec = load(global)?;
    if crate::provider::kind(global, &spec) == ProviderKind::Local {
        let service = reach::scale(&spec.app.name, count, wait).await?;
        let renderer = Renderer::new(global.output, true);
        finish(global, &renderer, &service, || match wait {
            true => format!("✓ {} runs {} healthy replica(s)", service.name, service.running_count),
            false => {
                format!("✓ {} now wants {} replica(s) (not waiting for them)", service.name, service.desired_count)
            }
        });
        return Ok(());
    }
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
