//! The newcomer path: every command the tool itself suggests (in a hint, an error's fix, a summary)
//! is a command this `scaling` accepts, and the cheap ones do what they promise on the example.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use support::{example_copy, root, scaling};

/// Every `` `scaling …` `` the tool's sources can print.
fn suggested_commands() -> Vec<String> {
    let mut found = Vec::new();
    for crate_dir in ["scaling-cli/src", "scaling-local/src", "scaling-core/src", "scaling-aws/src"] {
        for file in rust_files(&root().join(crate_dir)) {
            let text = std::fs::read_to_string(&file).unwrap();
            for piece in text.split('`').skip(1).step_by(2) {
                if let Some(args) = piece.strip_prefix("scaling ") {
                    if !args.contains('{') && !found.contains(&args.to_string()) {
                        found.push(args.to_string());
                    }
                }
            }
        }
    }
    found
}

fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

#[test]
fn every_suggested_command_is_one_this_scaling_accepts() {
    let commands = suggested_commands();
    for expected in ["deploy --provider local", "status", "init", "destroy --provider local --yes"] {
        assert!(commands.iter().any(|c| c == expected), "the hint `scaling {expected}` is not found in {commands:?}");
    }
    for command in &commands {
        // Placeholders in hints are replaced by what a user would type.
        let args: Vec<String> =
            command.split_whitespace().map(|a| if a == "N" { "2".to_string() } else { a.to_string() }).collect();
        // `--help` after the arguments: clap rejects an unknown flag or a missing value before it.
        let output = scaling().args(&args).arg("--help").output().unwrap();
        assert!(
            output.status.success(),
            "`scaling {command}` is suggested but not accepted: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn the_cheap_suggestions_work_on_the_example_without_a_cloud_account() {
    let dir = example_copy(|c| c.to_string());
    let config = dir.path().join("scaling.toml");
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        scaling().env("SCALING_HOME", home.path()).arg("--config").arg(&config).args(args).output().unwrap()
    };
    let validate = run(&["validate"]);
    assert!(validate.status.success(), "{validate:?}");
    let plan = run(&["plan", "--provider", "local"]);
    assert!(plan.status.success(), "{plan:?}");
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(text.starts_with("Plan for dashmath (local provider)"), "in words, not a Rust value: {text}");
    let status = run(&["status", "--provider", "local"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success() && text.contains("is not deployed"), "{status:?}");
    // The hint it gives is the next step, and it parses.
    assert!(text.contains("scaling deploy --provider local"), "{text}");
    let destroy = run(&["destroy", "--provider", "local", "--yes"]);
    assert!(destroy.status.success(), "{destroy:?}");
    assert!(String::from_utf8_lossy(&destroy.stdout).contains("nothing to delete"), "{destroy:?}");
}
