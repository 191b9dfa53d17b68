//! The descriptors of the resource kinds that converge by one `ensure` call: the repository, the two
//! firewalls, the load balancer, the backend pool, the cluster, the certificate and the revision. (The
//! image, the listeners, the records, the service and autoscaling have steps of their own logic:
//! pushes, the HTTP→HTTPS hand-over, record sets, rollouts.)

use std::sync::OnceLock;

use futures::future::BoxFuture;

use super::apply::Outputs;
use super::desired::Desired;
use super::diff::{self, Diff};
use super::observe::Observed;
use super::resource::{Ids, Resource};
use super::{Providers, StepId};
use crate::providers::{
    BackendInfo, Capabilities, CertificateInfo, ClusterInfo, DesiredBackend, DesiredCertificate, DesiredCluster,
    DesiredFirewall, DesiredLoadBalancer, DesiredRepository, DesiredRevision, FirewallInfo, LoadBalancerInfo, Owner,
    RepositoryInfo, RevisionInfo,
};
use crate::{Error, ProviderResult, Result};

/// Something done for each kind, generically.
pub(crate) trait EachKind {
    /// Called once per kind.
    fn kind<K: Resource>(&mut self);
}

/// Visits every kind of this file: the one list plan, apply, destroy and the owned list go through
/// (adding a kind is a descriptor and a line here).
pub(crate) fn each_kind(visitor: &mut impl EachKind) {
    visitor.kind::<Repository>();
    visitor.kind::<Certificate>();
    visitor.kind::<LoadBalancerFirewall>();
    visitor.kind::<LoadBalancer>();
    visitor.kind::<Backend>();
    visitor.kind::<Cluster>();
    visitor.kind::<ReplicaFirewall>();
    visitor.kind::<Revision>();
}

/// The app's image repository.
pub(crate) struct Repository;

impl Resource for Repository {
    const STEP: StepId = StepId::Repository;
    type Wanted = DesiredRepository;
    type Info = RepositoryInfo;

    fn desired(d: &Desired, _: &dyn Ids) -> Result<DesiredRepository> {
        Ok(d.repository())
    }
    fn name(_: &Desired, wanted: &DesiredRepository) -> String {
        wanted.name.clone()
    }
    fn observed<'o>(_: &Desired, o: &'o Observed) -> Option<&'o RepositoryInfo> {
        o.repository.as_ref()
    }
    fn diff(_: &Observed, _: &Desired, wanted: &DesiredRepository, observed: Option<&RepositoryInfo>) -> Diff {
        diff::repository(wanted, observed)
    }
    fn ensure<'a>(p: &'a Providers, wanted: &'a DesiredRepository) -> BoxFuture<'a, ProviderResult<RepositoryInfo>> {
        p.registry.ensure_repository(wanted)
    }
    fn id(info: &RepositoryInfo) -> &str {
        &info.name
    }
    fn shown(info: &RepositoryInfo) -> Option<String> {
        Some(info.uri.clone())
    }
    fn slot(out: &Outputs) -> &OnceLock<RepositoryInfo> {
        &out.repository
    }
    fn owned(o: &Observed) -> Vec<&RepositoryInfo> {
        o.repository.iter().collect()
    }
    fn owned_name(info: &RepositoryInfo) -> String {
        info.name.clone()
    }
    fn delete<'a>(p: &'a Providers, owner: &'a Owner, info: &'a RepositoryInfo) -> BoxFuture<'a, ProviderResult<()>> {
        p.registry.delete_repository(owner, info, true)
    }
}

/// The firewall in front of the load balancer (80/443 from anywhere).
pub(crate) struct LoadBalancerFirewall;

impl Resource for LoadBalancerFirewall {
    const STEP: StepId = StepId::LoadBalancerFirewall;
    type Wanted = DesiredFirewall;
    type Info = FirewallInfo;

