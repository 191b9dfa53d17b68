//! [`Session`]: one app's deployment through the provider a command picked — what every command of
//! the command line does, for any provider. A cloud's session is the orchestrator over its five traits
//! ([`CloudSession`]). A provider whose deployments live in a process (the local one) adds its
//! lifecycle behind the same calls: serving in the foreground, reaching a deployment another process
//! serves, taking over one that died. The command line picks the provider once and reads straight
//! through.

use std::path::{Path, PathBuf};
use std::process::Command;

use async_trait::async_trait;
use serde::Serialize;

use crate::providers::{LogPage, LogQuery, ServiceInfo};
use crate::{
    Action, Change, DeployReport, DestroyOptions, DestroyReport, Error, Orchestrator, Progress, Release, Spec,
    StatusReport,
};

/// Why a session's command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The orchestrator failed: an invalid spec, a provider call, a wait that ran out.
    #[error(transparent)]
    Deploy(#[from] Error),
    /// The command does not apply to this provider; the message says what to do instead.
    #[error("{0}")]
    NotApplicable(String),
    /// The provider's own lifecycle failed (a local deployment's lock, control socket or state file).
    #[error(transparent)]
    Lifecycle(Box<dyn std::error::Error + Send + Sync>),
}

impl SessionError {
    /// A lifecycle failure, its source kept.
    pub fn lifecycle(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        SessionError::Lifecycle(error.into())
    }
}

/// Result of a session's command.
pub type SessionResult<T> = std::result::Result<T, SessionError>;

/// A plan, and what it was made against.
#[derive(Debug, Clone, Serialize)]
pub struct PlanOutcome {
    /// One row per resource.
    pub changes: Vec<Change>,
    /// What the plan compares with when it is not the provider's resources read afresh, in words
    /// (`the running deployment`).
    pub against: Option<String>,
}

/// What a deploy did.
#[derive(Debug, Clone, Serialize)]
pub struct DeployOutcome {
    /// The orchestrator's report.
    pub report: DeployReport,
    /// The deployment another process serves that took the change (e.g. `pid 4242`), when this deploy
    /// was handed to it instead of deploying here.
    pub rolled_out_onto: Option<String>,
    /// What was done before the deploy that the user should know, e.g. what a dead run left.
    pub notes: Vec<String>,
    /// What the user may do next, e.g. trust the local CA.
    pub hints: Vec<String>,
}

/// A deployment's status, with what the provider knows beside it.
#[derive(Debug, Clone, Serialize)]
pub struct StatusOutcome {
    /// What the provider reports.
    pub report: StatusReport,
    /// A run still starting, or one that died; or how to start one.
    pub notes: Vec<String>,
    /// What the user may do next.
    pub hints: Vec<String>,
}

/// What a destroy would do, for the confirmation prompt.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DestroyPreview {
    /// Each resource it deletes.
    pub deletes: Vec<String>,
    /// Each resource it keeps, with why and the flag that deletes it.
    pub keeps: Vec<String>,
}

/// A deploy left running in the background.
#[derive(Debug, Clone, Serialize)]
pub struct Detached {
    /// What the deploy did.
    pub outcome: DeployOutcome,
    /// The background process and its log, when one was started (`None` when the change went to a
    /// deployment already running).
    pub background: Option<(u32, PathBuf)>,
}

/// A deployment this process serves until told to stop.
#[async_trait]
pub trait Serving: Send {
    /// Resolves when another process asks this deployment to stop (`scaling destroy`).
    async fn stop_requested(&mut self);
    /// Drains and stops what this process serves, and removes its state.
    async fn stop(self: Box<Self>);
}

/// One app's deployment through one provider.
#[async_trait]
pub trait Session: Send + Sync {
    /// The spec as this provider serves it (the local provider serves `<app>.localhost`).
    fn spec(&self) -> &Spec;

    /// The provider's name, as in `--provider` and `[provider.<name>]`.
    fn provider(&self) -> &'static str;

    /// The plan of a deploy of `image` (or the spec's).
    async fn plan(&self, image: Option<&str>) -> SessionResult<PlanOutcome>;

    /// Deploys the spec, reporting progress.
    async fn deploy(&self, image: Option<&str>, progress: &dyn Progress) -> SessionResult<DeployOutcome>;

    /// Stops what an unfinished deploy of this process started (after an interrupt). Nothing for a
    /// cloud: the next deploy picks up where this one stopped.
    async fn abandon(&self) {}

    /// After a deploy, what this process must keep serving until it is told to stop; `None` where the
    /// deployment runs by itself (a cloud, or a deployment another process serves).
    async fn keep_serving(&self, outcome: &DeployOutcome) -> SessionResult<Option<Box<dyn Serving>>> {
        let _ = outcome;
        Ok(None)
    }

