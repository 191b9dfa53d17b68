//! Graphs a provider declares beyond the seed's recipe: edges of its own (a Kubernetes namespace that
//! everything waits for and that goes last), a replica firewall that admits the load balancer
//! symbolically, and a circle of edges refused before any call.

use scaling_core::providers::BalancerSource;
use scaling_core::{Capabilities, DestroyOptions, Error, Orchestrator, Providers, RecordedEvents, StepId};
use scaling_memory::InMemoryCloud;
use scaling_tests::{event_at, seed_spec, test_options};

fn orchestrator_for(capabilities: Capabilities) -> (std::sync::Arc<InMemoryCloud>, Orchestrator) {
    let cloud = InMemoryCloud::new().with_capabilities(capabilities).shared();
    let orchestrator = Orchestrator::new(Providers::from_cloud(cloud.clone())).with_options(test_options());
    (cloud, orchestrator)
}

#[tokio::test(start_paused = true)]
async fn a_namespace_everything_waits_for_is_made_first_and_removed_last() {
    // Kubernetes: the app's namespace (the cluster step) holds the Service, the Gateway and the
    // cert-manager Certificate, so they wait for it; destroy, the graph reversed, removes it last.
    let graph = Capabilities::CLOUD
        .graph
        .with_edge(StepId::Backend, StepId::Cluster)
        .with_edge(StepId::LoadBalancer, StepId::Cluster)
        .with_edge(StepId::Certificate, StepId::Cluster);
    let kubernetes_like = Capabilities::CLOUD.with_graph(graph);
    assert!(kubernetes_like.conflicts().is_empty());
    let (cloud, orchestrator) = orchestrator_for(kubernetes_like);
    let events = RecordedEvents::new();
    orchestrator.deploy(&seed_spec(), None, &events).await.unwrap();
    let events = events.events();
    for waiting in [StepId::Backend, StepId::LoadBalancer, StepId::Certificate] {
        assert!(
            event_at(&events, StepId::Cluster, true) < event_at(&events, waiting, false),
            "{waiting} started first"
        );
    }
    let destroyed = RecordedEvents::new();
    let everything = DestroyOptions { delete_images: true, delete_zone: true, delete_logs: true };
    orchestrator.destroy(&seed_spec(), &everything, &destroyed).await.unwrap();
    let destroyed = destroyed.events();
    for inside in [StepId::Backend, StepId::LoadBalancer, StepId::Certificate, StepId::Service] {
        assert!(
            event_at(&destroyed, inside, true) < event_at(&destroyed, StepId::Cluster, false),
            "{inside} outlived it"
        );
    }
    assert_eq!(cloud.owned_by("dashmath"), Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn a_replica_firewall_admits_the_load_balancer_symbolically_where_it_has_no_firewall() {
    // A NetworkPolicy: the replicas have a firewall, the load balancer (a Gateway) none; the rule
    // names "the load balancer" and the provider resolves it.
    let graph = Capabilities::CLOUD.graph.without_step(StepId::LoadBalancerFirewall);
    let by_its_firewall = Capabilities::CLOUD.with_graph(graph);
    assert_eq!(by_its_firewall.conflicts().len(), 1, "AWS's way needs the load balancer's firewall");
    let symbolic = by_its_firewall.with_balancer_source(BalancerSource::Symbolic);
    assert!(symbolic.conflicts().is_empty());
    let (cloud, orchestrator) = orchestrator_for(symbolic);
    orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
    let inventory = cloud.inventory();
    let firewalls: Vec<&String> = inventory.iter().filter(|l| l.starts_with("firewall")).collect();
    assert_eq!(firewalls.len(), 1, "{inventory:#?}");
    assert!(firewalls[0].contains("ingress=[8050<-the load balancer]"), "{firewalls:?}");
    cloud.clear_calls();
    orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
    assert!(cloud.mutating_calls().is_empty(), "a re-deploy writes nothing: {:?}", cloud.mutating_calls());
}

#[tokio::test(start_paused = true)]
async fn a_circle_of_edges_is_refused_before_any_call() {
    let graph = Capabilities::CLOUD.graph.with_edge(StepId::Cluster, StepId::ServiceStable);
    let (cloud, orchestrator) = orchestrator_for(Capabilities::CLOUD.with_graph(graph));
    let error = orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap_err();
    assert!(matches!(error, Error::Incompatible { .. }), "{error}");
    let text = error.to_string();
    assert!(text.contains("in a circle") && text.contains("cluster") && text.contains("service"), "{text}");
    assert!(cloud.calls().is_empty(), "a refused graph called the provider: {:?}", cloud.calls());
}

#[tokio::test(start_paused = true)]
async fn the_health_probe_changes_where_the_graph_checks_health() {
    // With a backend pool (ALB target group) the probe is the pool's: a new path updates the pool and
    // leaves the revision (and so the replicas) alone.
    let (_, orchestrator) = orchestrator_for(Capabilities::CLOUD);
    orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
    let mut probed = seed_spec();
    probed.health_check.path = "/healthz".into();
    let image = orchestrator.prepare_image(&probed, None).await.unwrap();
    let plan = orchestrator.plan(&probed, image).await.unwrap();
    let changed: Vec<(StepId, &str)> =
        plan.changes.iter().filter(|c| c.action.mutates()).map(|c| (c.step, c.reason.as_str())).collect();
    assert_eq!(changed, [(StepId::Backend, "health check path: / → /healthz")]);
}