    fn desired(d: &Desired, _: &dyn Ids) -> Result<DesiredFirewall> {
        Ok(d.load_balancer_firewall())
    }
    fn name(_: &Desired, wanted: &DesiredFirewall) -> String {
        wanted.name.clone()
    }
    fn observed<'o>(_: &Desired, o: &'o Observed) -> Option<&'o FirewallInfo> {
        o.load_balancer_firewall.as_ref()
    }
    fn diff(_: &Observed, _: &Desired, wanted: &DesiredFirewall, observed: Option<&FirewallInfo>) -> Diff {
        diff::security_group(wanted, observed)
    }
    fn ensure<'a>(p: &'a Providers, wanted: &'a DesiredFirewall) -> BoxFuture<'a, ProviderResult<FirewallInfo>> {
        p.load_balancer.ensure_firewall(wanted)
    }
    fn id(info: &FirewallInfo) -> &str {
        &info.id
    }
    fn slot(out: &Outputs) -> &OnceLock<FirewallInfo> {
        &out.load_balancer_firewall
    }
    fn owned(o: &Observed) -> Vec<&FirewallInfo> {
        o.load_balancer_firewall.iter().collect()
    }
    fn owned_name(info: &FirewallInfo) -> String {
        info.name.clone()
    }
    fn delete<'a>(p: &'a Providers, owner: &'a Owner, info: &'a FirewallInfo) -> BoxFuture<'a, ProviderResult<()>> {
        p.load_balancer.delete_firewall(owner, info)
    }
}

/// The load balancer, behind its firewall where it has one.
pub(crate) struct LoadBalancer;

impl Resource for LoadBalancer {
    const STEP: StepId = StepId::LoadBalancer;
    type Wanted = DesiredLoadBalancer;
    type Info = LoadBalancerInfo;

    fn desired(d: &Desired, ids: &dyn Ids) -> Result<DesiredLoadBalancer> {
        Ok(d.load_balancer(ids.id(StepId::LoadBalancerFirewall)?.as_deref()))
    }
    fn name(_: &Desired, wanted: &DesiredLoadBalancer) -> String {
        wanted.name.clone()
    }
    fn observed<'o>(_: &Desired, o: &'o Observed) -> Option<&'o LoadBalancerInfo> {
        o.load_balancer.as_ref()
    }
    fn diff(_: &Observed, _: &Desired, wanted: &DesiredLoadBalancer, observed: Option<&LoadBalancerInfo>) -> Diff {
        diff::load_balancer(wanted, observed)
    }
    fn ensure<'a>(
        p: &'a Providers,
        wanted: &'a DesiredLoadBalancer,
    ) -> BoxFuture<'a, ProviderResult<LoadBalancerInfo>> {
        p.load_balancer.ensure_load_balancer(wanted)
    }
    fn id(info: &LoadBalancerInfo) -> &str {
        &info.id
    }
    fn shown(info: &LoadBalancerInfo) -> Option<String> {
        Some(info.endpoint.to_string())
    }
    fn slot(out: &Outputs) -> &OnceLock<LoadBalancerInfo> {
        &out.load_balancer
    }
    fn owned(o: &Observed) -> Vec<&LoadBalancerInfo> {
        o.load_balancer.iter().collect()
    }
    fn owned_name(info: &LoadBalancerInfo) -> String {
        info.name.clone()
    }
    fn delete<'a>(p: &'a Providers, owner: &'a Owner, info: &'a LoadBalancerInfo) -> BoxFuture<'a, ProviderResult<()>> {
        p.load_balancer.delete_load_balancer(owner, info)
    }
}

/// The backend pool the load balancer sends to.
pub(crate) struct Backend;

impl Resource for Backend {
    const STEP: StepId = StepId::Backend;
    type Wanted = DesiredBackend;
    type Info = BackendInfo;

    fn desired(d: &Desired, _: &dyn Ids) -> Result<DesiredBackend> {
        Ok(d.backend())
    }
    fn name(_: &Desired, wanted: &DesiredBackend) -> String {
        wanted.spec.name.clone()
    }
    fn observed<'o>(_: &Desired, o: &'o Observed) -> Option<&'o BackendInfo> {
        o.backend.as_ref()
    }
    fn diff(_: &Observed, _: &Desired, wanted: &DesiredBackend, observed: Option<&BackendInfo>) -> Diff {
        diff::backend(wanted, observed)
    }
    fn ensure<'a>(p: &'a Providers, wanted: &'a DesiredBackend) -> BoxFuture<'a, ProviderResult<BackendInfo>> {
        p.load_balancer.ensure_backend(wanted)
    }
    fn id(info: &BackendInfo) -> &str {
        &info.id
    }
    fn shown(_: &BackendInfo) -> Option<String> {
        None
    }
    fn slot(out: &Outputs) -> &OnceLock<BackendInfo> {
        &out.backend
    }
    fn owned(o: &Observed) -> Vec<&BackendInfo> {
        o.backend.iter().collect()
    }
    fn owned_name(info: &BackendInfo) -> String {
        info.spec.name.clone()
    }
    fn delete<'a>(p: &'a Providers, owner: &'a Owner, info: &'a BackendInfo) -> BoxFuture<'a, ProviderResult<()>> {
        p.load_balancer.delete_backend(owner, info)
    }
}