    /// The deploy in a background process of its own, started by `relaunch(ready_file)` (this
    /// program, deploying in the foreground and writing its report to `ready_file`); returns once it
    /// serves.
    async fn detach(&self, relaunch: &(dyn for<'p> Fn(&'p Path) -> Command + Sync)) -> SessionResult<Detached> {
        let _ = relaunch;
        Err(SessionError::NotApplicable(format!(
            "--detach is for the local provider; {} deployments keep running by themselves",
            self.provider()
        )))
    }

    /// The deployment as it is.
    async fn status(&self) -> SessionResult<StatusOutcome>;

    /// Sets the replica count; with `wait`, returns once that many are healthy.
    async fn scale(&self, count: u32, wait: bool, progress: &dyn Progress) -> SessionResult<ServiceInfo>;

    /// What [`destroy`](Self::destroy) would delete and keep.
    async fn preview_destroy(&self, options: &DestroyOptions) -> SessionResult<DestroyPreview>;

    /// Deletes what the app owns, but what `options` keeps.
    async fn destroy(&self, options: &DestroyOptions, progress: &dyn Progress) -> SessionResult<DestroyReport>;

    /// What the app's replicas wrote, as `query` asks; a follower passes each page's cursor on.
    async fn logs(&self, query: &LogQuery) -> SessionResult<LogPage>;

    /// What the provider finds wrong with the spec's `[secrets]` (a missing secret, an unknown
    /// store), each naming `secrets.<VARIABLE>`; no value is read or shown.
    async fn check_secrets(&self) -> SessionResult<Vec<crate::Problem>>;

    /// The kept releases, newest first, the running one marked.
    async fn releases(&self) -> SessionResult<Vec<Release>>;

    /// Goes back to release `to` (by default the one before the running one) without a rebuild.
    async fn rollback(&self, to: Option<u32>, progress: &dyn Progress) -> SessionResult<DeployReport>;
}

/// A cloud's session: the orchestrator over the provider's five traits, nothing else.
pub struct CloudSession {
    provider: &'static str,
    spec: Spec,
    orchestrator: Orchestrator,
}

impl CloudSession {
    /// `spec` deployed by `orchestrator` through the provider named `provider`.
    pub fn new(provider: &'static str, spec: Spec, orchestrator: Orchestrator) -> Self {
        Self { provider, spec, orchestrator }
    }
}

#[async_trait]
impl Session for CloudSession {
    fn spec(&self) -> &Spec {
        &self.spec
    }

    fn provider(&self) -> &'static str {
        self.provider
    }

    async fn plan(&self, image: Option<&str>) -> SessionResult<PlanOutcome> {
        let source = self.orchestrator.prepare_image(&self.spec, image).await?;
        let plan = self.orchestrator.plan(&self.spec, source).await?;
        Ok(PlanOutcome { changes: plan.changes, against: None })
    }

    async fn deploy(&self, image: Option<&str>, progress: &dyn Progress) -> SessionResult<DeployOutcome> {
        let report = self.orchestrator.deploy(&self.spec, image, progress).await?;
        Ok(DeployOutcome { report, rolled_out_onto: None, notes: Vec::new(), hints: Vec::new() })
    }

    /// Releases the deploy lock of the interrupted deploy (the next deploy picks up the rest).
    async fn abandon(&self) {
        self.orchestrator.abandon().await;
    }

    async fn status(&self) -> SessionResult<StatusOutcome> {
        let report = self.orchestrator.status(&self.spec).await?;
        Ok(StatusOutcome { report, notes: Vec::new(), hints: Vec::new() })
    }

    async fn scale(&self, count: u32, _wait: bool, progress: &dyn Progress) -> SessionResult<ServiceInfo> {
        // Whether it waits is the orchestrator's `DeployOptions::wait`, set when it was made.
        Ok(self.orchestrator.scale(&self.spec, count, progress).await?)
    }

    async fn preview_destroy(&self, options: &DestroyOptions) -> SessionResult<DestroyPreview> {
        let plan = self.orchestrator.plan_destroy(&self.spec, options).await?;
        let (deletes, keeps): (Vec<_>, Vec<_>) = plan.changes.iter().partition(|c| c.action == Action::Delete);
        Ok(DestroyPreview {
            deletes: deletes.iter().map(|c| c.resource.clone()).collect(),
            keeps: keeps.iter().map(|c| format!("{} ({})", c.resource, c.reason)).collect(),
        })
    }

    async fn destroy(&self, options: &DestroyOptions, progress: &dyn Progress) -> SessionResult<DestroyReport> {
        Ok(self.orchestrator.destroy(&self.spec, options, progress).await?)
    }

    async fn logs(&self, query: &LogQuery) -> SessionResult<LogPage> {
        Ok(self.orchestrator.logs(&self.spec, query).await?)
    }

    async fn check_secrets(&self) -> SessionResult<Vec<crate::Problem>> {
        Ok(self.orchestrator.check_secrets(&self.spec).await?)
    }

    async fn releases(&self) -> SessionResult<Vec<Release>> {
        Ok(self.orchestrator.releases(&self.spec).await?)
    }

    async fn rollback(&self, to: Option<u32>, progress: &dyn Progress) -> SessionResult<DeployReport> {
        Ok(self.orchestrator.rollback(&self.spec, to, progress).await?)
    }
}
