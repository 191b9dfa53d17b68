//! The in-memory cloud's tables.

use std::collections::{BTreeMap, BTreeSet};

use tokio::time::Instant;

use super::{not_owned, Latency};
use scaling_core::providers::{
    BackendInfo, CertificateInfo, ClusterInfo, DnsRecord, FirewallInfo, ListenerInfo, LoadBalancerInfo, Owner,
    RepositoryInfo, RevisionInfo, ServiceInfo, Tags, ZoneInfo,
};
use scaling_core::Platform;
use scaling_core::ProviderResult;

/// A value with its tags.
#[derive(Debug, Clone)]
pub(crate) struct Tagged<T> {
    pub info: T,
    pub tags: Tags,
}

#[derive(Debug, Clone)]
pub(crate) struct Repository {
    pub info: RepositoryInfo,
    pub tags: Tags,
    pub images: BTreeSet<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Balancer {
    pub info: LoadBalancerInfo,
    pub tags: Tags,
    pub active_at: Instant,
}

#[derive(Debug, Clone)]
pub(crate) struct Listener {
    pub load_balancer_id: String,
    pub info: ListenerInfo,
    pub tags: Tags,
}

#[derive(Debug, Clone)]
pub(crate) struct StoredRevision {
    pub info: RevisionInfo,
    pub tags: Tags,
    pub active: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub info: ServiceInfo,
    pub tags: Tags,
    pub stable_at: Instant,
    pub running_before: u32,
    /// Why its rollout fails once it would be stable (as a circuit breaker stops a first rollout).
    pub failing: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Zone {
    pub info: ZoneInfo,
    pub records: Vec<DnsRecord>,
    pub delegated: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Certificate {
    pub info: CertificateInfo,
    pub tags: Tags,
    pub token: String,
    /// When every validation record existed in a zone (and which zone).
    pub validated: Option<(Instant, String)>,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub capabilities: CloudUnlessSet,
    pub latency: Latency,
    pub build_platform: Option<Platform>,
    pub next_id: u64,
    pub repositories: BTreeMap<String, Repository>,
    pub firewalls: BTreeMap<String, Tagged<FirewallInfo>>,
    pub load_balancers: BTreeMap<String, Balancer>,
    pub backends: BTreeMap<String, Tagged<BackendInfo>>,
    pub listeners: BTreeMap<String, Listener>,
    pub clusters: BTreeMap<String, Tagged<ClusterInfo>>,
    pub revisions: Vec<StoredRevision>,
    pub services: BTreeMap<String, Service>,
    pub zones: BTreeMap<String, Zone>,
    pub certificates: BTreeMap<String, Certificate>,
    /// Deploy locks, by app.
    pub locks: BTreeMap<String, scaling_core::providers::LockHolder>,
    /// Autoscaling, by service name.
    pub autoscalers: BTreeMap<String, Tagged<scaling_core::providers::AutoscalingInfo>>,
    /// Secret references that do not exist (every other one does).
    pub missing_secrets: BTreeSet<String>,
    /// What replicas wrote, by service, in order.
    pub logs: BTreeMap<String, Vec<scaling_core::providers::LogLine>>,
    /// Rollouts started while this is set fail with it (see [`crate::InMemoryCloud::fail_rollouts`]).
    pub failing_rollouts: Option<String>,
}

impl State {
    /// A fresh id, e.g. `sg-0007`.
    pub fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}-{:04}", self.next_id)
    }
}

/// The owner the tags name (the ownership tag's value; empty when untagged).
pub(crate) fn owner_of(tags: &Tags) -> Owner {
    Owner::new(tags.get(Owner::TAG).cloned().unwrap_or_default())
}

/// The key of the row named `name` in `table` (each row's name and tags read by `named`): `Some` when
/// `owner` owns it, `NotOwned` when someone else does.
pub(crate) fn owned_key<'a, V: 'a>(
    table: impl IntoIterator<Item = (&'a String, &'a V)>,
    named: impl Fn(&'a V) -> (&'a str, &'a Tags),
    owner: &Owner,
    name: &str,
    operation: &str,
) -> ProviderResult<Option<String>> {
    for (key, row) in table {
        let (row_name, tags) = named(row);
        if row_name == name {
            return if owner.owns(tags) { Ok(Some(key.clone())) } else { Err(not_owned(operation, name, owner)) };
        }
    }
    Ok(None)
}

/// Refuses to touch an item `owner` does not own.
pub(crate) fn check_owner(tags: &Tags, owner: &Owner, operation: &str, resource: &str) -> ProviderResult<()> {
    if owner.owns(tags) {
        Ok(())
    } else {
        Err(not_owned(operation, resource, owner))
    }
}

/// The in-memory cloud's capabilities: a cloud with every step ([`Capabilities::CLOUD`]) unless a
/// test sets others (`InMemoryCloud::with_capabilities`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CloudUnlessSet(pub scaling_core::providers::Capabilities);

impl Default for CloudUnlessSet {
    fn default() -> Self {
        Self(scaling_core::providers::Capabilities::CLOUD)
    }
}

impl std::ops::Deref for CloudUnlessSet {
    type Target = scaling_core::providers::Capabilities;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}
