//! The conformance kit: test functions every provider runs against itself, the way every
//! `object_store` backend runs its `integration.rs`. Each one panics with a message naming the broken
//! guarantee. A provider crate calls them from its own tests with a [`Subject`]:
//!
//! ```no_run
//! # async fn run(providers: scaling_core::Providers, spec: scaling_core::Spec) {
//! use scaling_core::conformance::{self, Subject};
//! let subject = Subject::new(providers, spec);
//! conformance::run_all(&subject, &conformance::NoTamper).await;
//! # }
//! ```
//!
//! The guarantees checked: finds return only owned resources; ensure twice leaves one; a foreign
//! resource with the app's name is refused and left untouched; deleting something missing succeeds;
//! each managed property changed out of band shows in the plan and one deploy repairs it; a re-deploy
//! makes 0 writes; destroy leaves nothing owned; one deploy-lock holder at a time; revisions listed
//! newest first and deregistered one by one.

mod probe;
mod recorded;
mod tamper;

use std::sync::Arc;

use async_trait::async_trait;

use probe::Probe;
pub use recorded::{Recorded, RecordedCall};
pub use tamper::ThroughTheProvider;

use crate::providers::{ClusterInfo, DesiredFirewall, FirewallSpec, IngressRule, Owner, TrafficFrom};
use crate::{
    Action, DeployOptions, DestroyOptions, Error, ErrorKind, Orchestrator, Providers, ResourceNames, Silent, Spec,
    StepId,
};

/// The provider under test and an app it can deploy.
pub struct Subject {
    recorded: Arc<Recorded>,
    spec: Spec,
    options: DeployOptions,
}

impl Subject {
    /// `providers` deploying `spec` (a prebuilt image, or one the registry can build) with default options.
    pub fn new(providers: Providers, spec: Spec) -> Self {
        Self { recorded: Recorded::new(providers), spec, options: DeployOptions::default() }
    }

    /// The same subject with other deploy options (short polls and timeouts for an emulator).
    pub fn with_options(mut self, options: DeployOptions) -> Self {
        self.options = options;
        self
    }

    /// The spec the kit deploys.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    fn providers(&self) -> Providers {
        Providers::from_cloud(self.recorded.clone())
    }

    fn orchestrator(&self) -> Orchestrator {
        Orchestrator::new(self.providers()).with_options(self.options.clone())
    }

    fn owner(&self) -> Owner {
        Owner::new(&self.spec.app.name)
    }

    fn names(&self) -> ResourceNames {
        self.capabilities().names(&self.spec.app.name)
    }

    fn capabilities(&self) -> crate::Capabilities {
        crate::Capable::capabilities(&*self.recorded)
    }

    /// True when the provider's graph has `step`: a check of a resource the provider lacks is
    /// skipped, as object_store's integration tests skip what a backend does not do.
    fn has(&self, step: StepId) -> bool {
        self.capabilities().has_step(step)
    }

    fn probe(&self) -> Probe {
        Probe::of(&self.capabilities())
    }

    async fn service_cluster(&self) -> ClusterInfo {
        deployed_cluster(&self.providers(), &self.owner(), &self.names()).await
    }

    async fn deploy(&self) {
        let app = &self.spec.app.name;
        self.orchestrator().deploy(&self.spec, None, &Silent).await.unwrap_or_else(|e| panic!("deploy of {app}: {e}"));
    }

    async fn destroy(&self) {
        let everything = DestroyOptions { delete_images: true, delete_zone: true, delete_logs: true };
        let app = &self.spec.app.name;
        self.orchestrator()
            .destroy(&self.spec, &everything, &Silent)
            .await
            .unwrap_or_else(|e| panic!("destroy of {app}: {e}"));
    }

    /// The rows of a fresh plan that would change something.
    async fn pending_changes(&self) -> Vec<crate::Change> {
        let orchestrator = self.orchestrator();
        let image = orchestrator.prepare_image(&self.spec, None).await.unwrap_or_else(|e| panic!("image: {e}"));
        let plan = orchestrator.plan(&self.spec, image).await.unwrap_or_else(|e| panic!("plan: {e}"));
        plan.changes.into_iter().filter(|c| c.action.mutates()).collect()
    }

    async fn owned(&self) -> Vec<String> {
        let everything = DestroyOptions { delete_images: true, delete_zone: true, delete_logs: true };
        let plan = self.orchestrator().plan_destroy(&self.spec, &everything).await.unwrap_or_else(|e| panic!("{e}"));
        plan.owned_resources()
    }
}

