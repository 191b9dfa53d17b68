//! Every rule a spec must satisfy before a provider is touched.

use std::time::Duration;

use super::{ImageReference, Problem, Spec};

/// Every problem in `spec`, in field order.
pub(super) fn problems(spec: &Spec) -> Vec<Problem> {
    let mut out = Vec::new();
    app(spec, &mut out);
    image(spec, &mut out);
    health_check(spec, &mut out);
    env(spec, &mut out);
    super::secrets::problems(&spec.secrets, &spec.env, &mut out);
    if let Some(scaling) = &spec.scaling {
        super::autoscaling::problems(scaling, spec.app.desired_count, &mut out);
    }
    domain(spec, &mut out);
    load_balancer(spec, &mut out);
    tags(spec, &mut out);
    out
}

fn push(out: &mut Vec<Problem>, field: impl Into<String>, message: impl Into<String>, fix: impl Into<String>) {
    out.push(Problem::new(field, message, fix));
}

fn app(spec: &Spec, out: &mut Vec<Problem>) {
    let name = &spec.app.name;
    let fix =
        format!("use 1–{MAX_APP_NAME} lowercase letters, digits and hyphens, starting with a letter, e.g. `dashmath`");
    if name.is_empty() {
        push(out, "app.name", "is empty", fix);
    } else if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        push(out, "app.name", format!("`{name}` must start with a lowercase letter"), fix);
    } else if let Some(c) = name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')) {
        push(out, "app.name", format!("`{name}` contains `{c}`"), fix);
    } else if name.ends_with('-') || name.contains("--") {
        push(out, "app.name", format!("`{name}` ends with a hyphen or has two in a row"), fix);
    } else if name.len() > MAX_APP_NAME {
        push(out, "app.name", format!("`{name}` is {} characters", name.len()), fix);
    }
    if spec.app.port == 0 {
        push(out, "app.port", "is 0", "set the port the container listens on, 1–65535 (Dash: 8050)");
    }
    resources(spec, out);
    if spec.app.desired_count > 5000 {
        push(
            out,
            "app.desired_count",
            format!("{} replicas is over the limit of 5000", spec.app.desired_count),
            "use 0–5000",
        );
    }
    if !(1..=100).contains(&spec.app.keep_releases) {
        push(
            out,
            "app.keep_releases",
            format!("keeps {} releases", spec.app.keep_releases),
            "keep 1–100 (the running one always stays; 2 or more leave something to roll back to)",
        );
    }
}

/// The longest app name: every name a provider derives from it (AWS's `<app>-from-alb-sg`,
/// `<app>.localhost`, a Kubernetes label) must still fit a DNS label of 63; a provider may allow less and says so.
const MAX_APP_NAME: usize = 40;

/// The most a replica may ask for, on any platform.
const MAX_VCPU: u32 = 192;
const MAX_MEMORY_MIB: u32 = 1024 * 1024;

fn resources(spec: &Spec, out: &mut Vec<Problem>) {
    let cpu = spec.app.cpu;
    if cpu.millis() == 0 {
        push(out, "app.cpu", "is 0", "give each replica some CPU, e.g. `cpu = 0.25` (a quarter vCPU) or `cpu = 1`");
    } else if cpu.millis() >= 64 * 1000 && (cpu.millis() / 1000) % 256 == 0 {
        // An old config's CPU units (1024 = 1 vCPU), read as vCPUs.
        let units = cpu.millis() / 1000;
        push(
            out,
            "app.cpu",
            format!("{cpu} is more than any machine offers; app.cpu counts vCPUs, not CPU units"),
            format!("write `cpu = {}` for {units} CPU units", super::Vcpu::from_millis(units * 1000 / 1024).number()),
        );
    } else if cpu.millis() > MAX_VCPU * 1000 {
        push(out, "app.cpu", format!("{cpu} is more than any provider offers"), format!("use at most {MAX_VCPU}"));
    }
    let memory = spec.app.memory;
    if !(64..=MAX_MEMORY_MIB).contains(&memory) {
        push(
            out,
            "app.memory",
            format!("{memory} MiB is out of range"),
            "give each replica 64 MiB to 1 TiB, in MiB, e.g. `memory = 2048` for 2 GiB",
        );
    }
}

fn image(spec: &Spec, out: &mut Vec<Problem>) {
    let image = &spec.image;
    let fix = "keep one of `context` (build the Dockerfile there), `archive` (push a built image) or `reference` (use a pushed image)";
    let set =
        [image.context.is_some(), image.archive.is_some(), image.reference.is_some()].iter().filter(|s| **s).count();
    if set > 1 {
        push(out, "image", "sets more than one of `context`, `archive` and `reference`", fix);
    } else if set == 0 {
        push(
            out,
            "image",
            "sets neither `context`, `archive` nor `reference`",
            "set `context = \".\"` to build the Dockerfile here, or `reference` to a prebuilt image",
        );
    }
    if let Some(reference) = &image.reference {
        if let Err(why) = reference.parse::<ImageReference>() {
            push(
                out,
                "image.reference",
                why,
                "use `registry/repository:tag` or, better, `registry/repository@sha256:<digest>`",
            );
        }
    }
    if image.context.is_some() {
        let dockerfile = &image.dockerfile;
        if dockerfile.is_empty() || dockerfile.starts_with('/') || dockerfile.split('/').any(|part| part == "..") {
            push(
                out,
                "image.dockerfile",
                format!("`{dockerfile}` is not a path inside the context"),
                "name a file inside the build context, e.g. `Dockerfile`",
            );
        }
    }
}

