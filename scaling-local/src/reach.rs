//! `status` and `scale` of a local deployment from any process: asked of the process serving it over
//! its control socket, with what is known when none serves (a run still starting, one that died).

use std::time::{Duration, Instant};

use scaling_core::providers::{Rollout, ServiceInfo};
use scaling_core::StatusReport;

use crate::control::{holder, request, stale_record, ControlError, Reply, Request};

/// What to do when nothing runs, as a hint.
pub const START_HINT: &str =
    "start it with `scaling deploy --provider local`, or add --detach to run it in the background";

/// Why a local `scale` did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReachError {
    /// The socket or the state file could not be used.
    #[error(transparent)]
    Control(#[from] ControlError),
    /// The running deployment refused or failed the request.
    #[error("{0}")]
    Refused(String),
    /// Nothing serves the app here.
    #[error("{app} is not running here ({START_HINT})")]
    NotRunning {
        /// The app.
        app: String,
    },
    /// It is still building or starting.
    #[error("{app} is still starting; scale it once `scaling status --provider local` shows it serving")]
    Starting {
        /// The app.
        app: String,
    },
    /// It cannot reach the count (replicas failing), or did not in time.
    #[error("{0}")]
    NotReached(String),
}

/// A local deployment's status, and a note about a run that is starting or died, if one is.
#[derive(Debug)]
pub struct LocalStatus {
    /// What the serving process reports (no service when none serves).
    pub report: StatusReport,
    /// A run still starting, or one that died and left replicas: what it is and what to do.
    pub note: Option<String>,
}

/// The status of `app` here.
pub async fn status(app: &str) -> Result<LocalStatus, ReachError> {
    let report = match request(app, &Request::Status).await? {
        Some(Reply::Status(report)) => *report,
        Some(Reply::Error { message }) => return Err(ReachError::Refused(message)),
        Some(other) => return Err(ReachError::Refused(format!("unexpected reply {other:?}"))),
        None => StatusReport {
            app: app.to_string(),
            service: None,
            load_balancer: None,
            targets: Vec::new(),
            certificate: None,
            urls: Vec::new(),
            delegation: None,
            name_servers: Vec::new(),
            release: None,
            lock: None,
            autoscaling: None,
        },
    };
    if report.service.is_some() {
        return Ok(LocalStatus { report, note: None });
    }
    let starting = holder(app).map(|(holder, age)| {
        format!(
            "{app} is starting (pid {}, for {age} s): building or waiting for healthy replicas; \
             `scaling destroy --provider local --yes` stops it",
            holder.pid
        )
    });
    let note = match starting {
        Some(note) => Some(note),
        None => stale_record(app)?.map(|record| {
            format!(
                "{}'s last run (pid {}) died without stopping, leaving {} replica(s) running; \
                 `scaling destroy --provider local --yes` clears what it left",
                record.app,
                record.pid,
                record.leftover_replicas().len()
            )
        }),
    };
    Ok(LocalStatus { report, note })
}

/// Sets `app`'s replica count; with `wait`, returns once that many replicas of its current version
/// are healthy (or says why they cannot be).
pub async fn scale(app: &str, count: u32, wait: bool) -> Result<ServiceInfo, ReachError> {
    let service = match request(app, &Request::Scale { count }).await? {
        Some(Reply::Scaled(service)) => *service,
        Some(Reply::Error { message }) => return Err(ReachError::Refused(message)),
        Some(other) => return Err(ReachError::Refused(format!("unexpected reply {other:?}"))),
        None if holder(app).is_some() => return Err(ReachError::Starting { app: app.to_string() }),
        None => return Err(ReachError::NotRunning { app: app.to_string() }),
    };
    if !wait {
        return Ok(service);
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let service = match request(app, &Request::Status).await? {
            Some(Reply::Status(status)) => status.service,
            _ => return Err(ReachError::NotReached(format!("{app} stopped while scaling"))),
        };
        if let Some(service) = service {
            if let Rollout::Failed(why) = &service.rollout {
                return Err(ReachError::NotReached(format!("{app} cannot reach {count} healthy replica(s): {why}")));
            }
            if service.running_count == count && service.rollout == Rollout::Completed {
                return Ok(service);
            }
        }
        if Instant::now() > deadline {
            return Err(ReachError::NotReached(format!(
                "{app} did not reach {count} healthy replica(s) in 5 minutes; see `scaling status`"
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A plan of `spec` against `app`'s running deployment, made by the process serving it (`None` when
/// none serves).
pub async fn plan(app: &str, spec: &scaling_core::Spec) -> Result<Option<Vec<scaling_core::Change>>, ReachError> {
    match request(app, &Request::Plan { spec: Box::new(spec.clone()) }).await? {
        Some(Reply::Planned { changes }) => Ok(Some(changes)),
        Some(Reply::Error { message }) => Err(ReachError::Refused(message)),
        Some(other) => Err(ReachError::Refused(format!("unexpected reply {other:?}"))),
        None => Ok(None),
    }
}

/// The kept releases of `app`'s running deployment, newest first.
pub async fn releases(app: &str) -> Result<Vec<scaling_core::Release>, ReachError> {
    match request(app, &Request::Releases).await? {
        Some(Reply::Releases { releases }) => Ok(releases),
        Some(Reply::Error { message }) => Err(ReachError::Refused(message)),
        Some(other) => Err(ReachError::Refused(format!("unexpected reply {other:?}"))),
        None if holder(app).is_some() => Err(ReachError::Starting { app: app.to_string() }),
        None => Err(ReachError::NotRunning { app: app.to_string() }),
    }
}

/// Rolls `app`'s running deployment back to release `to` (by default the one before), replica by
/// replica, without a rebuild.
pub async fn rollback(
    app: &str,
    spec: &scaling_core::Spec,
    to: Option<u32>,
) -> Result<scaling_core::DeployReport, ReachError> {
    match request(app, &Request::Rollback { spec: Box::new(spec.clone()), to }).await? {
        Some(Reply::Deployed(report)) => Ok(*report),
        Some(Reply::Error { message }) => Err(ReachError::Refused(message)),
        Some(other) => Err(ReachError::Refused(format!("unexpected reply {other:?}"))),
        None if holder(app).is_some() => Err(ReachError::Starting { app: app.to_string() }),
        None => Err(ReachError::NotRunning { app: app.to_string() }),
    }
}

/// Deploys `spec` onto `app`'s running deployment: a changed app or config rolls out through the
/// serving process, surge then retire, without taking the app down.
pub async fn deploy(app: &str, spec: &scaling_core::Spec) -> Result<scaling_core::DeployReport, ReachError> {
    match request(app, &Request::Deploy { spec: Box::new(spec.clone()) }).await? {
        Some(Reply::Deployed(report)) => Ok(*report),
        Some(Reply::Error { message }) => Err(ReachError::Refused(message)),
        Some(other) => Err(ReachError::Refused(format!("unexpected reply {other:?}"))),
        None => Err(ReachError::NotReached(format!("{app} stopped while the change was being sent; run deploy again"))),
    }
}
