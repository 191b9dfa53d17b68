//! The deploy lock through the in-memory cloud: one deploy, scale or destroy of an app at a time.

use scaling_core::providers::{LockHolder, Locks, Owner};
use scaling_core::{DeployOptions, DestroyOptions, Error, RecordedEvents};
use scaling_memory::{Fault, InMemoryCloud};
use scaling_tests::{orchestrator, seed_spec, test_options};

/// Who holds dashmath's lock now (probed by taking and giving it back).
async fn holder_of(cloud: &InMemoryCloud) -> Option<LockHolder> {
    let probe = LockHolder::here("probe");
    let owner = Owner::new("dashmath");
    match cloud.acquire_lock(&owner, &probe).await.unwrap() {
        Some(holder) => Some(holder),
        None => {
            cloud.release_lock(&owner, &probe).await.unwrap();
            None
        }
    }
}

#[tokio::test(start_paused = true)]
async fn deploy_scale_and_destroy_are_refused_while_another_run_holds_the_lock_and_write_nothing() {
    let cloud = InMemoryCloud::new().shared();
    orchestrator(&cloud).deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
    assert_eq!(holder_of(&cloud).await, None, "a finished deploy released its lock");

    let other = LockHolder::here("deploy");
    assert_eq!(cloud.acquire_lock(&Owner::new("dashmath"), &other).await.unwrap(), None);
    cloud.clear_calls();
    let o = orchestrator(&cloud);
    let errors = [
        o.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap_err(),
        o.scale(&seed_spec(), 5, &RecordedEvents::new()).await.map(|_| ()).unwrap_err(),
        o.destroy(&seed_spec(), &DestroyOptions::default(), &RecordedEvents::new()).await.map(|_| ()).unwrap_err(),
    ];
    for error in errors {
        assert!(matches!(&error, Error::Locked { .. }), "{error:?}");
        assert!(error.to_string().contains(&other.describe()[..20]), "names who holds it: {error}");
    }
    assert_eq!(cloud.mutating_calls(), [], "a refused operation writes nothing");
    let status = o.status(&seed_spec()).await.unwrap();
    assert_eq!(status.lock.map(|h| h.token), Some(other.token.clone()), "status says who holds the lock");
    assert_eq!(status.release, Some(1), "and which release runs");
    assert_eq!(holder_of(&cloud).await.map(|h| h.token), Some(other.token.clone()), "and leaves the lock alone");

    // The run holding it was killed: --break-lock.
    let breaking = orchestrator(&cloud).with_options(DeployOptions { break_lock: true, ..test_options() });
    breaking.scale(&seed_spec(), 2, &RecordedEvents::new()).await.unwrap();
    assert_eq!(holder_of(&cloud).await, None, "the scale that broke the lock released its own");
}

#[tokio::test(start_paused = true)]
async fn a_failed_or_abandoned_operation_releases_its_lock() {
    let cloud = InMemoryCloud::new().shared();
    cloud.inject(Fault::operation("ensure_load_balancer"));
    orchestrator(&cloud).deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap_err();
    assert_eq!(holder_of(&cloud).await, None, "a failed deploy released its lock");
    cloud.clear_faults();

    // A deploy dropped half-way (Ctrl-C): the caller abandons it.
    cloud.set_latency(scaling_memory::Latency::REALISTIC);
    let (o, spec, events) = (orchestrator(&cloud), seed_spec(), RecordedEvents::new());
    let interrupted = tokio::time::timeout(std::time::Duration::from_secs(30), o.deploy(&spec, None, &events));
    assert!(interrupted.await.is_err(), "still deploying after 30 s");
    assert!(holder_of(&cloud).await.is_some(), "the dropped deploy still holds it");
    o.abandon().await;
    assert_eq!(holder_of(&cloud).await, None, "abandon releases it");
    cloud.set_latency(scaling_memory::Latency::NONE);
    orchestrator(&cloud).deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn of_two_deploys_at_once_exactly_one_runs() {
    let cloud = InMemoryCloud::with_latency(scaling_memory::Latency {
        api_call: std::time::Duration::from_millis(100),
        ..Default::default()
    })
    .shared();
    let (a, b, spec, events) = (orchestrator(&cloud), orchestrator(&cloud), seed_spec(), RecordedEvents::new());
    let (first, second) = tokio::join!(a.deploy(&spec, None, &events), b.deploy(&spec, None, &events));
    let locked = [&first, &second].iter().filter(|r| matches!(r, Err(Error::Locked { .. }))).count();
    assert_eq!((locked, [&first, &second].iter().filter(|r| r.is_ok()).count()), (1, 1), "{first:?} {second:?}");
}

#[tokio::test(start_paused = true)]
async fn a_lock_left_by_a_run_killed_on_this_machine_is_taken_over_without_break_lock() {
    let cloud = InMemoryCloud::new().shared();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let here = LockHolder::here("deploy");
    let killed = LockHolder {
        process: Some(scaling_core::providers::HolderProcess { pid, ..here.process.clone().unwrap() }),
        ..here.clone()
    };
    assert_eq!(cloud.acquire_lock(&Owner::new("dashmath"), &killed).await.unwrap(), None);
    orchestrator(&cloud).deploy(&seed_spec(), None, &RecordedEvents::new()).await.expect("taken over");
    assert_eq!(holder_of(&cloud).await, None, "the deploy that took it over released it");

    // The same pid, reused by a process that started later, is not the holder either.
    let reused = LockHolder {
        process: Some(scaling_core::providers::HolderProcess {
            started: here.process.clone().unwrap().started.saturating_sub(1),
            ..here.process.clone().unwrap()
        }),
        ..here.clone()
    };
    assert_eq!(cloud.acquire_lock(&Owner::new("dashmath"), &reused).await.unwrap(), None);
    orchestrator(&cloud).scale(&seed_spec(), 2, &RecordedEvents::new()).await.expect("a reused pid is not the holder");

    // A live holder is still refused.
    assert_eq!(cloud.acquire_lock(&Owner::new("dashmath"), &here).await.unwrap(), None);
    let error = orchestrator(&cloud).deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap_err();
    assert!(matches!(error, Error::Locked { .. }), "{error:?}");
}
