//! `scaling init`: a commented scaling.toml for the app in this folder.

use std::path::Path;

use anyhow::{Context, Result};

use crate::args::Global;
use crate::InvalidInput;

/// What `init` found in the folder.
#[derive(Debug, PartialEq, Eq)]
struct Detected {
    name: String,
    port: u16,
    dash: bool,
}

fn sanitize(name: &str) -> String {
    let mut out: String =
        name.to_ascii_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    let out = out.trim_matches('-').trim_start_matches(|c: char| c.is_ascii_digit()).to_string();
    let out: String = out.chars().take(28).collect();
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "app".into()
    } else {
        out
    }
}

fn detect(dir: &Path, name: Option<String>) -> Detected {
    let folder = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let requirements = std::fs::read_to_string(dir.join("requirements.txt")).unwrap_or_default().to_ascii_lowercase();
    let dash = requirements.lines().any(|l| l.trim_start().starts_with("dash"))
        || dir.join("app.py").exists() && requirements.contains("dash");
    let exposed = std::fs::read_to_string(dir.join("Dockerfile"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("EXPOSE "))
        .find_map(|ports| ports.split_whitespace().next()?.split('/').next()?.parse().ok());
    let port = exposed.unwrap_or(if dash { 8050 } else { 8080 });
    Detected { name: sanitize(&name.unwrap_or(folder)), port, dash }
}

fn render(d: &Detected, has_dockerfile: bool) -> String {
    let image = if has_dockerfile {
        "context = \".\"            # build the Dockerfile in this folder".to_string()
    } else {
        "# No Dockerfile found: add one (with a CMD that serves on $PORT), or use a prebuilt image:\n# reference = \"registry.example/app@sha256:…\"\ncontext = \".\"".to_string()
    };
    let kind =
        if d.dash { "Dash app (gunicorn serves app:server on $PORT)" } else { "web app (it must listen on $PORT)" };
    format!(
        r#"# scaling.toml — deploy this {kind}.
#   scaling validate                    check this file
#   scaling deploy --provider local     run it here: N replicas behind HTTPS on https://{name}.localhost
#   scaling deploy --provider aws       ECS Fargate behind an ALB, Route 53, ACM

[app]
name = "{name}"          # lowercase letters, digits, hyphens; at most 28 characters
port = {port}              # the port the container listens on
cpu = 1024               # CPU units per replica (1024 = 1 vCPU)
memory = 3072            # MiB per replica (1 vCPU takes 2048–8192)
desired_count = 2        # replicas

[image]
{image}
platform = "linux/amd64" # what the tasks run on; linux/arm64 for Graviton

[health_check]
path = "/"               # must answer 200–399
grace_period = "30s"

# [env]
# LOG_LEVEL = "info"

# [domain]
# name = "example.com"   # your domain (apex); HTTPS with a DNS-validated certificate
# aliases = ["www"]

# [load_balancer]
# algorithm = "least_outstanding_requests"   # or "round_robin"
# stickiness = false                          # pin each browser to one replica with a cookie
# idle_timeout = "60s"

[provider]
default = "local"        # or "aws"

# [provider.aws]
# region = "us-west-2"   # credentials come from your AWS config (env, profile, SSO, role)
"#,
        name = d.name,
        port = d.port,
    )
}

pub fn run(global: &Global, force: bool, name: Option<String>) -> Result<()> {
    let path = &global.config;
    if path.exists() && !force {
        return Err(InvalidInput(format!("{} exists; pass --force to overwrite it", path.display())).into());
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(std::env::current_dir, |p| Ok(p.to_path_buf()))?;
    let dir = dir.canonicalize().unwrap_or(dir);
    let detected = detect(&dir, name);
    let text = render(&detected, dir.join("Dockerfile").exists());
    scaling_core::Spec::from_toml_str(&text)
        .map_err(|e| InvalidInput(format!("the generated config is invalid (pass --name): {e}")))?;
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    println!(
        "✓ wrote {} for {} (port {}). Next: scaling validate && scaling deploy --provider local",
        path.display(),
        detected.name,
        detected.port
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_valid() {
        assert_eq!(sanitize("My_Dash App"), "my-dash-app");
        assert_eq!(sanitize("42things"), "things");
        assert_eq!(sanitize("---"), "app");
        assert!(sanitize(&"x".repeat(60)).len() <= 28);
    }

    #[test]
    fn the_rendered_config_is_valid() {
        let d = Detected { name: "demo".into(), port: 8050, dash: true };
        scaling_core::Spec::from_toml_str(&render(&d, true)).unwrap();
        scaling_core::Spec::from_toml_str(&render(&d, false)).unwrap();
        // And so is every commented-out setting, once uncommented.
        let text = render(&d, true);
        let all: Vec<&str> = text
            .lines()
            .map(|line| {
                line.strip_prefix("# ").filter(|rest| rest.starts_with('[') || rest.contains(" = ")).unwrap_or(line)
            })
            .collect();
        let spec = scaling_core::Spec::from_toml_str(&all.join("\n")).unwrap();
        assert_eq!(spec.load_balancer.algorithm, scaling_core::Algorithm::LeastOutstandingRequests);
        assert_eq!(spec.env.len(), 1);
    }
}
