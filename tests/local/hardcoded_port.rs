//! An app that hard-codes its port instead of reading `$PORT` fails the deploy fast, saying why, what
//! the rule is, where the replica's log is and what it said last (not a 20-minute hang).

use std::time::Duration;

use scaling_core::{DeployOptions, DestroyOptions, Error, Orchestrator, Providers, RecordedEvents, Timeouts};
use scaling_local::LocalCloud;

use crate::home;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_that_hard_codes_its_port_fails_the_deploy_fast_with_the_reason() {
    let fixed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = crate::example_copy(|file, text| match file {
        "gunicorn.conf.py" => text
            .lines()
            .map(|l| if l.starts_with("bind =") { format!("bind = \"127.0.0.1:{fixed}\"") } else { l.to_string() })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => text,
    });
    let mut spec = crate::spec_for(&app, "fixedport", 2);
    spec.health_check.interval = Duration::from_secs(5);
    spec.health_check.timeout = Duration::from_secs(2);
    spec.health_check.grace_period = Duration::from_secs(2);
    spec.health_check.unhealthy_threshold = 2;
    let cloud = std::sync::Arc::new(LocalCloud::new(home(), spec.settings().unwrap()));
    // The bound is far above what failing fast takes: the test fails by this timeout if it hangs.
    let timeouts = Timeouts { service_stable: Duration::from_secs(150), ..Timeouts::default() };
    let options = DeployOptions { poll_interval: Duration::from_millis(250), timeouts, ..DeployOptions::default() };
    let orchestrator = Orchestrator::new(Providers::from_cloud(cloud.clone())).with_options(options);

    let error = orchestrator.deploy(&spec, None, &RecordedEvents::new()).await.unwrap_err();
    let everything = DestroyOptions { delete_images: true, delete_zone: true, delete_logs: true };
    orchestrator.destroy(&spec, &everything, &RecordedEvents::new()).await.unwrap();

    let message = error.to_string();
    assert!(matches!(error, Error::RolloutFailed { .. }), "{message}");
    assert!(message.contains("in a row"), "{message}");
    assert!(message.contains("must listen on the port in $PORT"), "the rule: {message}");
    assert!(message.contains("Log: ") && message.contains("fixedport-"), "the log: {message}");
    let said_why = message.contains("Connection in use") || message.contains(&format!("listened on 127.0.0.1:{fixed}"));
    assert!(said_why, "the cause, from the log or the socket: {message}");
}
