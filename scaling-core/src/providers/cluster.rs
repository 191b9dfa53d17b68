//! [`Cluster`]: where the replicas run — the cluster, the revision each replica runs, the service that
//! keeps N of them running — and the replicas' firewall that admits only the load balancer.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{unsupported, DesiredFirewall, FirewallInfo, Owner, Tags};
use crate::spec::{HealthCheckSpec, Platform, Vcpu};
use crate::ProviderResult;

/// A cluster as it should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredCluster {
    /// Its name, e.g. `app-cluster`.
    pub name: String,
    /// Tags, ownership included.
    pub tags: Tags,
}

/// A cluster as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterInfo {
    /// The provider's id.
    pub id: String,
    /// Its name.
    pub name: String,
}

impl ClusterInfo {
    /// The cluster of a provider without a cluster step (no cluster object, or one made elsewhere):
    /// the name its services are found under, and no id.
    pub fn implicit(name: &str) -> Self {
        Self { id: String::new(), name: name.into() }
    }
}

/// What one replica runs (image, size, port, environment): the part of a revision the spec decides,
/// the same in what is asked ([`DesiredRevision`]) and what is found ([`RevisionInfo`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionSpec {
    /// The name its revisions share, e.g. `app-taskdef`.
    pub family: String,
    /// The container name, e.g. `app-container`.
    pub container: String,
    /// The image, pinned by digest where possible.
    pub image: String,
    /// The platform the image was built for.
    pub platform: Platform,
    /// CPU per replica.
    pub cpu: Vcpu,
    /// Memory per replica in MiB.
    pub memory: u32,
    /// The container port.
    pub port: u16,
    /// Environment variables.
    pub env: BTreeMap<String, String>,
    /// Environment variables from a secret store: variable → reference (`store:name`), never a value.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
}

/// A revision as it should be. Revisions are immutable: a change registers a new one (AWS: a task
/// definition; Kubernetes: a pod template; Cloud Run: a revision).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredRevision {
    /// What each replica runs.
    #[serde(flatten)]
    pub spec: RevisionSpec,
    /// The health probe of each replica (Kubernetes: the readiness and startup probes of the pod
    /// template; Cloud Run: the revision's startup probe). A provider whose load balancer checks
    /// health instead (an ALB target group) may leave it out of what it registers.
    pub health_check: HealthCheckSpec,
    /// Tags, ownership included.
    pub tags: Tags,
}

impl DesiredRevision {
    /// The revision as a provider that keeps exactly what was asked reports it: number `revision`
    /// of its family, id `family:revision`.
    pub fn as_registered(&self, revision: u32) -> RevisionInfo {
        RevisionInfo {
            id: format!("{}:{revision}", self.spec.family),
            revision,
            spec: self.spec.clone(),
            health_check: Some(self.health_check.clone()),
            registered_at: Some(super::epoch_millis(std::time::SystemTime::now())),
            drift: Vec::new(),
        }
    }
}

/// A revision as it is (the newest active one): its spec as registered, and its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionInfo {
    /// The provider's id (`family:revision` or an ARN).
    pub id: String,
    /// The revision number.
    pub revision: u32,
    /// What each replica runs, as registered.
    #[serde(flatten)]
    pub spec: RevisionSpec,
    /// The health probe as registered with the revision; `None` where the provider checks health
    /// elsewhere (an ALB target group), and then it is not compared.
    #[serde(default)]
    pub health_check: Option<HealthCheckSpec>,
    /// When it was registered, in milliseconds since the Unix epoch, where the provider says.
    #[serde(default)]
    pub registered_at: Option<u64>,
    /// What the provider grants this revision beside it that was found changed out of band, in words
    /// (AWS: the execution role's access to exactly its secrets); the next deploy registers it again.
    #[serde(default)]
    pub drift: Vec<String>,
}

