//! Fresh deploy, re-deploy and image change.

use scaling_core::{Action, Algorithm, EventKind, ImageSpec, RecordedEvents, StepId};
use scaling_memory::InMemoryCloud;
use scaling_tests::{image, orchestrator, seed_spec, test_options};

#[tokio::test(start_paused = true)]
async fn a_fresh_deploy_creates_exactly_the_seed_resource_set() {
    let cloud = InMemoryCloud::new().shared();
    let report = orchestrator(&cloud).deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();

    let inventory = cloud.inventory();
    let expected = [
        "backend dashmath owner=dashmath port=8050 health_path=/ grace=30s",
        "certificate dashmath.example.com owner=dashmath names=[www.dashmath.example.com] status=Issued",
        "cluster dashmath owner=dashmath",
        "firewall dashmath-lb-firewall owner=dashmath ingress=[80<-anywhere,443<-anywhere]",
        "firewall dashmath-replica-firewall owner=dashmath ingress=[8050<-dashmath-lb-firewall]",
        "listener dashmath:443 owner=dashmath HTTPS forward:dashmath cert=cert:dashmath.example.com min_tls=1.2",
        "listener dashmath:80 owner=dashmath HTTP redirect:443 cert= min_tls=",
        "load_balancer dashmath owner=dashmath groups=[dashmath-lb-firewall] idle=60s",
        "record dashmath.example.com A owner=dashmath alias:dashmath",
        "record www.dashmath.example.com A owner=dashmath alias:dashmath",
        "repository dashmath owner=dashmath images=0",
        &format!("revision dashmath:1 owner=dashmath container=dashmath image={} cpu=1000m memory=3072 port=8050 platform=linux/amd64", image(1)),
        "service dashmath owner=dashmath revision=dashmath:1 count=3 backend=dashmath group=dashmath-replica-firewall grace=30s",
        "zone dashmath.example.com owner=dashmath",
    ];
    let validation: Vec<&String> = inventory.iter().filter(|l| l.contains(" Cname ")).collect();
    let rest: Vec<&String> = inventory.iter().filter(|l| !l.contains(" Cname ")).collect();
    assert_eq!(rest, expected.iter().collect::<Vec<_>>());
    assert_eq!(validation.len(), 2, "one validation CNAME per name: {validation:?}");
    assert!(validation.iter().all(|l| l.contains("owner=dashmath")));

    assert_eq!(report.urls, ["https://dashmath.example.com", "https://www.dashmath.example.com"]);
    let zone = report.new_zone.expect("a new zone is reported");
    assert_eq!(zone.name_servers.len(), 4, "the registrar needs the four name servers");
}

#[tokio::test(start_paused = true)]
async fn a_second_deploy_makes_no_mutating_call() {
    let cloud = InMemoryCloud::new().shared();
    let orchestrator = orchestrator(&cloud);
    orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
    let before = cloud.inventory();
    cloud.clear_calls();

    let image = orchestrator.prepare_image(&seed_spec(), None).await.unwrap();
    let plan = orchestrator.plan(&seed_spec(), image).await.unwrap();
    assert!(!plan.has_changes(), "{:#?}", plan.changes);
    assert!(plan.changes.iter().all(|c| c.action == Action::NoChange));
    orchestrator.apply(&plan, &RecordedEvents::new()).await.unwrap();

    assert_eq!(cloud.mutating_calls(), [], "the second deploy must not change anything");
    assert!(!cloud.calls().is_empty(), "it still observes");
    assert_eq!(cloud.inventory(), before);
}

#[tokio::test(start_paused = true)]
async fn changing_only_the_image_updates_only_task_definition_and_service() {
    let cloud = InMemoryCloud::new().shared();
    let orchestrator = orchestrator(&cloud);
    orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
    cloud.clear_calls();

    let mut spec = seed_spec();
    spec.image = ImageSpec::prebuilt(image(2));
    let plan = orchestrator.plan(&spec, orchestrator.prepare_image(&spec, None).await.unwrap()).await.unwrap();
    let changed: Vec<(StepId, Action)> =
        plan.changes.iter().filter(|c| c.action != Action::NoChange).map(|c| (c.step, c.action)).collect();
    assert_eq!(
        changed,
        [(StepId::Revision, Action::Update), (StepId::Service, Action::Update), (StepId::ServiceStable, Action::Wait)]
    );

    orchestrator.apply(&plan, &RecordedEvents::new()).await.unwrap();
    let ops: Vec<&str> = cloud.mutating_calls().iter().map(|c| c.operation).collect();
    assert_eq!(ops, ["register_revision", "ensure_service"]);
    assert!(cloud.inventory().iter().any(|l| l.starts_with("service dashmath") && l.contains("revision=dashmath:2")));
}

