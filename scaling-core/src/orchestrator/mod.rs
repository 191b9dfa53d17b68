//! The orchestrator: `plan` observes every resource through the five traits and says what each needs;
//! `apply` carries that out as a dependency graph; `status`, `scale` and `destroy` complete the cycle.

mod apply;
mod desired;
mod destroy;
mod diff;
mod graph;
mod kind_store;
mod kinds;
mod locking;
mod observe;
mod options;
mod own_steps;
mod plan;
mod releases;
mod resource;
mod runner;
mod status;
mod steps;
mod words;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::events::{EventKind, Progress};
use crate::providers::{
    Autoscaler, BuildRequest, Capabilities, Capable, Certificate, Cluster, Dns, LoadBalancer, Locks, Logs, OwnSteps,
    Registry, Releases, Rollout, SecretStore, ServiceInfo, ZoneInfo,
};
use crate::spec::{ImageReference, Spec};
use crate::{Error, Result};
use runner::Poll;

pub use desired::ImageSource;
pub use destroy::DestroyReport;
pub use diff::Action;
pub use options::{DeployOptions, DestroyOptions, RetryPolicy, Timeouts};
pub use plan::{Change, Plan};
pub use releases::Release;
pub use status::StatusReport;
pub use steps::StepId;

#[cfg(feature = "conformance")]
pub(crate) use kinds::desired_backend;
pub(crate) use observe::Observed;

/// The five providers one deployment uses (usually one cloud implements all five), and the small
/// features beside the cluster — the deploy lock, logs, secrets, autoscaling, the release history —
/// each of which a provider may lack (its methods then answer `Unsupported`).
#[derive(Clone)]
pub struct Providers {
    /// Images.
    pub registry: Arc<dyn Registry>,
    /// Replicas.
    pub cluster: Arc<dyn Cluster>,
    /// Traffic.
    pub load_balancer: Arc<dyn LoadBalancer>,
    /// Names.
    pub dns: Arc<dyn Dns>,
    /// TLS.
    pub certificate: Arc<dyn Certificate>,
    /// The deploy lock.
    pub locks: Arc<dyn Locks>,
    /// The replicas' logs.
    pub logs: Arc<dyn Logs>,
    /// Where `[secrets]` come from.
    pub secrets: Arc<dyn SecretStore>,
    /// Autoscaling of the service.
    pub autoscaler: Arc<dyn Autoscaler>,
    /// The kept revisions (`releases`, `rollback`, pruning).
    pub releases: Arc<dyn Releases>,
    /// The steps the providers add of their own ([`StepId::Own`]).
    pub own_steps: Arc<dyn OwnSteps>,
    /// What these providers are together: the steps of a deploy come from it. Set it to match when
    /// mixing providers of different kinds.
    pub capabilities: Capabilities,
}

impl Providers {
    /// Every provider from one value that implements every trait (a trait of a feature it lacks may
    /// be an empty `impl`, whose defaults answer `Unsupported`).
    pub fn from_cloud<C>(cloud: Arc<C>) -> Self
    where
        C: Registry
            + Cluster
            + LoadBalancer
            + Dns
            + Certificate
            + Locks
            + Logs
            + SecretStore
            + Autoscaler
            + Releases
            + OwnSteps
            + Capable
            + 'static,
    {
        Self {
            capabilities: cloud.capabilities(),
            registry: cloud.clone(),
            cluster: cloud.clone(),
            load_balancer: cloud.clone(),
            dns: cloud.clone(),
            certificate: cloud.clone(),
            locks: cloud.clone(),
            logs: cloud.clone(),
            secrets: cloud.clone(),
            autoscaler: cloud.clone(),
            releases: cloud.clone(),
            own_steps: cloud,
        }
    }
}

