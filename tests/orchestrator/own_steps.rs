//! A provider that adds steps of its own, shaped like Kubernetes: the app's namespace, which every
//! other resource waits for, and an HTTPRoute that binds the service to the load balancer once both
//! exist. Written only against `scaling-core`'s public API: each step gets plan rows in the provider's
//! words, runs where its edges place it, is restored when it drifts, is removed when no longer needed,
//! and is deleted by destroy in the reverse order; a fault at any write, the platform's or the
//! cloud's, is repaired by a re-run — and the provider passes the whole conformance kit.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use scaling_core::conformance::{self, Drift, Subject, Tamper, ThroughTheProvider};
use scaling_core::providers::{OwnResource, OwnSteps, Owner, StepGraph, Tags};
use scaling_core::{
    Action, Capabilities, DestroyOptions, ErrorKind, Orchestrator, ProviderError, ProviderResult, Providers,
    RecordedEvents, StepId,
};
use scaling_memory::{Fault, FaultTiming, InMemoryCloud};
use scaling_tests::{event_at, seed_spec, test_options};

const NAMESPACE: StepId = StepId::Own("namespace");
const ROUTE: StepId = StepId::Own("http_route");

/// The seed's recipe, a namespace before every step that waited for nothing, and a route after the
/// service and the load balancer that the service's wait waits for.
const GRAPH: StepGraph = {
    let mut graph = Capabilities::CLOUD.graph.with_step(NAMESPACE).with_step(ROUTE);
    let mut i = 0;
    while i < StepId::ALL.len() {
        let step = StepId::ALL[i];
        if step.dependencies().is_empty() {
            graph = graph.with_edge(step, NAMESPACE);
        }
        i += 1;
    }
    graph
        .with_edge(ROUTE, StepId::Service)
        .with_edge(ROUTE, StepId::LoadBalancer)
        .with_edge(StepId::ServiceStable, ROUTE)
};

const CAPABILITIES: Capabilities =
    Capabilities::CLOUD.with_graph(GRAPH).with_nouns(&[(NAMESPACE, "namespace"), (ROUTE, "HTTPRoute")]);

/// A resource as the platform keeps it: its labels, and settings someone may change out of band.
#[derive(Clone)]
struct Kept {
    labels: Tags,
    drift: Vec<String>,
}

/// The namespaces and routes of a Kubernetes-like platform, by (step, name).
#[derive(Default)]
struct Namespaced {
    kept: Mutex<BTreeMap<(StepId, String), Kept>>,
    /// When set, the route is no longer needed (the provider moved to another way of routing).
    routes_retired: Mutex<bool>,
    /// Writes so far, and the one that fails (the Nth, from 1), before its effect or after it.
    writes: Mutex<usize>,
    failing: Mutex<Option<(usize, FaultTiming)>>,
}

impl Namespaced {
    fn kind(step: StepId) -> &'static str {
        if step == NAMESPACE {
            "namespace"
        } else {
            "HTTPRoute"
        }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, BTreeMap<(StepId, String), Kept>> {
        self.kept.lock().unwrap()
    }

    fn found(step: StepId, name: &str, kept: &Kept) -> OwnResource {
        let mut found = OwnResource::needed(Self::kind(step), name, false);
        found.id = format!("{}/{name}", Self::kind(step));
        found.drift = kept.drift.clone();
        found
    }

    /// How this write fails, if it is the failing one.
    fn fault(&self) -> Option<FaultTiming> {
        let mut writes = self.writes.lock().unwrap();
        *writes += 1;
        let failing = *self.failing.lock().unwrap();
        failing.filter(|(nth, _)| *nth == *writes).map(|(_, timing)| timing)
    }

    /// A failure the retries do not get past within the run (as a killed run would stop there).
    fn lost(operation: &str, resource: &str) -> ProviderError {
        ProviderError::new(operation, resource, ErrorKind::Unavailable, "the connection dropped")
            .with_retry(scaling_core::Retry::Permanent)
    }

    /// Someone relabels the namespace by hand.
    fn tamper_with_namespace(&self, app: &str) {
        let mut kept = self.kept();
        let namespace = kept.get_mut(&(NAMESPACE, app.to_string())).expect("the namespace exists");
        namespace.drift.push("label pod-security.kubernetes.io/enforce: restricted → privileged".into());
    }
}

