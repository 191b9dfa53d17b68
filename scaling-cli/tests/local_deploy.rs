//! `scaling deploy --provider local` for real: the README's main command, the JSON event stream, and
//! that credentials in the environment never show up anywhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::{curl, example_copy, fixed_count, free_ports, port_of, scaling, scaling_home, Running};

const BUILD: Duration = Duration::from_secs(600);

/// The README's main command, as written there.
fn readme_command() -> Vec<String> {
    let readme = std::fs::read_to_string(support::root().join("README.md")).unwrap();
    let line =
        readme.lines().find(|l| l.starts_with("cargo run -p scaling-cli")).expect("the main command is in the README");
    let (_, args) = line.split_once(" -- ").expect("arguments after --");
    args.split_whitespace().map(str::to_string).collect()
}

#[test]
fn the_readme_main_command_serves_dashmath_over_https_until_ctrl_c() {
    let _serial = support::serial();
    let args = readme_command();
    assert!(args.ends_with(&["deploy".into(), "--provider".into(), "local".into()]), "{args:?}");
    let mut command = scaling();
    command.args(&args);
    let mut running = Running::start(command);
    let url = running.wait_for("https://dashmath.localhost:", BUILD);
    running.wait_for("Serving here until Ctrl-C", Duration::from_secs(10));
    let port = port_of(&url);

    let (status, body) = curl("dashmath.localhost", port, "/", "https");
    assert_eq!(status, "200");
    assert!(body.contains("Dash Arithmetic"));
    let (status, _) = curl("dashmath.localhost", 8080, "/", "http");
    assert_eq!(status, "301");
    let versions = std::process::Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_version}", "--http2", "--cacert"])
        .arg(scaling_home().join("ca/ca.pem"))
        .args([
            "--resolve",
            &format!("dashmath.localhost:{port}:127.0.0.1"),
            &format!("https://dashmath.localhost:{port}/"),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&versions.stdout), "2", "HTTP/2 is negotiated over TLS (ALPN)");
    assert_eq!(support::replicas_of("dashmath").len(), 4, "2 replicas (autoscaling's min) of a master and a worker");
    // Clients that send an IP address as SNI (load testers do) are served without a log line each.
    for _ in 0..20 {
        let handshake = std::process::Command::new("openssl")
            .args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-servername", "127.0.0.1", "-brief"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&handshake.stderr).contains("CONNECTION ESTABLISHED"), "{handshake:?}");
    }
    let state = scaling_home().join("state/dashmath.json");
    assert!(state.exists(), "a foreground deployment records itself too");

    let (exit, seen) = running.interrupt();
    assert!(exit.success(), "{exit:?}\n{}", seen.join("\n"));
    assert!(seen.iter().any(|l| l.contains("Stopped.")), "{}", seen.join("\n"));
    assert!(!seen.iter().any(|l| l.contains("SNI")), "no warning per connection: {}", seen.join("\n"));
    assert_eq!(support::replicas_of("dashmath"), Vec::<i32>::new(), "Ctrl-C stops every replica");
    assert!(!state.exists(), "and removes its state file");
}

#[test]
fn json_output_is_one_event_per_line_then_the_result() {
    let _serial = support::serial();
    let dir = example_copy(|c| fixed_count(free_ports(c), 1).replace("name = \"dashmath\"", "name = \"jsonmath\""));
    let mut command = scaling();
    command.arg("--config").arg(dir.path().join("scaling.toml")).args([
        "--output",
        "json",
        "deploy",
        "--provider",
        "local",
    ]);
    let mut running = Running::start(command);
    running.wait_for("\"type\":\"result\"", BUILD);
    let (exit, seen) = running.interrupt();
    assert!(exit.success(), "{exit:?}\n{}", seen.join("\n"));
    let lines: Vec<serde_json::Value> =
        seen.iter().filter(|l| !l.starts_with("stderr:")).map(|l| serde_json::from_str(l).unwrap()).collect();
    let (events, results): (Vec<_>, Vec<_>) = lines.iter().partition(|l| l["type"] == "event");
    assert_eq!(results.len(), 1);
    let result = results[0];
    assert_eq!(result["type"], "result");
    assert!(result["urls"][0].as_str().unwrap().starts_with("https://jsonmath.localhost:"));
    assert!(result["changes"].is_array() && result["image"].is_string());
    for event in &events {
        assert!(event["step"].is_string() && event["resource"].is_string() && event["elapsed"].is_object(), "{event}");
        assert!(
            ["started", "waiting", "retrying", "done", "failed", "skipped"]
                .contains(&event["kind"]["kind"].as_str().unwrap()),
            "{event}"
        );
    }
    assert!(events.iter().any(|e| e["step"] == "service_stable" && e["kind"]["kind"] == "done"));
}

#[test]
fn credentials_in_the_environment_never_appear_in_output_files_or_replicas() {
    let _serial = support::serial();
    let markers = support::marker_credentials();
    let dir = example_copy(|c| fixed_count(free_ports(c), 1).replace("name = \"dashmath\"", "name = \"secretmath\""));
    let config = dir.path().join("scaling.toml");
    let with_secrets = |args: &[&str]| {
        let mut command = scaling();
        command
            .env("AWS_ACCESS_KEY_ID", &markers[0])
            .env("AWS_SECRET_ACCESS_KEY", &markers[1])
            .env("AWS_SESSION_TOKEN", &markers[2])
            .arg("-vv")
            .arg("--config")
            .arg(&config)
            .args(["--provider", "local"])
            .args(args);
        command
    };
    let mut running = Running::start(with_secrets(&["deploy"]));
    running.wait_for("Serving here until Ctrl-C", BUILD);
    let replicas = support::replicas_of("secretmath");
    let environments: Vec<String> = replicas
        .iter()
        .map(|pid| {
            String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default()).into_owned()
        })
        .collect();
    let (_, mut seen) = running.interrupt();
    for args in [&["status"][..], &["destroy", "--yes"]] {
        let output = with_secrets(args).output().unwrap();
        seen.push(String::from_utf8_lossy(&output.stdout).into_owned());
        seen.push(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    let mut written = Vec::new();
    for entry in walk(&scaling_home()).into_iter().chain(walk(dir.path())) {
        written.push(String::from_utf8_lossy(&std::fs::read(&entry).unwrap_or_default()).into_owned());
    }
    assert!(!environments.is_empty(), "replicas ran");
    for marker in &markers {
        assert!(!seen.iter().any(|l| l.contains(marker)), "{marker} was printed");
        assert!(!written.iter().any(|f| f.contains(marker)), "{marker} was written to a file");
        assert!(!environments.iter().any(|e| e.contains(marker)), "{marker} reached a replica's environment");
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            // Virtualenvs are third-party files the command did not write in this run.
            if path.file_name().is_some_and(|n| n == "venvs") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}