/// A property the kit asks a provider's test to change out of band, as someone with console access
/// would, after a clean deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Drift {
    /// The replica count is set to 1.
    ReplicaCount,
    /// The health probe's path is changed.
    HealthCheckPath,
    /// The firewall in front of the replicas admits one more port from anywhere.
    ExtraIngressRule,
    /// A hostname's DNS record points elsewhere.
    RecordValue,
    /// A setting of a resource of one of the provider's own steps is changed (AWS: the execution
    /// role's managed policy is detached; Kubernetes: the namespace is relabelled).
    OwnResource,
}

impl Drift {
    /// Every kind of drift.
    pub const ALL: [Drift; 5] =
        [Drift::ReplicaCount, Drift::HealthCheckPath, Drift::ExtraIngressRule, Drift::RecordValue, Drift::OwnResource];
}

/// Makes [`Drift`] happen out of band, behind the provider's back.
#[async_trait]
pub trait Tamper: Send + Sync {
    /// Applies `drift` to the deployed `spec`; false when this provider has no such property.
    async fn tamper(&self, spec: &Spec, drift: Drift) -> bool;
}

/// A provider that cannot be tampered with from outside: the round trip is skipped (said on stderr).
pub struct NoTamper;

#[async_trait]
impl Tamper for NoTamper {
    async fn tamper(&self, _: &Spec, _: Drift) -> bool {
        false
    }
}

/// Every check, in an order where each leaves the account as it found it.
pub async fn run_all(subject: &Subject, tamper: &dyn Tamper) {
    ensure_twice_leaves_one(subject).await;
    own_steps_make_once_find_by_owner_and_delete(subject).await;
    find_returns_only_owned(subject).await;
    foreign_resource_with_the_apps_name_is_refused_and_untouched(subject).await;
    redeploy_makes_no_writes(subject).await;
    drift_round_trip(subject, tamper).await;
    deleting_what_is_missing_succeeds(subject).await;
    destroy_leaves_nothing_owned(subject).await;
    one_lock_holder_at_a_time(subject).await;
    revisions_are_listed_newest_first_described_and_deregistered_one_by_one(subject).await;
}

fn firewall(names: &ResourceNames, owner: &Owner) -> DesiredFirewall {
    DesiredFirewall {
        spec: FirewallSpec {
            name: names.load_balancer_firewall.clone(),
            ingress: vec![IngressRule { port: 80, from: TrafficFrom::Anywhere }],
        },
        description: "conformance".into(),
        tags: owner.tags(&Default::default()),
    }
}

/// Each of the provider's own steps ([`StepId::Own`]): ensuring twice makes what it needs once (the
/// same ids, nothing drifted), another owner finds none of it, and deleting each resource twice
/// succeeds and leaves nothing.
pub async fn own_steps_make_once_find_by_owner_and_delete(subject: &Subject) {
    let (p, owner) = (subject.providers(), subject.owner());
    let stranger = Owner::new(format!("{}-stranger", owner.app));
    for step in subject.capabilities().own_steps() {
        let needed = p.own_steps.needed_resources(step, &owner);
        if needed.is_empty() {
            continue;
        }
        let tags = owner.tags(&subject.spec.tags);
        let first = p.own_steps.ensure_resources(step, &owner, &tags).await.expect("ensure_resources");
        let second = p.own_steps.ensure_resources(step, &owner, &tags).await.expect("ensure_resources again");
        let ids = |made: &[crate::providers::OwnResource]| made.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&first), ids(&second), "a second ensure of {step} made others");
        let found = p.own_steps.find_resources(step, &owner).await.expect("find_resources");
        for n in &needed {
            let made = found.iter().find(|f| f.kind == n.kind && f.name == n.name);
            assert!(made.is_some_and(|m| m.drift.is_empty()), "{step} did not make {} {}: {found:?}", n.kind, n.name);
        }
        let foreign = p.own_steps.find_resources(step, &stranger).await;
        assert!(!foreign.iter().flatten().any(|f| found.contains(f)), "another owner sees {step}: {foreign:?}");
        for resource in &found {
            p.own_steps.delete_resource(step, &owner, resource).await.expect("delete_resource");
            p.own_steps.delete_resource(step, &owner, resource).await.expect("deleting it again succeeds");
        }
        let left = p.own_steps.find_resources(step, &owner).await.expect("find_resources");
        assert_eq!(left, Vec::new(), "{step} left resources behind");
    }
}

