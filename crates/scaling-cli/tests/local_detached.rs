//! `deploy --provider local --detach` keeps serving in the background; `status`, `scale` and `destroy`
//! from other processes reach it through its socket, and destroy leaves no process and no state.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use support::{curl, example_copy, free_ports, port_of, processes_with, scaling, scaling_home};

fn json(output: &std::process::Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(
        text.lines().last().unwrap_or_else(|| panic!("no output: {}", String::from_utf8_lossy(&output.stderr))),
    )
    .unwrap()
}

#[test]
fn a_detached_deployment_is_reached_from_other_processes_and_destroyed_cleanly() {
    let _serial = support::serial();
    let app = format!("bg{}", std::process::id());
    let dir = example_copy(|c| {
        free_ports(c)
            .replace("desired_count = 3", "desired_count = 2")
            .replace("name = \"dashmath\"", &format!("name = \"{app}\""))
    });
    let config = dir.path().join("scaling.toml");
    let run = |args: &[&str]| {
        scaling().arg("--config").arg(&config).args(["--provider", "local"]).args(args).output().unwrap()
    };

    let started = run(&["--output", "json", "deploy", "--detach"]);
    assert!(
        started.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&started.stdout),
        String::from_utf8_lossy(&started.stderr)
    );
    let url = json(&started)["urls"][0].as_str().unwrap().to_string();
    let (status, body) = curl(&format!("{app}.localhost"), port_of(&url), "/", "https");
    assert_eq!(status, "200", "the detached deployment serves after the command returned");
    assert!(body.contains("Dash Arithmetic"));

    let status = json(&run(&["--output", "json", "status"]));
    assert_eq!(status["service"]["running_count"], 2);
    assert_eq!(status["targets"].as_array().unwrap().len(), 2);

    let scaled = run(&["--output", "json", "scale", "1"]);
    assert!(scaled.status.success(), "{}", String::from_utf8_lossy(&scaled.stderr));
    assert_eq!(json(&scaled)["desired_count"], 1);
    let deadline = Instant::now() + Duration::from_secs(60);
    while json(&run(&["--output", "json", "status"]))["service"]["running_count"] != 1 {
        assert!(Instant::now() < deadline, "scaled down to 1");
        std::thread::sleep(Duration::from_millis(300));
    }

    // The surplus replica leaves the pool at once and its process exits after a graceful stop.
    while support::replicas_of(&app).len() != 2 {
        assert!(Instant::now() < deadline, "the surplus replica's processes exit");
        std::thread::sleep(Duration::from_millis(200));
    }

    let refused = run(&["destroy"]);
    assert_eq!(refused.status.code(), Some(2), "no --yes and no terminal");
    assert_eq!(
        support::replicas_of(&app).len(),
        2,
        "one replica (master and worker) still runs after a refused destroy"
    );

    let destroyed = run(&["destroy", "--yes"]);
    assert!(destroyed.status.success(), "{}", String::from_utf8_lossy(&destroyed.stderr));
    assert_eq!(support::replicas_of(&app), Vec::<i32>::new(), "no replica survives destroy");
    let config_path = config.to_string_lossy().into_owned();
    let background = processes_with("--ready-file").into_iter().filter(|pid| {
        String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default())
            .contains(&config_path)
    });
    assert_eq!(background.count(), 0, "the background process exited");
    let after = run(&["status"]);
    assert!(String::from_utf8_lossy(&after.stdout).contains("is not deployed"));
    let logs: Vec<String> = std::fs::read_dir(scaling_home().join("logs"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&app))
        .collect();
    assert_eq!(logs, Vec::<String>::new(), "destroy removes the app's state");
}
