//! Talking to a running local deployment, and the lifecycle around it: a deployment (in the
//! foreground or detached) serves JSON-line requests on a Unix socket only the user can open, so that
//! `status`, `scale`, `plan`, `deploy` and `destroy` from another process reach it; a run that died
//! is told from one still starting and from none, and what it left is cleared.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;

use scaling_core::providers::ServiceInfo;
use scaling_core::{Orchestrator, Silent, Spec, StatusReport};
use serde::{Deserialize, Serialize};

use crate::{Paths, RunRecord};

/// Why talking to (or about) a local deployment failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// Another process already serves the app here.
    #[error("{0}")]
    AlreadyRunning(String),
    /// The socket, its folder or the state file could not be used.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The running deployment answered something that is not a reply.
    #[error("bad reply from the running deployment: {0}")]
    BadReply(#[source] serde_json::Error),
}

/// Results of this module.
pub type Result<T> = std::result::Result<T, ControlError>;

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ControlError {
    let what = what.into();
    move |source| ControlError::Io { what, source }
}
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

/// A request to the running deployment.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// Its status.
    Status,
    /// Change the replica count.
    Scale {
        /// The new count.
        count: u32,
    },
    /// Stop every replica and the balancer, and exit.
    Stop,
    /// Plan `spec` against what runs.
    Plan {
        /// The spec as the caller's config file says now.
        spec: Box<Spec>,
    },
    /// Deploy `spec` onto what runs: a changed app or config rolls out, replica by replica.
    Deploy {
        /// The spec as the caller's config file says now.
        spec: Box<Spec>,
    },
    /// The kept releases.
    Releases,
    /// Roll back to release `to` (by default the one before the running one), replica by replica.
    Rollback {
        /// The spec as the caller's config file says now.
        spec: Box<Spec>,
        /// The release number.
        to: Option<u32>,
    },
}

/// The answer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    /// The status.
    Status(Box<StatusReport>),
    /// The scaled service.
    Scaled(Box<ServiceInfo>),
    /// Stopping now.
    Stopping,
    /// The plan against what runs.
    Planned {
        /// One row per resource.
        changes: Vec<scaling_core::Change>,
    },
    /// What a deploy onto what runs did.
    Deployed(Box<scaling_core::DeployReport>),
    /// The kept releases.
    Releases {
        /// Newest first.
        releases: Vec<scaling_core::Release>,
    },
    /// The request failed.
    Error {
        /// Why.
        message: String,
    },
}

/// The socket of `app`: `$SCALING_HOME/run/<app>.sock` when `SCALING_HOME` is set (so separate homes
/// never see each other's deployments), else `$XDG_RUNTIME_DIR/scaling/<app>.sock`, else
/// `/tmp/scaling-<uid>/<app>.sock`.
pub fn socket_path(app: &str) -> PathBuf {
    let dir = match (std::env::var_os("SCALING_HOME"), std::env::var_os("XDG_RUNTIME_DIR")) {
        (Some(_), _) => Paths::from_env().root().join("run"),
        (None, Some(runtime)) => PathBuf::from(runtime).join("scaling"),
        (None, None) => std::env::temp_dir().join(format!("scaling-{}", nix::unistd::getuid())),
    };
    dir.join(format!("{app}.sock"))
}