/// What the load balancer hands the cluster so replicas can be attached and only its traffic admitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrafficSource {
    /// The backend pool the service registers its replicas in; `None` for a provider without a
    /// backend pool step (Cloud Run: the service itself is what traffic reaches).
    pub backend_id: Option<String>,
    /// The load balancer's firewall: the only source the replicas' firewall admits (`None` without one).
    pub firewall_id: Option<String>,
    /// The container port traffic arrives on.
    pub container_port: u16,
}

/// A service's name, the revision it runs, its replica count and their firewall: the same in what is
/// asked ([`DesiredService`]) and what is found ([`ServiceInfo`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSpec {
    /// Its name, e.g. `app-service`.
    pub name: String,
    /// The revision it runs. Asked: a registered one's id, or `(new revision)` when the desired
    /// service's `template` is to be rolled out.
    pub revision_id: String,
    /// How many replicas.
    pub desired_count: u32,
    /// The replicas' firewall (`None` for a provider without a cluster firewall).
    pub firewall_id: Option<String>,
}

/// A service (N replicas kept running) as it should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredService {
    /// Its name, revision, count and firewall.
    #[serde(flatten)]
    pub spec: ServiceSpec,
    /// The cluster it runs in.
    pub cluster: ClusterInfo,
    /// What the replicas run, for a provider that makes revisions only by updating its service
    /// (Cloud Run; no revision step in its graph): the service rolls out a new revision of it when
    /// `revision_id` is not the one it runs. `None` where revisions are registered on their own.
    #[serde(default)]
    pub template: Option<DesiredRevision>,
    /// The container name in the revision.
    pub container: String,
    /// Where its traffic comes from.
    pub traffic: TrafficSource,
    /// How long new replicas may fail health checks (the seed's 30 s).
    pub health_check_grace_period: Duration,
    /// Autoscaling owns the count: a provider updating the service leaves the count it finds (the
    /// `desired_count` here is only where a new service starts).
    #[serde(default)]
    pub autoscaled: bool,
    /// Start a new rollout even though nothing changed: the last one failed (the circuit breaker
    /// stopped it, or nothing runs and nothing is starting). AWS: `forceNewDeployment`.
    #[serde(default)]
    pub restart_rollout: bool,
    /// Tags, ownership included.
    pub tags: Tags,
}

impl DesiredService {
    /// The service as a provider reports it right after `ensure_service`, under `id`: nothing running
    /// yet, its rollout in progress.
    pub fn as_started(&self, id: impl Into<String>) -> ServiceInfo {
        ServiceInfo {
            id: id.into(),
            spec: self.spec.clone(),
            cluster_id: self.cluster.id.clone(),
            running_count: 0,
            pending_count: 0,
            backend_id: self.traffic.backend_id.clone(),
            health_check_grace_period: Some(self.health_check_grace_period),
            rollout: Rollout::InProgress,
            warnings: Vec::new(),
            replicas: Vec::new(),
            drift: Vec::new(),
        }
    }
}

/// What one replica is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReplicaState {
    /// Started, not yet passing health checks.
    Starting,
    /// Passing health checks and taking traffic.
    Healthy,
    /// Failing health checks.
    Unhealthy,
    /// Leaving: draining its requests or stopping.
    Stopping,
}

impl std::fmt::Display for ReplicaState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ReplicaState::Starting => "starting",
            ReplicaState::Healthy => "healthy",
            ReplicaState::Unhealthy => "unhealthy",
            ReplicaState::Stopping => "stopping",
        })
    }
}

/// One replica as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaInfo {
    /// The provider's id for it.
    pub id: String,
    /// Where it listens, e.g. `127.0.0.1:40123`.
    pub address: String,
    /// What it is doing.
    pub state: ReplicaState,
    /// Why, when not healthy (the last health check's answer).
    pub reason: Option<String>,
    /// The revision it runs.
    pub revision: String,
    /// Its process (group) id, where it is a process on this machine.
    pub pid: Option<u32>,
    /// How many replicas it took to get here: 0 for one started fresh, N after N crashes or
    /// replacements in a row.
    pub restarts: u32,
    /// How long it has been running.
    #[serde(with = "humantime_serde")]
    pub uptime: Duration,
    /// Its log, where the provider writes one per replica.
    pub log: Option<String>,
}

