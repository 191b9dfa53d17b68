//! `scaling status` and `scaling scale`.

use anyhow::Result;
use scaling_core::providers::{Delegation, TargetState};
use scaling_core::StatusReport;

use crate::provider::ProviderKind;

use super::{connect, finish, load};
use crate::args::Global;
use crate::render::Renderer;
use scaling_local::control::{self, Reply, Request};

const LOCAL_NOTE: &str = "start it with `scaling deploy --provider local`, or add --detach to run it in the background";

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

/// The status of the local deployment, from the process serving it (not deployed when none runs).
async fn local_status(app: &str) -> Result<StatusReport> {
    match control::request(app, &Request::Status).await? {
        Some(Reply::Status(report)) => Ok(*report),
        Some(Reply::Error { message }) => anyhow::bail!(message),
        Some(other) => anyhow::bail!("unexpected reply {other:?}"),
        None => Ok(StatusReport {
            app: app.to_string(),
            service: None,
            load_balancer: None,
            targets: Vec::new(),
            certificate: None,
            urls: Vec::new(),
            delegation: None,
            name_servers: Vec::new(),
        }),
    }
}

pub async fn status(global: &Global) -> Result<()> {
    let spec = load(global)?;
    let kind = crate::provider::kind(global, &spec);
    let report = if kind == ProviderKind::Local {
        local_status(&spec.app.name).await?
    } else {
        let (selected, orchestrator) = connect(global, true).await?;
        orchestrator.status(&selected.spec).await?
    };
    let starting = match (kind, &report.service) {
        (ProviderKind::Local, None) => control::holder(&spec.app.name).map(|(holder, age)| {
            format!(
                "{} is starting (pid {}, for {age} s): building or waiting for healthy replicas; \
                 `scaling destroy --provider local --yes` stops it",
                spec.app.name, holder.pid
            )
        }),
        _ => None,
    };
    let stale = match (kind, &report.service) {
        _ if starting.is_some() => starting,
        (ProviderKind::Local, None) => control::stale_record(&spec.app.name)?.map(|record| {
            format!(
                "{}'s last run (pid {}) died without stopping, leaving {} replica(s) running; \
                 `scaling destroy --provider local --yes` clears what it left",
                record.app,
                record.pid,
                record.leftover_replicas().len()
            )
        }),
        _ => None,
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

/// Polls the running local deployment until `count` replicas of its current version are healthy.
async fn wait_for_count(app: &str, count: u32) -> Result<scaling_core::providers::ServiceInfo> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    loop {
        let service = match control::request(app, &Request::Status).await? {
            Some(Reply::Status(status)) => status.service,
            _ => anyhow::bail!("{app} stopped while scaling"),
        };
        if let Some(service) = service {
            if let scaling_core::providers::Rollout::Failed(why) = &service.rollout {
                anyhow::bail!("{app} cannot reach {count} healthy replica(s): {why}");
            }
            if service.running_count == count && service.rollout == scaling_core::providers::Rollout::Completed {
                return Ok(service);
            }
        }
        if std::time::Instant::now() > deadline {
            anyhow::bail!("{app} did not reach {count} healthy replica(s) in 5 minutes; see `scaling status`");
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

pub async fn scale(global: &Global, count: u32, wait: bool) -> Result<()> {
    let spec = load(global)?;
    if crate::provider::kind(global, &spec) == ProviderKind::Local {
        let service = match control::request(&spec.app.name, &Request::Scale { count }).await? {
            Some(Reply::Scaled(service)) => *service,
            Some(Reply::Error { message }) => anyhow::bail!(message),
            Some(other) => anyhow::bail!("unexpected reply {other:?}"),
            None if control::holder(&spec.app.name).is_some() => anyhow::bail!(
                "{} is still starting; scale it once `scaling status --provider local` shows it serving",
                spec.app.name
            ),
            None => anyhow::bail!("{} is not running here ({LOCAL_NOTE})", spec.app.name),
        };
        let service = if wait { wait_for_count(&spec.app.name, count).await? } else { service };
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
