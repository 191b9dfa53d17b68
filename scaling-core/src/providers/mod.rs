//! The five provider traits — [`Registry`], [`Cluster`], [`LoadBalancer`], [`Dns`], [`Certificate`] —
//! and the resource types they exchange.
//!
//! Every implementation guarantees, for every trait:
//! - **find-by-owner**: `find_*` calls never mutate and return only resources tagged as owned by the
//!   [`Owner`]; a resource that has the expected name but another owner is reported as
//!   [`ErrorKind::NotOwned`](crate::ErrorKind::NotOwned), never adopted.
//! - **idempotent ensure**: `ensure_*` calls create the resource when missing and bring it to the
//!   desired settings when present; calling one twice (e.g. after a lost response) leaves one resource.
//! - **delete-only-owned**: `delete_*` calls refuse resources the owner does not own, and deleting
//!   something already gone succeeds.
//! - **honest errors**: failures are [`ProviderError`](crate::ProviderError)s classified retryable or
//!   permanent, naming the resource and carrying the provider's message.

mod autoscaling;
mod capabilities;
mod certificate;
mod cluster;
mod dns;
mod endpoint;
mod load_balancer;
mod lock;
mod logs;
mod own_steps;
mod registry;
mod releases;
mod secrets;
mod step_graph;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use autoscaling::{Autoscaler, AutoscalingInfo, DesiredAutoscaling, ScalingDecision, ScalingPolicy, ScalingTarget};
pub use capabilities::{
    neutral_words, BalancerSource, Capabilities, Capable, CertificateValidation, EndpointShape, Words,
};
pub use certificate::{
    Certificate, CertificateInfo, CertificateSpec, CertificateStatus, DesiredCertificate, KeyMaterial,
};
pub use cluster::{
    Cluster, ClusterInfo, DesiredCluster, DesiredRevision, DesiredService, ReplicaInfo, ReplicaState, RevisionInfo,
    RevisionSpec, Rollout, ServiceInfo, ServiceSpec, TrafficSource,
};
pub use dns::{canonical_name, pointer_records, Alias, Delegation, Dns, DnsRecord, RecordKind, RecordValue, ZoneInfo};
pub use endpoint::Endpoint;
pub use load_balancer::{
    BackendInfo, BackendSpec, ConnectionUse, DesiredBackend, DesiredListener, DesiredLoadBalancer, ListenerAction,
    ListenerInfo, ListenerSpec, LoadBalancer, LoadBalancerInfo, LoadBalancerSpec, LoadBalancerStatus, Protocol,
    TargetHealth, TargetState,
};
pub use lock::{HolderProcess, LockHolder, Locks, LOCK_RENEWAL, LOCK_TTL};
pub use logs::{epoch_millis, LogLine, LogPage, LogQuery, Logs};
pub use own_steps::{OwnResource, OwnSteps};
pub use registry::{BuildRequest, DesiredRepository, ImageArtifact, ImageRef, Registry, RepositoryInfo};
pub use releases::Releases;
pub use secrets::SecretStore;
pub use step_graph::{StepGraph, OWN_STEPS_MAX};

#[cfg(any(test, feature = "mocks"))]
pub use self::{
    autoscaling::MockAutoscaler, certificate::MockCertificate, cluster::MockCluster, dns::MockDns,
    load_balancer::MockLoadBalancer, lock::MockLocks, logs::MockLogs, own_steps::MockOwnSteps, registry::MockRegistry,
    releases::MockReleases, secrets::MockSecretStore,
};

/// Tags: key → value, on every resource that supports them.
pub type Tags = BTreeMap<String, String>;

/// Who owns a resource: one app. Ownership is what `plan` and `destroy` trust.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Owner {
    /// The app name.
    pub app: String,
}

impl Owner {
    /// The tag key that marks ownership; its value is the app name.
    pub const TAG: &'static str = "scaling:app";
    /// The tag key that names the tool that manages a resource.
    pub const MANAGED_BY_TAG: &'static str = "scaling:managed-by";

    /// The owner `app`.
    pub fn new(app: impl Into<String>) -> Self {
        Self { app: app.into() }
    }