/// `ensure` called twice (as after a lost response) leaves one resource, with the same id: the
/// cluster (or, without one, the repository), the backend pool and the load balancer's firewall where
/// the provider has them.
pub async fn ensure_twice_leaves_one(subject: &Subject) {
    let (p, owner, names, probe) = (subject.providers(), subject.owner(), subject.names(), subject.probe());
    let first = probe.ensure(&p, &names, &owner).await.expect("ensure");
    let second = probe.ensure(&p, &names, &owner).await.expect("ensure again");
    assert_eq!(first.id(), second.id(), "a second ensure made another {}", probe.noun());
    if subject.has(StepId::Backend) {
        let desired = crate::orchestrator::desired_backend(&subject.spec, &names, owner.tags(&subject.spec.tags));
        let first = p.load_balancer.ensure_backend(&desired).await.expect("ensure_backend");
        let second = p.load_balancer.ensure_backend(&desired).await.expect("ensure_backend again");
        assert_eq!(first.id, second.id, "a second ensure_backend made another backend pool");
        p.load_balancer.delete_backend(&owner, &second).await.expect("delete_backend");
    }
    if subject.has(StepId::LoadBalancerFirewall) {
        let first = p.load_balancer.ensure_firewall(&firewall(&names, &owner)).await.expect("ensure_firewall");
        let second = p.load_balancer.ensure_firewall(&firewall(&names, &owner)).await.expect("ensure twice");
        assert_eq!(first.id, second.id, "a second ensure_firewall made another firewall");
        p.load_balancer.delete_firewall(&owner, &second).await.expect("delete_firewall");
    }
    let found = probe.find(&p, &names, &owner).await.expect("find").expect("the probe is found");
    probe.delete(&p, &owner, &found).await.expect("delete");
    assert_eq!(subject.owned().await, Vec::<String>::new(), "ensure-twice left something behind");
}

/// A resource of the app's is invisible to another owner: its find is refused, never adopted.
pub async fn find_returns_only_owned(subject: &Subject) {
    let (p, owner, names, probe) = (subject.providers(), subject.owner(), subject.names(), subject.probe());
    let made = probe.ensure(&p, &names, &owner).await.expect("ensure");
    let stranger = Owner::new(format!("{}-stranger", owner.app));
    match probe.find(&p, &names, &stranger).await {
        Err(e) => assert_eq!(e.kind, ErrorKind::NotOwned, "find by another owner: {e}"),
        Ok(found) => panic!("another owner found the app's {}: {found:?}", probe.noun()),
    }
    let err = probe.delete(&p, &stranger, &made).await.expect_err("another owner deleted the app's resource");
    assert_eq!(err.kind, ErrorKind::NotOwned, "{err}");
    assert!(probe.find(&p, &names, &owner).await.expect("find").is_some(), "the {} survives", probe.noun());
    probe.delete(&p, &owner, &made).await.expect("delete");
}

