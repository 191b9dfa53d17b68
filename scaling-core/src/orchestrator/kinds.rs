//! The descriptors of the resource kinds that converge by one `ensure` call: the repository, the two
//! firewalls, the load balancer, the backend pool, the cluster, the certificate, the revision and the
//! service. (The image, the zone, the listeners, the records, autoscaling and the waits have steps of
//! their own logic: pushes, the HTTP→HTTPS hand-over, record sets, removal when `[scaling]` goes.)

use std::sync::OnceLock;

use futures::future::BoxFuture;

use super::apply::Outputs;
use super::desired::{Desired, HTTPS_PORT, HTTP_PORT};
use super::diff::{self, Diff};
use super::observe::Observed;
use super::resource::{Ids, Resource};
use super::{Providers, StepId};
use crate::providers::{
    BackendInfo, BackendSpec, Capabilities, CertificateInfo, ClusterInfo, DesiredBackend, DesiredCertificate,
    DesiredCluster, DesiredFirewall, DesiredLoadBalancer, DesiredRepository, DesiredRevision, DesiredService,
    FirewallInfo, FirewallSpec, IngressRule, LoadBalancerInfo, LoadBalancerSpec, Owner, RepositoryInfo, RevisionInfo,
    ServiceInfo, TrafficFrom,
};
use crate::{Error, ProviderResult, Result};

/// The methods of a kind observed as one `Option` field of [`Observed`] and kept in the same-named
/// slot of apply's [`Outputs`].
macro_rules! kept_in {
    ($field:ident) => {
        fn observed<'o>(_: &Desired, o: &'o Observed) -> Option<&'o Self::Info> {
            o.$field.as_ref()
        }
        fn owned(o: &Observed) -> Vec<&Self::Info> {
            o.$field.iter().collect()
        }
        fn slot(out: &Outputs) -> &OnceLock<Self::Info> {
            &out.$field
        }
    };
}

/// The methods of a kind whose id is a field of its info, and whose name is the same field of its
/// info and of its desired value.
macro_rules! identified_by {
    ($($id:ident).+, $($name:ident).+) => {
        fn id(info: &Self::Info) -> &str {
            &info.$($id).+
        }
        fn name(_: &Desired, wanted: &Self::Wanted) -> String {
            wanted.$($name).+.clone()
        }
        fn owned_name(info: &Self::Info) -> String {
            info.$($name).+.clone()
        }
    };
}

/// The calls that make and delete a kind: `ensure` and `delete` of one provider, given the desired
/// value and the owned one.
macro_rules! made_by {
    ($provider:ident . $ensure:ident, $delete:ident) => {
        fn ensure<'a>(p: &'a Providers, wanted: &'a Self::Wanted) -> BoxFuture<'a, ProviderResult<Self::Info>> {
            p.$provider.$ensure(wanted)
        }
        fn delete<'a>(p: &'a Providers, owner: &'a Owner, info: &'a Self::Info) -> BoxFuture<'a, ProviderResult<()>> {
            p.$provider.$delete(owner, info)
        }
    };
}

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
    visitor.kind::<Service>();
}

/// The app's image repository.
pub(crate) struct Repository;

impl Resource for Repository {
    const STEP: StepId = StepId::Repository;
    type Wanted = DesiredRepository;
    type Info = RepositoryInfo;
    kept_in!(repository);
    identified_by!(name, name);

    fn desired(d: &Desired, _: &dyn Ids) -> Result<DesiredRepository> {
        Ok(DesiredRepository { name: d.names.repository.clone(), tags: d.tags.clone() })
    }
    fn diff(_: &Observed, _: &Desired, wanted: &DesiredRepository, observed: Option<&RepositoryInfo>) -> Diff {
        diff::repository(wanted, observed)
    }
    fn ensure<'a>(p: &'a Providers, wanted: &'a DesiredRepository) -> BoxFuture<'a, ProviderResult<RepositoryInfo>> {
        p.registry.ensure_repository(wanted)
    }
    fn shown(info: &RepositoryInfo) -> Option<String> {
        Some(info.uri.clone())
    }
    fn kept_by(options: &super::DestroyOptions) -> Option<&'static str> {
        (!options.delete_images).then_some("pass --delete-images to delete it and its images")
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
    kept_in!(load_balancer_firewall);
    identified_by!(id, spec.name);
    made_by!(load_balancer.ensure_firewall, delete_firewall);

