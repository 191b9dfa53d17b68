//! `[provider.aws]`: the AWS provider's own settings, and every check it makes of a spec before any
//! call — Fargate sizes, name and tag limits, region and VPC ids, the ELB policy name. Credentials
//! never go here: they come from aws-config's default chain.

use scaling_core::{Problem, ProviderSettings, Spec};
use serde::{Deserialize, Serialize};

use crate::sizes::{cpu_units, fargate_memory_options, fargate_sizes};

/// AWS settings.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsSettings {
    /// The region, e.g. `us-west-2`; defaults to the default chain's.
    #[serde(default)]
    pub region: Option<String>,
    /// A named profile of the shared config files.
    #[serde(default)]
    pub profile: Option<String>,
    /// The VPC; the default VPC when unset.
    #[serde(default)]
    pub vpc_id: Option<String>,
    /// Subnets in at least two availability zones; the VPC's default subnets when unset.
    #[serde(default)]
    pub subnets: Vec<String>,
    /// Give tasks a public IP (needed in public subnets without a NAT gateway to pull images).
    #[serde(default = "yes")]
    pub assign_public_ip: bool,
    /// An exact ELB security policy for the HTTPS listener, overriding the one picked for
    /// `domain.min_tls_version`.
    #[serde(default)]
    pub tls_policy: Option<String>,
    /// ECR scans each image for vulnerabilities when it is pushed.
    #[serde(default = "yes")]
    pub scan_on_push: bool,
    /// ECR refuses to move a tag to another image (releases are pinned by digest all the same).
    #[serde(default = "yes")]
    pub immutable_tags: bool,
}

fn yes() -> bool {
    true
}

impl Default for AwsSettings {
    fn default() -> Self {
        Self {
            region: None,
            profile: None,
            vpc_id: None,
            subnets: Vec::new(),
            assign_public_ip: true,
            tls_policy: None,
            scan_on_push: true,
            immutable_tags: true,
        }
    }
}

impl ProviderSettings for AwsSettings {
    const NAME: &'static str = "aws";

    fn problems(&self, spec: &Spec) -> Vec<Problem> {
        let mut out = Vec::new();
        self.network_problems(&mut out);
        size_problems(spec, &mut out);
        name_problems(spec, self.region.as_deref(), &mut out);
        tag_problems(spec, &mut out);
        if let Some(policy) = &self.tls_policy {
            if !policy.starts_with("ELBSecurityPolicy-") || policy.chars().any(char::is_whitespace) {
                out.push(Problem::new(
                    "provider.aws.tls_policy",
                    format!("`{policy}` is not an ELB security policy name"),
                    format!(
                        "use a name like `{}`, or remove it and set domain.min_tls_version",
                        crate::tls_policy::TLS12_POLICY
                    ),
                ));
            }
        }
        out
    }
}

impl AwsSettings {
    /// Checks the region alone (for `--region`, which overrides `provider.aws.region`).
    pub fn region_problem(region: &str) -> Option<Problem> {
        (!is_region(region)).then(|| {
            Problem::new(
                "provider.aws.region",
                format!("`{region}` is not a region name"),
                "use a region like `us-west-2`, or leave it unset to use your AWS config",
            )
        })
    }

    fn network_problems(&self, out: &mut Vec<Problem>) {
        if let Some(region) = &self.region {
            out.extend(Self::region_problem(region));
        }
        if let Some(vpc) = &self.vpc_id {
            if !is_aws_id(vpc, "vpc-") {
                out.push(Problem::new(
                    "provider.aws.vpc_id",
                    format!("`{vpc}` is not a VPC id"),
                    "use an id like `vpc-0abc1234`, or leave it unset for the default VPC",
                ));
            }
            if self.subnets.len() < 2 {
                out.push(Problem::new(
                    "provider.aws.subnets",
                    "a load balancer needs subnets in at least two availability zones",
                    "list two or more subnet ids of the VPC",
                ));
            }
        } else if !self.subnets.is_empty() {
            out.push(Problem::new(
                "provider.aws.subnets",
                "subnets are set without provider.aws.vpc_id",
                "set vpc_id too, or remove subnets to use the default VPC",
            ));
        }
        for (i, subnet) in self.subnets.iter().enumerate() {
            if !is_aws_id(subnet, "subnet-") {
                out.push(Problem::new(
                    format!("provider.aws.subnets[{i}]"),
                    format!("`{subnet}` is not a subnet id"),
                    "use an id like `subnet-0abc1234`",
                ));
            }
        }
    }
}

