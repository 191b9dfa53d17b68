//! [`LocalSession`]: the local provider's [`Session`]. A deployment here lives in the process that
//! deployed it: this holds the deploy lock, takes over from a run that died, hands a deploy to the
//! process already serving the app, serves in the foreground (control socket and state file), starts
//! itself in the background for `--detach`, and reaches a deployment in any phase from any process for
//! `status`, `scale`, `plan` and `destroy`.

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use scaling_core::providers::{LogPage, LogQuery, ServiceInfo};
use scaling_core::session::{DeployOutcome, DestroyPreview, Detached, PlanOutcome, Serving, StatusOutcome};
use scaling_core::{
    DeployOptions, DestroyOptions, DestroyReport, Orchestrator, Progress, Providers, Session, SessionError,
    SessionResult, Spec, SpecErrors,
};
use tokio::sync::mpsc;

use crate::cloud::{localize, lock, LocalCloud};
use crate::control::{self, already_running};
use crate::paths::Paths;
use crate::public_server::PublicServer;
use crate::reach::{self, START_HINT};
use crate::run_record::RunRecord;
use crate::{teardown, DeployLock, LockError, LOCAL_CAPABILITIES};

/// One app's deployment on this machine.
pub struct LocalSession {
    spec: Spec,
    cloud: Arc<LocalCloud>,
    orchestrator: Orchestrator,
    lock: Mutex<Option<DeployLock>>,
    /// On a public server: the ACME certificates the balancer serves, and how often to look
    /// whether they are due for renewal.
    public: Option<(Arc<dyn scaling_core::Certificate>, std::time::Duration)>,
}

impl LocalSession {
    /// `spec` as the local provider serves it (`<app>.localhost`), with files under `$SCALING_HOME`
    /// and the ports of its `[provider.local]` table; with `[provider.local.public]`, on the spec's
    /// own domain from this server's public addresses.
    pub fn new(spec: &Spec, options: DeployOptions) -> Result<Self, SpecErrors> {
        let settings = spec.settings::<crate::LocalSettings>()?;
        if let Some(public) = &settings.public {
            let server = PublicServer::new(spec, public)?;
            let orchestrator = Orchestrator::new(server.providers).with_options(options);
            let public = Some((server.certificates, public.renewal_check));
            return Ok(Self { spec: spec.clone(), cloud: server.cloud, orchestrator, lock: Mutex::new(None), public });
        }
        let spec = localize(spec);
        let cloud = Arc::new(LocalCloud::from_env(&spec)?);
        let orchestrator = Orchestrator::new(Providers::from_cloud(cloud.clone())).with_options(options);
        Ok(Self { spec, cloud, orchestrator, lock: Mutex::new(None), public: None })
    }

    fn app(&self) -> &str {
        &self.spec.app.name
    }

    /// The change handed to the process that serves the app (pid `holder`), surge then retire.
    async fn roll_out(&self, pid: u32) -> SessionResult<DeployOutcome> {
        let report = reach::deploy(self.app(), &self.spec).await.map_err(SessionError::lifecycle)?;
        Ok(DeployOutcome { report, rolled_out_onto: Some(format!("pid {pid}")), notes: Vec::new(), hints: Vec::new() })
    }

    /// How to trust the local CA; nothing on a public server, whose authority browsers trust.
    fn trust_hint(&self) -> Vec<String> {
        if self.public.is_some() {
            return Vec::new();
        }
        self.cloud.ca().map(|ca| format!("To {}.", ca.trust_hint())).into_iter().collect()
    }

    /// On a public server, the records and certificates `destroy` removes once the serving process
    /// stopped (they outlive it: a restart serves the same names with the same certificate), and what
    /// such a destroy would remove.
    async fn destroy_published(&self, preview: bool) -> SessionResult<Vec<String>> {
        if self.public.is_none() {
            return Ok(Vec::new());
        }
        let options = DestroyOptions::default();
        if preview {
            let plan = self.orchestrator.plan_destroy(&self.spec, &options).await?;
            let deletes = plan.changes.into_iter().filter(|c| c.action == scaling_core::Action::Delete);
            return Ok(deletes.map(|c| c.resource).collect());
        }
        let report = self.orchestrator.destroy(&self.spec, &options, &scaling_core::Silent).await?;
        Ok(report.deleted)
    }
}