/// The cluster the service runs in (where the providers have one).
pub(crate) struct Cluster;

impl Resource for Cluster {
    const STEP: StepId = StepId::Cluster;
    type Wanted = DesiredCluster;
    type Info = ClusterInfo;

    fn desired(d: &Desired, _: &dyn Ids) -> Result<DesiredCluster> {
        Ok(d.cluster())
    }
    fn name(_: &Desired, wanted: &DesiredCluster) -> String {
        wanted.name.clone()
    }
    fn observed<'o>(_: &Desired, o: &'o Observed) -> Option<&'o ClusterInfo> {
        o.cluster.as_ref()
    }
    /// A cluster has nothing to change: it exists or not.
    fn diff(_: &Observed, _: &Desired, _: &DesiredCluster, observed: Option<&ClusterInfo>) -> Diff {
        if observed.is_some() {
            Diff::same()
        } else {
            Diff::create()
        }
    }
    fn ensure<'a>(p: &'a Providers, wanted: &'a DesiredCluster) -> BoxFuture<'a, ProviderResult<ClusterInfo>> {
        p.cluster.ensure_cluster(wanted)
    }
    fn id(info: &ClusterInfo) -> &str {
        &info.id
    }
    fn shown(_: &ClusterInfo) -> Option<String> {
        None
    }
    fn slot(out: &Outputs) -> &OnceLock<ClusterInfo> {
        &out.cluster
    }
    fn owned(o: &Observed) -> Vec<&ClusterInfo> {
        o.cluster.iter().collect()
    }
    fn owned_name(info: &ClusterInfo) -> String {
        info.name.clone()
    }
    fn delete<'a>(p: &'a Providers, owner: &'a Owner, info: &'a ClusterInfo) -> BoxFuture<'a, ProviderResult<()>> {
        p.cluster.delete_cluster(owner, info)
    }
}

/// The replicas' firewall: only the container port, only from the load balancer.
pub(crate) struct ReplicaFirewall;

impl Resource for ReplicaFirewall {
    const STEP: StepId = StepId::ReplicaFirewall;
    type Wanted = DesiredFirewall;
    type Info = FirewallInfo;

    fn desired(d: &Desired, ids: &dyn Ids) -> Result<DesiredFirewall> {
        Ok(d.replica_firewall(ids.id(StepId::LoadBalancerFirewall)?.as_deref()))
    }
    fn name(_: &Desired, wanted: &DesiredFirewall) -> String {
        wanted.name.clone()
    }
    fn observed<'o>(_: &Desired, o: &'o Observed) -> Option<&'o FirewallInfo> {
        o.replica_firewall.as_ref()
    }
    fn diff(_: &Observed, _: &Desired, wanted: &DesiredFirewall, observed: Option<&FirewallInfo>) -> Diff {
        diff::security_group(wanted, observed)
    }
    fn ensure<'a>(p: &'a Providers, wanted: &'a DesiredFirewall) -> BoxFuture<'a, ProviderResult<FirewallInfo>> {
        p.cluster.ensure_replica_firewall(wanted)
    }
    fn id(info: &FirewallInfo) -> &str {
        &info.id
    }
    fn slot(out: &Outputs) -> &OnceLock<FirewallInfo> {
        &out.replica_firewall
    }
    fn owned(o: &Observed) -> Vec<&FirewallInfo> {
        o.replica_firewall.iter().collect()
    }
    fn owned_name(info: &FirewallInfo) -> String {
        info.name.clone()
    }
    fn delete<'a>(p: &'a Providers, owner: &'a Owner, info: &'a FirewallInfo) -> BoxFuture<'a, ProviderResult<()>> {
        p.cluster.delete_replica_firewall(owner, info)
    }
}

