//! Deploy, redirect, TLS, spread, a replica killed under load, scale 3→1→3, destroy.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use scaling_core::{DestroyOptions, RecordedEvents};
use scaling_tests::https::{once, Connection};

use crate::{dashmath_spec, deploy, load, wait_settled};

fn alive(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashmath_runs_behind_https_survives_a_killed_replica_scales_and_is_destroyed() {
    let d = deploy(dashmath_spec()).await;

    // Plain HTTP answers 301 with the same path on HTTPS.
    let reply = once("dashmath.localhost", d.http_port, None, "/some/page?x=1").await.unwrap();
    assert_eq!(reply.status, 301);
    let location = reply.headers.get("location").unwrap().to_str().unwrap();
    assert_eq!(location, format!("https://dashmath.localhost:{}/some/page?x=1", d.https_port));

    // TLS verifies against the local CA for the apex and www; the page is the Dash app.
    for host in ["dashmath.localhost", "www.dashmath.localhost"] {
        let reply = once(host, d.https_port, Some(d.tls.clone()), "/").await.unwrap();
        assert_eq!(reply.status, 200, "{host}");
        assert!(reply.body.contains("<title>Dash Arithmetic</title>"), "{host}: {}", reply.body);
    }
    let other_dir = std::env::temp_dir().join(format!("other-ca-{}", std::process::id()));
    let other_ca = scaling_local::ca::LocalCa::open(&other_dir).unwrap();
    let untrusted = scaling_tests::https::trusting(other_ca.certificate_pem());
    assert!(
        once("dashmath.localhost", d.https_port, Some(untrusted), "/").await.is_err(),
        "another CA must not verify"
    );

    // A callback through the balancer.
    let mut connection = Connection::open("dashmath.localhost", d.https_port, Some(d.tls.clone())).await.unwrap();
    let body = r#"{"output":"result.children","outputs":{"id":"result","property":"children"},"inputs":[{"id":"left","property":"value","value":6},{"id":"operator","property":"value","value":"÷"},{"id":"right","property":"value","value":0}],"changedPropIds":["right.value"],"state":[]}"#;
    let reply = connection.send("POST", "/_dash-update-component", Some(body)).await.unwrap();
    assert!(reply.body.contains(r#""children":"Err""#), "{}", reply.body);

    // Requests spread over all three replicas.
    let mut served_by = BTreeSet::new();
    for _ in 0..30 {
        let reply = connection.send("GET", "/_dash-layout", None).await.unwrap();
        served_by.insert(reply.headers.get("x-scaling-replica").unwrap().to_str().unwrap().to_string());
    }
    assert_eq!(served_by.len(), 3, "every replica serves: {served_by:?}");

    // Killing a replica under load fails no GET, and it comes back.
    let pids = d.cloud.supervisor().replica_pids("dashmath");
    assert_eq!(pids.len(), 3);
    let stop = Arc::new(tokio::sync::Notify::new());
    let counts = load(&d, 8, stop.clone(), Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    killpg(Pid::from_raw(pids[0]), Signal::SIGKILL).unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    wait_settled(&d, 3).await;
    stop.notify_waiters();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (ok, failed) = (counts.ok.load(Ordering::Relaxed), counts.failed.load(Ordering::Relaxed));
    assert_eq!(failed, 0, "no GET fails while a replica dies ({ok} succeeded)");
    assert!(ok > 50, "the load ran ({ok} requests)");
    let now = d.cloud.supervisor().replica_pids("dashmath");
    assert!(!now.contains(&pids[0]) && now.len() == 3, "the killed replica was replaced: {pids:?} → {now:?}");

    // Scale 3 → 1 → 3.
    d.orchestrator.scale(&d.spec, 1, &RecordedEvents::new()).await.unwrap();
    wait_settled(&d, 1).await;
    assert_eq!(d.cloud.supervisor().replica_pids("dashmath").len(), 1);
    d.orchestrator.scale(&d.spec, 3, &RecordedEvents::new()).await.unwrap();
    wait_settled(&d, 3).await;
    let status = d.orchestrator.status(&d.spec).await.unwrap();
    assert_eq!(status.service.unwrap().running_count, 3);
    assert_eq!(status.targets.len(), 3);

    // Destroy leaves no process and no listener.
    let pids = d.cloud.supervisor().replica_pids("dashmath");
    let options = DestroyOptions { delete_images: true, delete_zone: true, delete_logs: true };
    d.orchestrator.destroy(&d.spec, &options, &RecordedEvents::new()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    for pid in pids {
        assert!(!alive(pid), "replica {pid} still runs");
    }
    assert!(tokio::net::TcpStream::connect(("127.0.0.1", d.https_port)).await.is_err(), "the HTTPS listener is closed");
    assert!(tokio::net::TcpStream::connect(("127.0.0.1", d.http_port)).await.is_err(), "the HTTP listener is closed");
    let left = d.orchestrator.plan_destroy(&d.spec, &options).await.unwrap().owned_resources();
    assert_eq!(left, Vec::<String>::new());
}
