//! The page in a real browser: headless Debian Chromium, trusting the local CA through an NSS database
//! (as a user would), renders the Dash page and shows a callback's result.

use std::path::Path;
use std::process::Command;

use crate::{dashmath_spec, deploy};

fn require(tool: &str) -> bool {
    let found =
        Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().is_ok_and(|o| o.status.success());
    assert!(found || std::env::var("CI").is_err(), "{tool} is required in CI (scripts/test installs it)");
    if !found {
        eprintln!("skipping: {tool} is not installed (scripts/test installs it)");
    }
    found
}

/// An NSS database under `home` that trusts `ca` for TLS servers, as `certutil` sets it up for a user.
fn trust(home: &Path, ca: &Path) {
    let db = home.join(".pki/nssdb");
    std::fs::create_dir_all(&db).unwrap();
    let db_arg = format!("sql:{}", db.display());
    let run = |args: &[&str]| {
        let out = Command::new("certutil").args(args).output().unwrap();
        assert!(out.status.success(), "certutil {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&["-N", "-d", &db_arg, "--empty-password"]);
    run(&["-A", "-d", &db_arg, "-t", "C,,", "-n", "scaling local CA", "-i", ca.to_str().unwrap()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_renders_the_page_and_the_callback_result() {
    if !require("chromium") || !require("certutil") {
        return;
    }
    let d = deploy(dashmath_spec()).await;
    let home = std::env::temp_dir().join(format!("scaling-chromium-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    trust(&home, &d.cloud.paths().ca().join("ca.pem"));

    let url = format!("https://dashmath.localhost:{}/", d.https_port);
    let output = tokio::process::Command::new("chromium")
        .env("HOME", &home)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=15000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", home.join("profile").display()))
        .arg(&url)
        .output()
        .await
        .unwrap();
    let dom = String::from_utf8_lossy(&output.stdout);
    d.cloud.shutdown().await;
    let _ = std::fs::remove_dir_all(&home);

    assert!(
        dom.contains("Dash Arithmetic"),
        "the page rendered: {dom}\nstderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(dom.contains(r#"<span id="result">13</span>"#), "the callback computed 6 + 7: {dom}");
}
