//! The descriptors of the resource kinds that converge by one `ensure` call: the repository, the two
//! firewalls, the load balancer, the backend pool, the cluster, the certificate, the revision and the
//! service. Each says how it is read, wanted, compared, made and deleted; observe, plan, apply and
//! destroy go through [`each_kind`], and what is observed or made of a kind is kept by kind
//! ([`super::kind_store`]), so adding a kind is its descriptor and its line there. (The image, the
//! zone, the listeners, the records, autoscaling and the waits have steps of their own logic: pushes,
//! the HTTP→HTTPS hand-over, record sets, removal when `[scaling]` goes.)
use futures::future::BoxFuture;

use super::desired::{Desired, HTTPS_PORT, HTTP_PORT};
use super::diff::{self, Diff};
use super::observe::{Observed, Reach};
use super::resource::{Ids, Resource};
use super::{Providers, StepId};
use crate::providers::{
    BackendInfo, BackendSpec, Capabilities, CertificateInfo, ClusterInfo, DesiredBackend, DesiredCertificate,
    DesiredCluster, DesiredFirewall, DesiredLoadBalancer, DesiredRepository, DesiredRevision, DesiredService,
    FirewallInfo, FirewallSpec, IngressRule, LoadBalancerInfo, LoadBalancerSpec, Owner, RepositoryInfo, RevisionInfo,
    ServiceInfo, TrafficFrom,
};
use crate::{Error, ProviderResult, Result};

/// The read of a kind found by owner and name: `find` of one provider, with the name `names` gives.
macro_rules! found_by {
    ($provider:ident . $find:ident, $name:ident) => {
        fn find<'a>(
            p: &'a Providers,
            d: &'a Desired,
            _: &'a Observed,
        ) -> BoxFuture<'a, ProviderResult<Vec<Self::Info>>> {
            Box::pin(async move { Ok(p.$provider.$find(&d.owner, &d.names.$name).await?.into_iter().collect()) })
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
    /// The image is looked up in it.
    const READ_IN_A_CHAIN: bool = true;
    found_by!(registry.find_repository, repository);
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
    found_by!(load_balancer.find_firewall, load_balancer_firewall);
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
    /// Its listeners are read from it.
    const READ_IN_A_CHAIN: bool = true;
    found_by!(load_balancer.find_load_balancer, load_balancer);
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
    /// Its targets' health is read from it (for `status`).
    const READ_IN_A_CHAIN: bool = true;
    found_by!(load_balancer.find_backend, backend);
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
    /// The service is read in it.
    const READ_IN_A_CHAIN: bool = true;
    found_by!(cluster.find_cluster, cluster);
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
    found_by!(cluster.find_replica_firewall, replica_firewall);
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
    /// The zone of a domain just removed is found through them, and they are read again when a
    /// listener holds one of another domain.
    const READ_IN_A_CHAIN: bool = true;

    /// Those of the spec's domain; without one (removed), or for destroy, every owned one.
    fn find<'a>(p: &'a Providers, d: &'a Desired, o: &'a Observed) -> BoxFuture<'a, ProviderResult<Vec<Self::Info>>> {
        let domains: Vec<String> = match o.reach {
            Reach::Spec | Reach::Status => d.apex().map(str::to_string).into_iter().collect(),
            Reach::Everything => Vec::new(),
        };
        Box::pin(async move { p.certificate.find_certificates(&d.owner, &domains).await })
    }
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
        d.certificate().and_then(|wanted| diff::matching_certificate(&wanted, o.all::<Self>()))
    }
    /// Against every owned one: a failed or due one is replaced, one of other names too.
    fn diff(o: &Observed, _: &Desired, wanted: &DesiredCertificate, _: Option<&CertificateInfo>) -> Diff {
        diff::certificate(wanted, o.all::<Self>())
    }
    fn id(info: &CertificateInfo) -> &str {
        &info.id
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
    found_by!(cluster.find_revision, revision);
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
    /// Read with or without a revision step: without one, the revision the service runs is still
    /// what its template is compared with.
    fn read_with(_: &Capabilities) -> bool {
        true
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
    /// It is read in its cluster, once that is read.
    const READ_IN_A_CHAIN: bool = true;
    identified_by!(spec.name, spec.name);
    made_by!(cluster.ensure_service, delete_service);

    /// In the observed cluster, or the implicit one of providers without a cluster step.
    fn find<'a>(p: &'a Providers, d: &'a Desired, o: &'a Observed) -> BoxFuture<'a, ProviderResult<Vec<Self::Info>>> {
        let cluster = d.cluster_or_implicit(o.one::<Cluster>());
        Box::pin(async move {
            let Some(cluster) = cluster else { return Ok(Vec::new()) };
            Ok(p.cluster.find_service(&d.owner, &cluster, &d.names.service).await?.into_iter().collect())
        })
    }

    /// With a rollout asked for again when the last one failed (`diff::restart_reason`).
    fn desired(d: &Desired, ids: &dyn Ids) -> Result<DesiredService> {
        let mut wanted = d.service(ids)?;
        wanted.restart_rollout = ids.observed().one::<Self>().and_then(diff::restart_reason).is_some();
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
