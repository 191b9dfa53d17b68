//! Every rule a spec must satisfy before a provider is touched.

use std::time::Duration;

use super::{fargate_memory_options, ImageReference, Problem, Spec, FARGATE_CPU_UNITS};
use crate::names::ResourceNames;

/// Every problem in `spec`, in field order.
pub(super) fn problems(spec: &Spec) -> Vec<Problem> {
    let mut out = Vec::new();
    app(spec, &mut out);
    image(spec, &mut out);
    health_check(spec, &mut out);
    env(spec, &mut out);
    domain(spec, &mut out);
    load_balancer(spec, &mut out);
    tags(spec, &mut out);
    aws(spec, &mut out);
    out
}

fn push(out: &mut Vec<Problem>, field: impl Into<String>, message: impl Into<String>, fix: impl Into<String>) {
    out.push(Problem::new(field, message, fix));
}

fn app(spec: &Spec, out: &mut Vec<Problem>) {
    let name = &spec.app.name;
    let fix = "use 1–28 lowercase letters, digits and hyphens, starting with a letter, e.g. `dashmath`";
    if name.is_empty() {
        push(out, "app.name", "is empty", fix);
    } else if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        push(out, "app.name", format!("`{name}` must start with a lowercase letter"), fix);
    } else if let Some(c) = name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')) {
        push(out, "app.name", format!("`{name}` contains `{c}`"), fix);
    } else if name.ends_with('-') || name.contains("--") {
        push(out, "app.name", format!("`{name}` ends with a hyphen or has two in a row"), fix);
    } else {
        for (derived, limit) in ResourceNames::new(name).with_limits() {
            if derived.len() > limit.max_len {
                let room = limit.max_len - (derived.len() - name.len());
                push(
                    out,
                    "app.name",
                    format!(
                        "the derived {} name `{derived}` is {} characters; the limit is {}",
                        limit.what,
                        derived.len(),
                        limit.max_len
                    ),
                    format!("shorten app.name to at most {room} characters"),
                );
            }
        }
    }
    if spec.app.port == 0 {
        push(out, "app.port", "is 0", "set the port the container listens on, 1–65535 (Dash: 8050)");
    }
    let cpu = spec.app.cpu;
    if !FARGATE_CPU_UNITS.contains(&cpu) {
        push(
            out,
            "app.cpu",
            format!("{cpu} CPU units is not a Fargate size"),
            format!("use one of {FARGATE_CPU_UNITS:?} (1024 = 1 vCPU)"),
        );
    } else {
        let options = fargate_memory_options(cpu);
        if !options.contains(&spec.app.memory) {
            let (lo, hi) = (options[0], options[options.len() - 1]);
            push(
                out,
                "app.memory",
                format!("{} MiB does not go with {cpu} CPU units on Fargate", spec.app.memory),
                format!("use {lo}–{hi} MiB in the steps Fargate allows (e.g. {lo}), or change app.cpu"),
            );
        }
    }
    if spec.app.desired_count > 5000 {
        push(
            out,
            "app.desired_count",
            format!("{} replicas is over the limit of 5000", spec.app.desired_count),
            "use 0–5000",
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
    if !domain.tls_policy.starts_with("ELBSecurityPolicy-") || domain.tls_policy.chars().any(char::is_whitespace) {
        push(
            out,
            "domain.tls_policy",
            format!("`{}` is not a TLS policy name", domain.tls_policy),
            format!("use a name like `{}`", super::DEFAULT_TLS_POLICY),
        );
    }
}

fn load_balancer(spec: &Spec, out: &mut Vec<Problem>) {
    let lb = &spec.load_balancer;
    seconds_between(out, "load_balancer.idle_timeout", lb.idle_timeout, 1, 4000);
    seconds_between(out, "load_balancer.deregistration_delay", lb.deregistration_delay, 0, 3600);
    if lb.stickiness {
        seconds_between(out, "load_balancer.stickiness_duration", lb.stickiness_duration, 1, 604_800);
    }
}

fn tags(spec: &Spec, out: &mut Vec<Problem>) {
    if spec.tags.len() > 40 {
        push(
            out,
            "tags",
            format!("{} tags; at most 40 fit beside the ownership tags", spec.tags.len()),
            "remove some tags",
        );
    }
    for (key, value) in &spec.tags {
        let field = format!("tags.{key}");
        let lower = key.to_ascii_lowercase();
        if lower.starts_with("aws:") || lower.starts_with("scaling:") {
            push(out, field, "uses a reserved prefix (`aws:` or `scaling:`)", "rename the tag");
        } else if key.is_empty() || key.len() > 128 || value.len() > 256 {
            push(out, field, "is too long (keys 1–128, values up to 256 characters)", "shorten it");
        }
    }
}

fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
        && parts.last().is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

fn aws(spec: &Spec, out: &mut Vec<Problem>) {
    let aws = &spec.provider.aws;
    if let Some(region) = &aws.region {
        if !is_region(region) {
            push(
                out,
                "provider.aws.region",
                format!("`{region}` is not a region name"),
                "use a region like `us-west-2`, or leave it unset to use your AWS config",
            );
        }
    }
    if let Some(vpc) = &aws.vpc_id {
        if !is_aws_id(vpc, "vpc-") {
            push(
                out,
                "provider.aws.vpc_id",
                format!("`{vpc}` is not a VPC id"),
                "use an id like `vpc-0abc1234`, or leave it unset for the default VPC",
            );
        }
        if aws.subnets.len() < 2 {
            push(
                out,
                "provider.aws.subnets",
                "a load balancer needs subnets in at least two availability zones",
                "list two or more subnet ids of the VPC",
            );
        }
    } else if !aws.subnets.is_empty() {
        push(
            out,
            "provider.aws.subnets",
            "subnets are set without provider.aws.vpc_id",
            "set vpc_id too, or remove subnets to use the default VPC",
        );
    }
    for (i, subnet) in aws.subnets.iter().enumerate() {
        if !is_aws_id(subnet, "subnet-") {
            push(
                out,
                format!("provider.aws.subnets[{i}]"),
                format!("`{subnet}` is not a subnet id"),
                "use an id like `subnet-0abc1234`",
            );
        }
    }
}

fn is_aws_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .is_some_and(|hex| (8..=17).contains(&hex.len()) && hex.chars().all(|c| c.is_ascii_hexdigit()))
}