/// A foreign resource under the app's name stops a deploy with "not owned" and is left as it was.
pub async fn foreign_resource_with_the_apps_name_is_refused_and_untouched(subject: &Subject) {
    let (p, names, probe) = (subject.providers(), subject.names(), subject.probe());
    let foreigner = Owner::new(format!("{}-foreigner", subject.spec.app.name));
    let theirs = probe.ensure(&p, &names, &foreigner).await.expect("a foreign resource");
    subject.recorded.clear();
    let error = subject.orchestrator().deploy(&subject.spec, None, &Silent).await.expect_err("deploy adopted it");
    assert!(has_kind(&error, ErrorKind::NotOwned), "the deploy must fail as not owned: {error}");
    let found = probe.find(&p, &names, &foreigner).await.expect("find by its owner");
    assert_eq!(found.as_ref().map(|f| f.id()), Some(theirs.id()), "the foreign {} is untouched", probe.noun());
    assert_eq!(subject.recorded.writes(), Vec::<&str>::new(), "a deploy refused at plan time wrote");
    probe.delete(&p, &foreigner, &theirs).await.expect("the foreigner cleans up");
    assert_eq!(subject.owned().await, Vec::<String>::new(), "a refused deploy left what it made behind");
}

/// The cluster the deployed service runs in: the provider's, or the implicit one of a provider
/// without a cluster step.
async fn deployed_cluster(p: &Providers, owner: &Owner, names: &ResourceNames) -> ClusterInfo {
    if !p.capabilities.has_step(StepId::Cluster) {
        return ClusterInfo::implicit(&names.cluster);
    }
    p.cluster.find_cluster(owner, &names.cluster).await.expect("find_cluster").expect("deployed")
}

fn has_kind(error: &Error, kind: ErrorKind) -> bool {
    match error {
        Error::Several(errors) => errors.iter().any(|e| has_kind(e, kind)),
        other => other.provider_error().is_some_and(|e| e.kind == kind),
    }
}

/// A deploy of what is already deployed makes no write, and its plan shows no change.
pub async fn redeploy_makes_no_writes(subject: &Subject) {
    subject.deploy().await;
    subject.recorded.clear();
    subject.deploy().await;
    assert_eq!(subject.recorded.writes(), Vec::<&str>::new(), "a re-deploy wrote");
    assert_eq!(subject.pending_changes().await, Vec::new(), "the plan after a deploy is not empty");
}

/// Each [`Drift`] the provider can suffer shows in the plan, is repaired by one deploy, and the deploy
/// after that writes nothing.
pub async fn drift_round_trip(subject: &Subject, tamper: &dyn Tamper) {
    for drift in Drift::ALL {
        subject.deploy().await;
        if !tamper.tamper(&subject.spec, drift).await {
            eprintln!("conformance: {drift:?} does not apply to this provider");
            continue;
        }
        let pending = subject.pending_changes().await;
        assert!(!pending.is_empty(), "{drift:?} made out of band does not show in the plan");
        subject.deploy().await;
        let left = subject.pending_changes().await;
        assert_eq!(left, Vec::new(), "one deploy did not repair {drift:?}");
        subject.recorded.clear();
        subject.deploy().await;
        assert_eq!(subject.recorded.writes(), Vec::<&str>::new(), "the deploy after repairing {drift:?} wrote");
    }
}

/// Deleting what is already gone succeeds, for every kind a deploy makes.
pub async fn deleting_what_is_missing_succeeds(subject: &Subject) {
    subject.deploy().await;
    let (p, owner, names) = (subject.providers(), subject.owner(), subject.names());
    let cluster = subject.service_cluster().await;
    let service = p.cluster.find_service(&owner, &cluster, &names.service).await.expect("find_service");
    let group = match subject.has(StepId::Backend) {
        true => p.load_balancer.find_backend(&owner, &names.backend).await.expect("find_backend"),
        false => None,
    };
    let balancer = match subject.has(StepId::LoadBalancer) {
        true => p.load_balancer.find_load_balancer(&owner, &names.load_balancer).await.expect("find_load_balancer"),
        false => None,
    };
    let listeners = match &balancer {
        Some(lb) if subject.has(StepId::HttpListener) => p.load_balancer.list_listeners(lb).await.expect("listeners"),
        _ => Vec::new(),
    };
    subject.destroy().await;
    if let Some(service) = &service {
        p.cluster.delete_service(&owner, service).await.expect("delete_service of a deleted service");
    }
    for listener in &listeners {
        p.load_balancer.delete_listener(&owner, listener).await.expect("delete_listener of a deleted listener");
    }
    if let Some(lb) = &balancer {
        p.load_balancer.delete_load_balancer(&owner, lb).await.expect("delete_load_balancer of a deleted one");
    }
    if let Some(group) = &group {
        p.load_balancer.delete_backend(&owner, group).await.expect("delete_backend of a deleted one");
    }
    if subject.has(StepId::Cluster) {
        p.cluster.delete_cluster(&owner, &cluster).await.expect("delete_cluster of a deleted cluster");
    }
}

