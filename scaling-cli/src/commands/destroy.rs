//! `scaling destroy`: shows what it will delete and asks, unless `--yes`.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Result};
use scaling_core::{Action, DestroyOptions};

use super::{connect, finish};
use crate::args::Global;
use crate::render::Renderer;
use crate::InvalidInput;

fn confirm(app: &str) -> Result<bool> {
    print!("Type the app name ({app}) to delete these resources: ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == app)
}

pub async fn run(global: &Global, yes: bool, options: &DestroyOptions) -> Result<()> {
    if !yes && !std::io::stdin().is_terminal() {
        return Err(InvalidInput("refusing to destroy without --yes: there is no terminal to confirm on".into()).into());
    }
    let spec = super::load(global)?;
    if crate::provider::kind(global, &spec) == crate::provider::ProviderKind::Local {
        return destroy_local(global, &spec, yes, options).await;
    }
    let (selected, orchestrator) = connect(global, true).await?;
    let app = selected.spec.app.name.clone();
    let plan = orchestrator.plan_destroy(&selected.spec, options).await?;
    let deletes: Vec<_> = plan.changes.iter().filter(|c| c.action == Action::Delete).collect();
    let renderer = Renderer::new(global.output, global.no_color);
    if deletes.is_empty() {
        finish(global, &renderer, &scaling_core::DestroyReport::default(), || {
            format!("{app} owns nothing here; nothing to delete.")
        });
        return Ok(());
    }
    if !yes {
        println!("This deletes what {app} owns:");
        for change in &deletes {
            println!("  - {}", change.resource);
        }
        for kept in plan.changes.iter().filter(|c| c.action != Action::Delete) {
            println!("  and keeps {} ({})", kept.resource, kept.reason);
        }
        if !confirm(&app)? {
            bail!("not confirmed; nothing was deleted");
        }
    }
    let report = orchestrator.destroy(&selected.spec, options, &renderer).await?;
    finish(global, &renderer, &report, || {
        let mut text = format!("✓ deleted {} resource(s)", report.deleted.len());
        for kept in &report.kept {
            text.push_str(&format!("\n  kept {kept}"));
        }
        text
    });
    Ok(())
}

/// With `--delete-images`, the app's bundles and the virtualenvs nothing else uses; else what is kept.
fn local_images(app: &str, options: &DestroyOptions) -> (Vec<String>, Vec<String>) {
    let paths = scaling_local::Paths::from_env();
    if options.delete_images {
        return (scaling_local::bundle_removal::remove_app(&paths, app), Vec::new());
    }
    let kept = scaling_local::bundle_removal::has_bundles(&paths, app)
        .then(|| format!("the bundles of {app} (pass --delete-images to delete them)"));
    (Vec::new(), kept.into_iter().collect())
}

/// Stops the local deployment through its socket, waits until it is gone, and removes its logs (and,
/// when asked, its bundles).
async fn destroy_local(global: &Global, spec: &scaling_core::Spec, yes: bool, options: &DestroyOptions) -> Result<()> {
    use scaling_local::control::{request, socket_path, Reply, Request};
    let app = &spec.app.name;
    let renderer = Renderer::new(global.output, global.no_color);
    let Some(Reply::Status(status)) = request(app, &Request::Status).await? else {
        // A run still starting (building, waiting for health) holds the lock but does not serve yet.
        let mut deleted = match scaling_local::control::holder(app) {
            Some((holder, _)) => vec![stop_starting(app, holder.pid).await?],
            None => Vec::new(),
        };
        // Nothing serves it; a run that died may still have left replicas, a socket and its state.
        deleted.extend(match scaling_local::control::stale_record(app)? {
            Some(record) => scaling_local::control::clean_up(&record)?,
            None => Vec::new(),
        });
        if !deleted.is_empty() {
            deleted.extend(remove_logs(app));
        }
        let (images, kept) = local_images(app, options);
        deleted.extend(images);
        let report = scaling_core::DestroyReport { deleted, kept };
        finish(global, &renderer, &report, || {
            let mut text = match report.deleted.len() {
                0 => format!("{app} is not running here; nothing to delete."),
                _ => format!(
                    "✓ {app} was not running; cleared what its last run left:\n  {}",
                    report.deleted.join("\n  ")
                ),
            };
            for kept in &report.kept {
                text.push_str(&format!("\n  kept {kept}"));
            }
            text
        });
        return Ok(());
    };
    let replicas = status.service.as_ref().map_or(0, |s| s.running_count);
    if !yes {
        println!("This stops {app}: {replicas} replica(s) and its load balancer at {}.", status.urls.join(", "));
        if !confirm(app)? {
            bail!("not confirmed; nothing was stopped");
        }
    }
    request(app, &Request::Stop).await?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while socket_path(app).exists() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    if socket_path(app).exists() {
        bail!("{app} did not stop within a minute");
    }
    // The serving process removes its state file as it stops; one that died in between leaves it.
    if let Some(record) = scaling_local::control::stale_record(app)? {
        scaling_local::control::clean_up(&record)?;
    }
    let mut deleted = vec![format!("{replicas} replica(s) and the load balancer of {app}")];
    deleted.extend(remove_logs(app));
    let (images, kept) = local_images(app, options);
    deleted.extend(images);
    let report = scaling_core::DestroyReport { deleted, kept };
    finish(global, &renderer, &report, || {
        let mut text = format!("✓ stopped {app} and removed its state");
        for deleted in report.deleted.iter().filter(|d| d.starts_with("bundle ") || d.starts_with("virtualenv ")) {
            text.push_str(&format!("\n  deleted {deleted}"));
        }
        for kept in &report.kept {
            text.push_str(&format!("\n  kept {kept}"));
        }
        text
    });
    Ok(())
}

/// Stops a deployment of `app` that is still starting (pid `pid` holds its lock): SIGTERM, which it
/// handles like Ctrl-C (its replicas go with it), then waits until the lock is free.
async fn stop_starting(app: &str, pid: u32) -> Result<String> {
    let target = nix::unistd::Pid::from_raw(i32::try_from(pid)?);
    let _ = nix::sys::signal::kill(target, nix::sys::signal::Signal::SIGTERM);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while scaling_local::control::holder(app).is_some() {
        if std::time::Instant::now() > deadline {
            bail!("{app}'s starting deployment (pid {pid}) did not stop within a minute");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Ok(format!("the deployment of {app} that was still starting (pid {pid})"))
}

/// Removes the replica and supervisor logs of `app`; returns what it removed.
fn remove_logs(app: &str) -> Vec<String> {
    let logs = scaling_local::Paths::from_env().logs();
    let prefixes = [format!("{app}-"), format!("{}-", scaling_core::ResourceNames::new(app).service)];
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(&logs).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if prefixes.iter().any(|p| name.starts_with(p.as_str())) && std::fs::remove_file(entry.path()).is_ok() {
            removed.push(format!("log {name}"));
        }
    }
    removed
}