#[tokio::test(start_paused = true)]
async fn changing_the_balancing_algorithm_updates_only_the_target_group() {
    let cloud = InMemoryCloud::new().shared();
    let orchestrator = orchestrator(&cloud);
    orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
    cloud.clear_calls();

    let mut spec = seed_spec();
    assert_eq!(spec.load_balancer.algorithm, Algorithm::LeastOutstandingRequests, "the default");
    spec.load_balancer.algorithm = Algorithm::RoundRobin;
    let plan = orchestrator.plan(&spec, orchestrator.prepare_image(&spec, None).await.unwrap()).await.unwrap();
    let changed: Vec<&scaling_core::Change> = plan.changes.iter().filter(|c| c.action != Action::NoChange).collect();
    assert_eq!(changed.len(), 1, "{changed:#?}");
    assert_eq!((changed[0].step, changed[0].action), (StepId::Backend, Action::Update));
    assert!(changed[0].reason.contains("algorithm"), "{}", changed[0].reason);

    orchestrator.apply(&plan, &RecordedEvents::new()).await.unwrap();
    let ops: Vec<&str> = cloud.mutating_calls().iter().map(|c| c.operation).collect();
    assert_eq!(ops, ["ensure_backend"]);
    let image = orchestrator.prepare_image(&spec, None).await.unwrap();
    assert!(!orchestrator.plan(&spec, image).await.unwrap().has_changes(), "and then it holds");
}

