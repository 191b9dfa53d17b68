//! `scaling status` and `scaling scale`.

use anyhow::Result;
use scaling_core::providers::{Delegation, TargetState};
use scaling_core::StatusReport;

use super::{connect, finish};
use crate::args::Global;
use crate::render::Renderer;

fn text(report: &StatusReport) -> String {
    let Some(service) = &report.service else {
        return format!("{} is not deployed.", report.app);
    };
    let mut out = format!(
        "{}: {}/{} running, {} pending, rollout {}\n",
        report.app, service.running_count, service.spec.desired_count, service.pending_count, service.rollout
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
    if let Some(connections) = report.load_balancer.as_ref().and_then(|lb| lb.connections) {
        out.push_str(&format!(
            "  connections: {} open, {} accepted at once at most (more wait to be accepted)\n",
            connections.open, connections.limit
        ));
    }
    if let Some(autoscaling) = &report.autoscaling {
        out.push_str(&format!(
            "  autoscaling: {} replicas now, {}\n",
            service.spec.desired_count,
            autoscaling.describe()
        ));
        match &autoscaling.last_decision {
            Some(decision) => {
                let change = match (decision.from, decision.to) {
                    (Some(from), Some(to)) => format!("{from} → {to}"),
                    _ => "scaled".to_string(),
                };
                let ago = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|now| {
                        uptime(std::time::Duration::from_millis((now.as_millis() as u64).saturating_sub(decision.at)))
                    })
                    .unwrap_or_default();
                out.push_str(&format!("    last decision: {change}, {ago} ago: {}\n", decision.reason));
            }
            None => match &autoscaling.last_decision_unknown {
                Some(why) => out.push_str(&format!("    last decision: unknown ({why})\n")),
                None => out.push_str("    last decision: none yet\n"),
            },
        }
    }
    if let Some(release) = report.release {
        out.push_str(&format!("  release: {release} (`scaling releases` lists the kept ones)\n"));
    }
    if let Some(lock) = &report.lock {
        out.push_str(&format!("  locked: {}\n", lock.describe()));
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
    let session = connect(global, true).await?;
    let status = session.status().await?;
    if global.output == crate::args::Output::Json {
        for note in &status.notes {
            eprintln!("note: {note}");
        }
    }
    let renderer = Renderer::new(global.output, true);
    finish(global, &renderer, &status.report, || {
        let mut out = text(&status.report);
        for note in &status.notes {
            out.push_str(&format!("\n  note: {note}"));
        }
        for hint in &status.hints {
            out.push_str(&format!("\n  {hint}"));
        }
        out
    });
    Ok(())
}

pub async fn scale(global: &Global, count: u32, wait: bool) -> Result<()> {
    let session = connect(global, wait).await?;
    let renderer = Renderer::new(global.output, global.no_color);
    let service = crate::signals::interruptible(&*session, session.scale(count, wait, &renderer)).await?;
    finish(global, &renderer, &service, || match wait {
        true => format!("✓ {} runs {} healthy replica(s)", service.spec.name, service.running_count),
        false => format!(
            "✓ {} now wants {} replica(s) (not waiting for them)",
            service.spec.name, service.spec.desired_count
        ),
    });
    Ok(())
}
