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

/// Clears what a dead run of `app` left, and says so. Called with the deploy lock held.
fn take_over(app: &str, renderer: &Renderer) -> Result<()> {
    if let Some((pid, removed)) = scaling_local::control::take_over(app)? {
        renderer.println(&format!(
            "Cleared what the last run of {app} (pid {pid}) left when it died: {}",
            if removed.is_empty() { "nothing".to_string() } else { removed.join(", ") }
        ));
    }
    Ok(())
}

pub async fn run(global: &Global, image: Option<&str>, wait: bool, ready_file: Option<&std::path::Path>) -> Result<()> {
    let (selected, orchestrator) = connect(global, wait).await?;
    let renderer = Renderer::new(global.output, global.no_color);
    // One deploy of an app at a time on this machine, held until this process ends.
    let _lock = match &selected.local {
        Some(_) => {
            let app = &selected.spec.app.name;
            match scaling_local::DeployLock::acquire(&scaling_local::Paths::from_env(), app) {
                Ok(lock) => {
                    take_over(app, &renderer)?;
                    Some(lock)
                }
                // A deployment serving here takes the change itself, replica by replica.
                Err(scaling_local::LockError::Held(holder)) if scaling_local::control::is_running(app).await => {
                    return roll_out(global, &selected, &holder).await;
                }
                Err(scaling_local::LockError::Held(holder)) => {
                    anyhow::bail!(scaling_local::control::already_running(app, &holder))
                }
                Err(other) => return Err(other.into()),
            }
        }
        None => None,
    };
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
    let Some(local) = &selected.local else {
        finish(global, &renderer, &report, || summary(&report, &selected));
        return Ok(());
    };
    // Other terminals reach this deployment through its control socket.
    let served = scaling_local::control::serve(&selected.spec.app.name, orchestrator.clone(), selected.spec.clone());
    let (socket, mut stop) = match served {
        Ok(served) => served,
        Err(error) => {
            local.shutdown().await;
            return Err(error.into());
        }
    };
    let record = scaling_local::RunRecord {
        app: selected.spec.app.name.clone(),
        service: scaling_core::ResourceNames::new(&selected.spec.app.name).service,
        pid: std::process::id(),
        socket: socket.clone(),
        urls: report.urls.clone(),
        replicas: Vec::new(),
        started: scaling_local::run_record::now(),
    };
    if let Err(error) = local.record(record) {
        local.shutdown().await;
        let _ = std::fs::remove_file(&socket);
        return Err(anyhow::Error::from(error).context("cannot write the local state file"));
    }
    finish(global, &renderer, &report, || summary(&report, &selected));
    if let Some(path) = ready_file {
        let partial = path.with_extension("partial");
        std::fs::write(&partial, serde_json::to_vec(&report)?)?;
        std::fs::rename(&partial, path)?;
    }
    tokio::select! {
        _ = signals.recv() => {}
        _ = stop.recv() => {}
    }
    renderer.println("Stopping: draining replicas and the load balancer…");
    local.shutdown().await;
    let _ = std::fs::remove_file(&socket);
    renderer.println("Stopped.");
    Ok(())
}

/// Deploys the spec onto the local deployment that already serves it (pid `holder`): a changed app or
/// config rolls out through the running process, surge then retire, without taking the app down.
async fn roll_out(global: &Global, selected: &Selected, holder: &scaling_local::Holder) -> Result<()> {
    let app = &selected.spec.app.name;
    let renderer = Renderer::new(global.output, global.no_color);
    if global.output == crate::args::Output::Text {
        renderer.println(&format!("{app} already runs here (pid {}); rolling the change out through it…", holder.pid));
    }
    let report = scaling_local::reach::deploy(app, &selected.spec).await?;
    let changed = report.changes.iter().filter(|c| c.action.mutates()).count();
    finish(global, &renderer, &report, || {
        let mut text = match changed {
            0 => format!("✓ {app} already runs this version: nothing to change"),
            n => format!("✓ rolled out to the running {app}: {n} change(s) in {:.1}s", report.elapsed.as_secs_f64()),
        };
        for url in &report.urls {
            text.push_str(&format!("\n  {url}"));
        }
        text
    });
    Ok(())
}

/// `deploy --detach`: the same deploy in a background process of its own; returns once it serves.
pub async fn detach(global: &Global, image: Option<&str>) -> Result<()> {
    let spec = super::load(global)?;
    if crate::provider::kind(global, &spec) != crate::provider::ProviderKind::Local {
        return Err(crate::InvalidInput(
            "--detach is for the local provider; cloud deployments keep running by themselves".into(),
        )
        .into());
    }
    if let Some((holder, _)) = scaling_local::control::holder(&spec.app.name) {
        if scaling_local::control::is_running(&spec.app.name).await {
            let (selected, _) = super::connect(global, true).await?;
            return roll_out(global, &selected, &holder).await;
        }
        anyhow::bail!(scaling_local::control::already_running(&spec.app.name, &holder));
    }
    let paths = scaling_local::Paths::from_env();
    std::fs::create_dir_all(paths.logs())?;
    let log_path = paths.logs().join(format!("{}-supervisor.log", spec.app.name));
    let ready = paths.logs().join(format!("{}-ready-{}.json", spec.app.name, std::process::id()));
    let config = std::fs::canonicalize(&global.config)?;
    let mut command = std::process::Command::new(std::env::current_exe()?);
    command
        .arg("--config")
        .arg(&config)
        .args(["--provider", "local", "--no-color", "deploy", "--ready-file"])
        .arg(&ready);
    if let Some(image) = image {
        command.args(["--image", image]);
    }
    let (report, pid) = scaling_local::detach::start_detached(&spec.app.name, command, &ready, &log_path).await?;
    let renderer = Renderer::new(global.output, global.no_color);
    finish(global, &renderer, &report, || {
        format!(
            "✓ {} runs in the background (pid {}, log {})\n{}\n  Stop it with: scaling destroy --provider local --yes",
            spec.app.name,
            pid,
            log_path.display(),
            report.urls.iter().map(|u| format!("  {u}")).collect::<Vec<_>>().join("\n")
        )
    });
    Ok(())
}