    /// HTTP from anywhere, and HTTPS with a certificate.
    fn desired(d: &Desired, _: &dyn Ids) -> Result<DesiredFirewall> {
        let mut ingress = vec![IngressRule { port: HTTP_PORT, from: TrafficFrom::Anywhere }];
        if d.spec.https() {
            ingress.push(IngressRule { port: HTTPS_PORT, from: TrafficFrom::Anywhere });
        }
        Ok(DesiredFirewall {
            spec: FirewallSpec { name: d.names.load_balancer_firewall.clone(), ingress },
            description: format!("{}: web traffic to the load balancer", d.names.app),
            tags: d.tags.clone(),
        })
    }
    fn diff(_: &Observed, _: &Desired, wanted: &DesiredFirewall, observed: Option<&FirewallInfo>) -> Diff {
        diff::security_group(wanted, observed)
    }
}

/// The load balancer, behind its firewall where it has one.
pub(crate) struct LoadBalancer;

impl Resource for LoadBalancer {
    const STEP: StepId = StepId::LoadBalancer;
    type Wanted = DesiredLoadBalancer;
    type Info = LoadBalancerInfo;
    kept_in!(load_balancer);
    identified_by!(id, spec.name);
    made_by!(load_balancer.ensure_load_balancer, delete_load_balancer);

    fn desired(d: &Desired, ids: &dyn Ids) -> Result<DesiredLoadBalancer> {
        Ok(DesiredLoadBalancer {
            spec: LoadBalancerSpec {
                name: d.names.load_balancer.clone(),
                idle_timeout: d.spec.load_balancer.idle_timeout,
            },
            firewall_id: ids.id(StepId::LoadBalancerFirewall)?,
            drop_invalid_header_fields: true,
            hosts: d.hosts(),
            tags: d.tags.clone(),
        })
    }
    fn diff(_: &Observed, _: &Desired, wanted: &DesiredLoadBalancer, observed: Option<&LoadBalancerInfo>) -> Diff {
        diff::load_balancer(wanted, observed)
    }
    fn shown(info: &LoadBalancerInfo) -> Option<String> {
        Some(info.endpoint.to_string())
    }
}

/// The backend pool the load balancer sends to.
pub(crate) struct Backend;

/// The backend pool `spec` asks for, named `names.backend` (also what the conformance kit tampers
/// with).
pub(crate) fn desired_backend(
    spec: &crate::Spec,
    names: &crate::ResourceNames,
    tags: crate::providers::Tags,
) -> DesiredBackend {
    let lb = &spec.load_balancer;
    let backend = BackendSpec {
        name: names.backend.clone(),
        port: spec.app.port,
        health_check: spec.health_check.clone(),
        drain_time: lb.drain_time,
        stickiness: lb.stickiness.then_some(lb.stickiness_duration),
        algorithm: lb.algorithm,
    };
    DesiredBackend { spec: backend, tags }
}

impl Resource for Backend {
    const STEP: StepId = StepId::Backend;
    type Wanted = DesiredBackend;
    type Info = BackendInfo;
    kept_in!(backend);
    identified_by!(id, spec.name);
    made_by!(load_balancer.ensure_backend, delete_backend);

    fn desired(d: &Desired, _: &dyn Ids) -> Result<DesiredBackend> {
        Ok(desired_backend(&d.spec, &d.names, d.tags.clone()))
    }
    fn diff(_: &Observed, _: &Desired, wanted: &DesiredBackend, observed: Option<&BackendInfo>) -> Diff {
        diff::backend(wanted, observed)
    }
    fn shown(_: &BackendInfo) -> Option<String> {
        None
    }
}

/// The cluster the service runs in (where the providers have one).
pub(crate) struct Cluster;

impl Resource for Cluster {
    const STEP: StepId = StepId::Cluster;
    type Wanted = DesiredCluster;
    type Info = ClusterInfo;
    kept_in!(cluster);
    identified_by!(id, name);
    made_by!(cluster.ensure_cluster, delete_cluster);

    fn desired(d: &Desired, _: &dyn Ids) -> Result<DesiredCluster> {
        Ok(DesiredCluster { name: d.names.cluster.clone(), tags: d.tags.clone() })
    }
    /// A cluster has nothing to change: it exists or not.
    fn diff(_: &Observed, _: &Desired, _: &DesiredCluster, observed: Option<&ClusterInfo>) -> Diff {
        if observed.is_some() {
            Diff::same()
        } else {
            Diff::create()
        }
    }
    fn shown(_: &ClusterInfo) -> Option<String> {
        None
    }
}

