//! The page in a real browser: headless Debian Chromium, trusting the local CA through an NSS database
//! (as a user would), renders the Dash page, shows a callback's result, and draws the operator where
//! a user can see it (asked of the page itself through the DevTools protocol: a value in the DOM that
//! is clipped to nothing is not a visible one).

use std::path::Path;
use std::process::Command;

use crate::{dashmath_spec, deploy};

pub(crate) fn require(tool: &str) -> bool {
    let found =
        Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().is_ok_and(|o| o.status.success());
    assert!(found || std::env::var("CI").is_err(), "{tool} is required in CI (scripts/test installs it)");
    if !found {
        eprintln!("skipping: {tool} is not installed (scripts/test installs it)");
    }
    found
}

/// Chromium without a screen, a sandbox, QUIC or any traffic of its own (only the page's, to loopback).
pub(crate) const HEADLESS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// An NSS database under `home` that trusts `ca` for TLS servers, as `certutil` sets it up for a user.
pub(crate) fn trust(home: &Path, ca: &Path) {
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
        .args(HEADLESS)
        .args(["--virtual-time-budget=15000", "--dump-dom"])
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

/// Asks the page, once the callback has answered, whether the dropdown's value is drawn: its text has
/// a box of its own that no ancestor of the dropdown clips away.
const OPERATOR_VISIBLE: &str = r#"new Promise((resolve) => {
  const started = Date.now();
  const check = () => {
    const result = document.getElementById('result');
    if (!result || result.textContent !== '13') {
      if (Date.now() - started > 20000) return resolve('no callback result');
      return setTimeout(check, 100);
    }
    // The dropdown is a component Dash loads on its own (a chunk of its own): it may come after the result.
    const root = document.getElementById('operator');
    if (!root) {
      if (Date.now() - started > 20000) return resolve('no dropdown');
      return setTimeout(check, 100);
    }
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.textContent.trim() !== '+') continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      const text = range.getBoundingClientRect();
      if (text.width < 1 || text.height < 1) return resolve('the value has no box');
      for (let el = node.parentElement; el && el !== document.body; el = el.parentElement) {
        const style = getComputedStyle(el);
        if (style.visibility === 'hidden' || style.display === 'none' || Number(style.opacity) === 0) {
          return resolve('hidden by ' + el.className);
        }
        const box = el.getBoundingClientRect();
        if (style.overflow !== 'visible' && (text.left < box.left - 0.5 || text.right > box.right + 0.5)) {
          return resolve('clipped by ' + el.className + ' (' + box.width + ' px wide)');
        }
      }
      return resolve('visible');
    }
    if (Date.now() - started > 20000) return resolve('the value + is not in the dropdown');
    setTimeout(check, 100);
  };
  check();
})"#;

/// Opens `url` in `chromium` (its DevTools endpoint on a free port) and evaluates `expression`.
async fn evaluate_in_page(chromium: &mut tokio::process::Child, url: &str, expression: &str) -> String {
    use futures::{SinkExt, StreamExt};
    use tokio::io::AsyncBufReadExt;
    use tokio_tungstenite::tungstenite::Message;

    let stderr = chromium.stderr.take().unwrap();
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    let endpoint = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(at) = line.find("ws://127.0.0.1") {
                return line[at..].trim().to_string();
            }
        }
        panic!("chromium printed no DevTools endpoint");
    })
    .await
    .expect("chromium starts");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let address = endpoint.trim_start_matches("ws://").split('/').next().unwrap().to_string();
    let tcp = tokio::net::TcpStream::connect(&address).await.unwrap();
    let (mut socket, _) = tokio_tungstenite::client_async(endpoint.as_str(), tcp).await.unwrap();
    let mut next_id = 0u64;
    let mut call = |method: &str, params: serde_json::Value, session: Option<&str>| {
        next_id += 1;
        let mut message = serde_json::json!({"id": next_id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = session.into();
        }
        (next_id, Message::text(message.to_string()))
    };
    async fn answer(
        socket: &mut tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
        id: u64,
    ) -> serde_json::Value {
        while let Some(Ok(message)) = socket.next().await {
            let Ok(text) = message.to_text() else { continue };
            let value: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
            if value["id"] == id {
                return value;
            }
        }
        panic!("chromium closed the DevTools socket");
    }
    let (id, message) = call("Target.createTarget", serde_json::json!({"url": url}), None);
    socket.send(message).await.unwrap();
    let target = answer(&mut socket, id).await["result"]["targetId"].as_str().unwrap().to_string();
    let (id, message) = call("Target.attachToTarget", serde_json::json!({"targetId": target, "flatten": true}), None);
    socket.send(message).await.unwrap();
    let session = answer(&mut socket, id).await["result"]["sessionId"].as_str().unwrap().to_string();
    // The page loads meanwhile; the expression waits for the callback itself.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let params = serde_json::json!({"expression": expression, "awaitPromise": true, "returnByValue": true});
    let (id, message) = call("Runtime.evaluate", params, Some(&session));
    socket.send(message).await.unwrap();
    let reply = tokio::time::timeout(std::time::Duration::from_secs(40), answer(&mut socket, id)).await.unwrap();
    reply["result"]["result"]["value"].as_str().map_or_else(|| reply.to_string(), str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_draws_the_operator_where_a_user_sees_it() {
    if !require("chromium") || !require("certutil") {
        return;
    }
    let d = deploy(dashmath_spec()).await;
    let home = std::env::temp_dir().join(format!("scaling-chromium-visible-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    trust(&home, &d.cloud.paths().ca().join("ca.pem"));
    let mut chromium = tokio::process::Command::new("chromium")
        .env("HOME", &home)
        .args(HEADLESS)
        .args([
            "--window-size=700,400",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "about:blank",
        ])
        .arg(format!("--user-data-dir={}", home.join("profile").display()))
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        // Its renderer and helper processes share its group, so they all go with it.
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let group = nix::unistd::Pid::from_raw(chromium.id().unwrap() as i32);
    let url = format!("https://dashmath.localhost:{}/", d.https_port);
    let seen = evaluate_in_page(&mut chromium, &url, OPERATOR_VISIBLE).await;
    let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
    let _ = chromium.wait().await;
    d.cloud.shutdown().await;
    let _ = std::fs::remove_dir_all(&home);
    assert_eq!(seen, "visible", "the operator dropdown shows its value");
}
