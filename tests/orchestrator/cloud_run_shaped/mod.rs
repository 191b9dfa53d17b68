//! A provider shaped like Google Cloud Run, written only against `scaling-core`'s public API: the
//! proof that a platform unlike the seed's recipe is a crate of its own, with no change to the core.
//!
//! Its shape, as Cloud Run's:
//! - **no cluster object**: services live in a project and region; `find_service` takes the implicit
//!   cluster ([`ClusterInfo::implicit`]);
//! - **revisions only through service updates**: `register_revision` is refused; the service rolls
//!   out a new revision of its template when the orchestrator asks for `(new revision)`;
//! - **no firewalls, backend pools or listeners**: traffic reaches the service through a **domain
//!   mapping** (the load balancer step), which binds the host names and needs the service to exist;
//! - **a certificate issued after binding**: the mapping's managed certificate is requested once the
//!   names are bound and is issued once the DNS records lead them to the mapping;
//! - a DNS zone of its own (Cloud DNS), records written as A/AAAA to the mapping's addresses.
//!
//! Deploy lock, logs, secrets and autoscaling it leaves to the traits' defaults (`Unsupported`).

mod compute;
mod dns;
mod routing;

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use scaling_core::providers::{
    Autoscaler, CertificateInfo, DnsRecord, LoadBalancerInfo, Locks, Logs, RepositoryInfo, RevisionInfo, SecretStore,
    ServiceInfo, StepGraph, Tags, ZoneInfo,
};
use scaling_core::{Capabilities, Capable, ErrorKind, Owner, ProviderError, ProviderResult, StepId};

/// Cloud Run's graph: the registry, the service (waiting for its image), the domain mapping after
/// the service, the zone and records after the mapping, the managed certificate after the mapping and
/// issued after the records.
pub const GRAPH: StepGraph = StepGraph::EMPTY
    .with_step(StepId::Repository)
    .with_step(StepId::Image)
    .with_edge(StepId::Image, StepId::Repository)
    .with_step(StepId::Service)
    .with_edge(StepId::Service, StepId::Image)
    .with_step(StepId::ServiceStable)
    .with_edge(StepId::ServiceStable, StepId::Service)
    .with_step(StepId::LoadBalancer)
    .with_edge(StepId::LoadBalancer, StepId::Service)
    .with_step(StepId::LoadBalancerActive)
    .with_edge(StepId::LoadBalancerActive, StepId::LoadBalancer)
    .with_step(StepId::Zone)
    .with_step(StepId::DnsRecords)
    .with_edge(StepId::DnsRecords, StepId::Zone)
    .with_edge(StepId::DnsRecords, StepId::LoadBalancer)
    .with_step(StepId::Certificate)
    .with_edge(StepId::Certificate, StepId::LoadBalancer)
    .with_step(StepId::CertificateIssued)
    .with_edge(StepId::CertificateIssued, StepId::Certificate)
    .with_step(StepId::Autoscaling)
    .with_edge(StepId::Autoscaling, StepId::Service)
    .with_step(StepId::Cleanup)
    .with_edge(StepId::Cleanup, StepId::DnsRecords)
    .with_edge(StepId::Cleanup, StepId::CertificateIssued);

/// What it is: [`GRAPH`], certificates issued once the names lead to the mapping, Cloud Run's nouns.
pub const CAPABILITIES: Capabilities = Capabilities::new(GRAPH)
    .with_certificates_after_binding()
    .with_endpoint(scaling_core::providers::EndpointShape::Addresses)
    .with_nouns(&[(StepId::LoadBalancer, "domain mapping"), (StepId::Service, "Cloud Run service")]);

/// The addresses a domain mapping answers on (documentation ranges: data, never dialled).
pub const MAPPING_ADDRESSES: [&str; 2] = ["192.0.2.10", "2001:db8::10"];

/// The platform, in memory.
#[derive(Default)]
pub struct CloudRunShaped {
    state: Mutex<State>,
}

/// A resource with its labels (Cloud Run's word for tags).
struct Labelled<T> {
    value: T,
    labels: Tags,
}

#[derive(Default)]
struct State {
    next: u64,
    repositories: BTreeMap<String, Labelled<RepositoryInfo>>,
    services: BTreeMap<String, Labelled<ServiceInfo>>,
    /// Every revision made, with the service it belongs to; oldest first.
    revisions: Vec<(String, Labelled<RevisionInfo>)>,
    /// Domain mappings by name, with the service each maps to.
    mappings: BTreeMap<String, (String, Labelled<LoadBalancerInfo>)>,
    /// Managed certificates by id, with the request key that made each.
    certificates: BTreeMap<String, (String, Labelled<CertificateInfo>)>,
    zones: BTreeMap<String, (ZoneInfo, Vec<DnsRecord>)>,
}

impl State {
    fn id(&mut self, kind: &str) -> String {
        self.next += 1;
        format!("{kind}-{:05}", self.next)
    }
}

impl CloudRunShaped {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Capable for CloudRunShaped {
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }
}

impl Locks for CloudRunShaped {}
impl Logs for CloudRunShaped {}
impl SecretStore for CloudRunShaped {}
impl Autoscaler for CloudRunShaped {}

/// The owner its labels name.
fn owner_of(labels: &Tags) -> Owner {
    Owner::new(labels.get(Owner::TAG).cloned().unwrap_or_default())
}

/// `found` when `owner` owns it; `NotOwned` when another does.
fn owned<'a, T>(found: Option<&'a Labelled<T>>, owner: &Owner, op: &str, name: &str) -> ProviderResult<Option<&'a T>> {
    match found {
        Some(item) if owner.owns(&item.labels) => Ok(Some(&item.value)),
        Some(_) => Err(error(op, name, ErrorKind::NotOwned, format!("{name} belongs to another app"))),
        None => Ok(None),
    }
}

fn error(op: &str, name: &str, kind: ErrorKind, message: impl Into<String>) -> ProviderError {
    ProviderError::new(op, name, kind, message.into())
}

/// What Cloud Run does not have.
fn lacks(op: &str, name: &str, what: &str) -> ProviderError {
    error(op, name, ErrorKind::Unsupported, format!("Cloud Run has no {what}"))
}