/// What a deploy did and where the app now answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct DeployReport {
    /// The plan that was applied.
    pub changes: Vec<Change>,
    /// Where the app answers.
    pub urls: Vec<String>,
    /// Where the load balancer answers (its host name or addresses), which the DNS records lead to.
    pub endpoint: Option<crate::providers::Endpoint>,
    /// A zone this deploy created: its name servers must be set at the registrar.
    pub new_zone: Option<ZoneInfo>,
    /// The image deployed.
    pub image: String,
    /// How long it took (tokio's clock): from the build to the last wait for `deploy`, the writes and waits for `apply`.
    pub elapsed: Duration,
}

/// Plans and applies deployments through a set of [`Providers`].
#[derive(Clone)]
pub struct Orchestrator {
    providers: Providers,
    options: DeployOptions,
    held: locking::HeldLock,
}

/// The value behind `mutex`, even if a panicking thread left it poisoned.
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Orchestrator {
    /// An orchestrator with default options.
    pub fn new(providers: Providers) -> Self {
        Self { providers, options: DeployOptions::default(), held: Arc::default() }
    }

    /// The same orchestrator with other options.
    pub fn with_options(mut self, options: DeployOptions) -> Self {
        self.options = options;
        self
    }

    /// The options in force.
    pub fn options(&self) -> &DeployOptions {
        &self.options
    }

    /// Resolves the image: `image_override` or the spec's reference as is, or a build of the spec's context.
    /// A built image whose platform differs from the spec's is refused.
    pub async fn prepare_image(&self, spec: &Spec, image_override: Option<&str>) -> Result<ImageSource> {
        spec.validate()?;
        let reference = image_override.or(spec.image.reference.as_deref());
        if let Some(reference) = reference {
            let parsed: ImageReference = reference.parse().map_err(|why| {
                Error::InvalidSpec(crate::SpecErrors::single(crate::Problem::new(
                    "image.reference",
                    why,
                    "use `registry/repository@sha256:<digest>`",
                )))
            })?;
            return Ok(ImageSource::Prebuilt(parsed));
        }
        let context = spec.image.context.clone().unwrap_or_default();
        let request = BuildRequest {
            app: spec.app.name.clone(),
            context,
            dockerfile: spec.image.dockerfile.clone(),
            platform: spec.image.platform,
            archive: spec.image.archive.clone(),
        };
        let artifact = self
            .providers
            .registry
            .build_image(&request)
            .await
            .map_err(|source| Error::Provider { step: StepId::Image, source })?;
        if artifact.platform != spec.image.platform {
            return Err(Error::PlatformMismatch { built: artifact.platform, expected: spec.image.platform });
        }
        Ok(ImageSource::Built(artifact))
    }

    /// Observes every resource and plans what each needs; makes no mutating call.
    pub async fn plan(&self, spec: &Spec, image: ImageSource) -> Result<Plan> {
        let plan = self.observe_and_plan(spec, image, observe::Reach::Spec).await?;
        // A deploy would need these names and secrets: refused here, before any write.
        plan::refuse_foreign_records(&plan.desired, &plan.observed)?;
        let mut problems = plan::beyond_the_graph(&plan.desired);
        let aliases = self.providers.dns.aliases_apex_to_host_names();
        problems.extend(plan::apex_behind_a_host_name(&plan.desired, &plan.observed, aliases));
        let (serves, hands_out) =
            (self.providers.load_balancer.serves_key_material(), self.providers.certificate.hands_out_key_material());
        problems.extend(plan::certificate_pairing(&plan.desired, serves, hands_out));
        problems.extend(plan.observed.secret_problems.iter().cloned());
        if !problems.is_empty() {
            return Err(Error::InvalidSpec(crate::SpecErrors::new(problems)));
        }
        Ok(plan)
    }

    /// What the cluster provider finds wrong with the spec's `[secrets]` (a store it does not know,
    /// a secret that does not exist), each naming `secrets.<VARIABLE>`; reads no value. No call
    /// without secrets.
    pub async fn check_secrets(&self, spec: &Spec) -> Result<Vec<crate::Problem>> {
        if spec.secrets.is_empty() {
            return Ok(Vec::new());
        }
        let owner = crate::Owner::new(&spec.app.name);
        self.providers
            .secrets
            .check_secrets(&owner, &spec.secrets)
            .await
            .map_err(|source| Error::Provider { step: StepId::Revision, source })
    }

    /// Observes and plans, without judging whether a deploy could proceed (status and destroy read
    /// through this: a foreign record must not keep an app from being destroyed).
    async fn observe_and_plan(&self, spec: &Spec, image: ImageSource, reach: observe::Reach) -> Result<Plan> {
        spec.validate()?;
        self.check_pairing()?;
        let desired = desired::Desired::new(spec, image, self.providers.capabilities);
        let observed = observe::observe(&self.providers, &desired, reach).await?;
        Ok(plan::plan(desired, observed))
    }

    /// Applies a plan: independent steps run concurrently, each calls a provider only when its resource
    /// differs from the spec. Safe to re-run after any failure.
    pub async fn apply(&self, plan: &Plan, progress: &dyn Progress) -> Result<DeployReport> {
        let run = apply::Apply {
            providers: &self.providers,
            plan,
            runner: runner::Runner::new(&self.options, progress),
            out: apply::Outputs::default(),
        };
        let mut errors = run.run().await;
        match errors.len() {
            0 => {}
            1 => return Err(errors.remove(0)),
            _ => return Err(Error::Several(errors)),
        }
        let out = &run.out;
        let listeners: Vec<_> = [out.http_listener.get(), out.https_listener.get()].into_iter().flatten().collect();
        let lb = out.made.get::<kinds::LoadBalancer>();
        Ok(DeployReport {
            changes: plan.changes.clone(),
            urls: status::urls(&plan.desired.spec, lb, &listeners),
            endpoint: lb.map(|lb| lb.endpoint.clone()),
            new_zone: out.new_zone.get().cloned(),
            image: out
                .made
                .get::<kinds::Revision>()
                .map(|t| t.spec.image.clone())
                .unwrap_or_else(|| plan.desired.image.describe()),
            elapsed: run.runner.started.elapsed(),
        })
    }

    /// The cluster the app's service runs in: the cluster step's when the providers have one (`None`
    /// until it exists), else the implicit one of a provider without a cluster object.
    async fn service_cluster(
        &self,
        owner: &crate::Owner,
        names: &crate::ResourceNames,
    ) -> crate::ProviderResult<Option<crate::providers::ClusterInfo>> {
        if !self.providers.capabilities.has_step(StepId::Cluster) {
            return Ok(Some(crate::providers::ClusterInfo::implicit(&names.cluster)));
        }
        self.providers.cluster.find_cluster(owner, &names.cluster).await
    }

    /// Refuses providers whose [`Capabilities`] cannot work together, before any call.
    fn check_pairing(&self) -> Result<()> {
        let conflicts = self.providers.capabilities.conflicts();
        if conflicts.is_empty() {
            Ok(())
        } else {
            Err(Error::Incompatible { conflicts })
        }
    }

    /// Prepares the image (reporting a build as progress), plans and applies.
    pub async fn deploy(
        &self,
        spec: &Spec,
        image_override: Option<&str>,
        progress: &dyn Progress,
    ) -> Result<DeployReport> {
        self.check_pairing()?;
        let started = tokio::time::Instant::now();
        let building = image_override.is_none() && spec.image.reference.is_none() && spec.image.archive.is_none();
        let runner = runner::Runner::new(&self.options, progress);
        let label = format!("image of {}", spec.app.name);
        if building {
            let detail = "building (a first build installs dependencies)".to_string();
            runner.emit(StepId::Image, &label, EventKind::Waiting { detail });
        }
        let image = self.prepare_image(spec, image_override).await;
        match (&image, building) {
            (Ok(source), true) => {
                runner.emit(StepId::Image, &label, EventKind::Done { detail: format!("built {}", source.describe()) })
            }
            (Err(error), true) => runner.emit(StepId::Image, &label, EventKind::Failed { error: error.to_string() }),
            _ => {}
        }
        let image = image?;
        // The lock is taken while the deployment is read: of two deploys, one is refused before any write.
        let (holder, plan) = self.lock_while(&spec.app.name, "deploy", self.plan(spec, image)).await?;
        let applied = self.holding(holder, self.apply(&plan, progress)).await;
        // The time the user waited: the build and the reads included, not only the writes.
        let mut report = applied?;
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// Observes the deployment and reports tasks, targets, certificate, URLs and delegation.
    pub async fn status(&self, spec: &Spec) -> Result<StatusReport> {
        let owner = crate::Owner::new(&spec.app.name);
        let holder = async {
            status::lock_holder(&self.providers, &owner)
                .await
                .map_err(|source| Error::Provider { step: StepId::Service, source })
        };
        let (plan, lock) = futures::future::try_join(self.observe_only(spec, observe::Reach::Status), holder).await?;
        status::status(&self.providers, &plan, lock)
            .await
            .map_err(|source| Error::Provider { step: StepId::Service, source })
    }

    /// Changes the replica count without a full deploy; waits for stability when the options say so.
    pub async fn scale(&self, spec: &Spec, count: u32, progress: &dyn Progress) -> Result<ServiceInfo> {
        spec.validate()?;
        self.locked(&spec.app.name, "scale", self.scale_unlocked(spec, count, progress)).await
    }

    async fn scale_unlocked(&self, spec: &Spec, count: u32, progress: &dyn Progress) -> Result<ServiceInfo> {
        let names = self.providers.capabilities.names(&spec.app.name);
        let owner = crate::Owner::new(&spec.app.name);
        let not_deployed = |what: &str| Error::NotDeployed { app: spec.app.name.clone(), what: what.into() };
        let tag = |source| Error::Provider { step: StepId::Service, source };
        let deployed = async {
            let cluster =
                self.service_cluster(&owner, &names).await.map_err(tag)?.ok_or_else(|| not_deployed("cluster"))?;
            let service = self
                .providers
                .cluster
                .find_service(&owner, &cluster, &names.service)
                .await
                .map_err(tag)?
                .ok_or_else(|| not_deployed("service"))?;
            Ok::<_, Error>((cluster, service))
        };
        // Read beside the service (by names), not after it.
        let autoscaling = async {
            if !self.providers.capabilities.has_step(StepId::Autoscaling) {
                return Ok(None);
            }
            self.providers
                .autoscaler
                .find_autoscaling(&owner, &names.cluster, &names.service)
                .await
                .map_err(|source| Error::Provider { step: StepId::Autoscaling, source })
        };
        let ((cluster, service), autoscaling) = futures::future::try_join(deployed, autoscaling).await?;
        if let Some(autoscaling) = autoscaling.filter(|a| !(a.spec.min..=a.spec.max).contains(&count)) {
            return Err(Error::InvalidSpec(crate::SpecErrors::single(crate::Problem::new(
                "count",
                format!("{count} is outside the autoscaling bounds {}–{}", autoscaling.spec.min, autoscaling.spec.max),
                "autoscaling owns the count: give one within the bounds, or change scaling.min/scaling.max and deploy",
            ))));
        }
        let runner = runner::Runner::new(&self.options, progress);
        let label = format!("{} {}", self.providers.capabilities.noun(StepId::Service), names.service);
        runner.emit(StepId::Service, &label, EventKind::Started { action: Action::Update });
        let scaled = runner
            .call(StepId::Service, &label, || self.providers.cluster.scale_service(&owner, &service, count))
            .await?;
        runner.emit(
            StepId::Service,
            &label,
            EventKind::Done { detail: format!("desired count {} → {count}", service.spec.desired_count) },
        );
        if !self.options.wait {
            return Ok(scaled);
        }
        // As a deploy does: until that many replicas are up, or the rollout fails.
        let step = StepId::ServiceStable;
        let woken = |within| self.providers.cluster.service_changed(&scaled, within);
        let stable = runner
            .wait_woken(
                step,
                &label,
                self.options.timeouts.service_stable,
                || async {
                    let now = runner
                        .call(step, &label, || self.providers.cluster.find_service(&owner, &cluster, &names.service))
                        .await?;
                    let Some(now) = now else { return Err(not_deployed("service")) };
                    match &now.rollout {
                        Rollout::Completed if now.running_count == count => Ok(Poll::Ready(now)),
                        Rollout::Failed(reason) => Err(Error::RolloutFailed { reason: reason.clone() }),
                        _ => Ok(Poll::Pending(format!(
                            "{}/{count} running, {} pending",
                            now.running_count, now.pending_count
                        ))),
                    }
                },
                woken,
            )
            .await?;
        runner.emit(step, &label, EventKind::Done { detail: format!("{count} replica(s) running") });
        Ok(stable)
    }

    /// What the app's replicas wrote, as `query` asks (read only: no lock).
    pub async fn logs(&self, spec: &Spec, query: &crate::providers::LogQuery) -> Result<crate::providers::LogPage> {
        spec.validate()?;
        let names = self.providers.capabilities.names(&spec.app.name);
        let owner = crate::Owner::new(&spec.app.name);
        let runner = runner::Runner::new(&self.options, &crate::Silent);
        let label = format!("logs of {}", names.service);
        runner.call(StepId::Service, &label, || self.providers.logs.read_logs(&owner, &names.service, query)).await
    }

    /// The plan of a destroy with `options`: a row per owned resource, `delete`, or `no_change` with
    /// the reason it is kept and the option that deletes it. Makes no mutating call.
    pub async fn plan_destroy(&self, spec: &Spec, options: &DestroyOptions) -> Result<Plan> {
        let mut plan = self.observe_only(spec, observe::Reach::Everything).await?;
        plan.changes = self.destroyer(spec, &plan, options, &crate::Silent).rows();
        Ok(plan)
    }

    fn destroyer<'a>(
        &'a self,
        spec: &Spec,
        plan: &Plan,
        options: &DestroyOptions,
        progress: &'a dyn Progress,
    ) -> destroy::Destroy<'a> {
        let mut options = options.clone();
        options.delete_zone |= spec.domain.as_ref().is_some_and(|d| d.delete_zone_on_destroy);
        destroy::Destroy {
            providers: &self.providers,
            owner: plan.desired.owner.clone(),
            names: plan.desired.names.clone(),
            observed: plan.observed.clone(),
            options,
            runner: runner::Runner::new(&self.options, progress),
        }
    }

    /// Deletes every resource the app owns, in reverse dependency order; keeps the zone unless asked,
    /// the repository unless asked, and anything not owned.
    pub async fn destroy(
        &self,
        spec: &Spec,
        options: &DestroyOptions,
        progress: &dyn Progress,
    ) -> Result<DestroyReport> {
        let (holder, plan) =
            self.lock_while(&spec.app.name, "destroy", self.observe_only(spec, observe::Reach::Everything)).await?;
        self.holding(holder, self.destroyer(spec, &plan, options, progress).run()).await
    }

    /// A plan for the spec's own image reference (or a placeholder), made only to observe.
    async fn observe_only(&self, spec: &Spec, reach: observe::Reach) -> Result<Plan> {
        let image = match spec.image.reference.as_deref().map(str::parse::<ImageReference>) {
            Some(Ok(reference)) => reference,
            _ => ImageReference {
                repository: self.providers.capabilities.names(&spec.app.name).repository,
                tag: None,
                digest: None,
            },
        };
        self.observe_and_plan(spec, ImageSource::Prebuilt(image), reach).await
    }
}
