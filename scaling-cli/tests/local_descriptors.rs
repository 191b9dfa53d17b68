//! The local deployment under a desktop's open-file limits: the serving process raises its soft
//! limit to the hard one (replicas keep the one it found), and with a limit it cannot raise it serves
//! more connections than it has descriptors for — each one served or waiting in the kernel's backlog
//! — without losing a replica. Load is bounded (a fixed number of connections, each with a deadline)
//! and goes only to 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use scaling_tests::https::{trusting, Connection, TlsConfig};
use support::detached::{json, record_of, Example};
use support::{port_of, scaling_home};

/// The soft and hard open-file limits of process `pid`.
fn open_files(pid: i64) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap();
    let numbers: Vec<u64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    (numbers[0], numbers[1])
}

fn deploy_detached(example: &Example, soft: u64, hard: u64) -> (u16, i64) {
    let started = example.run_with_open_files(soft, hard, &["--output", "json", "deploy", "--detach"]);
    assert!(
        started.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&started.stdout),
        String::from_utf8_lossy(&started.stderr)
    );
    let port = port_of(json(&started)["urls"][0].as_str().unwrap());
    (port, record_of(&example.app)["pid"].as_i64().unwrap())
}

#[test]
fn the_serving_process_raises_its_open_file_limit_and_replicas_keep_the_one_it_found() {
    let _serial = support::serial();
    let example = Example::new("fdraise", 1);
    let (_, serving) = deploy_detached(&example, 256, 4096);
    assert_eq!(open_files(serving), (4096, 4096), "the serving process raised its soft limit to the hard one");
    let replicas: Vec<i64> =
        record_of(&example.app)["replicas"].as_array().unwrap().iter().map(|p| p.as_i64().unwrap()).collect();
    assert!(!replicas.is_empty());
    for replica in replicas {
        assert_eq!(open_files(replica).0, 256, "a replica starts with the limit the user's shell set");
    }
    let status = json(&example.run(&["--output", "json", "status"]));
    let connections = &status["load_balancer"]["connections"];
    assert!(connections["limit"].as_u64().unwrap() > 3000, "most of 4096 descriptors go to clients: {connections}");
}

/// What one client saw: a reply to its first and its second request on one kept-alive connection.
async fn client(host: String, port: u16, tls: TlsConfig) -> Result<(), String> {
    let mut connection = Connection::open(&host, port, Some(tls)).await.map_err(|e| format!("connect: {e}"))?;
    for n in 0..2 {
        let reply = connection.send("GET", "/", None).await?;
        if reply.status != 200 {
            return Err(format!("request {n}: status {}", reply.status));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(())
}

#[test]
fn under_a_low_open_file_limit_more_connections_than_descriptors_are_served_and_replicas_stay_healthy() {
    const LIMIT: u64 = 256;
    const CLIENTS: usize = 600;
    let _serial = support::serial();
    let example = Example::new("fdlow", 2);
    let (port, serving) = deploy_detached(&example, LIMIT, LIMIT);
    assert_eq!(open_files(serving), (LIMIT, LIMIT), "a hard limit of {LIMIT}: nothing to raise");
    let host = format!("{}.localhost", example.app);
    let tls = trusting(&std::fs::read_to_string(scaling_home().join("ca/ca.pem")).unwrap());

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (results, probes) = runtime.block_on(async {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let (host, tls) = (host.clone(), tls.clone());
                tokio::spawn(tokio::time::timeout(Duration::from_secs(90), client(host, port, tls)))
            })
            .collect();
        // Fresh requests while the others hold every place: they wait their turn, and are answered.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut probes = Vec::new();
        for _ in 0..3 {
            let sent = Instant::now();
            let reply = tokio::time::timeout(Duration::from_secs(90), async {
                let mut c = Connection::open(&host, port, Some(tls.clone())).await.map_err(|e| e.to_string())?;
                c.send("GET", "/", None).await.map(|r| r.status)
            })
            .await;
            probes.push((reply, sent.elapsed()));
        }
        let mut results = Vec::new();
        for task in clients {
            results.push(task.await.unwrap());
        }
        (results, probes)
    });
    let failed: Vec<String> = results
        .iter()
        .filter_map(|r| match r {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.clone()),
            Err(_) => Some("no answer within 90 s".into()),
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {CLIENTS} connections failed: {:?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
    for (reply, took) in &probes {
        assert!(matches!(reply, Ok(Ok(200))), "a fresh request during the load: {reply:?} after {took:?}");
    }

    // The deployment is fine afterwards: every replica healthy and never restarted, fresh requests served.
    let status = json(&example.run(&["--output", "json", "status"]));
    assert_eq!(status["service"]["running_count"], 2, "{status}");
    for replica in status["service"]["replicas"].as_array().unwrap() {
        assert_eq!((replica["state"].as_str(), replica["restarts"].as_u64()), (Some("healthy"), Some(0)), "{replica}");
    }
    let connections = &status["load_balancer"]["connections"];
    assert!(
        connections["limit"].as_u64().unwrap() < LIMIT,
        "clients get what is left after the reserve: {connections}"
    );
    let text = String::from_utf8_lossy(&example.run(&["status"]).stdout).into_owned();
    assert!(text.contains("connections: ") && text.contains("accepted at once at most"), "{text}");
    let (status_code, body) = support::curl(&host, port, "/", "https");
    assert_eq!(status_code, "200", "{body}");
}
