//! `scaling deploy`: build, push, apply; the local provider then serves in the foreground until Ctrl-C.

use anyhow::Result;
use scaling_core::session::DeployOutcome;

use super::{connect, finish};
use crate::args::Global;
use crate::render::Renderer;
use crate::signals::StopSignals;

fn summary(outcome: &DeployOutcome, spec: &scaling_core::Spec, serving_here: bool) -> String {
    let (report, app) = (&outcome.report, &spec.app.name);
    let mut text = String::new();
    for note in &outcome.notes {
        text.push_str(&format!("{note}\n"));
    }
    if let Some(onto) = &outcome.rolled_out_onto {
        let changed = report.changes.iter().filter(|c| c.action.mutates()).count();
        text.push_str(&match changed {
            0 => format!("✓ {app} already runs here ({onto}): nothing to change\n"),
            n => format!(
                "✓ {app} already runs here ({onto}): rolled out {n} change(s) through it in {:.1}s\n",
                report.elapsed.as_secs_f64()
            ),
        });
    } else {
        let replicas = spec.app.desired_count;
        text.push_str(&format!("✓ {app} is deployed: {replicas} replica(s) in {:.1}s\n", report.elapsed.as_secs_f64()));
    }
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
    for hint in &outcome.hints {
        text.push_str(&format!("  {hint}\n"));
    }
    if serving_here {
        text.push_str("  Serving here until Ctrl-C.");
    }
    text.trim_end().to_string()
}

pub async fn run(global: &Global, image: Option<&str>, wait: bool, ready_file: Option<&std::path::Path>) -> Result<()> {
    let session = connect(global, wait).await?;
    let renderer = Renderer::new(global.output, global.no_color);
    let mut signals = StopSignals::install()?;
    let deployed = tokio::select! {
        deployed = session.deploy(image, &renderer) => deployed.map_err(anyhow::Error::from),
        _ = signals.recv() => Err(anyhow::anyhow!("interrupted; the next deploy picks up where this one stopped")),
    };
    let outcome = match deployed {
        Ok(outcome) => outcome,
        Err(error) => {
            session.abandon().await;
            return Err(error);
        }
    };
    let serving = session.keep_serving(&outcome).await?;
    finish(global, &renderer, &outcome.report, || summary(&outcome, session.spec(), serving.is_some()));
    let Some(mut serving) = serving else { return Ok(()) };
    if let Some(path) = ready_file {
        let partial = path.with_extension("partial");
        std::fs::write(&partial, serde_json::to_vec(&outcome.report)?)?;
        std::fs::rename(&partial, path)?;
    }
    tokio::select! {
        _ = signals.recv() => {}
        _ = serving.stop_requested() => {}
    }
    renderer.println("Stopping: draining replicas and the load balancer…");
    serving.stop().await;
    renderer.println("Stopped.");
    Ok(())
}

/// `deploy --detach`: the same deploy in a background process of its own; returns once it serves.
pub async fn detach(global: &Global, image: Option<&str>) -> Result<()> {
    let session = connect(global, true).await?;
    let app = session.spec().app.name.clone();
    let config = std::fs::canonicalize(&global.config)?;
    let program = std::env::current_exe()?;
    let provider = session.provider();
    let relaunch = |ready: &std::path::Path| {
        let mut command = std::process::Command::new(&program);
        command
            .arg("--config")
            .arg(&config)
            .args(["--provider", provider, "--no-color", "deploy", "--ready-file"])
            .arg(ready);
        if let Some(image) = image {
            command.args(["--image", image]);
        }
        command
    };
    let detached = session.detach(&relaunch).await?;
    let renderer = Renderer::new(global.output, global.no_color);
    let outcome = &detached.outcome;
    finish(global, &renderer, &outcome.report, || {
        match &detached.background {
        None => summary(outcome, session.spec(), false),
        Some((pid, log)) => format!(
            "✓ {app} runs in the background (pid {pid}, log {})\n{}\n  Stop it with: scaling destroy --provider {provider} --yes",
            log.display(),
            outcome.report.urls.iter().map(|u| format!("  {u}")).collect::<Vec<_>>().join("\n")
        ),
    }
    });
    Ok(())
}