/// Fargate runs only its own CPU sizes, each with its own memory steps.
fn size_problems(spec: &Spec, out: &mut Vec<Problem>) {
    let (cpu, memory) = (spec.app.cpu, spec.app.memory);
    if cpu.millis() == 0 {
        return; // the core already reports it
    }
    if cpu_units(cpu).is_none() {
        out.push(Problem::new(
            "app.cpu",
            format!("{cpu} is not a Fargate size"),
            format!("use one of {} (vCPU)", fargate_sizes()),
        ));
        return;
    }
    let options = fargate_memory_options(cpu);
    if !options.contains(&memory) {
        let (lo, hi) = (options[0], options[options.len() - 1]);
        out.push(Problem::new(
            "app.memory",
            format!("{memory} MiB does not go with {cpu} on Fargate"),
            format!("use {lo}–{hi} MiB in the steps Fargate allows (e.g. {lo}), or change app.cpu"),
        ));
    }
}

/// The strictest limit AWS puts on each derived name.
fn name_problems(spec: &Spec, region: Option<&str>, out: &mut Vec<Problem>) {
    let name = &spec.app.name;
    if name.is_empty() {
        return;
    }
    let names = crate::AWS_CAPABILITIES.names(name);
    let limits = [
        (&names.repository, "image repository", 256),
        (&names.load_balancer_firewall, "security group", 255),
        (&names.replica_firewall, "security group", 255),
        (&names.cluster, "cluster", 255),
        (&names.revision, "task definition family", 255),
        (&names.container, "container", 255),
        (&names.service, "service", 255),
        (&names.load_balancer, "load balancer", 32),
        (&names.backend, "target group", 32),
    ];
    // <https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html>:
    // a name "must not begin with internal-" (ELB gives that prefix to internal balancers' DNS names).
    if names.load_balancer.starts_with("internal-") {
        out.push(Problem::new(
            "app.name",
            format!(
                "the derived load balancer name `{}` begins with `internal-`, which ELB refuses",
                names.load_balancer
            ),
            "choose an app.name that does not begin with `internal-`",
        ));
    }
    // The execution role's name holds the region: the longest region names have 14 characters.
    let region_len = region.map_or(14, str::len);
    let role_len = name.len() + region_len + "--execution-role".len();
    if role_len > crate::support_resources::ROLE_NAME_MAX {
        let room = crate::support_resources::ROLE_NAME_MAX - (role_len - name.len());
        out.push(Problem::new(
            "app.name",
            format!(
                "the execution role's name `{name}-<region>-execution-role` would be {role_len} characters; IAM allows {}",
                crate::support_resources::ROLE_NAME_MAX
            ),
            format!("shorten app.name to at most {room} characters"),
        ));
    }
    let too_long = limits.into_iter().find(|(derived, _, max)| derived.len() > *max);
    if let Some((derived, what, max_len)) = too_long {
        let room = max_len - (derived.len() - name.len());
        out.push(Problem::new(
            "app.name",
            format!("the derived {what} name `{derived}` is {} characters; AWS allows {max_len}", derived.len()),
            format!("shorten app.name to at most {room} characters"),
        ));
    }
}