/// After a deploy, destroy with every option leaves nothing the app owns.
pub async fn destroy_leaves_nothing_owned(subject: &Subject) {
    subject.deploy().await;
    assert!(!subject.owned().await.is_empty(), "a deploy owns nothing");
    subject.destroy().await;
    assert_eq!(subject.owned().await, Vec::<String>::new(), "destroy left owned resources");
    let plan = subject.pending_changes().await;
    assert!(plan.iter().all(|c| c.action == Action::Create || c.action == Action::Wait), "after destroy: {plan:#?}");
}

/// The deploy lock: one holder at a time, the second told who; the holder renews it; once
/// released it is free; breaking it says who held it.
pub async fn one_lock_holder_at_a_time(subject: &Subject) {
    use crate::providers::LockHolder;
    let (p, owner) = (subject.providers(), subject.owner());
    let (first, second) = (LockHolder::here("deploy"), LockHolder::here("scale"));
    // A provider may lack a deploy lock, as object_store's backends may lack an operation: then every
    // lock method says so, and nothing else.
    let taken = match p.locks.acquire_lock(&owner, &first).await {
        Ok(taken) => taken,
        Err(e) => {
            assert_eq!(e.kind, ErrorKind::Unsupported, "acquire_lock: {e}");
            for (method, answer) in [
                ("release_lock", p.locks.release_lock(&owner, &first).await.err()),
                ("break_lock", p.locks.break_lock(&owner).await.err()),
                ("lock_holder", p.locks.lock_holder(&owner).await.err()),
            ] {
                assert_eq!(
                    answer.map(|e| e.kind),
                    Some(ErrorKind::Unsupported),
                    "{method} of a provider without a lock"
                );
            }
            return;
        }
    };
    assert_eq!(taken, None, "a free lock is taken");
    let held = p.locks.acquire_lock(&owner, &second).await.expect("acquire_lock again");
    assert_eq!(held.map(|h| h.token), Some(first.token.clone()), "a held lock is refused, naming its holder");
    assert_eq!(p.locks.acquire_lock(&owner, &first.renewed()).await.expect("renew"), None, "its holder renews");
    p.locks.release_lock(&owner, &first).await.expect("release_lock");
    assert_eq!(p.locks.acquire_lock(&owner, &second).await.expect("acquire_lock"), None, "free once released");
    let broken = p.locks.break_lock(&owner).await.expect("break_lock");
    assert_eq!(broken.map(|h| h.token), Some(second.token.clone()), "breaking says who held it");
    assert_eq!(p.locks.acquire_lock(&owner, &first).await.expect("acquire_lock"), None, "free once broken");
    p.locks.release_lock(&owner, &first).await.expect("release_lock");
}