/// Listens for requests until a `Stop` arrives (sent on `stop`). The socket's folder is private (0700)
/// and the socket itself 0600. Returns the socket, the stop channel, and what the deployment serves.
pub fn serve(app: &str, orchestrator: Orchestrator, spec: Spec) -> Result<(PathBuf, mpsc::Receiver<()>, Current)> {
    let spec = Arc::new(std::sync::Mutex::new(spec));
    let current = spec.clone();
    let path = socket_path(app);
    let dir = path.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
    std::fs::create_dir_all(&dir).map_err(io(format!("cannot make {}", dir.display())))?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
        .map_err(io(format!("cannot make {} private", dir.display())))?;
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(&path).is_ok() {
            return Err(ControlError::AlreadyRunning(format!(
                "{app} is already running here (socket {}); stop it with `scaling destroy --provider local`",
                path.display()
            )));
        }
        std::fs::remove_file(&path).map_err(io(format!("cannot remove the stale socket {}", path.display())))?;
    }
    let listener = UnixListener::bind(&path).map_err(io(format!("cannot listen on {}", path.display())))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(io(format!("cannot make {} private", path.display())))?;
    let (stop_tx, stop_rx) = mpsc::channel(1);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (orchestrator, spec, stop) = (orchestrator.clone(), spec.clone(), stop_tx.clone());
            tokio::spawn(async move {
                if let Err(error) = answer(stream, &orchestrator, &spec, &stop).await {
                    tracing::warn!("a control request was not answered: {error}");
                }
            });
        }
    });
    Ok((path, stop_rx, current))
}

/// What the deployment serves now: the spec it was started with, or the last one deployed onto it.
pub type Current = Arc<std::sync::Mutex<Spec>>;

async fn answer(
    stream: UnixStream,
    orchestrator: &Orchestrator,
    current: &Current,
    stop: &mpsc::Sender<()>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await?;
    let spec = &current.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    let reply = match serde_json::from_str::<Request>(&line) {
        Err(e) => Reply::Error { message: format!("bad request: {e}") },
        Ok(Request::Plan { spec }) => match plan(orchestrator, &spec).await {
            Ok(changes) => Reply::Planned { changes },
            Err(e) => Reply::Error { message: e.to_string() },
        },
        Ok(Request::Deploy { spec }) => match orchestrator.deploy(&spec, None, &Silent).await {
            Ok(report) => {
                *current.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = *spec;
                Reply::Deployed(Box::new(report))
            }
            Err(e) => Reply::Error { message: e.to_string() },
        },
        Ok(Request::Releases) => match orchestrator.releases(spec).await {
            Ok(releases) => Reply::Releases { releases },
            Err(e) => Reply::Error { message: e.to_string() },
        },
        Ok(Request::Rollback { spec, to }) => match orchestrator.rollback(&spec, to, &Silent).await {
            Ok(report) => {
                *current.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = *spec;
                Reply::Deployed(Box::new(report))
            }
            Err(e) => Reply::Error { message: e.to_string() },
        },
        Ok(Request::Status) => match orchestrator.status(spec).await {
            Ok(status) => Reply::Status(Box::new(status)),
            Err(e) => Reply::Error { message: e.to_string() },
        },
        // The asking process waits for the replicas itself (or not, with --no-wait).
        Ok(Request::Scale { count }) => match without_waiting(orchestrator).scale(spec, count, &Silent).await {
            Ok(service) => Reply::Scaled(Box::new(service)),
            Err(e) => Reply::Error { message: e.to_string() },
        },
        // Stopping is a destroy: not while another operation of the app runs. The lock is held
        // until this process ends.
        Ok(Request::Stop) => match orchestrator.lock_for(&spec.app.name, "destroy").await {
            Ok(_held) => {
                let _ = stop.send(()).await;
                Reply::Stopping
            }
            Err(e) => Reply::Error { message: e.to_string() },
        },
    };
    write.write_all(format!("{}\n", serde_json::to_string(&reply).map_err(std::io::Error::other)?).as_bytes()).await?;
    Ok(())
}

/// The same orchestrator, returning from a change as soon as it is made.
fn without_waiting(orchestrator: &Orchestrator) -> Orchestrator {
    orchestrator.clone().with_options(scaling_core::DeployOptions { wait: false, ..orchestrator.options().clone() })
}

async fn plan(orchestrator: &Orchestrator, spec: &Spec) -> scaling_core::Result<Vec<scaling_core::Change>> {
    let image = orchestrator.prepare_image(spec, None).await?;
    Ok(orchestrator.plan(spec, image).await?.changes)
}

