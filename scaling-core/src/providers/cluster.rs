//! [`Cluster`]: where the replicas run, and the firewall that admits only the load balancer.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{DesiredSecurityGroup, Owner, SecurityGroupInfo, Tags};
use crate::spec::{Platform, Vcpu};
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

/// A task definition (what one replica runs) as it should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredTaskDefinition {
    /// The family, e.g. `app-taskdef`.
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
    /// Where logs go (a log group on AWS).
    pub log_group: String,
    /// Tags, ownership included.
    pub tags: Tags,
}

/// A task definition as it is (the newest active revision).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskDefinitionInfo {
    /// The provider's id (`family:revision` or an ARN).
    pub id: String,
    /// The family.
    pub family: String,
    /// The revision number.
    pub revision: u32,
    /// The container name.
    pub container: String,
    /// The image.
    pub image: String,
    /// The platform.
    pub platform: Platform,
    /// CPU per replica.
    pub cpu: Vcpu,
    /// Memory per replica in MiB.
    pub memory: u32,
    /// The container port.
    pub port: u16,
    /// Environment variables.
    pub env: BTreeMap<String, String>,
}

/// What the load balancer hands the cluster so tasks can be attached and only its traffic admitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrafficSource {
    /// The target group the service registers its tasks in.
    pub target_group_id: String,
    /// The load balancer's security group: the only source the task group admits (`None` without one).
    pub security_group_id: Option<String>,
    /// The container port traffic arrives on.
    pub container_port: u16,
}

/// A service (N replicas kept running) as it should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredService {
    /// Its name, e.g. `app-service`.
    pub name: String,
    /// The cluster it runs in.
    pub cluster: ClusterInfo,
    /// The task definition id to run.
    pub task_definition_id: String,
    /// The container name in the task definition.
    pub container: String,
    /// How many replicas.
    pub desired_count: u32,
    /// Where its traffic comes from.
    pub traffic: TrafficSource,
    /// The tasks' security group (`None` for a provider without a cluster firewall).
    pub security_group_id: Option<String>,
    /// How long new tasks may fail health checks (the seed's 30 s).
    pub health_check_grace_period: Duration,
    /// Tags, ownership included.
    pub tags: Tags,
}

/// Where a rollout stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rollout {
    /// Replacing or starting tasks.
    InProgress,
    /// Every task runs the current task definition and is healthy.
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

/// A service as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceInfo {
    /// The provider's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The cluster id.
    pub cluster_id: String,
    /// The task definition id it runs.
    pub task_definition_id: String,
    /// Desired replicas.
    pub desired_count: u32,
    /// Running replicas.
    pub running_count: u32,
    /// Starting replicas.
    pub pending_count: u32,
    /// The target group its tasks register in.
    pub target_group_id: String,
    /// The tasks' security group, when they have one.
    pub security_group_id: Option<String>,
    /// The health-check grace period; `None` when the provider does not report it.
    pub health_check_grace_period: Option<Duration>,
    /// The rollout state.
    pub rollout: Rollout,
    /// What the provider noticed about the running replicas and cannot fix itself, in words with the
    /// fix (e.g. a replica listening on every interface); shown by `status`, never drift.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Settings the provider makes itself (beyond the fields above) that were found changed out of band,
    /// in words, e.g. `invalid header fields: kept → dropped`. Non-empty means the next deploy updates
    /// the resource; the provider's `ensure` puts every one of them back.
    #[serde(default)]
    pub drift: Vec<String>,
}

/// A resource a provider creates on its own behalf while running the app (an execution role, a log
/// group): the core does not model it, but destroy lists it, and deletes it or says why it keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportResource {
    /// What it is, e.g. `execution role` or `log group`.
    pub kind: String,
    /// Its name, e.g. `dashmath-execution-role`.
    pub name: String,
    /// The provider's id.
    pub id: String,
    /// It holds the app's logs: destroy keeps it unless asked to delete logs.
    pub holds_logs: bool,
}

/// Runs N replicas of a task definition and keeps them running.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Cluster: Send + Sync {
    /// The cluster `name` when owned.
    async fn find_cluster(&self, owner: &Owner, name: &str) -> ProviderResult<Option<ClusterInfo>>;
    /// Creates the cluster when missing.
    async fn ensure_cluster(&self, desired: &DesiredCluster) -> ProviderResult<ClusterInfo>;
    /// Deletes the cluster; retryable while services drain.
    async fn delete_cluster(&self, owner: &Owner, cluster: &ClusterInfo) -> ProviderResult<()>;

    /// The tasks' security group `name` when owned.
    async fn find_task_security_group(&self, owner: &Owner, name: &str) -> ProviderResult<Option<SecurityGroupInfo>>;
    /// Creates the tasks' security group or makes its rules exactly `desired.ingress`.
    async fn ensure_task_security_group(&self, desired: &DesiredSecurityGroup) -> ProviderResult<SecurityGroupInfo>;
    /// Deletes the tasks' security group; retryable while network interfaces linger.
    async fn delete_task_security_group(&self, owner: &Owner, group: &SecurityGroupInfo) -> ProviderResult<()>;

    /// The newest active revision of `family` when owned.
    async fn find_task_definition(&self, owner: &Owner, family: &str) -> ProviderResult<Option<TaskDefinitionInfo>>;
    /// Registers a new revision.
    async fn register_task_definition(&self, desired: &DesiredTaskDefinition) -> ProviderResult<TaskDefinitionInfo>;
    /// Deregisters every owned revision of `family`.
    async fn deregister_task_definitions(&self, owner: &Owner, family: &str) -> ProviderResult<()>;

    /// The service `name` in `cluster` when owned (also used to poll its rollout).
    async fn find_service(
        &self,
        owner: &Owner,
        cluster: &ClusterInfo,
        name: &str,
    ) -> ProviderResult<Option<ServiceInfo>>;
    /// Creates the service or rolls it to `desired` (new task definition, count, grace period).
    async fn ensure_service(&self, desired: &DesiredService) -> ProviderResult<ServiceInfo>;
    /// Changes only the desired count.
    async fn scale_service(
        &self,
        owner: &Owner,
        service: &ServiceInfo,
        desired_count: u32,
    ) -> ProviderResult<ServiceInfo>;
    /// Stops every task and deletes the service.
    async fn delete_service(&self, owner: &Owner, service: &ServiceInfo) -> ProviderResult<()>;

    /// Every [`SupportResource`] this owner owns (none, for a provider that creates none).
    async fn find_support_resources(&self, owner: &Owner) -> ProviderResult<Vec<SupportResource>> {
        let _ = owner;
        Ok(Vec::new())
    }
    /// Deletes an owned support resource; deleting one already gone succeeds.
    async fn delete_support_resource(&self, owner: &Owner, resource: &SupportResource) -> ProviderResult<()> {
        let _ = (owner, resource);
        Ok(())
    }
}