/// The certificate of the spec's host names (with HTTPS).
pub(crate) struct Certificate;

impl Resource for Certificate {
    const STEP: StepId = StepId::Certificate;
    type Wanted = DesiredCertificate;
    type Info = CertificateInfo;

    fn wanted(d: &Desired) -> bool {
        d.spec.https()
    }
    fn desired(d: &Desired, _: &dyn Ids) -> Result<DesiredCertificate> {
        d.certificate().ok_or(Error::Internal { step: StepId::Certificate, missing: "https domain" })
    }
    fn name(d: &Desired, _: &DesiredCertificate) -> String {
        d.spec.hostnames().join(", ")
    }
    /// The owned one that covers the names and is not failed, newest first.
    fn observed<'o>(d: &Desired, o: &'o Observed) -> Option<&'o CertificateInfo> {
        d.certificate().and_then(|wanted| diff::matching_certificate(&wanted, &o.certificates))
    }
    /// Against every owned one: a failed or due one is replaced, one of other names too.
    fn diff(o: &Observed, _: &Desired, wanted: &DesiredCertificate, _: Option<&CertificateInfo>) -> Diff {
        diff::certificate(wanted, &o.certificates)
    }
    fn ensure<'a>(p: &'a Providers, wanted: &'a DesiredCertificate) -> BoxFuture<'a, ProviderResult<CertificateInfo>> {
        p.certificate.request_certificate(wanted)
    }
    fn id(info: &CertificateInfo) -> &str {
        &info.id
    }
    fn slot(out: &Outputs) -> &OnceLock<CertificateInfo> {
        &out.certificate
    }
    fn owned(o: &Observed) -> Vec<&CertificateInfo> {
        o.certificates.iter().collect()
    }
    fn owned_name(info: &CertificateInfo) -> String {
        format!("{} ({})", info.domain, info.id)
    }
    fn delete<'a>(p: &'a Providers, owner: &'a Owner, info: &'a CertificateInfo) -> BoxFuture<'a, ProviderResult<()>> {
        p.certificate.delete_certificate(owner, info)
    }
}

/// The revision the service runs: the image, resources, environment and probe.
pub(crate) struct Revision;

impl Resource for Revision {
    const STEP: StepId = StepId::Revision;
    const PLACEHOLDER: &'static str = "(new revision)";
    const IMMUTABLE: bool = true;
    type Wanted = DesiredRevision;
    type Info = RevisionInfo;

    fn desired(d: &Desired, ids: &dyn Ids) -> Result<DesiredRevision> {
        Ok(d.revision(&ids.image()?))
    }
    fn name(d: &Desired, _: &DesiredRevision) -> String {
        d.names.revision.clone()
    }
    /// The newest registered, or the one the service runs.
    fn observed<'o>(_: &Desired, o: &'o Observed) -> Option<&'o RevisionInfo> {
        o.revision.as_ref()
    }
    fn diff(_: &Observed, d: &Desired, wanted: &DesiredRevision, observed: Option<&RevisionInfo>) -> Diff {
        let image_matches = observed.is_some_and(|r| d.image.matches(&r.spec.image));
        diff::revision(wanted, image_matches, observed)
    }
    fn ensure<'a>(p: &'a Providers, wanted: &'a DesiredRevision) -> BoxFuture<'a, ProviderResult<RevisionInfo>> {
        p.cluster.register_revision(wanted)
    }
    fn id(info: &RevisionInfo) -> &str {
        &info.id
    }
    fn slot(out: &Outputs) -> &OnceLock<RevisionInfo> {
        &out.revision
    }
    fn owned(o: &Observed) -> Vec<&RevisionInfo> {
        o.revision.iter().collect()
    }
    fn owned_name(info: &RevisionInfo) -> String {
        info.spec.family.clone()
    }
    /// Without a revision step the revisions are the service's (made by its updates): they go with
    /// it, in its round.
    fn teardown_step(capabilities: &Capabilities) -> StepId {
        match capabilities.has_step(StepId::Revision) {
            true => StepId::Revision,
            false => StepId::Service,
        }
    }
    fn delete<'a>(p: &'a Providers, owner: &'a Owner, info: &'a RevisionInfo) -> BoxFuture<'a, ProviderResult<()>> {
        p.cluster.deregister_revisions(owner, &info.spec.family)
    }
}
