//! The whole AWS lifecycle through the realism layer ([`crate::realism::Realism::aws`]): a first
//! deploy on a new account (service-linked roles not there yet, groups, roles, listeners and
//! certificates not yet seen by the next call), a re-deploy, an update, a rollback, destroy with the
//! zone (deployments still active, interfaces draining, a certificate still in use, a role whose
//! policies were just detached), and a deploy again (Route 53 remembers caller references), with more
//! zone tags than one call takes, and record changes PENDING before they are INSYNC. Every behaviour is met and survived.

use scaling_core::{AutoscalingSpec, RecordedEvents};

use crate::realism::Realism;
use crate::support::{moto_url, provider};
use crate::{image, orchestrator, spec};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_lifecycle_survives_what_aws_does_and_moto_does_not() {
    let Some(url) = moto_url() else { return };
    let (aws, log, client, _) = provider(&url).await;
    *client.realism.lock().unwrap() = Some(Realism::aws());
    let mut spec = spec().with_autoscaling(AutoscalingSpec::on_cpu(2, 10, 60));
    for n in 0..15 {
        spec.tags.insert(format!("team-{n}"), "x".into());
    }
    let o = orchestrator(&aws);

    let first =
        o.deploy(&spec, Some(&image(1)), &RecordedEvents::new()).await.expect("a first deploy on a new account");
    let zone = first.new_zone.expect("a new zone");
    log.clear();
    o.deploy(&spec, Some(&image(1)), &RecordedEvents::new()).await.unwrap();
    assert_eq!(log.mutating(), Vec::<String>::new(), "a re-deploy writes nothing");
    o.deploy(&spec, Some(&image(2)), &RecordedEvents::new()).await.expect("an update");
    o.rollback(&spec, None, &RecordedEvents::new()).await.expect("a rollback");
    let status = o.status(&spec).await.unwrap();
    let autoscaling = status.autoscaling.expect("autoscaling");
    assert!(autoscaling.last_decision_unknown.is_none(), "AWS answers DescribeScalingActivities: {autoscaling:?}");

    let everything = crate::EVERYTHING;
    o.destroy(&spec, &everything, &RecordedEvents::new()).await.expect("destroy with the zone");
    let draining = client.realism.lock().unwrap().as_ref().unwrap().draining();
    assert!(!draining, "destroy returns once the service is INACTIVE, not while it drains");
    let again = o.deploy(&spec, Some(&image(1)), &RecordedEvents::new()).await.expect("a deploy after destroy");
    assert_ne!(again.new_zone.expect("the zone is made again").id, zone.id);
    o.destroy(&spec, &everything, &RecordedEvents::new()).await.unwrap();

    let realism = client.realism.lock().unwrap().take().unwrap();
    let met: std::collections::BTreeSet<&str> = realism.answered.iter().map(String::as_str).collect();
    for lag in &realism.lags {
        assert!(met.contains(lag.then), "{} ({}) was never met: {met:?}", lag.then, lag.source);
    }
    assert!(met.contains("DescribeScalingActivities") && met.contains("GetChange"), "{met:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_rollout_the_circuit_breaker_failed_is_restarted_by_the_next_deploy() {
    let Some(url) = moto_url() else { return };
    let (aws, log, client, _) = provider(&url).await;
    let mut realism = Realism::aws();
    realism.failing_first_rollout = true;
    *client.realism.lock().unwrap() = Some(realism);
    let o = orchestrator(&aws);
    let error = o.deploy(&spec(), Some(&image(1)), &RecordedEvents::new()).await.expect_err("the breaker failed it");
    assert!(error.to_string().contains("circuit breaker"), "the reason is AWS's: {error}");

    // The cause is fixed (the role is assumable now): the same spec restarts the rollout.
    let plan = o.plan(&spec(), o.prepare_image(&spec(), Some(&image(1))).await.unwrap()).await.unwrap();
    let row = plan.change(scaling_core::StepId::Service).expect("a service row");
    assert!(row.reason.contains("restart") && row.reason.contains("circuit breaker"), "{row:?}");
    log.clear();
    o.deploy(&spec(), Some(&image(1)), &RecordedEvents::new()).await.expect("the restarted rollout");
    assert!(log.mutating().contains(&"UpdateService".to_string()), "{:?}", log.mutating());
    log.clear();
    o.deploy(&spec(), Some(&image(1)), &RecordedEvents::new()).await.unwrap();
    assert_eq!(log.mutating(), Vec::<String>::new(), "then a re-deploy writes nothing");

    o.destroy(&spec(), &crate::EVERYTHING, &RecordedEvents::new()).await.unwrap();
    let realism = client.realism.lock().unwrap().take().unwrap();
    assert!(realism.answered.iter().any(|a| a == "DescribeServices rewritten"), "{:?}", realism.answered);
}