/// Where a rollout stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rollout {
    /// Replacing or starting replicas.
    InProgress,
    /// Every replica runs the current revision and is healthy.
    Completed,
    /// The rollout failed (and was rolled back where the provider does that).
    Failed(String),
}

impl std::fmt::Display for Rollout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rollout::InProgress => f.write_str("in progress"),
            Rollout::Completed => f.write_str("complete"),
            Rollout::Failed(reason) => write!(f, "failed: {reason}"),
        }
    }
}

/// A service as it is: its spec as read back, and its replicas and rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceInfo {
    /// The provider's id.
    pub id: String,
    /// Its name, revision, desired count and firewall, as read back.
    #[serde(flatten)]
    pub spec: ServiceSpec,
    /// The cluster id.
    pub cluster_id: String,
    /// Running replicas.
    pub running_count: u32,
    /// Starting replicas.
    pub pending_count: u32,
    /// The backend pool its replicas register in, where it has one.
    pub backend_id: Option<String>,
    /// The health-check grace period; `None` when the provider does not report it.
    pub health_check_grace_period: Option<Duration>,
    /// The rollout state.
    pub rollout: Rollout,
    /// What the provider noticed about the running replicas and cannot fix itself, in words with the
    /// fix (e.g. a replica listening on every interface); shown by `status`, never drift.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The replicas one by one, where the provider reports them (the local provider does; a cloud's
    /// target health covers them otherwise); shown by `status`, never drift.
    #[serde(default)]
    pub replicas: Vec<ReplicaInfo>,
    /// Settings the provider makes itself (beyond the fields above) that were found changed out of band,
    /// in words, e.g. `invalid header fields: kept → dropped`. Non-empty means the next deploy updates
    /// the resource; the provider's `ensure` puts every one of them back.
    #[serde(default)]
    pub drift: Vec<String>,
}