/// AWS takes at most 50 tags per resource (2 are the ownership tags), keys up to 128 and values up to
/// 256 characters, and reserves `aws:`. The task definition also carries one tag per secret (the
/// reference as written), and ECS allows it 50 in all
/// (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html>).
fn tag_problems(spec: &Spec, out: &mut Vec<Problem>) {
    const PER_RESOURCE: usize = 50;
    const OWNERSHIP: usize = 2;
    if spec.tags.len() > 40 {
        out.push(Problem::new(
            "tags",
            format!("{} tags; at most 40 fit beside the ownership tags", spec.tags.len()),
            "remove some tags",
        ));
    } else if spec.tags.len() + OWNERSHIP + spec.secrets.len() > PER_RESOURCE {
        out.push(Problem::new(
            "secrets",
            format!(
                "{} tags and {} secrets: the task definition would carry {} tags (yours, 2 of ownership and one \
                 per secret); ECS allows {PER_RESOURCE}",
                spec.tags.len(),
                spec.secrets.len(),
                spec.tags.len() + OWNERSHIP + spec.secrets.len()
            ),
            format!("remove {} tags or secrets", spec.tags.len() + OWNERSHIP + spec.secrets.len() - PER_RESOURCE),
        ));
    }
    for (key, value) in &spec.tags {
        let field = format!("tags.{key}");
        if key.to_ascii_lowercase().starts_with("aws:") {
            out.push(Problem::new(field, "uses the prefix `aws:`, which AWS reserves", "rename the tag"));
        } else if key.len() > 128 || value.len() > 256 {
            out.push(Problem::new(field, "is too long (keys 1–128, values up to 256 characters)", "shorten it"));
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

fn is_aws_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .is_some_and(|hex| (8..=17).contains(&hex.len()) && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every problem `[app]`/`[provider.aws]`/`[tags]` lines give, as `field: fix` pairs.
    fn problems(app: &str, rest: &str) -> Vec<(String, String)> {
        let text = format!(
            "[app]\nname = \"dashmath\"\nport = 8050\n{app}\n[image]\nreference = \"registry.example/d:1\"\n{rest}"
        );
        match Spec::parse_toml_str(&text).unwrap().check_for::<AwsSettings>() {
            Ok(_) => Vec::new(),
            Err(errors) => {
                errors.problems.into_iter().map(|p| (p.field, format!("{} / {}", p.message, p.fix))).collect()
            }
        }
    }

    fn assert_one(found: Vec<(String, String)>, field: &str, hint: &str) {
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, field, "{found:?}");
        assert!(found[0].1.contains(hint), "{found:?} should mention {hint}");
    }

    #[test]
    fn the_seeds_size_and_defaults_pass() {
        assert_eq!(problems("cpu = 1\nmemory = 3072", ""), Vec::new());
        assert_eq!(problems("", ""), Vec::new(), "the defaults are a Fargate size");
    }

    #[test]
    fn fargate_sizes_are_checked_with_the_sizes_to_use() {
        assert_one(problems("cpu = 0.3", ""), "app.cpu", "0.25, 0.5, 1, 2");
        assert_one(problems("cpu = 1\nmemory = 1024", ""), "app.memory", "2048–8192");
        assert_one(problems("cpu = \"250m\"\nmemory = 4096", ""), "app.memory", "512–2048");
    }

    #[test]
    fn names_that_outgrow_the_load_balancer_limit_say_how_short_to_go() {
        assert_one(problems_named("a-very-long-application-name-x"), "app.name", "at most 28 characters");
    }

    fn problems_named(name: &str) -> Vec<(String, String)> {
        let text = format!("[app]\nname = \"{name}\"\nport = 8050\n[image]\nreference = \"registry.example/d:1\"\n");
        let errors = Spec::parse_toml_str(&text).unwrap().check_for::<AwsSettings>().unwrap_err();
        errors.problems.into_iter().map(|p| (p.field, p.fix)).collect()
    }

    #[test]
    fn region_vpc_and_subnets_are_checked_together() {
        let found = problems(
            "",
            "[provider.aws]\nregion = \"Oregon\"\nvpc_id = \"vpc-0abc1234\"\nsubnets = [\"subnet-0abc1234\"]\n",
        );
        let fields: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["provider.aws.region", "provider.aws.subnets"]);
        assert_one(
            problems("", "[provider.aws]\nsubnets = [\"subnet-0abc1234\", \"x\"]\n").into_iter().take(1).collect(),
            "provider.aws.subnets",
            "vpc_id",
        );
    }

    #[test]
    fn policy_names_tags_and_unknown_keys_are_the_providers_to_check() {
        assert_one(
            problems("", "[provider.aws]\ntls_policy = \"TLS13\"\n"),
            "provider.aws.tls_policy",
            "ELBSecurityPolicy-TLS13-1-2-2021-06",
        );
        assert_one(problems("", "[tags]\n\"aws:team\" = \"x\"\n"), "tags.aws:team", "reserves");
        assert_one(problems("", "[provider.aws]\nregoin = \"us-west-2\"\n"), "provider.aws.regoin", "line 8");
    }

    #[test]
    fn core_and_provider_problems_come_in_one_report() {
        let found = problems("desired_count = 9000\ncpu = 3", "[provider.aws]\nregion = \"x\"\n");
        assert!(found.len() >= 3, "{found:?}");
        let fields: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
        assert!(fields.contains(&"app.cpu") && fields.contains(&"provider.aws.region"), "{fields:?}");
    }

    #[test]
    fn a_name_elb_refuses_and_more_tags_than_a_task_definition_takes_are_refused_before_any_call() {
        let text = "[app]\nname = \"internal-tools\"\nport = 8050\n[image]\nreference = \"registry.example/d:1\"\n";
        let errors = Spec::parse_toml_str(text).unwrap().check_for::<AwsSettings>().unwrap_err();
        assert!(
            errors.problems.iter().any(|p| p.field == "app.name" && p.message.contains("internal-")),
            "{:?}",
            errors.problems
        );
        let tags: String = (0..30).map(|n| format!("t{n} = \"x\"\n")).collect();
        let secrets: String = (0..20).map(|n| format!("S{n} = \"ssm:/app/s{n}\"\n")).collect();
        let found = problems("", &format!("[tags]\n{tags}[secrets]\n{secrets}"));
        assert_one(found, "secrets", "remove 2 tags or secrets");
        assert_eq!(problems("", &format!("[tags]\n{tags}")), Vec::new(), "30 tags alone fit");
    }
}