/// The replicas' firewall: only the container port, only from the load balancer.
pub(crate) struct ReplicaFirewall;

impl Resource for ReplicaFirewall {
    const STEP: StepId = StepId::ReplicaFirewall;
    type Wanted = DesiredFirewall;
    type Info = FirewallInfo;
    kept_in!(replica_firewall);
    identified_by!(id, spec.name);
    made_by!(cluster.ensure_replica_firewall, delete_replica_firewall);

    /// Admits the load balancer by its firewall's id where it has one, else symbolically for the
    /// provider to resolve.
    fn desired(d: &Desired, ids: &dyn Ids) -> Result<DesiredFirewall> {
        let from = ids.id(StepId::LoadBalancerFirewall)?.map_or(TrafficFrom::LoadBalancer, TrafficFrom::Group);
        Ok(DesiredFirewall {
            spec: FirewallSpec {
                name: d.names.replica_firewall.clone(),
                ingress: vec![IngressRule { port: d.spec.app.port, from }],
            },
            description: format!("{}: only the load balancer, only the container port", d.names.app),
            tags: d.tags.clone(),
        })
    }
    fn diff(_: &Observed, _: &Desired, wanted: &DesiredFirewall, observed: Option<&FirewallInfo>) -> Diff {
        diff::security_group(wanted, observed)
    }
}

/// The certificate of the spec's host names (with HTTPS).
pub(crate) struct Certificate;

impl Resource for Certificate {
    const STEP: StepId = StepId::Certificate;
    type Wanted = DesiredCertificate;
    type Info = CertificateInfo;
    made_by!(certificate.request_certificate, delete_certificate);

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
        format!("{} ({})", info.spec.domain, info.id)
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
    kept_in!(revision);
    identified_by!(id, spec.family);

    fn desired(d: &Desired, ids: &dyn Ids) -> Result<DesiredRevision> {
        Ok(d.revision(&ids.image()?))
    }
    fn diff(_: &Observed, d: &Desired, wanted: &DesiredRevision, observed: Option<&RevisionInfo>) -> Diff {
        let image_matches = observed.is_some_and(|r| d.image.matches(&r.spec.image));
        diff::revision(wanted, image_matches, observed)
    }
    fn ensure<'a>(p: &'a Providers, wanted: &'a DesiredRevision) -> BoxFuture<'a, ProviderResult<RevisionInfo>> {
        p.cluster.register_revision(wanted)
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

/// The service: its replicas of the revision, in the cluster, behind the backend pool.
pub(crate) struct Service;

impl Resource for Service {
    const STEP: StepId = StepId::Service;
    type Wanted = DesiredService;
    type Info = ServiceInfo;
    kept_in!(service);
    identified_by!(spec.name, spec.name);
    made_by!(cluster.ensure_service, delete_service);

    /// With a rollout asked for again when the last one failed (`diff::restart_reason`).
    fn desired(d: &Desired, ids: &dyn Ids) -> Result<DesiredService> {
        let mut wanted = d.service(ids)?;
        wanted.restart_rollout = ids.observed().service.as_ref().and_then(diff::restart_reason).is_some();
        Ok(wanted)
    }
    /// Where the service makes its revisions itself, a new one is the first reason it changes, its
    /// other changes (the count, say) after it.
    fn diff(o: &Observed, d: &Desired, wanted: &DesiredService, observed: Option<&ServiceInfo>) -> Diff {
        let (Some(template), Some(running)) = (&wanted.template, observed) else {
            return diff::service(wanted, observed);
        };
        let revision = Revision::diff(o, d, template, Revision::observed(d, o));
        if !revision.action.mutates() {
            return diff::service(wanted, observed);
        }
        let mut same_revision = wanted.clone();
        same_revision.spec.revision_id = running.spec.revision_id.clone();
        let others = diff::service(&same_revision, observed);
        let reason = match others.action.mutates() {
            true => format!("new revision: {}; {}", revision.reason, others.reason),
            false => format!("new revision: {}", revision.reason),
        };
        Diff { action: super::diff::Action::Update, reason }
    }
    fn shown(_: &ServiceInfo) -> Option<String> {
        None
    }
}