#[async_trait]
impl OwnSteps for Namespaced {
    fn needed_resources(&self, step: StepId, owner: &Owner) -> Vec<OwnResource> {
        match step {
            NAMESPACE => vec![OwnResource::needed("namespace", &owner.app, false)],
            ROUTE if !*self.routes_retired.lock().unwrap() => {
                vec![OwnResource::needed("HTTPRoute", format!("{}-route", owner.app), false)]
            }
            _ => Vec::new(),
        }
    }

    async fn ensure_resources(&self, step: StepId, owner: &Owner, tags: &Tags) -> ProviderResult<Vec<OwnResource>> {
        let fault = self.fault();
        if fault == Some(FaultTiming::BeforeEffect) {
            return Err(Self::lost("ensure_resources", step.name()));
        }
        let needed = self.needed_resources(step, owner);
        let mut kept = self.kept();
        for resource in &needed {
            match kept.get(&(step, resource.name.clone())) {
                Some(other) if !owner.owns(&other.labels) => {
                    let message = "labelled for another app";
                    return Err(ProviderError::new("ensure_resources", &resource.name, ErrorKind::NotOwned, message));
                }
                _ => kept.insert((step, resource.name.clone()), Kept { labels: tags.clone(), drift: Vec::new() }),
            };
        }
        if fault == Some(FaultTiming::AfterEffect) {
            return Err(Self::lost("ensure_resources", step.name()));
        }
        Ok(needed.iter().map(|n| Self::found(step, &n.name, &kept[&(step, n.name.clone())])).collect())
    }

    async fn find_resources(&self, step: StepId, owner: &Owner) -> ProviderResult<Vec<OwnResource>> {
        let kept = self.kept();
        let mine = kept.iter().filter(|((s, _), k)| *s == step && owner.owns(&k.labels));
        Ok(mine.map(|((s, name), k)| Self::found(*s, name, k)).collect())
    }

    async fn delete_resource(&self, step: StepId, owner: &Owner, resource: &OwnResource) -> ProviderResult<()> {
        let fault = self.fault();
        if fault == Some(FaultTiming::BeforeEffect) {
            return Err(Self::lost("delete_resource", &resource.name));
        }
        let mut kept = self.kept();
        let key = (step, resource.name.clone());
        if kept.get(&key).is_some_and(|k| !owner.owns(&k.labels)) {
            return Err(ProviderError::new("delete_resource", &resource.name, ErrorKind::NotOwned, "another app's"));
        }
        kept.remove(&key);
        match fault {
            Some(_) => Err(Self::lost("delete_resource", &resource.name)),
            None => Ok(()),
        }
    }
}

/// Drift through the platform for its own resources, through the in-memory cloud for the rest.
struct ThroughBoth(ThroughTheProvider, Arc<Namespaced>);

#[async_trait]
impl Tamper for ThroughBoth {
    async fn tamper(&self, spec: &scaling_core::Spec, drift: Drift) -> bool {
        match drift {
            Drift::OwnResource => {
                self.1.tamper_with_namespace(&spec.app.name);
                true
            }
            other => self.0.tamper(spec, other).await,
        }
    }
}

fn providers(cloud: &Arc<InMemoryCloud>, own: &Arc<Namespaced>) -> Providers {
    Providers { own_steps: own.clone(), capabilities: CAPABILITIES, ..Providers::from_cloud(cloud.clone()) }
}

#[test]
fn its_own_steps_stand_where_it_declares_them() {
    assert_eq!(CAPABILITIES.conflicts(), Vec::<String>::new());
    assert_eq!(CAPABILITIES.own_steps().collect::<Vec<_>>(), [NAMESPACE, ROUTE]);
    let order = CAPABILITIES.ordered(&GRAPH.steps());
    assert_eq!(order.first(), Some(&NAMESPACE), "{order:?}");
    assert_eq!(ROUTE.to_string(), "http_route");
    assert_eq!(CAPABILITIES.noun(ROUTE), "HTTPRoute");
    // Destroy reverses it: the route before what it binds, the namespace after everything.
    assert!(CAPABILITIES.teardown_round(ROUTE) < CAPABILITIES.teardown_round(StepId::Service));
    assert!(GRAPH
        .steps()
        .iter()
        .all(|s| *s == NAMESPACE || CAPABILITIES.teardown_round(*s) < CAPABILITIES.teardown_round(NAMESPACE)));
    // An own step may not close a circle either.
    let circle = CAPABILITIES.with_graph(GRAPH.with_edge(NAMESPACE, StepId::Service));
    assert!(circle.conflicts().iter().any(|c| c.contains("circle")), "{:?}", circle.conflicts());
}

