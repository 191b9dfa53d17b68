//! An interrupted build stops its child at once and leaves no half-made virtualenv or bundle.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use scaling_local::bundle::{build, BuildInput, BundleError};
use scaling_local::Paths;

#[test]
fn stopping_a_build_during_the_virtualenv_kills_it_and_removes_the_virtualenv() {
    let root = tempfile::tempdir().unwrap();
    // A "python" whose venv step makes the folder and then takes its time, as pip does on a slow index.
    let python = root.path().join("slow-python");
    std::fs::write(&python, "#!/bin/sh\nmkdir -p \"$3/lib\"\nsleep 30\n").unwrap();
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::env::set_var("SCALING_PYTHON", &python);
    let context = root.path().join("app");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(context.join("Dockerfile"), "FROM python\nCMD [\"python\", \"app.py\"]\n").unwrap();
    std::fs::write(context.join("requirements.txt"), "dash==2.18.2\n").unwrap();
    let paths = Paths::at(root.path().join("home"));

    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        flag.store(true, Ordering::Release);
    });
    let started = Instant::now();
    let input = BuildInput { app: "dashmath", context: &context, dockerfile: "Dockerfile", build: None };
    let result = build(&paths, input, &cancel);
    assert!(matches!(result, Err(BundleError::Cancelled(_))), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "stopped at once: {:?}", started.elapsed());
    let left: Vec<_> = std::fs::read_dir(paths.venvs()).unwrap().flatten().map(|e| e.path()).collect();
    assert!(left.is_empty(), "no half-made virtualenv: {left:?}");
    assert!(!paths.bundles().exists() || std::fs::read_dir(paths.bundles()).unwrap().next().is_none());
    let needle = python.display().to_string();
    let survivors: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
        .filter(|cmdline| cmdline.contains(&needle))
        .collect();
    assert!(survivors.is_empty(), "the slow python is gone: {survivors:?}");
}
