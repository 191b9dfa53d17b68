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
    /// A port the Dockerfile's `CMD` or `ENTRYPOINT` names literally instead of `$PORT`.
    literal_port: Option<u16>,
}

/// Local ports of their own for `name` (HTTPS, HTTP), so two apps set up by `init` do not collide:
/// spread over 20000–29998 by a hash of the name, HTTP right after HTTPS.
fn local_ports(name: &str) -> (u16, u16) {
    let hash = name.bytes().fold(2166136261u32, |h, b| (h ^ u32::from(b)).wrapping_mul(16777619));
    let https = 20000 + (hash % 5000) as u16 * 2;
    (https, https + 1)
}

/// A port a start command names as a number (`--bind 0.0.0.0:8000`, `--port 8000`, `-p 8000`), where
/// it should read `$PORT`.
fn literal_port(dockerfile: &str) -> Option<u16> {
    let command = dockerfile
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("CMD") || l.starts_with("ENTRYPOINT"))
        .collect::<Vec<_>>()
        .join(" ");
    let tokens: Vec<String> = command
        .split(|c: char| c.is_whitespace() || matches!(c, '[' | ']' | ',' | '"' | '\''))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    tokens.iter().enumerate().find_map(|(i, token)| {
        let after_flag = matches!(token.as_str(), "--port" | "-p" | "--bind" | "-b")
            .then(|| tokens.get(i + 1))
            .flatten()
            .and_then(|next| next.rsplit(':').next()?.parse().ok());
        let in_address =
            token.split_once('=').map_or(token.as_str(), |(_, v)| v).rsplit_once(':').and_then(|(_, p)| p.parse().ok());
        after_flag.or(in_address)
    })
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
    let dockerfile = std::fs::read_to_string(dir.join("Dockerfile")).unwrap_or_default();
    let exposed = dockerfile
        .lines()
        .filter_map(|l| l.trim().strip_prefix("EXPOSE "))
        .find_map(|ports| ports.split_whitespace().next()?.split('/').next()?.parse().ok());
    let port = exposed.unwrap_or(if dash { 8050 } else { 8080 });
    Detected { name: sanitize(&name.unwrap_or(folder)), port, dash, literal_port: literal_port(&dockerfile) }
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
        r#"#:schema {schema}
# scaling.toml — deploy this {kind}.
#   scaling validate                    check this file
#   scaling deploy --provider local     run it here: N replicas behind HTTPS on https://{name}.localhost:{https_port}
#   scaling deploy --provider aws       ECS Fargate behind an ALB, Route 53, ACM

[app]
name = "{name}"          # lowercase letters, digits, hyphens; at most 28 characters on AWS
port = {port}              # the port the container listens on
cpu = 1                  # vCPU per replica (0.25, 0.5, 1, 2 … on AWS Fargate)
memory = 3072            # MiB per replica (on Fargate 1 vCPU takes 2048–8192)
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
# min_tls_version = "1.2"   # or "1.3" for TLS 1.3 only

# [load_balancer]
# algorithm = "least_outstanding_requests"   # or "round_robin"
# stickiness = false                          # pin each browser to one replica with a cookie
# idle_timeout = "60s"

[provider]
default = "local"        # or "aws"

[provider.local]
https_port = {https_port}      # https://{name}.localhost:{https_port} (ports of this app's own)
http_port = {http_port}       # answers with a redirect to HTTPS

# [provider.aws]
# region = "us-west-2"   # credentials come from your AWS config (env, profile, SSO, role)
# vpc_id = "vpc-…"       # with subnets = [...] in two zones; the default VPC when unset
"#,
        schema = crate::schema::SCHEMA_URL,
        name = d.name,
        port = d.port,
        https_port = local_ports(&d.name).0,
        http_port = local_ports(&d.name).1,
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
    if let Some(port) = detected.literal_port {
        println!(
            "  note: the Dockerfile's start command names port {port} itself. scaling sets $PORT for each \
             replica (several run side by side): write $PORT there instead (shell form, e.g. \
             `CMD gunicorn --bind 0.0.0.0:$PORT app:server`), or read it in your app's config"
        );
    }
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
        let d = Detected { name: "demo".into(), port: 8050, dash: true, literal_port: None };
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

    #[test]
    fn a_start_command_with_a_literal_port_is_found_and_one_with_port_is_not() {
        assert_eq!(literal_port(r#"CMD ["gunicorn", "--bind", "0.0.0.0:8000", "app:app"]"#), Some(8000));
        assert_eq!(literal_port("CMD uvicorn main:app --host 0.0.0.0 --port 9000"), Some(9000));
        assert_eq!(literal_port("CMD gunicorn --bind=0.0.0.0:7000 app:app"), Some(7000));
        assert_eq!(literal_port("CMD gunicorn --bind 0.0.0.0:$PORT app:app"), None);
        assert_eq!(literal_port(r#"CMD ["gunicorn", "--config", "gunicorn.conf.py", "app:server"]"#), None);
    }

    #[test]
    fn apps_get_local_ports_of_their_own() {
        let names = ["dashmath", "calc", "shop", "blog", "api", "admin"];
        let ports: std::collections::BTreeSet<u16> =
            names.iter().flat_map(|n| [local_ports(n).0, local_ports(n).1]).collect();
        assert_eq!(ports.len(), names.len() * 2, "no two of these apps share a port: {ports:?}");
        assert!(ports.iter().all(|p| (20000..30000).contains(p)));
    }
}
