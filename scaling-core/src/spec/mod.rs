//! The desired deployment: one serde type loaded from `scaling.toml`, validated before any provider call.
//!
//! ```
//! let spec = scaling_core::Spec::from_toml_str(r#"
//!     [app]
//!     name = "dashmath"
//!     port = 8050
//!
//!     [image]
//!     context = "."
//!
//!     [domain]
//!     name = "dashmath.example.com"
//! "#).unwrap();
//! assert_eq!(spec.domain.as_ref().unwrap().hostnames(), ["dashmath.example.com", "www.dashmath.example.com"]);
//! assert_eq!(spec.health_check.grace_period.as_secs(), 30);
//! ```

mod fargate;
mod image;
mod problems;
mod unknown_keys;
mod validate;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use fargate::{fargate_memory_options, FARGATE_CPU_UNITS};
pub use image::{ImageReference, ImageSpec, Platform};
pub use problems::{Problem, SpecErrors};

/// The TLS policy used when none is configured: TLS 1.3 with TLS 1.2 fallback for older clients.
pub const DEFAULT_TLS_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/// The whole desired deployment of one app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// The app: name, port, size, count.
    pub app: AppSpec,
    /// Where the image comes from.
    pub image: ImageSpec,
    /// How the load balancer decides a replica is healthy.
    #[serde(default)]
    pub health_check: HealthCheckSpec,
    /// Environment variables of the container.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The domain in front of the app; without it the app is served on the load balancer's own name.
    #[serde(default)]
    pub domain: Option<DomainSpec>,
    /// Load balancer settings.
    #[serde(default)]
    pub load_balancer: LoadBalancerSpec,
    /// Extra tags put on every resource (the ownership tags are added on top).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Per-provider settings.
    #[serde(default)]
    pub provider: ProviderSpec,
}

/// The app itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSpec {
    /// The app name: lowercase letters, digits and hyphens; every resource name derives from it.
    pub name: String,
    /// The port the container listens on.
    pub port: u16,
    /// CPU units per task (1024 = 1 vCPU).
    #[serde(default = "default_cpu")]
    pub cpu: u32,
    /// Memory per task in MiB.
    #[serde(default = "default_memory")]
    pub memory: u32,
    /// How many replicas run.
    #[serde(default = "default_desired_count")]
    pub desired_count: u32,
}

/// The health check of the load balancer's target group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthCheckSpec {
    /// The HTTP path probed; must answer 200–399.
    pub path: String,
    /// How long a new replica may fail checks before it counts (the seed's 30 s).
    #[serde(with = "humantime_serde")]
    pub grace_period: Duration,
    /// Time between checks.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// Time a check may take.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Consecutive successes before healthy.
    pub healthy_threshold: u32,
    /// Consecutive failures before unhealthy.
    pub unhealthy_threshold: u32,
}

impl Default for HealthCheckSpec {
    fn default() -> Self {
        Self {
            path: "/".into(),
            grace_period: Duration::from_secs(30),
            interval: Duration::from_secs(15),
            timeout: Duration::from_secs(5),
            healthy_threshold: 2,
            unhealthy_threshold: 3,
        }
    }
}

/// The domain in front of the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainSpec {
    /// The apex domain, e.g. `appdomain.com` (no leading host).
    pub name: String,
    /// Further host names: a label (`www` → `www.<name>`) or a full name under the apex.
    #[serde(default = "default_aliases")]
    pub aliases: Vec<String>,
    /// Serve HTTPS with a DNS-validated certificate (on by default when a domain is set).
    #[serde(default = "yes")]
    pub https: bool,
    /// Answer plain HTTP with a 301 to HTTPS (on by default).
    #[serde(default = "yes")]
    pub redirect_http: bool,
    /// The TLS policy of the HTTPS listener.
    #[serde(default = "default_tls_policy")]
    pub tls_policy: String,
    /// Delete the hosted zone on `destroy` even when it holds other records (off by default).
    #[serde(default)]
    pub delete_zone_on_destroy: bool,
}

impl DomainSpec {
    /// A domain with the default `www` alias, HTTPS and redirect on.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            aliases: default_aliases(),
            https: true,
            redirect_http: true,
            tls_policy: default_tls_policy(),
            delete_zone_on_destroy: false,
        }
    }

    /// The apex followed by every alias as a full name, in order, without duplicates.
    pub fn hostnames(&self) -> Vec<String> {
        let mut names = vec![self.name.clone()];
        for alias in &self.aliases {
            let full = self.qualify(alias);
            if !names.contains(&full) {
                names.push(full);
            }
        }
        names
    }

    /// An alias as a full name: `www` → `www.<apex>`; a name already under the apex stays as is.
    pub fn qualify(&self, alias: &str) -> String {
        let alias = alias.trim_end_matches('.');
        if alias == self.name || alias.ends_with(&format!(".{}", self.name)) {
            alias.to_string()
        } else {
            format!("{alias}.{}", self.name)
        }
    }
}

/// Load balancer settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoadBalancerSpec {
    /// How long an idle connection stays open (Dash long callbacks may want more).
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Pin a client to one replica with a cookie (off by default: Dash is stateless).
    pub stickiness: bool,
    /// How long the sticky cookie lasts.
    #[serde(with = "humantime_serde")]
    pub stickiness_duration: Duration,
    /// How long a replica being removed keeps its in-flight requests (short, so rollouts are quick).
    #[serde(with = "humantime_serde")]
    pub deregistration_delay: Duration,
    /// How the load balancer picks a replica for a request.
    pub algorithm: Algorithm,
}

