//! The local provider, for real: the dashmath example deployed as 3 gunicorn replicas behind the
//! embedded HTTPS load balancer, exercised with a TLS client that trusts only the local CA.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod autoscaling;
mod browser;
mod conformance;
mod exposure;
mod groups;
mod hardcoded_port;
mod lifecycle;
mod public_domain;
mod rollout;
mod sticky;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use scaling_core::{DeployOptions, Orchestrator, Providers, RecordedEvents, Spec};
use scaling_local::{localize, LocalCloud, LocalSettings, Paths};
use scaling_tests::https::{trusting, Connection};

/// The example's config, with free ports so tests can run side by side.
pub(crate) fn dashmath_spec() -> Spec {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/dashmath/scaling.toml");
    let mut spec = Spec::load(&path).expect("the example config is valid");
    let local = spec.settings::<LocalSettings>().expect("the example's [provider.local]").on_free_ports();
    spec.set_settings(&local);
    // A fixed count of 3 (the example autoscales from 2): the autoscaling tests set their own bounds.
    spec.scaling = None;
    spec.app.desired_count = 3;
    localize(&spec)
}

/// A copy of the example app in a temporary folder, each file passed through `edit(name, text)`.
pub(crate) fn example_copy(edit: impl Fn(&str, String) -> String) -> tempfile::TempDir {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/dashmath");
    let dir = tempfile::tempdir().unwrap();
    for file in ["app.py", "gunicorn.conf.py", "requirements.txt", "Dockerfile"] {
        let text = std::fs::read_to_string(source.join(file)).unwrap();
        let edited = edit(file, text.clone());
        std::fs::write(dir.path().join(file), edited).unwrap();
    }
    dir
}

/// The example's spec for the app in `dir`, under its own name, with `replicas` replicas.
pub(crate) fn spec_for(dir: &tempfile::TempDir, name: &str, replicas: u32) -> Spec {
    let mut spec = dashmath_spec();
    spec.app.name = name.into();
    spec.app.desired_count = replicas;
    spec.image.context = Some(dir.path().to_path_buf());
    localize(&spec)
}

/// A deployed app and what the tests need to reach it.
pub(crate) struct Deployed {
    pub(crate) spec: Spec,
    pub(crate) cloud: Arc<LocalCloud>,
    pub(crate) orchestrator: Orchestrator,
    pub(crate) tls: Arc<rustls::ClientConfig>,
    pub(crate) https_port: u16,
    pub(crate) http_port: u16,
}

/// The data folder shared by these tests (its virtualenv cache makes later runs fast), with state of
/// each caller's own: the tests deploy the same app side by side, which the deploy lock would refuse
/// in one state folder.
pub(crate) fn home() -> Paths {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let shared = std::env::temp_dir().join("scaling-test-home");
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let state = shared.join("test-state").join(format!("{}-{n}", std::process::id()));
    Paths::at(shared).with_state(state)
}

pub(crate) async fn deploy(spec: Spec) -> Deployed {
    deploy_on(spec, |cloud| cloud).await
}

/// [`deploy`] on a local cloud `setup` makes ready (e.g. with secret values).
pub(crate) async fn deploy_on(spec: Spec, setup: impl FnOnce(LocalCloud) -> LocalCloud) -> Deployed {
    let cloud = Arc::new(setup(LocalCloud::new(home(), spec.settings().unwrap())));
    let options = DeployOptions { poll_interval: Duration::from_millis(250), ..DeployOptions::default() };
    let orchestrator = Orchestrator::new(Providers::from_cloud(cloud.clone())).with_options(options);
    let report = orchestrator.deploy(&spec, None, &RecordedEvents::new()).await.expect("deploy");
    assert_eq!(report.urls[0].split(':').next(), Some("https"), "{:?}", report.urls);
    let ca = std::fs::read_to_string(cloud.paths().ca().join("ca.pem")).unwrap();
    Deployed {
        https_port: cloud.listener_port(443).expect("https listener"),
        http_port: cloud.listener_port(80).expect("http listener"),
        tls: trusting(&ca),
        spec,
        cloud,
        orchestrator,
    }
}

/// Counts of a load run.
#[derive(Debug, Default)]
pub(crate) struct Load {
    pub(crate) ok: AtomicUsize,
    pub(crate) failed: AtomicUsize,
}

/// `clients` keep-alive connections each sending GET / until `stop` says so; bounded by `limit`.
pub(crate) async fn load(d: &Deployed, clients: usize, stop: Arc<tokio::sync::Notify>, limit: Duration) -> Arc<Load> {
    let counts = Arc::new(Load::default());
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (tls, port, counts, stop) = (d.tls.clone(), d.https_port, counts.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + limit;
            let mut connection = Connection::open("dashmath.localhost", port, Some(tls.clone())).await.unwrap();
            let stopped = stop.notified();
            tokio::pin!(stopped);
            while tokio::time::Instant::now() < deadline {
                tokio::select! {
                    _ = &mut stopped => break,
                    reply = connection.send("GET", "/", None) => match reply {
                        Ok(r) if r.status == 200 => { counts.ok.fetch_add(1, Ordering::Relaxed); }
                        other => {
                            eprintln!("failed GET: {other:?}");
                            counts.failed.fetch_add(1, Ordering::Relaxed);
                            connection = Connection::open("dashmath.localhost", port, Some(tls.clone())).await.unwrap();
                        }
                    },
                }
            }
        }));
    }
    let handle = counts.clone();
    tokio::spawn(async move {
        for task in tasks {
            let _ = task.await;
        }
    });
    handle
}

/// Waits until the service runs `count` healthy replicas of its current revision.
pub(crate) async fn wait_settled(d: &Deployed, count: u32) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let counts = d.cloud.supervisor().counts("dashmath").expect("service runs");
        if counts.settled && counts.running == count {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "not settled at {count}: {counts:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
