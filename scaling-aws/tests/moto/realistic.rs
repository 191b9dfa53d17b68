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