/// How a load balancer picks a replica (the ALB's `load_balancing.algorithm.type`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// Each replica in turn, whatever it is busy with.
    RoundRobin,
    /// The replica with the fewest requests in flight (the default: a Dash callback can take long, and
    /// a replica busy with one should not be handed the next).
    #[default]
    LeastOutstandingRequests,
}

impl Algorithm {
    /// The name used in config files and by the ALB.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RoundRobin => "round_robin",
            Algorithm::LeastOutstandingRequests => "least_outstanding_requests",
        }
    }
}

impl Default for LoadBalancerSpec {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(60),
            stickiness: false,
            stickiness_duration: Duration::from_secs(86_400),
            deregistration_delay: Duration::from_secs(30),
            algorithm: Algorithm::default(),
        }
    }
}

/// Which provider runs the deployment, and each provider's own settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSpec {
    /// The provider used when the command line names none.
    #[serde(default)]
    pub default: ProviderKind,
    /// AWS settings.
    #[serde(default)]
    pub aws: AwsSettings,
    /// Local (one machine) settings.
    #[serde(default)]
    pub local: LocalSettings,
}

/// A provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// This machine: processes, an embedded load balancer and a local CA.
    #[default]
    Local,
    /// AWS: ECR, ECS Fargate, ALB, Route 53, ACM.
    Aws,
}

/// AWS settings; credentials never go here (they come from the default chain).
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
}

impl Default for AwsSettings {
    fn default() -> Self {
        Self { region: None, profile: None, vpc_id: None, subnets: Vec::new(), assign_public_ip: true }
    }
}

/// Settings of the local provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LocalSettings {
    /// The HTTPS port of the local load balancer (0 picks a free one).
    pub https_port: u16,
    /// The HTTP port that redirects to HTTPS (0 picks a free one).
    pub http_port: u16,
    /// A command run in the app's bundle after its files are copied, for apps that are not Python
    /// (e.g. `npm ci --omit=dev`); a `requirements.txt` gets a virtualenv without one.
    pub build: Option<String>,
}

impl Default for LocalSettings {
    fn default() -> Self {
        Self { https_port: 8443, http_port: 8080, build: None }
    }
}

impl Spec {
    /// A spec with defaults for everything but the app name, container port and image.
    pub fn new(name: impl Into<String>, port: u16, image: ImageSpec) -> Self {
        Self {
            app: AppSpec {
                name: name.into(),
                port,
                cpu: default_cpu(),
                memory: default_memory(),
                desired_count: default_desired_count(),
            },
            image,
            health_check: HealthCheckSpec::default(),
            env: BTreeMap::new(),
            domain: None,
            load_balancer: LoadBalancerSpec::default(),
            tags: BTreeMap::new(),
            provider: ProviderSpec::default(),
        }
    }

    /// The same spec with a domain (apex plus the default `www` alias).
    pub fn with_domain(mut self, apex: impl Into<String>) -> Self {
        self.domain = Some(DomainSpec::new(apex));
        self
    }

    /// The same spec with another replica count.
    pub fn with_desired_count(mut self, count: u32) -> Self {
        self.app.desired_count = count;
        self
    }

    /// Parses TOML and validates the result, reporting every problem at once.
    pub fn from_toml_str(text: &str) -> Result<Self, SpecErrors> {
        let spec: Spec = unknown_keys::parse(text)?;
        spec.validate()?;
        Ok(spec)
    }

    /// Reads, parses and validates a `scaling.toml`; relative image paths resolve against its folder.
    pub fn load(path: &Path) -> Result<Self, SpecErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            SpecErrors::single(Problem::new(
                "(file)",
                format!("cannot read {}: {e}", path.display()),
                "pass the path of an existing scaling.toml with --config, or run `scaling init`",
            ))
        })?;
        let mut spec = Self::from_toml_str(&text)?;
        if let Some(dir) = path.parent() {
            for local in [&mut spec.image.context, &mut spec.image.archive].into_iter().flatten() {
                if local.is_relative() {
                    *local = dir.join(&*local);
                }
            }
        }
        let missing = spec.image.missing_files();
        if !missing.is_empty() {
            return Err(SpecErrors::new(missing));
        }
        Ok(spec)
    }

    /// Checks every rule and returns all problems found, each with its field path and fix.
    pub fn validate(&self) -> Result<(), SpecErrors> {
        let problems = validate::problems(self);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SpecErrors::new(problems))
        }
    }

    /// The host names the app answers on: the domain's, or none without a domain.
    pub fn hostnames(&self) -> Vec<String> {
        self.domain.as_ref().map(DomainSpec::hostnames).unwrap_or_default()
    }

    /// True when the load balancer serves HTTPS.
    pub fn https(&self) -> bool {
        self.domain.as_ref().is_some_and(|d| d.https)
    }
}

fn default_cpu() -> u32 {
    1024
}
fn default_memory() -> u32 {
    3072
}
fn default_desired_count() -> u32 {
    2
}
fn default_aliases() -> Vec<String> {
    vec!["www".into()]
}
fn default_tls_policy() -> String {
    DEFAULT_TLS_POLICY.into()
}
fn yes() -> bool {
    true
}