fn seconds_between(out: &mut Vec<Problem>, field: &str, value: Duration, lo: u64, hi: u64) {
    if value < Duration::from_secs(lo) || value > Duration::from_secs(hi) || value.subsec_nanos() != 0 {
        push(
            out,
            field,
            format!("{} is out of range", humantime::format_duration(value)),
            format!("use whole seconds from {lo}s to {hi}s"),
        );
    }
}

fn health_check(spec: &Spec, out: &mut Vec<Problem>) {
    let hc = &spec.health_check;
    if !hc.path.starts_with('/') || hc.path.len() > 1024 || hc.path.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        push(
            out,
            "health_check.path",
            format!("`{}` is not an absolute URL path", hc.path),
            "use a path starting with `/` and without spaces, e.g. `/`",
        );
    }
    seconds_between(out, "health_check.grace_period", hc.grace_period, 0, 7200);
    seconds_between(out, "health_check.interval", hc.interval, 5, 300);
    seconds_between(out, "health_check.timeout", hc.timeout, 2, 120);
    if hc.timeout >= hc.interval {
        push(
            out,
            "health_check.timeout",
            "must be shorter than health_check.interval",
            "lower the timeout or raise the interval",
        );
    }
    for (field, value) in [
        ("health_check.healthy_threshold", hc.healthy_threshold),
        ("health_check.unhealthy_threshold", hc.unhealthy_threshold),
    ] {
        if !(2..=10).contains(&value) {
            push(out, field, format!("{value} is out of range"), "use 2–10 consecutive checks");
        }
    }
}

fn env(spec: &Spec, out: &mut Vec<Problem>) {
    for (key, value) in &spec.env {
        let valid = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            push(
                out,
                format!("env.{key}"),
                "is not a valid environment variable name",
                "use letters, digits and `_`, not starting with a digit",
            );
        }
        if value.contains('\0') {
            push(out, format!("env.{key}"), "contains a NUL byte", "remove it");
        }
    }
}

/// Why `name` is not a valid DNS host name, if it is not.
pub(crate) fn dns_name_problem(name: &str) -> Option<String> {
    if name.len() > 253 {
        return Some(format!("`{name}` is longer than 253 characters"));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Some(format!("`{name}` needs at least two labels, like `example.com`"));
    }
    for label in &labels {
        if label.is_empty() || label.len() > 63 {
            return Some(format!("`{name}` has a label of {} characters; each must have 1–63", label.len()));
        }
        if let Some(c) = label.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')) {
            return Some(format!("`{name}` contains `{c}`; only lowercase letters, digits, `-` and `.` are allowed"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some(format!("`{name}` has a label starting or ending with `-`"));
        }
    }
    if labels.last().is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit())) {
        return Some(format!("`{name}` looks like an IP address, not a domain"));
    }
    None
}

fn domain(spec: &Spec, out: &mut Vec<Problem>) {
    let Some(domain) = &spec.domain else { return };
    let fix = "use a lowercase domain you own, without scheme, port or trailing dot, e.g. `appdomain.com`";
    if let Some(why) = dns_name_problem(&domain.name) {
        push(out, "domain.name", why, fix);
    }
    let mut seen = vec![domain.name.clone()];
    for (i, alias) in domain.aliases.iter().enumerate() {
        let field = format!("domain.aliases[{i}]");
        if alias.contains('*') {
            push(
                out,
                field,
                format!("`{alias}` is a wildcard"),
                "list each host name explicitly (the seed advises against wildcard certificates)",
            );
            continue;
        }
        let full = domain.qualify(alias);
        if let Some(why) = dns_name_problem(&full) {
            push(out, field, why, "use a host label like `www` or a full name under domain.name");
        } else if seen.contains(&full) {
            push(out, field, format!("`{full}` is listed twice (or is the apex)"), "remove the duplicate");
        } else {
            seen.push(full);
        }
    }
    if domain.hostnames().len() > 10 {
        push(
            out,
            "domain.aliases",
            "more than 9 aliases",
            "certificates hold at most 10 names; move extra hosts to another app",
        );
    }
    if domain.redirect_http && !domain.https {
        push(
            out,
            "domain.redirect_http",
            "redirects to HTTPS while domain.https is off",
            "turn domain.https on, or set redirect_http = false",
        );
    }
    if !domain.min_tls_version.is_secure() {
        push(
            out,
            "domain.min_tls_version",
            format!("{} is no longer safe", domain.min_tls_version),
            "use \"1.2\" (the default) or \"1.3\"",
        );
    }
}

fn load_balancer(spec: &Spec, out: &mut Vec<Problem>) {
    let lb = &spec.load_balancer;
    seconds_between(out, "load_balancer.idle_timeout", lb.idle_timeout, 1, 4000);
    seconds_between(out, "load_balancer.drain_time", lb.drain_time, 0, 3600);
    if lb.stickiness {
        seconds_between(out, "load_balancer.stickiness_duration", lb.stickiness_duration, 1, 604_800);
    }
}

fn tags(spec: &Spec, out: &mut Vec<Problem>) {
    for key in spec.tags.keys() {
        let field = format!("tags.{key}");
        if key.is_empty() {
            push(out, field, "has an empty key", "name the tag");
        } else if key.to_ascii_lowercase().starts_with("scaling:") {
            push(out, field, "uses the reserved prefix `scaling:` (the ownership tags)", "rename the tag");
        }
    }
}