/// True when a deployment of `app` answers on its socket.
pub async fn is_running(app: &str) -> bool {
    UnixStream::connect(socket_path(app)).await.is_ok()
}

/// Sends one request to `app`'s running deployment; `None` when none runs.
pub async fn request(app: &str, request: &Request) -> Result<Option<Reply>> {
    let Ok(stream) = UnixStream::connect(socket_path(app)).await else { return Ok(None) };
    let (read, mut write) = stream.into_split();
    let text = serde_json::to_string(request).map_err(ControlError::BadReply)?;
    write.write_all(format!("{text}\n").as_bytes()).await.map_err(io("cannot send the request"))?;
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await.map_err(io("cannot read the reply"))?;
    Ok(Some(serde_json::from_str(&line).map_err(ControlError::BadReply)?))
}

/// The process deploying or serving `app` here, if any, and for how long (the deploy lock's holder):
/// it answers on its socket once it serves, and is still starting before that.
pub fn holder(app: &str) -> Option<(crate::Holder, u64)> {
    let holder = crate::DeployLock::holder(&Paths::from_env(), app)?;
    let age = crate::run_record::now().saturating_sub(holder.since);
    Some((holder, age))
}

/// Why a second deploy of `app` is refused: who runs it, since when, and what to do instead.
pub fn already_running(app: &str, holder: &crate::Holder) -> String {
    let age = crate::run_record::now().saturating_sub(holder.since);
    format!(
        "{app} is already deployed here by pid {} (for {age} s); see it with `scaling status --provider local`, \
         change its replica count with `scaling scale --provider local N`, or stop it with \
         `scaling destroy --provider local --yes`",
        holder.pid
    )
}

/// The state file `app` left when its serving process died without stopping (killed, or the machine
/// restarted). Call only once the socket does not answer.
pub fn stale_record(app: &str) -> Result<Option<RunRecord>> {
    RunRecord::load(&Paths::from_env(), app).map_err(io("cannot read the local state file"))
}

/// Clears what a dead run of `app` left, if one did (its replicas would hold on to their ports): call
/// with the deploy lock held, so that no live run of `app` exists. Returns the dead run's pid and what
/// was removed.
pub fn take_over(app: &str) -> Result<Option<(u32, Vec<String>)>> {
    match stale_record(app)? {
        Some(record) => Ok(Some((record.pid, clean_up(&record)?))),
        None => Ok(None),
    }
}

/// Clears what a dead deployment left: replicas still running (only those provably its own), the
/// socket and the state file. Returns what it removed.
pub fn clean_up(record: &RunRecord) -> Result<Vec<String>> {
    let mut removed: Vec<String> =
        record.stop_leftovers().into_iter().map(|pid| format!("leftover replica (process group {pid})")).collect();
    if std::fs::remove_file(&record.socket).is_ok() {
        removed.push(format!("socket {}", record.socket.display()));
    }
    if RunRecord::remove(&Paths::from_env(), &record.app).map_err(io("cannot remove the local state file"))? {
        removed.push(format!("state file of {}", record.app));
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reply_goes_through_the_socket_format() {
        let replies = [
            Reply::Planned { changes: Vec::new() },
            Reply::Releases { releases: Vec::new() },
            Reply::Stopping,
            Reply::Error { message: "why".into() },
            Reply::Deployed(Box::new(scaling_core::DeployReport {
                changes: Vec::new(),
                urls: vec!["https://app.localhost".into()],
                endpoint: None,
                new_zone: None,
                image: "sha256:0".into(),
                elapsed: std::time::Duration::from_secs(1),
            })),
        ];
        for reply in replies {
            let line = serde_json::to_string(&reply).expect("serializes");
            let back: Reply = serde_json::from_str(&line).expect("parses back");
            assert_eq!(format!("{back:?}"), format!("{reply:?}"));
        }
    }
}
