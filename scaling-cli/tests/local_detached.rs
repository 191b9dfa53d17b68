//! `deploy --provider local --detach` keeps serving in the background; `status`, `scale` and `destroy`
//! from other processes reach it through its socket, and destroy leaves no process and no state.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use support::detached::{alive, json, record_of, state_file, Example};
use support::{curl, port_of, processes_with, scaling, scaling_home};

#[test]
fn a_detached_deployment_is_reached_from_other_processes_and_destroyed_cleanly() {
    let _serial = support::serial();
    let example = Example::new("bg", 2);
    let (app, run) = (example.app.clone(), |args: &[&str]| example.run(args));

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

    // Its state file says who serves it and which replicas run, for the user's eyes only.
    let state = state_file(&app);
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&state).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let record = record_of(&app);
    assert!(alive(record["pid"].as_i64().unwrap()), "the serving process is recorded: {record}");
    assert_eq!(record["urls"][0], url.as_str());
    let recorded: Vec<i64> = record["replicas"].as_array().unwrap().iter().map(|p| p.as_i64().unwrap()).collect();
    assert_eq!(recorded.len(), 2, "{record}");
    assert!(recorded.iter().all(|pid| alive(*pid)), "the recorded replicas run: {record}");

    // A second deploy of the same app goes to the running one, which has nothing to change.
    let again = run(&["deploy", "--detach"]);
    let said = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    let serving = record["pid"].as_i64().unwrap();
    assert!(said.starts_with(&format!("✓ {app} already runs here (pid {serving})")), "says it runs first: {said}");
    assert!(said.contains("nothing to change"), "{said}");
    assert_eq!(record_of(&app)["pid"], serving, "no second copy started");

    let status = json(&run(&["--output", "json", "status"]));
    assert_eq!(status["service"]["running_count"], 2);
    assert_eq!(status["targets"].as_array().unwrap().len(), 2);
    let replicas = status["service"]["replicas"].as_array().unwrap().clone();
    assert_eq!(replicas.len(), 2, "{replicas:?}");
    for replica in &replicas {
        assert_eq!(replica["state"], "healthy", "{replica}");
        assert_eq!(replica["restarts"], 0, "{replica}");
        assert!(replica["address"].as_str().unwrap().starts_with("127.0.0.1:"), "{replica}");
    }

    // Both replicas' output, from another process, interleaved by time and labelled by replica.
    let logs = run(&["logs"]);
    let text = String::from_utf8_lossy(&logs.stdout).into_owned();
    assert!(logs.status.success(), "{}", String::from_utf8_lossy(&logs.stderr));
    let labels: std::collections::BTreeSet<&str> =
        text.lines().filter_map(|l| l.split(" | ").next()?.split_whitespace().nth(1)).collect();
    assert_eq!(labels.len(), 2, "a label per replica: {text}");
    assert!(text.contains("Listening at: http://127.0.0.1:"), "gunicorn's start lines: {text}");
    let first = labels.iter().next().unwrap().to_string();
    let one = String::from_utf8_lossy(&run(&["logs", "--replica", &first]).stdout).into_owned();
    assert!(!one.is_empty() && one.lines().all(|l| l.contains(&format!(" {first} | "))), "{one}");
    let json_logs = run(&["--output", "json", "logs", "--lines", "3"]);
    let parsed: Vec<serde_json::Value> =
        String::from_utf8_lossy(&json_logs.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(parsed.len(), 3, "--lines 3: {parsed:?}");
    assert!(parsed.iter().all(|l| l["type"] == "log" && l["at"].is_u64() && l["replica"].is_string()), "{parsed:?}");
    let later = run(&["logs", "--since", "1ms"]);
    assert!(later.status.success(), "{}", String::from_utf8_lossy(&later.stderr));

    // A replica killed out of band is replaced; status lists the newcomer with its restart, in words.
    let victim = replicas[0]["pid"].as_i64().unwrap() as i32;
    let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(victim), nix::sys::signal::Signal::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(60);
    let text = loop {
        let text = String::from_utf8_lossy(&run(&["status"]).stdout).into_owned();
        if text.contains("restarted once") && text.matches(" healthy ").count() >= 2 {
            break text;
        }
        assert!(Instant::now() < deadline, "the killed replica was not replaced: {text}");
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(text.contains("  replicas:\n"), "{text}");
    assert!(!text.contains(&format!("pid {victim} ")), "the killed replica is gone from the list: {text}");

    // Scale waits until the new count runs healthy (the status right after says so), unless told not to.
    let scaled = run(&["--output", "json", "scale", "1"]);
    assert!(scaled.status.success(), "{}", String::from_utf8_lossy(&scaled.stderr));
    assert_eq!((json(&scaled)["desired_count"].clone(), json(&scaled)["running_count"].clone()), (1.into(), 1.into()));
    assert_eq!(json(&run(&["--output", "json", "status"]))["service"]["running_count"], 1);
    let deadline = Instant::now() + Duration::from_secs(60);
    let up = run(&["scale", "2", "--no-wait"]);
    assert!(String::from_utf8_lossy(&up.stdout).contains("not waiting"), "{up:?}");
    let waited = run(&["scale", "1"]);
    assert!(String::from_utf8_lossy(&waited.stdout).contains("runs 1 healthy replica(s)"), "{waited:?}");

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
    assert!(
        String::from_utf8_lossy(&destroyed.stdout)
            .contains(&format!("kept the bundles of {app} (pass --delete-images")),
        "destroy names the bundles it keeps: {destroyed:?}"
    );
    assert_eq!(support::replicas_of(&app), Vec::<i32>::new(), "no replica survives destroy");
    let bundles_of = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(scaling_home().join("bundles"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|dir| {
                std::fs::read_to_string(dir.join("bundle.json")).is_ok_and(|m| m.contains(&format!("\"{app}\"")))
            })
            .collect()
    };
    assert_eq!(bundles_of().len(), 1, "the app's bundle is kept without --delete-images");
    let images = run(&["destroy", "--yes", "--delete-images"]);
    assert!(images.status.success(), "{}", String::from_utf8_lossy(&images.stderr));
    assert!(String::from_utf8_lossy(&images.stdout).contains("bundle sha256:"), "{images:?}");
    assert_eq!(bundles_of(), Vec::<std::path::PathBuf>::new(), "--delete-images removes the app's bundles");
    let config_path = example.config().to_string_lossy().into_owned();
    let background = processes_with("--ready-file").into_iter().filter(|pid| {
        String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default())
            .contains(&config_path)
    });
    assert_eq!(background.count(), 0, "the background process exited");
    assert!(!state_file(&app).exists(), "destroy removes the state file");
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

#[test]
fn a_deployment_killed_without_stopping_is_reported_and_cleared_and_can_start_again() {
    let _serial = support::serial();
    let example = Example::new("gone", 1);
    let (app, run) = (example.app.clone(), |args: &[&str]| example.run(args));
    let started = run(&["deploy", "--detach"]);
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    let record = record_of(&app);
    let pid = record["pid"].as_i64().unwrap();
    let socket = std::path::PathBuf::from(record["socket"].as_str().unwrap());

    // The serving process dies without a chance to clean up; its replicas die with it, gunicorn's
    // workers included, at once: not when a worker notices its master is gone (up to its 30 s timeout).
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGKILL).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) || !support::replicas_of(&app).is_empty() {
        assert!(Instant::now() < deadline, "the process and its replicas exit: {:?}", support::replicas_of(&app));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(state_file(&app).exists() && socket.exists(), "a killed process leaves its state behind");

    let status = run(&["status"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("is not deployed") && text.contains(&format!("(pid {pid}) died without stopping")), "{text}");

    let destroyed = run(&["destroy", "--yes"]);
    let text = String::from_utf8_lossy(&destroyed.stdout);
    assert!(destroyed.status.success(), "{}", String::from_utf8_lossy(&destroyed.stderr));
    assert!(text.contains(&format!("state file of {app} (left by pid {pid})")), "{text}");
    assert!(!state_file(&app).exists() && !socket.exists(), "destroy clears the state file and the socket");
    assert!(String::from_utf8_lossy(&run(&["destroy", "--yes"]).stdout).contains("nothing to delete"));

    // A new deploy starts cleanly.
    let restarted = run(&["--output", "json", "deploy", "--detach"]);
    assert!(restarted.status.success(), "{}", String::from_utf8_lossy(&restarted.stderr));
    let url = json(&restarted)["urls"][0].as_str().unwrap().to_string();
    assert_eq!(curl(&format!("{app}.localhost"), port_of(&url), "/", "https").0, "200");
    assert!(run(&["destroy", "--yes"]).status.success());
    assert!(!state_file(&app).exists());
}

#[test]
fn a_deploy_killed_during_its_build_leaves_no_build_process_running() {
    let _serial = support::serial();
    let example = Example::new("killedbuild", 1);
    // Requirements of its own (no cached virtualenv serves them), and a "python" whose venv step starts
    // a child of its own and takes its time, as pip does on a slow index.
    let requirements = example.dir.path().join("requirements.txt");
    let text = std::fs::read_to_string(&requirements).unwrap();
    std::fs::write(&requirements, format!("{text}\n# {}\n", example.app)).unwrap();
    let tools = tempfile::tempdir().unwrap();
    let python = tools.path().join("slow-python");
    std::fs::write(&python, "#!/bin/sh\nif [ \"$1\" = child ]; then sleep 300; exit; fi\n\"$0\" child &\nwait\n")
        .unwrap();
    std::fs::set_permissions(&python, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let needle = python.display().to_string();
    let mut deploying = example
        .command(&["deploy"])
        .env("SCALING_PYTHON", &python)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while processes_with(&needle).len() < 2 {
        assert!(Instant::now() < deadline, "the build's python and its child start");
        std::thread::sleep(Duration::from_millis(50));
    }

    // Killed without a chance to cancel its build: the build's whole process group goes with it.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(deploying.id() as i32), nix::sys::signal::Signal::SIGKILL)
        .unwrap();
    let _ = deploying.wait();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !processes_with(&needle).is_empty() {
        assert!(Instant::now() < deadline, "no build process outlives the deploy: {:?}", processes_with(&needle));
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_deployment_still_starting_is_reached_by_status_and_destroy() {
    let _serial = support::serial();
    let example = Example::new("slow", 1);
    // Health checks on a path the app does not serve: the deployment keeps waiting for health.
    let config = example.config();
    let text = std::fs::read_to_string(&config).unwrap();
    let unhealthy = text.replace("[health_check]\npath = \"/\"", "[health_check]\npath = \"/never-healthy\"");
    assert_ne!(text, unhealthy, "the example's health check changed; update this test");
    std::fs::write(&config, unhealthy).unwrap();
    let mut deploying = scaling()
        .arg("--config")
        .arg(&config)
        .args(["--provider", "local", "deploy"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (app, run) = (example.app.clone(), |args: &[&str]| example.run(args));
    let deadline = Instant::now() + Duration::from_secs(120);
    while support::replicas_of(&app).is_empty() {
        assert!(Instant::now() < deadline, "a replica starts");
        std::thread::sleep(Duration::from_millis(200));
    }
    let status = String::from_utf8_lossy(&run(&["status"]).stdout).into_owned();
    assert!(status.contains(&format!("{app} is starting (pid {}", deploying.id())), "{status}");
    let again = run(&["deploy", "--detach"]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("is already deployed here"), "{again:?}");

    let destroyed = run(&["destroy", "--yes"]);
    let text = String::from_utf8_lossy(&destroyed.stdout);
    assert!(destroyed.status.success(), "{}", String::from_utf8_lossy(&destroyed.stderr));
    assert!(text.contains("still starting"), "{text}");
    let ended = deploying.wait().unwrap();
    assert!(!ended.success(), "the interrupted deploy reports that it did not finish: {ended:?}");
    assert_eq!(support::replicas_of(&app), Vec::<i32>::new(), "no replica of the starting run survives");
    assert!(String::from_utf8_lossy(&run(&["status"]).stdout).contains("is not deployed"));
}

#[test]
fn two_deploys_racing_each_other_start_exactly_one() {
    let _serial = support::serial();
    let example = Example::new("race", 1);
    let racers: Vec<_> = (0..2)
        .map(|_| {
            scaling()
                .arg("--config")
                .arg(example.config())
                .args(["--provider", "local", "deploy", "--detach"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outcomes: Vec<_> = racers.into_iter().map(|r| r.wait_with_output().unwrap()).collect();
    let won = outcomes.iter().filter(|o| o.status.success()).count();
    let lost: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .collect();
    assert!(example.run(&["destroy", "--yes"]).status.success());
    assert_eq!(won, 1, "exactly one of two racing deploys runs: {lost:?}");
    assert!(lost[0].contains("is already deployed here"), "{lost:?}");
    assert_eq!(support::replicas_of(&example.app), Vec::<i32>::new());
}

#[test]
fn a_changed_app_rolls_out_through_the_running_deployment_without_a_failed_request() {
    let _serial = support::serial();
    let example = Example::new("roll", 2);
    let (app, run) = (example.app.clone(), |args: &[&str]| example.run(args));
    let started = run(&["--output", "json", "deploy", "--detach"]);
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    let port = port_of(json(&started)["urls"][0].as_str().unwrap());
    let host = format!("{app}.localhost");
    let serving = record_of(&app)["pid"].clone();

    let app_py = example.dir.path().join("app.py");
    let source = std::fs::read_to_string(&app_py).unwrap();
    std::fs::write(&app_py, source.replace("title=\"Dash Arithmetic\"", "title=\"Dash Arithmetic v2\"")).unwrap();
    let plan = run(&["plan"]);
    let planned = String::from_utf8_lossy(&plan.stdout).into_owned();
    assert!(planned.contains("against the running deployment"), "{planned}{}", String::from_utf8_lossy(&plan.stderr));
    assert!(planned.contains("~ update") && planned.contains("start command of"), "the new version shows: {planned}");

    // A load loop runs through the whole rollout; it is bounded in count and time.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (done, host) = (done.clone(), host.clone());
        std::thread::spawn(move || {
            let (mut ok, mut failed) = (0, Vec::new());
            let deadline = Instant::now() + Duration::from_secs(240);
            while !done.load(std::sync::atomic::Ordering::Relaxed) && Instant::now() < deadline && ok < 5000 {
                match curl(&host, port, "/", "https") {
                    (status, _) if status == "200" => ok += 1,
                    other => failed.push(other.0),
                }
            }
            (ok, failed)
        })
    };
    let rolled = run(&["deploy"]);
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let (ok, failed) = load.join().unwrap();
    let said = String::from_utf8_lossy(&rolled.stdout).into_owned();
    assert!(rolled.status.success(), "{said}{}", String::from_utf8_lossy(&rolled.stderr));
    assert!(said.contains("already runs here") && said.contains("change(s) through it"), "{said}");
    assert_eq!(record_of(&app)["pid"], serving, "the same process serves: the app never went down");
    assert!(ok > 0 && failed.is_empty(), "{ok} served, failed: {failed:?}");
    for _ in 0..20 {
        let (status, body) = curl(&host, port, "/", "https");
        assert_eq!(status, "200");
        assert!(body.contains("Dash Arithmetic v2"), "every replica serves the new version");
    }

    // Both versions are releases; rolling back serves the first again, from its kept bundle.
    let releases = json(&run(&["--output", "json", "releases"]));
    let listed = releases["releases"].as_array().unwrap_or_else(|| panic!("{releases}"));
    assert_eq!(listed.len(), 2, "{releases}");
    assert_eq!((listed[0]["current"].as_bool(), listed[1]["current"].as_bool()), (Some(true), Some(false)));
    let first_image = listed[1]["image"].clone();
    let back = run(&["rollback"]);
    assert!(
        back.status.success(),
        "{}{}",
        String::from_utf8_lossy(&back.stdout),
        String::from_utf8_lossy(&back.stderr)
    );
    assert!(String::from_utf8_lossy(&back.stdout).contains("runs sha256:"), "{back:?}");
    for _ in 0..20 {
        let (status, body) = curl(&host, port, "/", "https");
        assert_eq!(status, "200");
        assert!(body.contains("Dash Arithmetic") && !body.contains("Dash Arithmetic v2"), "the first version again");
    }
    let releases = json(&run(&["--output", "json", "releases"]));
    assert_eq!(releases["releases"][0]["image"], first_image, "the rollback is the newest release: {releases}");
    assert_eq!(releases["releases"][0]["current"], true);
    assert!(run(&["destroy", "--yes"]).status.success());
    assert_eq!(support::replicas_of(&app), Vec::<i32>::new());
}