    /// The ownership tags merged over `extra` (ownership wins).
    pub fn tags(&self, extra: &Tags) -> Tags {
        let mut tags = extra.clone();
        tags.insert(Self::TAG.into(), self.app.clone());
        tags.insert(Self::MANAGED_BY_TAG.into(), "scaling".into());
        tags
    }

    /// True when `tags` mark a resource as owned by this owner.
    pub fn owns(&self, tags: &Tags) -> bool {
        tags.get(Self::TAG) == Some(&self.app)
    }
}

/// Where a firewall admits traffic from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TrafficFrom {
    /// Every IPv4 and IPv6 address: `0.0.0.0/0` and `::/0` together.
    Anywhere,
    /// One address range, e.g. `0.0.0.0/0` alone or `10.0.0.0/8`.
    Cidr(String),
    /// Only members of this firewall (by id): traffic from what carries it.
    Group(String),
    /// Only the app's load balancer, however the provider tells it apart (Kubernetes: a NetworkPolicy
    /// selecting the gateway's pods): the symbolic source of a provider whose
    /// [`BalancerSource`] is `Symbolic`.
    LoadBalancer,
}

impl TrafficFrom {
    /// The sources this one stands for, one address family each: `Anywhere` is both halves.
    pub fn atoms(&self) -> Vec<TrafficFrom> {
        match self {
            TrafficFrom::Anywhere => vec![TrafficFrom::Cidr("0.0.0.0/0".into()), TrafficFrom::Cidr("::/0".into())],
            other => vec![other.clone()],
        }
    }
}

impl std::fmt::Display for TrafficFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrafficFrom::Anywhere => f.write_str("anywhere"),
            TrafficFrom::Cidr(cidr) => f.write_str(cidr),
            TrafficFrom::Group(id) => write!(f, "group {id}"),
            TrafficFrom::LoadBalancer => f.write_str("the load balancer"),
        }
    }
}

/// One inbound rule: a TCP port from a source.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IngressRule {
    /// The TCP port.
    pub port: u16,
    /// Who may connect.
    pub from: TrafficFrom,
}

impl IngressRule {
    /// The rule split into one rule per address family (see [`TrafficFrom::atoms`]).
    pub fn atoms(&self) -> Vec<IngressRule> {
        self.from.atoms().into_iter().map(|from| IngressRule { port: self.port, from }).collect()
    }
}

impl std::fmt::Display for IngressRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "tcp/{} from {}", self.port, self.from)
    }
}

/// A firewall's name and rules (AWS: a security group; Kubernetes: a NetworkPolicy): the same in
/// what is asked ([`DesiredFirewall`]) and what is found ([`FirewallInfo`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirewallSpec {
    /// Its name, e.g. `app-alb-sg`.
    pub name: String,
    /// The only inbound traffic admitted (as found: the TCP single-port rules, sorted).
    pub ingress: Vec<IngressRule>,
}

/// A firewall as it should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredFirewall {
    /// Its name and rules.
    #[serde(flatten)]
    pub spec: FirewallSpec,
    /// A human description.
    pub description: String,
    /// Tags, ownership included.
    pub tags: Tags,
}

impl DesiredFirewall {
    /// The firewall as a provider that keeps exactly what was asked reports it, under `id`.
    pub fn as_made(&self, id: impl Into<String>) -> FirewallInfo {
        FirewallInfo { id: id.into(), spec: self.spec.clone(), other_rules: Vec::new() }
    }
}

/// A firewall as it is: its spec as read back, and what else it admits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirewallInfo {
    /// The provider's id.
    pub id: String,
    /// Its name and rules, as read back.
    #[serde(flatten)]
    pub spec: FirewallSpec,
    /// Inbound rules of other shapes (another protocol, a port range, a prefix list), in words, e.g.
    /// `udp/53 from 10.0.0.0/8`: never wanted, so always drift.
    #[serde(default)]
    pub other_rules: Vec<String>,
}

/// Why a provider without `feature` (a deploy lock, replica logs, autoscaling) cannot do `operation`
/// on `resource`: the default answer of the small traits' methods.
pub(crate) fn unsupported(operation: &str, resource: &str, feature: &str) -> crate::ProviderError {
    crate::ProviderError::new(
        operation,
        resource,
        crate::ErrorKind::Unsupported,
        format!("this provider has no {feature}"),
    )
}
