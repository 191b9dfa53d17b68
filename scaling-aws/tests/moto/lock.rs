//! The deploy lock on the emulator: an SSM parameter created only if absent.

use scaling_core::providers::{HolderProcess, LockHolder, Locks, Owner};
use scaling_core::Error;

use crate::support::{moto_url, provider, sdk};
use crate::{orchestrator, spec};

#[tokio::test]
async fn one_holder_at_a_time_the_second_is_told_who_an_expired_lock_is_taken_over_and_broken_on_purpose() {
    let Some(url) = moto_url() else { return };
    let (aws, log, _, account) = provider(&url).await;
    let owner = Owner::new("dashmath");
    let first = LockHolder::here("deploy");
    assert_eq!(aws.acquire_lock(&owner, &first).await.unwrap(), None, "the first takes it");
    assert_eq!(aws.acquire_lock(&owner, &first.renewed()).await.unwrap(), None, "its holder renews it");
    let second = LockHolder::here("scale");
    let held = aws.acquire_lock(&owner, &second).await.unwrap().expect("refused while held");
    assert_eq!((held.token.as_str(), held.operation.as_str()), (first.token.as_str(), "deploy"));

    // The parameter is the app's, tagged as such.
    let sdk = sdk(&url, &account).await;
    let tags = sdk
        .ssm
        .list_tags_for_resource()
        .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
        .resource_id("/scaling/dashmath/lock")
        .send()
        .await
        .unwrap();
    assert!(tags.tag_list().iter().any(|t| t.key() == Owner::TAG && t.value() == "dashmath"), "{tags:?}");

    aws.release_lock(&owner, &first).await.unwrap();
    assert_eq!(aws.acquire_lock(&owner, &second).await.unwrap(), None, "free once released");

    // A run killed while holding it: its lock expires and the next run takes it over.
    aws.release_lock(&owner, &second).await.unwrap();
    let dead = LockHolder { expires: 1, ..LockHolder::here("deploy") };
    assert_eq!(aws.acquire_lock(&owner, &dead).await.unwrap(), None);
    assert_eq!(aws.acquire_lock(&owner, &first).await.unwrap(), None, "an expired lock is taken over");
    assert_eq!(aws.break_lock(&owner).await.unwrap().map(|h| h.token), Some(first.token.clone()), "broken on purpose");
    assert_eq!(aws.break_lock(&owner).await.unwrap(), None, "nothing left to break");
    assert!(log.lock_calls().iter().any(|op| op == "PutParameter"), "{:?}", log.lock_calls());
}

#[tokio::test]
async fn a_deploy_while_another_run_holds_the_lock_is_refused_before_any_write_and_break_lock_takes_it() {
    let Some(url) = moto_url() else { return };
    let (aws, log, _, _) = provider(&url).await;
    let other = LockHolder::here("deploy");
    assert_eq!(aws.acquire_lock(&Owner::new("dashmath"), &other).await.unwrap(), None);

    let error = orchestrator(&aws).deploy(&spec(), None, &scaling_core::Silent).await.unwrap_err();
    assert!(matches!(&error, Error::Locked { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains(&other.by) && text.contains("--break-lock"), "names the holder and the way out: {text}");
    assert_eq!(log.mutating(), Vec::<String>::new(), "nothing was written");

    let breaking = orchestrator(&aws)
        .with_options(scaling_core::DeployOptions { break_lock: true, ..orchestrator(&aws).options().clone() });
    breaking.deploy(&spec(), None, &scaling_core::Silent).await.unwrap();
    assert_eq!(aws.break_lock(&Owner::new("dashmath")).await.unwrap(), None, "the deploy released its lock");
    orchestrator(&aws).destroy(&spec(), &crate::EVERYTHING, &scaling_core::Silent).await.unwrap();
    assert_eq!(aws.break_lock(&Owner::new("dashmath")).await.unwrap(), None, "destroy leaves no lock behind");
}

/// A holder whose process ran on this machine and has exited (a killed `scaling deploy`).
fn killed_holder() -> LockHolder {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let holder = LockHolder::here("deploy");
    let process = HolderProcess { pid, ..holder.process.clone().expect("/proc names this process") };
    LockHolder { process: Some(process), by: format!("someone@here (pid {pid})"), ..holder }
}

#[tokio::test]
async fn a_lock_whose_holder_was_killed_on_this_machine_is_taken_over_and_one_from_elsewhere_is_not() {
    let Some(url) = moto_url() else { return };
    let (aws, log, _, _) = provider(&url).await;
    let owner = Owner::new("dashmath");
    let elsewhere = {
        let holder = killed_holder();
        let process = HolderProcess { boot: "another-machine".into(), ..holder.process.clone().unwrap() };
        LockHolder { process: Some(process), ..holder }
    };
    assert_eq!(aws.acquire_lock(&owner, &elsewhere).await.unwrap(), None);
    let error = orchestrator(&aws).deploy(&spec(), None, &scaling_core::Silent).await.unwrap_err();
    assert!(matches!(&error, Error::Locked { .. }), "a holder on another machine is refused: {error:?}");
    assert_eq!(log.mutating(), Vec::<String>::new(), "nothing was written");

    aws.break_lock(&owner).await.unwrap();
    let killed = killed_holder();
    assert_eq!(aws.acquire_lock(&owner, &killed).await.unwrap(), None);
    orchestrator(&aws).deploy(&spec(), None, &scaling_core::Silent).await.expect("the killed run's lock is taken over");
    assert_eq!(aws.break_lock(&owner).await.unwrap(), None, "and released after the deploy");
    orchestrator(&aws).destroy(&spec(), &crate::EVERYTHING, &scaling_core::Silent).await.unwrap();
}