#[tokio::test(start_paused = true)]
async fn it_passes_the_whole_conformance_kit() {
    let (cloud, own) = (InMemoryCloud::new().shared(), Arc::new(Namespaced::default()));
    let providers = providers(&cloud, &own);
    let subject = Subject::new(providers.clone(), seed_spec()).with_options(test_options());
    conformance::run_all(&subject, &ThroughBoth(ThroughTheProvider(providers), own.clone())).await;
    assert!(own.kept().is_empty(), "the kit left own resources behind");
}

#[tokio::test(start_paused = true)]
async fn its_steps_are_planned_run_restored_retired_and_destroyed_in_its_order() {
    let (cloud, own) = (InMemoryCloud::new().shared(), Arc::new(Namespaced::default()));
    let orchestrator = Orchestrator::new(providers(&cloud, &own)).with_options(test_options());
    let spec = seed_spec();
    let plan_of = |spec| {
        let orchestrator = orchestrator.clone();
        async move {
            let image = orchestrator.prepare_image(&spec, None).await.unwrap();
            orchestrator.plan(&spec, image).await.unwrap()
        }
    };

    // Planned with a row each, in its own words.
    let plan = plan_of(spec.clone()).await;
    let row = |plan: &scaling_core::Plan, step| {
        let row = plan.changes.iter().find(|c| c.step == step).unwrap_or_else(|| panic!("no row of {step}"));
        (row.resource.clone(), row.action)
    };
    assert_eq!(row(&plan, NAMESPACE), ("namespace dashmath".into(), Action::Create));
    assert_eq!(row(&plan, ROUTE), ("HTTPRoute dashmath-route".into(), Action::Create));
    assert!(plan.steps().contains(&NAMESPACE) && plan.steps().contains(&ROUTE));

    // Run where its edges place them.
    let events = RecordedEvents::new();
    orchestrator.deploy(&spec, None, &events).await.unwrap();
    let events = events.events();
    let at = |step, finished| event_at(&events, step, finished);
    for root in [StepId::Repository, StepId::Zone, StepId::Certificate, StepId::Cluster, StepId::Backend] {
        assert!(at(NAMESPACE, true) < at(root, false), "{root} started before the namespace was made");
    }
    assert!(at(StepId::Service, true) < at(ROUTE, false), "the route waits for its service");
    assert!(at(StepId::LoadBalancer, true) < at(ROUTE, false), "the route waits for the load balancer");
    assert!(at(ROUTE, true) < at(StepId::ServiceStable, true), "the service is stable only once routed");
    assert_eq!(own.kept().len(), 2);

    // Nothing to do again; a relabelled namespace is drift, and the next deploy restores it.
    let plan = plan_of(spec.clone()).await;
    assert!(plan.changes.iter().all(|c| !c.action.mutates()), "{:#?}", plan.changes);
    own.tamper_with_namespace("dashmath");
    let plan = plan_of(spec.clone()).await;
    let namespace = plan.changes.iter().find(|c| c.step == NAMESPACE).unwrap();
    assert_eq!(namespace.action, Action::Update);
    assert!(namespace.reason.contains("pod-security"), "{}", namespace.reason);
    orchestrator.deploy(&spec, None, &RecordedEvents::new()).await.unwrap();
    assert!(own.kept().values().all(|k| k.drift.is_empty()), "the namespace was not restored");

    // What the provider no longer needs is planned as a deletion and removed.
    *own.routes_retired.lock().unwrap() = true;
    let plan = plan_of(spec.clone()).await;
    assert_eq!(row(&plan, ROUTE), ("HTTPRoute dashmath-route".into(), Action::Delete));
    orchestrator.deploy(&spec, None, &RecordedEvents::new()).await.unwrap();
    assert_eq!(own.kept().keys().map(|(s, _)| *s).collect::<Vec<_>>(), [NAMESPACE]);
    *own.routes_retired.lock().unwrap() = false;
    orchestrator.deploy(&spec, None, &RecordedEvents::new()).await.unwrap();

    // Destroy lists them and deletes in the reverse order: the namespace last.
    let everything = DestroyOptions { delete_images: true, delete_zone: true, delete_logs: true };
    let destroy_plan = orchestrator.plan_destroy(&spec, &everything).await.unwrap();
    let owned = destroy_plan.owned_resources();
    assert!(owned.contains(&"namespace dashmath".to_string()), "{owned:?}");
    assert!(owned.contains(&"HTTPRoute dashmath-route".to_string()), "{owned:?}");
    let events = RecordedEvents::new();
    let report = orchestrator.destroy(&spec, &everything, &events).await.unwrap();
    assert_eq!(report.deleted.last().map(String::as_str), Some("namespace dashmath"), "{:?}", report.deleted);
    let route = report.deleted.iter().position(|d| d == "HTTPRoute dashmath-route").unwrap();
    let service = report.deleted.iter().position(|d| d.starts_with("service")).unwrap();
    assert!(route < service, "the route outlived its service: {:?}", report.deleted);
    assert!(own.kept().is_empty());
    assert_eq!(cloud.owned_by("dashmath"), Vec::<String>::new());
}

