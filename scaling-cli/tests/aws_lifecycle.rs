//! The whole command cycle against the AWS emulator (moto server, its URL in `SCALING_MOTO_URL`), with
//! recognisable credentials in the environment that must never be printed.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Output;

const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/cli-repository@sha256:2222222222222222222222222222222222222222222222222222222222222222";

fn moto() -> Option<String> {
    let url = std::env::var("SCALING_MOTO_URL").ok();
    assert!(
        url.is_some() || std::env::var("CI").is_err(),
        "SCALING_MOTO_URL must be set in CI (scripts/test starts moto)"
    );
    url
}

fn run(dir: &std::path::Path, url: &str, args: &[&str]) -> Output {
    static MARKERS: std::sync::OnceLock<[String; 3]> = std::sync::OnceLock::new();
    let [key_id, secret, _] = MARKERS.get_or_init(support::marker_credentials);
    let output = support::scaling()
        .current_dir(dir)
        .env("AWS_ENDPOINT_URL", url)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", key_id)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env_remove("AWS_PROFILE")
        // The delegation check asks a DNS resolver: a closed loopback port keeps it on this machine.
        .env("SCALING_DNS_RESOLVER", closed_port())
        .arg("-vv")
        .args(args)
        .output()
        .unwrap();
    for stream in [&output.stdout, &output.stderr] {
        let text = String::from_utf8_lossy(stream);
        assert!(
            !text.contains(key_id.as_str()) && !text.contains(secret.as_str()),
            "a credential was printed by {args:?}"
        );
    }
    output
}

fn closed_port() -> String {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap().to_string()
}

fn json(output: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&output.stdout);
    let last =
        text.lines().last().unwrap_or_else(|| panic!("no output; stderr: {}", String::from_utf8_lossy(&output.stderr)));
    serde_json::from_str(last).unwrap()
}

#[test]
fn init_validate_plan_deploy_status_scale_destroy_on_the_emulator() {
    let Some(url) = moto() else { return };
    // The CLI uses the emulator's default account: a name of this run's own keeps runs apart.
    let app = format!("cli{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM python:3.11-slim\nEXPOSE 8050\nCMD [\"gunicorn\", \"app:server\"]\n",
    )
    .unwrap();
    assert!(run(dir.path(), &url, &["init", "--name", &app]).status.success());
    let config = dir.path().join("scaling.toml");
    // The emulator reports MOTO_ECS_SERVICE_RUNNING=3 tasks (scripts/moto-server); the service is stable at 3.
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("default = \"local\"", "default = \"aws\"")
        .replace("desired_count = 2", "desired_count = 3");
    std::fs::write(&config, format!("{text}\n[domain]\nname = \"{app}.example.com\"\n")).unwrap();

    let validate = run(dir.path(), &url, &["validate"]);
    assert!(validate.status.success(), "{}", String::from_utf8_lossy(&validate.stdout));

    let plan = run(dir.path(), &url, &["--output", "json", "plan", "--image", IMAGE]);
    assert!(plan.status.success(), "{}", String::from_utf8_lossy(&plan.stderr));
    let plan = json(&plan);
    assert_eq!(plan["provider"], "aws");
    assert!(plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["resource"] == format!("load balancer {app}-alb").as_str() && c["action"] == "create"));

    let deploy = run(dir.path(), &url, &["deploy", "--image", IMAGE]);
    let stdout = String::from_utf8_lossy(&deploy.stdout);
    assert!(deploy.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&deploy.stderr));
    assert!(
        stdout.contains(&format!("https://{app}.example.com"))
            && stdout.contains(&format!("https://www.{app}.example.com")),
        "{stdout}"
    );
    assert!(
        stdout.contains("set these name servers at your domain's registrar"),
        "a new zone's name servers are printed: {stdout}"
    );

    let status = run(dir.path(), &url, &["--output", "json", "status"]);
    assert!(status.status.success());
    let status = json(&status);
    assert_eq!(status["app"], app.as_str());
    assert_eq!(status["service"]["desired_count"], 3);
    assert_eq!(status["service"]["rollout"], "Completed");
    assert_eq!(status["certificate"], "Issued");
    assert_eq!(status["urls"][0], format!("https://{app}.example.com").as_str());
    assert_eq!(status["name_servers"].as_array().unwrap().len(), 4);

    let scale = run(dir.path(), &url, &["--output", "json", "scale", "4", "--no-wait"]);
    assert!(scale.status.success(), "{}", String::from_utf8_lossy(&scale.stderr));
    assert_eq!(json(&scale)["desired_count"], 4);

    let redeploy = run(dir.path(), &url, &["--output", "json", "plan", "--image", IMAGE]);
    let changes = json(&redeploy)["changes"].as_array().unwrap().clone();
    let service = changes.iter().find(|c| c["resource"] == format!("service {app}-service").as_str()).unwrap();
    assert_eq!(service["action"], "update", "the config's count differs from the scaled one: {service}");

    let destroy = run(dir.path(), &url, &["destroy", "--yes", "--delete-images", "--delete-zone"]);
    assert!(destroy.status.success(), "{}", String::from_utf8_lossy(&destroy.stderr));
    let after = run(dir.path(), &url, &["status"]);
    assert!(String::from_utf8_lossy(&after.stdout).contains(&format!("{app} is not deployed")));
    let written = std::fs::read_to_string(&config).unwrap();
    assert!(!written.contains("AKIA"), "no credential was written to the config");
}

#[test]
fn missing_credentials_say_how_to_provide_them() {
    let Some(url) = moto() else { return };
    let home = tempfile::tempdir().unwrap();
    let output = support::scaling()
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("SCALING_HOME", support::scaling_home())
        .env("NO_COLOR", "1")
        // Nothing may leave this machine: the emulator's endpoint, and no instance metadata lookups.
        .env("AWS_ENDPOINT_URL", &url)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", home.path().join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.path().join("none"))
        .args(["--config", "examples/dashmath/scaling.toml", "--provider", "aws", "status"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no usable AWS credentials"), "{stderr}");
    assert!(stderr.contains("aws configure") && stderr.contains("AWS_ACCESS_KEY_ID"), "the ways to fix it: {stderr}");
    assert!(!stderr.contains("Unavailable") && !stderr.contains("Retryable"), "no Debug dump: {stderr}");
}
