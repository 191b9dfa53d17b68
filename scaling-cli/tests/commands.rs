//! The short commands: validate, init, plan, destroy's refusal, completions, help.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use assert_cmd::Command;
use predicates::prelude::*;
use support::{example_copy, root, scaling_home};

fn scaling() -> Command {
    Command::from_std(support::scaling())
}

#[test]
fn validate_accepts_the_example() {
    scaling()
        .args(["--config", "examples/dashmath/scaling.toml", "validate"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
        "is valid for the local provider: dashmath on port 8050, 2–10 replicas (autoscaling), dashmath.example.com, www.dashmath.example.com",
    ));
}

#[test]
fn an_invalid_config_exits_2_naming_each_field_and_fix() {
    let dir = example_copy(|c| {
        c.replace("name = \"dashmath\"", "name = \"Dash_Math\"").replace("memory = 3072", "memory = 10")
    });
    let config = dir.path().join("scaling.toml");
    scaling().arg("--config").arg(&config).arg("validate").assert().code(2).stdout(
        predicate::str::contains("app.name")
            .and(predicate::str::contains("app.memory"))
            .and(predicate::str::contains("fix:")),
    );

    let output = scaling().arg("--config").arg(&config).args(["--output", "json", "validate"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let first: serde_json::Value =
        serde_json::from_slice(output.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(first["type"], "result");
    assert_eq!(first["valid"], false);
    let fields: Vec<&str> =
        first["problems"].as_array().unwrap().iter().map(|p| p["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["app.name", "app.memory"]);
    assert!(first["problems"][0]["fix"].as_str().unwrap().contains("lowercase"));
}

#[test]
fn invalid_configs_touch_no_provider() {
    let dir = example_copy(|c| c.replace("port = 8050", "port = 0"));
    let home = tempfile::tempdir().unwrap();
    for command in [&["deploy"][..], &["plan"], &["status"], &["scale", "2"], &["destroy", "--yes"]] {
        let mut cmd = scaling();
        cmd.env("SCALING_HOME", home.path())
            .arg("--config")
            .arg(dir.path().join("scaling.toml"))
            .arg("--provider")
            .arg("local");
        cmd.args(command).assert().code(2).stderr(predicate::str::contains("app.port"));
    }
    assert_eq!(std::fs::read_dir(home.path()).unwrap().count(), 0, "nothing was created");
}

#[test]
fn init_writes_a_valid_config_and_never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("My_Dash_App");
    std::fs::create_dir(&app).unwrap();
    std::fs::write(app.join("requirements.txt"), "dash==4.4.1\ngunicorn==27.0.1\n").unwrap();
    std::fs::write(app.join("app.py"), "import dash\n").unwrap();
    std::fs::write(app.join("Dockerfile"), "FROM python:3.11-slim\nEXPOSE 8050\nCMD [\"gunicorn\", \"app:server\"]\n")
        .unwrap();
    scaling()
        .current_dir(&app)
        .arg("init")
        .assert()
        .success()
        .stdout(predicate::str::contains("my-dash-app (port 8050)"));
    let text = std::fs::read_to_string(app.join("scaling.toml")).unwrap();
    assert!(text.contains("name = \"my-dash-app\"") && text.contains("context = \".\""), "{text}");
    assert!(text.starts_with("#:schema https://"), "editors find the schema from the first line: {text}");
    scaling().current_dir(&app).arg("validate").assert().success();
    scaling().current_dir(&app).arg("init").assert().code(2).stderr(predicate::str::contains("--force"));
    scaling().current_dir(&app).args(["init", "--force", "--name", "calc"]).assert().success();
    assert!(std::fs::read_to_string(app.join("scaling.toml")).unwrap().contains("name = \"calc\""));
}

#[test]
fn plan_shows_every_resource_as_a_diff_and_as_json() {
    let dir = example_copy(support::free_ports);
    let config = dir.path().join("scaling.toml");
    scaling().arg("--config").arg(&config).args(["plan", "--provider", "local"]).assert().success().stdout(
        predicate::str::contains("+ create   TLS load balancer of dashmath")
            .and(predicate::str::contains("to create, 0 to update")),
    );
    let output = scaling()
        .arg("--config")
        .arg(&config)
        .args(["--output", "json", "plan", "--provider", "local"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        (result["type"].as_str(), result["app"].as_str(), result["provider"].as_str()),
        (Some("result"), Some("dashmath"), Some("local"))
    );
    let changes = result["changes"].as_array().unwrap();
    assert!(changes.iter().all(|c| c["step"].is_string()
        && c["resource"].is_string()
        && c["action"].is_string()
        && c["reason"].is_string()));
    assert!(changes.iter().any(|c| c["resource"] == "2–10 replica(s) of dashmath" && c["action"] == "create"));
    let autoscaler = changes.iter().find(|c| c["resource"] == "autoscaler of dashmath").expect("an autoscaler row");
    assert!(autoscaler["reason"].as_str().unwrap().contains("2–10 replicas on CPU 60%, 100 requests/s per replica"));
    // The local provider speaks of this machine, not of a cloud's resources.
    for cloud_word in ["security group", "target group", "task definition", "listener", "validation records"] {
        assert!(
            !changes.iter().any(|c| c["resource"].as_str().unwrap().contains(cloud_word)),
            "{cloud_word}: {changes:?}"
        );
    }
}

#[test]
fn destroy_without_yes_and_without_a_terminal_refuses() {
    scaling()
        .args(["--config", "examples/dashmath/scaling.toml", "destroy", "--provider", "local"])
        .write_stdin("dashmath\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("refusing to destroy without --yes"));
}

#[test]
fn every_command_has_help_with_an_example_and_completions_exist() {
    for command in ["init", "validate", "plan", "deploy", "status", "scale", "destroy", "completions"] {
        scaling().args([command, "--help"]).assert().success().stdout(predicate::str::contains("Example"));
    }
    scaling().args(["completions", "bash"]).assert().success().stdout(predicate::str::contains("_scaling()"));
}

#[test]
fn a_missing_config_says_how_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    scaling().current_dir(dir.path()).arg("validate").assert().code(2).stdout(predicate::str::contains("scaling init"));
    let _ = (root(), scaling_home());
}

#[test]
fn output_piped_into_a_reader_that_went_away_ends_quietly() {
    use std::process::Stdio;
    let mut child =
        support::scaling().args(["completions", "bash"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // The reader goes away before the first line is written, as `head -1` does after its line.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(output.status.code(), Some(101), "a panic exit: {stderr}");
}

#[test]
fn a_bad_region_flag_exits_2_naming_the_flag_and_the_fix() {
    let output = scaling()
        .args(["--config", "examples/dashmath/scaling.toml", "--region", "mars-1", "validate"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(text.contains("--region"), "{text}");
    assert!(text.contains("us-west-2"), "the fix shows a region: {text}");
    assert!(!text.contains("provider.aws.region"), "the flag, not the setting, is named: {text}");
}

#[test]
fn the_chosen_providers_own_checks_join_the_cores_in_one_report() {
    let dir = example_copy(|c| {
        c.replace("port = 8050", "port = 0")
            .replace("cpu = 1 ", "cpu = 0.3 ")
            .replace("[provider.local]", "[provider.aws]\nregion = \"Oregon\"\nvcp_id = \"vpc-1\"\n\n[provider.gpc]\nproject = \"x\"\n\n[provider.local]")
    });
    let config = dir.path().join("scaling.toml");
    let fields = |provider: &str| -> Vec<String> {
        let output = scaling()
            .arg("--config")
            .arg(&config)
            .args(["--provider", provider, "--output", "json", "validate"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        let first = output.stdout.split(|b| *b == b'\n').next().unwrap();
        let result: serde_json::Value = serde_json::from_slice(first).unwrap();
        result["problems"].as_array().unwrap().iter().map(|p| p["field"].as_str().unwrap().to_string()).collect()
    };
    // AWS: the core's port, Fargate's sizes, the region, the misspelt key and the unknown table, at once.
    let aws = fields("aws");
    for field in ["provider.gpc", "app.port", "app.cpu", "provider.aws.vcp_id"] {
        assert!(aws.contains(&field.to_string()), "{field} missing from {aws:?}");
    }
    // Local: Fargate's sizes and AWS's table are not its business.
    let local = fields("local");
    assert!(local.contains(&"app.port".to_string()) && local.contains(&"provider.gpc".to_string()), "{local:?}");
    assert!(!local.iter().any(|f| f == "app.cpu" || f.starts_with("provider.aws")), "{local:?}");
}

#[test]
fn an_unknown_default_provider_is_named_with_the_known_ones() {
    let dir = example_copy(|c| c.replace("default = \"local\"", "default = \"gcp\""));
    let output = scaling().arg("--config").arg(dir.path().join("scaling.toml")).arg("validate").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("provider.default: `gcp` is not a provider"), "{stdout}");
    assert!(stdout.contains("`local`, `aws`"), "{stdout}");
}

#[test]
fn every_unknown_key_is_reported_at_once_on_its_own_line() {
    let dir = example_copy(|c| {
        c.replace("port = 8050", "port = 8050\nreplicas = 3").replace("[domain]", "[domian]\nx = 1\n\n[domain]")
    });
    let config = dir.path().join("scaling.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
    let output = scaling().arg("--config").arg(&config).arg("validate").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("has 2 problems"), "{stdout}");
    assert!(stdout.contains("app.replicas: unknown field `replicas`"), "{stdout}");
    assert!(stdout.contains(&format!("at line {}, column 1:", line_of("replicas"))), "{stdout}");
    assert!(stdout.contains(&format!("at line {}, column 2:", line_of("[domian]"))), "{stdout}");
}

#[test]
fn a_missing_build_context_or_dockerfile_is_reported_with_the_fix() {
    let dir = example_copy(|c| c.to_string());
    std::fs::remove_file(dir.path().join("Dockerfile")).unwrap();
    let config = dir.path().join("scaling.toml");
    let output = scaling().arg("--config").arg(&config).arg("validate").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("image.dockerfile: there is no Dockerfile in"), "{stdout}");
    assert!(stdout.contains("fix: add a Dockerfile there"), "{stdout}");

    let elsewhere = example_copy(|c| c.replace("context = \".\"", "context = \"./no-such-folder\""));
    let output = scaling().arg("--config").arg(elsewhere.path().join("scaling.toml")).arg("validate").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stdout).contains("image.context: the build context"), "{output:?}");
}

/// `schema` with its `$ref`s followed (and of an optional table, the table).
fn resolve<'a>(root: &'a serde_json::Value, schema: &'a serde_json::Value) -> &'a serde_json::Value {
    if let Some(choices) = schema["anyOf"].as_array() {
        let table = choices.iter().find(|c| c["type"] != "null").unwrap();
        return resolve(root, table);
    }
    match schema["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => resolve(root, root.pointer(pointer).unwrap()),
        None => schema,
    }
}

#[test]
fn the_published_schema_is_current_and_knows_every_key_of_the_example() {
    let output = scaling().arg("schema").output().unwrap();
    assert!(output.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let published: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("docs/scaling.schema.json")).unwrap()).unwrap();
    assert_eq!(printed, published, "the published schema is stale: run `scaling schema > docs/scaling.schema.json`");

    let example: toml::Table =
        std::fs::read_to_string(root().join("examples/dashmath/scaling.toml")).unwrap().parse().unwrap();
    // An environment's tables are the spec's own again, checked by `--env` (not by the schema).
    for (table, value) in example.iter().filter(|(table, _)| *table != "environments") {
        let table_schema = resolve(&printed, &printed["properties"][table]);
        if table_schema["additionalProperties"].is_object() {
            // A map (`[env]`, `[tags]`): any key, each value of the given type.
            assert_eq!(table_schema["type"], "object", "{table}");
            continue;
        }
        for key in value.as_table().unwrap().keys() {
            let key_schema = &table_schema["properties"][key];
            assert!(!key_schema.is_null(), "the schema has no {table}.{key}");
            if let Some(section) = value[key].as_table() {
                for inner in section.keys() {
                    assert!(!resolve(&printed, key_schema)["properties"][inner].is_null(), "no {table}.{key}.{inner}");
                }
            }
        }
    }
}

#[test]
fn an_environment_of_the_example_validates_and_plans_as_its_own_copy() {
    let example = ["--config", "examples/dashmath/scaling.toml"];
    scaling().args(example).args(["--env", "staging", "validate"]).assert().success().stdout(predicate::str::contains(
        "dashmath-staging on port 8050, 1–2 replicas (autoscaling), staging.dashmath.example.com",
    ));
    scaling()
        .args(example)
        .args(["--env", "prod", "validate"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("--env").and(predicate::str::contains("staging")));
    scaling()
        .env("SCALING_HOME", scaling_home())
        .args(example)
        .args(["--env", "staging", "--provider", "local", "plan"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Plan for dashmath-staging (local provider, environment staging)"));
}

#[test]
fn validate_checks_every_provider_the_file_configures_and_says_which() {
    let dir = example_copy(|c| {
        c.replace("memory = 3072", "memory = 16384").replace("[provider.local]", "[provider.aws]\n\n[provider.local]")
    });
    let config = dir.path().join("scaling.toml");
    let output = scaling().arg("--config").arg(&config).arg("validate").output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    if cfg!(feature = "aws") {
        assert_eq!(output.status.code(), Some(2), "16 GiB with 1 vCPU is refused for AWS: {text}");
        assert!(text.contains("checked for aws and local") && text.contains("app.memory"), "{text}");
        assert!(text.contains("(for the aws provider)"), "the problem names the provider that refused it: {text}");
    } else {
        assert!(output.status.success(), "{text}");
        assert!(text.contains("valid for the local provider") && text.contains("not checked for aws"), "{text}");
    }
    let local = scaling().arg("--config").arg(&config).args(["--provider", "local", "validate"]).output().unwrap();
    let said = String::from_utf8_lossy(&local.stdout);
    assert!(local.status.success() && said.contains("is valid for the local provider"), "{said}");
}