/// What a deploy leaves: the cloud's inventory and the platform's own resources.
fn state(cloud: &InMemoryCloud, own: &Namespaced) -> (Vec<String>, Vec<(StepId, String)>) {
    (cloud.inventory(), own.kept().keys().cloned().collect())
}

#[tokio::test(start_paused = true)]
async fn a_fault_at_any_write_then_a_rerun_converges_and_destroy_leaves_nothing() {
    let (cloud, own) = (InMemoryCloud::new().shared(), Arc::new(Namespaced::default()));
    let orchestrator = Orchestrator::new(providers(&cloud, &own)).with_options(test_options());
    orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
    let clean = state(&cloud, &own);
    let (cloud_writes, own_writes) = (cloud.mutating_calls().len(), *own.writes.lock().unwrap());
    assert_eq!(own_writes, 2, "one ensure per own step");
    // Each write of either provider fails once, without effect or with its response lost.
    let faults = (1..=cloud_writes).map(|k| (Some(k), None)).chain((1..=own_writes).map(|k| (None, Some(k))));
    for (cloud_fault, own_fault) in faults {
        for timing in [FaultTiming::BeforeEffect, FaultTiming::AfterEffect] {
            let (cloud, own) = (InMemoryCloud::new().shared(), Arc::new(Namespaced::default()));
            let orchestrator = Orchestrator::new(providers(&cloud, &own)).with_options(test_options());
            if let Some(k) = cloud_fault {
                let fault = Fault::nth_mutating_call(k);
                cloud.inject(if timing == FaultTiming::AfterEffect { fault.after_effect() } else { fault });
            }
            *own.failing.lock().unwrap() = own_fault.map(|k| (k, timing));
            let what = format!("cloud write {cloud_fault:?}, own write {own_fault:?}, {timing:?}");
            assert!(orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.is_err(), "{what}");
            cloud.clear_faults();
            *own.failing.lock().unwrap() = None;
            orchestrator
                .deploy(&seed_spec(), None, &RecordedEvents::new())
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(state(&cloud, &own), clean, "after a fault on {what}");
            let everything = DestroyOptions { delete_images: true, delete_zone: true, delete_logs: true };
            orchestrator.destroy(&seed_spec(), &everything, &RecordedEvents::new()).await.unwrap();
            assert_eq!(state(&cloud, &own).1, Vec::new(), "{what}: destroy left own resources");
            assert_eq!(cloud.owned_by("dashmath"), Vec::<String>::new(), "{what}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_fault_at_either_deletion_then_a_rerun_of_destroy_leaves_nothing() {
    for k in 1..=2 {
        for timing in [FaultTiming::BeforeEffect, FaultTiming::AfterEffect] {
            let (cloud, own) = (InMemoryCloud::new().shared(), Arc::new(Namespaced::default()));
            let orchestrator = Orchestrator::new(providers(&cloud, &own)).with_options(test_options());
            orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
            let written = *own.writes.lock().unwrap();
            *own.failing.lock().unwrap() = Some((written + k, timing));
            let everything = DestroyOptions { delete_images: true, delete_zone: true, delete_logs: true };
            let what = format!("own deletion {k}, {timing:?}");
            assert!(orchestrator.destroy(&seed_spec(), &everything, &RecordedEvents::new()).await.is_err(), "{what}");
            *own.failing.lock().unwrap() = None;
            orchestrator.destroy(&seed_spec(), &everything, &RecordedEvents::new()).await.unwrap();
            assert_eq!(state(&cloud, &own).1, Vec::new(), "{what}: destroy left own resources");
            assert_eq!(cloud.owned_by("dashmath"), Vec::<String>::new(), "{what}");
        }
    }
}