#[async_trait]
impl Session for LocalSession {
    fn spec(&self) -> &Spec {
        &self.spec
    }

    fn provider(&self) -> &'static str {
        "local"
    }

    /// Against the running deployment when one serves (the process serving it plans), else afresh.
    async fn plan(&self, image: Option<&str>) -> SessionResult<PlanOutcome> {
        if let Some(changes) = reach::plan(self.app(), &self.spec).await.map_err(SessionError::lifecycle)? {
            return Ok(PlanOutcome { changes, against: Some("the running deployment".into()) });
        }
        let source = self.orchestrator.prepare_image(&self.spec, image).await?;
        let plan = self.orchestrator.plan(&self.spec, source).await?;
        Ok(PlanOutcome { changes: plan.changes, against: None })
    }

    /// Takes the app's deploy lock (held until this session ends) and deploys here; a deployment
    /// serving already takes the change itself.
    async fn deploy(&self, image: Option<&str>, progress: &dyn Progress) -> SessionResult<DeployOutcome> {
        let app = self.app().to_string();
        let mut notes = Vec::new();
        match DeployLock::acquire(&Paths::from_env(), &app) {
            Ok(held) => {
                if let Some((pid, removed)) = control::take_over(&app).map_err(SessionError::lifecycle)? {
                    let removed = if removed.is_empty() { "nothing".to_string() } else { removed.join(", ") };
                    notes.push(format!("cleared what the last run of {app} (pid {pid}) left when it died: {removed}"));
                }
                *lock(&self.lock) = Some(held);
            }
            Err(LockError::Held(holder)) if control::is_running(&app).await => return self.roll_out(holder.pid).await,
            Err(LockError::Held(holder)) => return Err(SessionError::lifecycle(already_running(&app, &holder))),
            Err(other) => return Err(SessionError::lifecycle(other)),
        }
        match self.orchestrator.deploy(&self.spec, image, progress).await {
            Ok(report) => Ok(DeployOutcome { report, rolled_out_onto: None, notes, hints: self.trust_hint() }),
            Err(error) => {
                self.cloud.shutdown().await;
                Err(error.into())
            }
        }
    }

    async fn abandon(&self) {
        self.orchestrator.abandon().await;
        self.cloud.shutdown().await;
    }

    /// Opens the control socket and writes the state file; the deployment is served until the
    /// returned [`Serving`] stops.
    async fn keep_serving(&self, outcome: &DeployOutcome) -> SessionResult<Option<Box<dyn Serving>>> {
        if outcome.rolled_out_onto.is_some() {
            return Ok(None);
        }
        let app = self.app().to_string();
        let (socket, stop, current) = match control::serve(&app, self.orchestrator.clone(), self.spec.clone()) {
            Ok(served) => served,
            Err(error) => {
                self.cloud.shutdown().await;
                return Err(SessionError::lifecycle(error));
            }
        };
        let record = RunRecord {
            service: LOCAL_CAPABILITIES.names(&app).service,
            app,
            pid: std::process::id(),
            socket: socket.clone(),
            urls: outcome.report.urls.clone(),
            replicas: Vec::new(),
            started: crate::run_record::now(),
        };
        if let Err(error) = self.cloud.record(record) {
            self.cloud.shutdown().await;
            let _ = std::fs::remove_file(&socket);
            return Err(SessionError::lifecycle(format!("cannot write the local state file: {error}")));
        }
        let renewal = self.public.as_ref().map(|(certificates, every)| {
            crate::renewal_timer::spawn(self.orchestrator.clone(), current, certificates.clone(), *every)
        });
        Ok(Some(Box::new(LocalServing { cloud: self.cloud.clone(), socket, stop, renewal })))
    }

    async fn detach(&self, relaunch: &(dyn for<'p> Fn(&'p Path) -> Command + Sync)) -> SessionResult<Detached> {
        let app = self.app();
        if let Some((holder, _)) = control::holder(app) {
            if control::is_running(app).await {
                return Ok(Detached { outcome: self.roll_out(holder.pid).await?, background: None });
            }
            return Err(SessionError::lifecycle(already_running(app, &holder)));
        }
        let logs = Paths::from_env().logs();
        std::fs::create_dir_all(&logs).map_err(SessionError::lifecycle)?;
        let log = logs.join(format!("{app}-supervisor.log"));
        let ready = logs.join(format!("{app}-ready-{}.json", std::process::id()));
        let (report, pid) = crate::detach::start_detached(app, relaunch(&ready), &ready, &log)
            .await
            .map_err(SessionError::lifecycle)?;
        let outcome = DeployOutcome { report, rolled_out_onto: None, notes: Vec::new(), hints: self.trust_hint() };
        Ok(Detached { outcome, background: Some((pid, log)) })
    }

    /// Asked of the process serving the app; a run starting or one that died is noted.
    async fn status(&self) -> SessionResult<StatusOutcome> {
        let local = reach::status(self.app()).await.map_err(SessionError::lifecycle)?;
        let serving = local.report.service.is_some();
        let notes = match (local.note, serving) {
            (Some(note), _) => vec![note],
            (None, false) => vec![START_HINT.to_string()],
            (None, true) => Vec::new(),
        };
        let hints = if serving && self.public.is_none() {
            let ca = Paths::from_env().ca().join("ca.pem");
            vec![format!(
                "To open it without warnings, trust the local CA: import {} in your browser (Authorities)",
                ca.display()
            )]
        } else {
            Vec::new()
        };
        Ok(StatusOutcome { report: local.report, notes, hints })
    }

    async fn scale(&self, count: u32, wait: bool, _progress: &dyn Progress) -> SessionResult<ServiceInfo> {
        reach::scale(self.app(), count, wait).await.map_err(SessionError::lifecycle)
    }

    async fn preview_destroy(&self, options: &DestroyOptions) -> SessionResult<DestroyPreview> {
        let mut preview = teardown::preview(self.app(), options).await.map_err(SessionError::lifecycle)?;
        preview.deletes.extend(self.destroy_published(true).await?);
        Ok(preview)
    }

    async fn destroy(&self, options: &DestroyOptions, _progress: &dyn Progress) -> SessionResult<DestroyReport> {
        let mut report = teardown::destroy(self.app(), options).await.map_err(SessionError::lifecycle)?;
        report.deleted.extend(self.destroy_published(false).await?);
        Ok(report)
    }

    /// Asked of the process serving the app (its releases live with it).
    async fn releases(&self) -> SessionResult<Vec<scaling_core::Release>> {
        reach::releases(self.app()).await.map_err(SessionError::lifecycle)
    }

    /// Rolled out by the process serving the app, replica by replica, from the kept bundle.
    async fn rollback(&self, to: Option<u32>, _progress: &dyn Progress) -> SessionResult<scaling_core::DeployReport> {
        reach::rollback(self.app(), &self.spec, to).await.map_err(SessionError::lifecycle)
    }

    /// From the deploying shell or the secrets file.
    async fn check_secrets(&self) -> SessionResult<Vec<scaling_core::Problem>> {
        Ok(self.orchestrator.check_secrets(&self.spec).await?)
    }

    /// The replicas' log files, from any process, whether the app runs or not.
    async fn logs(&self, query: &LogQuery) -> SessionResult<LogPage> {
        Ok(self.orchestrator.logs(&self.spec, query).await?)
    }
}

/// A deployment served by this process: its replicas, balancer, control socket and state file.
struct LocalServing {
    cloud: Arc<LocalCloud>,
    socket: std::path::PathBuf,
    stop: mpsc::Receiver<()>,
    /// A public server's renewal timer, stopped with the deployment.
    renewal: Option<tokio::task::JoinHandle<()>>,
}

#[async_trait]
impl Serving for LocalServing {
    async fn stop_requested(&mut self) {
        if self.stop.recv().await.is_none() {
            // The control socket's server ended: nothing can ask any more, so never resolve.
            std::future::pending::<()>().await;
        }
    }

    async fn stop(self: Box<Self>) {
        if let Some(renewal) = &self.renewal {
            renewal.abort();
        }
        self.cloud.shutdown().await;
        let _ = std::fs::remove_file(&self.socket);
    }
}