/// Releases' side of the contract: revisions are listed newest first, described by id (`None` once
/// gone), deregistered one at a time (again: still success), and invisible to another owner. A
/// provider with a revision step registers them on their own; one without makes them only by
/// updating its service (Cloud Run), so the check deploys twice instead. A provider that keeps no
/// history says so with `Unsupported` from every [`Releases`](crate::providers::Releases) method, as
/// object_store's backends do for what they lack.
pub async fn revisions_are_listed_newest_first_described_and_deregistered_one_by_one(subject: &Subject) {
    let (p, owner, names) = (subject.providers(), subject.owner(), subject.names());
    if let Err(e) = p.releases.revision_ids(&owner, &names.revision).await {
        assert_eq!(e.kind, crate::ErrorKind::Unsupported, "revision_ids of an app with none: {e}");
        let described = p.releases.describe_revision(&owner, &format!("{}:1", names.revision)).await;
        assert!(matches!(&described, Err(e) if e.kind == crate::ErrorKind::Unsupported), "all or none: {described:?}");
        return;
    }
    let (first, second) = match subject.has(StepId::Revision) {
        true => revisions_registered_on_their_own(subject).await,
        false => revisions_through_the_service(subject).await,
    };
    let ids = p.releases.revision_ids(&owner, &names.revision).await.expect("revision_ids");
    assert_eq!(ids.first(), Some(&second), "newest first: {ids:?}");
    assert!(ids.contains(&first), "both are listed: {ids:?}");
    let described = p.releases.describe_revision(&owner, &first).await.expect("describe_revision");
    assert_eq!(described.map(|r| r.spec.env.get("MODE").cloned()), Some(Some("first".into())), "described by id");
    let stranger = Owner::new(format!("{}-stranger", owner.app));
    let foreign = p.releases.describe_revision(&stranger, &first).await;
    assert!(!matches!(foreign, Ok(Some(_))), "another owner sees the app's revision: {foreign:?}");
    p.releases.deregister_revision(&owner, &first).await.expect("deregister_revision");
    p.releases.deregister_revision(&owner, &first).await.expect("deregistering it again succeeds");
    assert_eq!(p.releases.describe_revision(&owner, &first).await.expect("describe"), None, "gone");
    let ids = p.releases.revision_ids(&owner, &names.revision).await.expect("revision_ids");
    assert!(!ids.contains(&first) && ids.contains(&second), "only the deregistered one left: {ids:?}");
    if subject.has(StepId::Revision) {
        p.cluster.deregister_revisions(&owner, &names.revision).await.expect("deregister_revisions");
        for step in subject.capabilities().own_steps() {
            for resource in p.own_steps.find_resources(step, &owner).await.expect("find_resources") {
                p.own_steps.delete_resource(step, &owner, &resource).await.expect("delete_resource");
            }
        }
    } else {
        subject.destroy().await;
    }
    assert_eq!(subject.owned().await, Vec::<String>::new(), "the revisions check left something behind");
}

/// Two revisions registered by hand (`MODE=first`, then `MODE=second`): their ids.
async fn revisions_registered_on_their_own(subject: &Subject) -> (String, String) {
    let (p, owner, names) = (subject.providers(), subject.owner(), subject.names());
    // A provider's revisions may need what its own steps make (AWS: the execution role).
    for step in subject.capabilities().own_steps() {
        if !p.own_steps.needed_resources(step, &owner).is_empty() {
            p.own_steps.ensure_resources(step, &owner, &owner.tags(&subject.spec.tags)).await.expect("own step");
        }
    }
    let revision = |mode: &str| crate::providers::DesiredRevision {
        spec: crate::providers::RevisionSpec {
            family: names.revision.clone(),
            container: names.container.clone(),
            image:
                "registry.example/conformance@sha256:0000000000000000000000000000000000000000000000000000000000000000"
                    .into(),
            platform: subject.spec.image.platform,
            cpu: subject.spec.app.cpu,
            memory: subject.spec.app.memory,
            port: subject.spec.app.port,
            env: [("MODE".to_string(), mode.to_string())].into(),
            secrets: Default::default(),
        },
        health_check: subject.spec.health_check.clone(),
        tags: owner.tags(&subject.spec.tags),
    };
    let first = p.cluster.register_revision(&revision("first")).await.expect("register_revision");
    let second = p.cluster.register_revision(&revision("second")).await.expect("register_revision again");
    (first.id, second.id)
}

/// Two revisions made by deploying `MODE=first`, then `MODE=second`: their ids (the second serves).
async fn revisions_through_the_service(subject: &Subject) -> (String, String) {
    let (p, owner, names) = (subject.providers(), subject.owner(), subject.names());
    let mut ids = Vec::new();
    for mode in ["first", "second"] {
        let mut spec = subject.spec.clone();
        spec.env.insert("MODE".into(), mode.into());
        let app = &spec.app.name;
        subject.orchestrator().deploy(&spec, None, &Silent).await.unwrap_or_else(|e| panic!("deploy of {app}: {e}"));
        let revision = p.cluster.find_revision(&owner, &names.revision).await.expect("find_revision");
        ids.push(revision.expect("a deployed service runs a revision").id);
    }
    assert_ne!(ids[0], ids[1], "a changed template made no new revision");
    (ids.remove(0), ids.remove(0))
}
