//! `destroy` of a local deployment from any process: the serving process is asked to stop through its
//! socket (it drains its replicas and removes its state), a run still starting is stopped by signal,
//! and what a dead run left is cleared. The app's logs go with it; its bundles go with
//! `--delete-images`, and are named as kept otherwise.

use std::time::{Duration, Instant};

use scaling_core::session::DestroyPreview;
use scaling_core::{DestroyOptions, DestroyReport};

use crate::control::{self, request, socket_path, Reply, Request};
use crate::paths::Paths;
use crate::reach::ReachError;

/// How long a stopping deployment may take to drain.
const STOP_WITHIN: Duration = Duration::from_secs(60);

/// What a destroy of `app` here would delete and keep.
pub async fn preview(app: &str, options: &DestroyOptions) -> Result<DestroyPreview, ReachError> {
    let mut deletes = Vec::new();
    match request(app, &Request::Status).await? {
        Some(Reply::Status(status)) => {
            let replicas = status.service.as_ref().map_or(0, |s| s.running_count);
            deletes.push(format!("{replicas} replica(s) and the load balancer at {}", status.urls.join(", ")));
        }
        _ => {
            if let Some((holder, _)) = control::holder(app) {
                deletes.push(format!("the deployment of {app} that is still starting (pid {})", holder.pid));
            }
            if let Some(record) = control::stale_record(app)? {
                deletes.push(format!(
                    "what the last run (pid {}) left: {} replica(s), its socket and state file",
                    record.pid,
                    record.leftover_replicas().len()
                ));
            }
        }
    }
    if !deletes.is_empty() {
        deletes.push(format!("the logs of {app}"));
    }
    let (images, keeps) = images(app, options, false);
    deletes.extend(images);
    Ok(DestroyPreview { deletes, keeps })
}

/// Stops `app`'s deployment here in whatever phase it is, and removes its state and logs (and, when
/// asked, its bundles).
pub async fn destroy(app: &str, options: &DestroyOptions) -> Result<DestroyReport, ReachError> {
    let mut deleted = match request(app, &Request::Status).await? {
        Some(Reply::Status(status)) => {
            let replicas = status.service.as_ref().map_or(0, |s| s.running_count);
            stop_serving(app).await?;
            vec![format!("{replicas} replica(s) and the load balancer of {app}")]
        }
        // A run still starting (building, waiting for health) holds the lock but does not serve yet.
        _ => match control::holder(app) {
            Some((holder, _)) => vec![stop_starting(app, holder.pid).await?],
            None => Vec::new(),
        },
    };
    // The serving process removes its state as it stops; one that died (or died in between) leaves it.
    if let Some(record) = control::stale_record(app)? {
        deleted
            .extend(control::clean_up(&record)?.into_iter().map(|what| format!("{what} (left by pid {})", record.pid)));
    }
    if !deleted.is_empty() {
        deleted.extend(remove_logs(app));
    }
    let (images, kept) = images(app, options, true);
    deleted.extend(images);
    Ok(DestroyReport { deleted, kept })
}

/// Asks the process serving `app` to stop, and waits until its socket is gone.
async fn stop_serving(app: &str) -> Result<(), ReachError> {
    if let Some(Reply::Error { message }) = request(app, &Request::Stop).await? {
        return Err(ReachError::Refused(message));
    }
    let deadline = Instant::now() + STOP_WITHIN;
    while socket_path(app).exists() {
        if Instant::now() > deadline {
            return Err(ReachError::NotReached(format!("{app} did not stop within a minute")));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Stops a deployment of `app` that is still starting (pid `pid` holds its lock): SIGTERM, which it
/// handles like Ctrl-C (its replicas go with it), then waits until the lock is free.
async fn stop_starting(app: &str, pid: u32) -> Result<String, ReachError> {
    let target = i32::try_from(pid).map(nix::unistd::Pid::from_raw);
    if let Ok(target) = target {
        let _ = nix::sys::signal::kill(target, nix::sys::signal::Signal::SIGTERM);
    }
    let deadline = Instant::now() + STOP_WITHIN;
    while control::holder(app).is_some() {
        if Instant::now() > deadline {
            return Err(ReachError::NotReached(format!(
                "{app}'s starting deployment (pid {pid}) did not stop within a minute"
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(format!("the deployment of {app} that was still starting (pid {pid})"))
}

/// True for a file of `app`'s in the logs folder: its supervisor log, a ready file of a detached
/// start, or a replica log `<service>-<n>.log`. Never another app's, even one whose name starts
/// with this one's (an environment's `app-staging-1.log`).
fn is_log_of(name: &str, app: &str) -> bool {
    let service = crate::LOCAL_CAPABILITIES.names(app).service;
    let numbered = |rest: &str| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit());
    name == format!("{app}-supervisor.log")
        || name.strip_prefix(&format!("{app}-ready-")).and_then(|r| r.strip_suffix(".json")).is_some_and(numbered)
        || name.strip_prefix(&format!("{service}-")).and_then(|r| r.strip_suffix(".log")).is_some_and(numbered)
}

/// Removes the replica and supervisor logs of `app`; returns what it removed.
fn remove_logs(app: &str) -> Vec<String> {
    let logs = Paths::from_env().logs();
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(&logs).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_log_of(&name, app) && std::fs::remove_file(entry.path()).is_ok() {
            removed.push(format!("log {name}"));
        }
    }
    removed
}

/// With `--delete-images`, the app's bundles and the virtualenvs nothing else uses (deleted when
/// `remove`, listed otherwise); else the bundles as kept, with the flag.
fn images(app: &str, options: &DestroyOptions, remove: bool) -> (Vec<String>, Vec<String>) {
    let paths = Paths::from_env();
    if !crate::bundle_removal::has_bundles(&paths, app) {
        return (Vec::new(), Vec::new());
    }
    match (options.delete_images, remove) {
        (true, true) => (crate::bundle_removal::remove_app(&paths, app), Vec::new()),
        (true, false) => (vec![format!("the bundles of {app} and the virtualenvs only they use")], Vec::new()),
        (false, _) => (Vec::new(), vec![format!("the bundles of {app} (pass --delete-images to delete them)")]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_apps_logs_are_its_own_never_those_of_an_app_whose_name_starts_like_it() {
        for own in ["dashmath-supervisor.log", "dashmath-3.log", "dashmath-ready-4242.json"] {
            assert!(is_log_of(own, "dashmath"), "{own}");
        }
        for other in
            ["dashmath-staging-1.log", "dashmath-staging-supervisor.log", "dashmath-ready-x.json", "other-1.log"]
        {
            assert!(!is_log_of(other, "dashmath"), "{other}");
        }
        assert!(is_log_of("dashmath-staging-1.log", "dashmath-staging"));
    }
}