#[tokio::test(start_paused = true)]
async fn a_built_image_is_pushed_once_and_pinned_by_digest() {
    let dir = std::env::temp_dir().join(format!("scaling-build-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("app.py"), "print('v1')").unwrap();
    let mut spec = seed_spec();
    spec.image = ImageSpec::build(&dir);
    let cloud = InMemoryCloud::new().shared();
    let orchestrator = orchestrator(&cloud);

    orchestrator.deploy(&spec, None, &RecordedEvents::new()).await.unwrap();
    let pushes = |cloud: &InMemoryCloud| cloud.mutating_calls().iter().filter(|c| c.operation == "push_image").count();
    assert_eq!(pushes(&cloud), 1);
    let task = cloud.inventory().into_iter().find(|l| l.starts_with("revision")).unwrap();
    assert!(task.contains("image=memory.local/dashmath@sha256:"), "{task}");

    cloud.clear_calls();
    orchestrator.deploy(&spec, None, &RecordedEvents::new()).await.unwrap();
    assert_eq!(cloud.mutating_calls(), [], "unchanged context, nothing pushed or registered");

    std::fs::write(dir.join("app.py"), "print('v2')").unwrap();
    orchestrator.deploy(&spec, None, &RecordedEvents::new()).await.unwrap();
    assert_eq!(pushes(&cloud), 1, "a changed context is pushed again");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(start_paused = true)]
async fn every_step_starts_after_its_dependencies_finish() {
    let cloud = InMemoryCloud::with_latency(scaling_memory::Latency::REALISTIC).shared();
    let events = RecordedEvents::new();
    orchestrator(&cloud).deploy(&seed_spec(), None, &events).await.unwrap();
    let events = events.events();
    let position = |step: StepId, done: bool| {
        events.iter().position(|e| {
            e.step == step
                && matches!((&e.kind, done), (EventKind::Done { .. }, true) | (EventKind::Started { .. }, false))
        })
    };
    for step in StepId::ALL.into_iter().filter(|s| position(*s, false).is_some()) {
        let started = position(step, false).unwrap();
        for dep in step.dependencies() {
            if let Some(done) = position(*dep, true) {
                assert!(done < started, "{step} started before {dep} finished");
            }
        }
    }
    // Independent roots start together, before any of them finishes.
    let first_done = events.iter().position(|e| matches!(e.kind, EventKind::Done { .. })).unwrap();
    for root in [StepId::Repository, StepId::Zone, StepId::Certificate, StepId::LoadBalancerFirewall, StepId::Cluster] {
        assert!(position(root, false).unwrap() < first_done, "{root} waited for another step");
    }
}

#[tokio::test(start_paused = true)]
async fn scale_changes_only_the_count_and_status_reports_it() {
    let cloud = InMemoryCloud::new().shared();
    let orchestrator = orchestrator(&cloud);
    orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
    cloud.clear_calls();

    let scaled = orchestrator.scale(&seed_spec(), 5, &RecordedEvents::new()).await.unwrap();
    assert_eq!(scaled.spec.desired_count, 5);
    assert_eq!(cloud.mutating_calls().iter().map(|c| c.operation).collect::<Vec<_>>(), ["scale_service"]);

    let status = orchestrator.status(&seed_spec()).await.unwrap();
    let service = status.service.unwrap();
    assert_eq!((service.spec.desired_count, service.running_count), (5, 5));
    assert_eq!(status.targets.len(), 5);
    assert_eq!(status.urls, ["https://dashmath.example.com", "https://www.dashmath.example.com"]);
    assert_eq!(status.certificate, Some(scaling_core::providers::CertificateStatus::Issued));
    assert_eq!(status.delegation, Some(scaling_core::providers::Delegation::Delegated));
}

#[tokio::test(start_paused = true)]
async fn scale_waits_until_the_new_count_runs_unless_told_not_to() {
    let cloud = InMemoryCloud::new().shared();
    let orchestrator = orchestrator(&cloud);
    orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
    let stable_after = std::time::Duration::from_secs(90);
    cloud.set_latency(scaling_memory::Latency { service_stable: stable_after, ..Default::default() });

    let started = tokio::time::Instant::now();
    let scaled = orchestrator.scale(&seed_spec(), 5, &RecordedEvents::new()).await.unwrap();
    assert_eq!((scaled.spec.desired_count, scaled.running_count), (5, 5), "returned once all 5 run");
    assert!(started.elapsed() >= stable_after, "returned after {:?}, before the replicas were up", started.elapsed());

    let no_wait = orchestrator.clone().with_options(scaling_core::DeployOptions { wait: false, ..test_options() });
    let scaled = no_wait.scale(&seed_spec(), 2, &RecordedEvents::new()).await.unwrap();
    assert_eq!(scaled.spec.desired_count, 2);
    assert_eq!(scaled.rollout, scaling_core::providers::Rollout::InProgress, "--no-wait returns at once");
}

#[tokio::test(start_paused = true)]
async fn scale_before_deploy_says_to_deploy_first() {
    let cloud = InMemoryCloud::new().shared();
    let error = orchestrator(&cloud).scale(&seed_spec(), 2, &RecordedEvents::new()).await.unwrap_err();
    assert!(error.to_string().contains("not deployed"), "{error}");
    assert_eq!(cloud.mutating_calls(), []);
}

#[tokio::test(start_paused = true)]
async fn every_changed_setting_is_named_in_words_never_as_a_rust_value() {
    let cloud = InMemoryCloud::new().shared();
    let orchestrator = orchestrator(&cloud);
    orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
    let mut spec = seed_spec();
    spec.health_check.path = "/drift".into();
    spec.health_check.interval *= 2;
    spec.health_check.timeout += std::time::Duration::from_secs(1);
    spec.health_check.healthy_threshold += 1;
    spec.health_check.unhealthy_threshold += 1;
    spec.health_check.grace_period *= 2;
    spec.app.port += 1;
    spec.app.memory *= 2;
    spec.app.desired_count += 1;
    spec.load_balancer.idle_timeout *= 2;
    spec.load_balancer.stickiness = !spec.load_balancer.stickiness;
    spec.load_balancer.drain_time *= 2;
    spec.load_balancer.algorithm = match spec.load_balancer.algorithm {
        Algorithm::RoundRobin => Algorithm::LeastOutstandingRequests,
        _ => Algorithm::RoundRobin,
    };
    spec.env.insert("MODE".into(), "fast".into());
    let plan = orchestrator.plan(&spec, orchestrator.prepare_image(&spec, None).await.unwrap()).await.unwrap();
    let reasons: Vec<&str> = plan.changes.iter().map(|c| c.reason.as_str()).collect();
    assert!(reasons.iter().any(|r| r.contains("health check path: / → /drift")), "{reasons:#?}");
    for reason in &reasons {
        for dump in ["{", "Spec", "Some(", "\"", "["] {
            assert!(!reason.contains(dump), "a plan reason reads as Rust ({dump}): {reason}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_failed_first_rollout_is_restarted_by_the_next_deploy_once_its_cause_is_fixed() {
    let cloud = InMemoryCloud::new().shared();
    let orchestrator = orchestrator(&cloud);
    // The circuit breaker fails the first rollout (the execution role not usable yet, say).
    cloud.fail_rollouts(Some("ECS was unable to assume the role"));
    let error = orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap_err();
    assert!(error.to_string().contains("unable to assume the role"), "{error}");

    // Fixed: the same revision and count, yet the plan says the rollout starts again, and why.
    cloud.fail_rollouts(None);
    let image = orchestrator.prepare_image(&seed_spec(), None).await.unwrap();
    let plan = orchestrator.plan(&seed_spec(), image).await.unwrap();
    let service = plan.change(StepId::Service).unwrap();
    assert_eq!(service.action, Action::Update, "{service:?}");
    assert!(
        service.reason.contains("restart the rollout: the last one failed because ECS was unable to assume the role"),
        "{}",
        service.reason
    );
    orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.expect("the re-run repairs it");
    let status = orchestrator.status(&seed_spec()).await.unwrap().service.unwrap();
    assert_eq!(
        (status.running_count, status.rollout),
        (status.spec.desired_count, scaling_core::providers::Rollout::Completed)
    );
    cloud.clear_calls();
    orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
    assert_eq!(cloud.mutating_calls(), [], "then nothing to do");
}