/// Runs N replicas of a revision and keeps them running. What a cluster may also have — a deploy
/// lock, replica logs, a secret store, autoscaling, a release history — are traits of their own
/// ([`Locks`](super::Locks), [`Logs`](super::Logs), [`SecretStore`](super::SecretStore),
/// [`Autoscaler`](super::Autoscaler), [`Releases`](super::Releases)) whose methods answer
/// [`Unsupported`](crate::ErrorKind::Unsupported) unless the provider has the feature.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Cluster: Send + Sync {
    /// The cluster `name` when owned. A provider whose graph has no [`Cluster`](crate::StepId::Cluster)
    /// step (its services live in a project or a namespace made elsewhere) leaves the three cluster
    /// methods to their defaults: nothing is found, and making or deleting one is
    /// [`Unsupported`](crate::ErrorKind::Unsupported). So it is with the replicas' firewall.
    async fn find_cluster(&self, owner: &Owner, name: &str) -> ProviderResult<Option<ClusterInfo>> {
        let _ = (owner, name);
        Ok(None)
    }
    /// Creates the cluster when missing.
    async fn ensure_cluster(&self, desired: &DesiredCluster) -> ProviderResult<ClusterInfo> {
        Err(unsupported("ensure_cluster", &desired.name, "cluster object"))
    }
    /// Deletes the cluster; retryable while services drain.
    async fn delete_cluster(&self, owner: &Owner, cluster: &ClusterInfo) -> ProviderResult<()> {
        let _ = owner;
        Err(unsupported("delete_cluster", &cluster.name, "cluster object"))
    }

    /// The replicas' firewall `name` when owned.
    async fn find_replica_firewall(&self, owner: &Owner, name: &str) -> ProviderResult<Option<FirewallInfo>> {
        let _ = (owner, name);
        Ok(None)
    }
    /// Creates the replicas' firewall or makes its rules exactly `desired.ingress`.
    async fn ensure_replica_firewall(&self, desired: &DesiredFirewall) -> ProviderResult<FirewallInfo> {
        Err(unsupported("ensure_replica_firewall", &desired.spec.name, "firewall in front of its replicas"))
    }
    /// Deletes the replicas' firewall; retryable while network interfaces linger.
    async fn delete_replica_firewall(&self, owner: &Owner, group: &FirewallInfo) -> ProviderResult<()> {
        let _ = owner;
        Err(unsupported("delete_replica_firewall", &group.spec.name, "firewall in front of its replicas"))
    }

    /// The newest active revision named `family` when owned.
    async fn find_revision(&self, owner: &Owner, family: &str) -> ProviderResult<Option<RevisionInfo>>;
    /// Registers a new revision.
    async fn register_revision(&self, desired: &DesiredRevision) -> ProviderResult<RevisionInfo>;
    /// Deregisters every owned revision of `family`.
    async fn deregister_revisions(&self, owner: &Owner, family: &str) -> ProviderResult<()>;

    /// The service `name` in `cluster` when owned (also used to poll its rollout).
    async fn find_service(
        &self,
        owner: &Owner,
        cluster: &ClusterInfo,
        name: &str,
    ) -> ProviderResult<Option<ServiceInfo>>;
    /// Creates the service or rolls it to `desired` (new revision, count, grace period).
    async fn ensure_service(&self, desired: &DesiredService) -> ProviderResult<ServiceInfo>;
    /// Changes only the desired count.
    async fn scale_service(
        &self,
        owner: &Owner,
        service: &ServiceInfo,
        desired_count: u32,
    ) -> ProviderResult<ServiceInfo>;
    /// Stops every replica and deletes the service.
    async fn delete_service(&self, owner: &Owner, service: &ServiceInfo) -> ProviderResult<()>;

    /// Resolves when `service` may have changed (a replica turned healthy, failed or left), or after
    /// `within` at the latest: the pause between two polls of a wait for the service. A provider
    /// that hears of changes (the local supervisor) ends the pause at once, so a wait sees a rollout
    /// finish when it does; the default, for a cloud that must be asked, sleeps `within`.
    async fn service_changed(&self, service: &ServiceInfo, within: Duration) {
        let _ = service;
        tokio::time::sleep(within).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revision_keeps_its_flat_layout_where_it_is_saved() {
        // The local provider keeps revisions in JSON files: spec and status apart in the type, one
        // object on disk, so a record written before the split still reads.
        let saved = r#"{"id":"app:1","family":"app","revision":1,"container":"app","image":"r/app@sha256:0",
            "platform":"linux/amd64","cpu":"0.25","memory":512,"port":8050,"env":{},"registered_at":null}"#;
        let revision: RevisionInfo = serde_json::from_str(saved).expect("an old record reads");
        assert_eq!(
            (revision.spec.family.as_str(), revision.revision, revision.health_check.is_none()),
            ("app", 1, true)
        );
        let written = serde_json::to_value(&revision).expect("serializes");
        assert_eq!(written["family"], "app", "{written}");
    }

    #[test]
    fn a_service_and_its_autoscaling_keep_their_flat_layout_where_they_are_saved() {
        let saved = r#"{"id":"app","name":"app","cluster_id":"app","revision_id":"app:2","desired_count":3,
            "running_count":3,"pending_count":0,"backend_id":"app","firewall_id":null,
            "health_check_grace_period":null,"rollout":"Completed"}"#;
        let service: ServiceInfo = serde_json::from_str(saved).expect("an old service reads");
        assert_eq!((service.spec.revision_id.as_str(), service.spec.desired_count), ("app:2", 3));
        assert_eq!(serde_json::to_value(&service).unwrap()["desired_count"], 3);
        let saved = r#"{"id":"a","service":"app","min":2,"max":5,"targets":[{"metric":"cpu_percent","target":60}],
            "scale_out_cooldown":"1m","scale_in_cooldown":"5m"}"#;
        let autoscaling: crate::providers::AutoscalingInfo =
            serde_json::from_str(saved).expect("old autoscaling reads");
        assert_eq!((autoscaling.spec.min, autoscaling.spec.max), (2, 5));
    }
}
