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

mod autoscaling;
mod environments;
mod image;
mod problems;
mod provider_settings;
mod resources;
mod secrets;
mod tls;
mod unknown_keys;
mod validate;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use autoscaling::AutoscalingSpec;
pub use environments::ENVIRONMENT_TAG;
pub use image::{ImageReference, ImageSpec, Platform};
pub use problems::{Problem, SpecErrors};
pub use provider_settings::{ProviderSettings, ProviderSpec};
pub use resources::Vcpu;
pub use secrets::{references as secret_references, SecretReference};
pub use tls::TlsVersion;

/// The whole desired deployment of one app.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
    /// Environment variables whose values live in a secret store: `NAME = "<store>:<name>"`
    /// references, never values (the provider says which stores it knows).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, String>,
    /// Autoscaling between a minimum and a maximum count; without it the count is `app.desired_count`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling: Option<AutoscalingSpec>,
    /// The domain in front of the app; without it the app is served on the load balancer's own name.
    #[serde(default)]
    pub domain: Option<DomainSpec>,
    /// Load balancer settings.
    #[serde(default)]
    pub load_balancer: LoadBalancerSpec,
    /// Extra tags put on every resource (the ownership tags are added on top).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Which provider runs it, and each provider's own table (read by that provider's crate).
    #[serde(default)]
    pub provider: ProviderSpec,
    /// Separate copies of the app: `[environments.<name>]` tables, each overriding any part of this
    /// spec, deployed with `--env <name>` (see [`Spec::for_environment`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(feature = "schema", schemars(skip))]
    pub environments: BTreeMap<String, toml::Table>,
    /// The environment this spec is the copy for (`None`: the default).
    #[serde(skip)]
    pub environment: Option<String>,
    /// The folder of the file it was read from: where a provider's relative paths start (`None`
    /// for a spec made in code, whose paths start in the current folder).
    #[serde(skip)]
    pub config_dir: Option<std::path::PathBuf>,
    /// The text the spec was read from, so that a provider's table is reported on its own lines.
    #[serde(skip)]
    pub(crate) source: SourceText,
}

/// The app itself.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSpec {
    /// The app name: lowercase letters, digits and hyphens; every resource name derives from it.
    pub name: String,
    /// The port the container listens on.
    pub port: u16,
    /// CPU per replica, in vCPU (`0.25`, `1`, `"500m"`); each provider maps it onto its own sizes.
    #[serde(default = "default_cpu")]
    pub cpu: Vcpu,
    /// Memory per replica in MiB.
    #[serde(default = "default_memory")]
    pub memory: u32,
    /// How many replicas run (with `[scaling]`: how many a new deployment starts with).
    #[serde(default = "default_desired_count")]
    pub desired_count: u32,
    /// How many releases (revisions of what a replica runs) to keep for `scaling rollback`; older
    /// ones are removed after a deploy that makes a new one.
    #[serde(default = "default_keep_releases")]
    pub keep_releases: u32,
}

/// The health check of the load balancer's target group.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthCheckSpec {
    /// The HTTP path probed; must answer 200–399.
    pub path: String,
    /// How long a new replica may fail checks before it counts (the seed's 30 s).
    #[serde(with = "humantime_serde")]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub grace_period: Duration,
    /// Time between checks.
    #[serde(with = "humantime_serde")]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub interval: Duration,
    /// Time a check may take.
    #[serde(with = "humantime_serde")]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
    /// The lowest TLS version HTTPS accepts: `"1.2"` (the default; 1.3 is still offered first) or
    /// `"1.3"`. A provider may refine it in its own table (e.g. an exact ELB security policy).
    #[serde(default)]
    pub min_tls_version: TlsVersion,
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
            min_tls_version: TlsVersion::default(),
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoadBalancerSpec {
    /// How long an idle connection stays open (Dash long callbacks may want more).
    #[serde(with = "humantime_serde")]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub idle_timeout: Duration,
    /// Pin a client to one replica with a cookie (off by default: Dash is stateless).
    pub stickiness: bool,
    /// How long the sticky cookie lasts.
    #[serde(with = "humantime_serde")]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub stickiness_duration: Duration,
    /// How long a replica being removed keeps its in-flight requests (short, so rollouts are quick).
    /// Also read as `deregistration_delay`, its name before it was the contract's own.
    #[serde(with = "humantime_serde", alias = "deregistration_delay")]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub drain_time: Duration,
    /// How the load balancer picks a replica for a request.
    pub algorithm: Algorithm,
}

/// How a load balancer picks a replica (the ALB's `load_balancing.algorithm.type`).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
            drain_time: Duration::from_secs(30),
            algorithm: Algorithm::default(),
        }
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
                keep_releases: default_keep_releases(),
            },
            image,
            health_check: HealthCheckSpec::default(),
            env: BTreeMap::new(),
            secrets: BTreeMap::new(),
            scaling: None,
            domain: None,
            load_balancer: LoadBalancerSpec::default(),
            tags: BTreeMap::new(),
            provider: ProviderSpec::default(),
            environments: BTreeMap::new(),
            environment: None,
            config_dir: None,
            source: SourceText::default(),
        }
    }

    /// The same spec with a domain (apex plus the default `www` alias).
    pub fn with_domain(mut self, apex: impl Into<String>) -> Self {
        self.domain = Some(DomainSpec::new(apex));
        self
    }

    /// The same spec autoscaling between `min` and `max` on CPU percent.
    pub fn with_autoscaling(mut self, scaling: AutoscalingSpec) -> Self {
        self.scaling = Some(scaling);
        self
    }

    /// The count a deployment of this spec starts with: `app.desired_count`, kept within the
    /// autoscaling bounds when there are any.
    pub fn initial_count(&self) -> u32 {
        match &self.scaling {
            Some(scaling) => scaling.clamp(self.app.desired_count),
            None => self.app.desired_count,
        }
    }

    /// The same spec with another replica count.
    pub fn with_desired_count(mut self, count: u32) -> Self {
        self.app.desired_count = count;
        self
    }

    /// Parses TOML and validates the result by the core's rules, reporting every problem at once.
    pub fn from_toml_str(text: &str) -> Result<Self, SpecErrors> {
        let spec = Self::parse_toml_str(text)?;
        spec.validate()?;
        Ok(spec)
    }

    /// Parses TOML without checking the rules: every unknown key and the first bad value are reported;
    /// [`Spec::check_for`] then reports every remaining problem at once, a provider's included.
    pub fn parse_toml_str(text: &str) -> Result<Self, SpecErrors> {
        let mut spec: Spec = unknown_keys::parse(text)?;
        spec.source = SourceText(Some(Arc::from(text)));
        Ok(spec)
    }

    /// Reads and parses a `scaling.toml` without checking the rules (see [`Spec::parse_toml_str`]);
    /// relative image paths resolve against its folder.
    pub fn read(path: &Path) -> Result<Self, SpecErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            SpecErrors::single(Problem::new(
                "(file)",
                format!("cannot read {}: {e}", path.display()),
                "pass the path of an existing scaling.toml with --config, or run `scaling init`",
            ))
        })?;
        let mut spec = Self::parse_toml_str(&text)?;
        spec.config_dir = path.parent().map(Path::to_path_buf);
        if let Some(dir) = path.parent() {
            for local in [&mut spec.image.context, &mut spec.image.archive].into_iter().flatten() {
                if local.is_relative() {
                    *local = dir.join(&*local);
                }
            }
        }
        Ok(spec)
    }

    /// [`Spec::read`], then the copy for `environment` ([`Spec::for_environment`]); image paths an
    /// environment's table sets resolve against the file's folder too.
    pub fn read_environment(path: &Path, environment: Option<&str>) -> Result<Self, SpecErrors> {
        let file = Self::read(path)?;
        let mut spec = file.for_environment(environment)?;
        let overlay_image = environment
            .and_then(|name| file.environments.get(name))
            .and_then(|table| table.get("image"))
            .and_then(toml::Value::as_table);
        let Some(overlay_image) = overlay_image else { return Ok(spec) };
        let dir = path.parent().unwrap_or(Path::new(""));
        let image = &mut spec.image;
        for (key, local) in [("context", &mut image.context), ("archive", &mut image.archive)] {
            if let Some(local) = local.as_mut().filter(|l| l.is_relative() && overlay_image.contains_key(key)) {
                *local = dir.join(&*local);
            }
        }
        Ok(spec)
    }

    /// Reads, parses and validates a `scaling.toml` by the core's rules, its image files included.
    pub fn load(path: &Path) -> Result<Self, SpecErrors> {
        let spec = Self::read(path)?;
        let mut problems = spec.problems();
        problems.extend(spec.image.missing_files());
        if !problems.is_empty() {
            return Err(SpecErrors::new(problems));
        }
        Ok(spec)
    }

    /// Every problem by the core's rules, each with its field path and fix (a provider's own checks
    /// come from [`Spec::check_for`]).
    pub fn problems(&self) -> Vec<Problem> {
        validate::problems(self)
    }

    /// Checks every rule of the core and returns all problems found, each with its field path and fix.
    pub fn validate(&self) -> Result<(), SpecErrors> {
        let problems = self.problems();
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

/// The text a spec was read from. Two specs are equal by what they hold, whatever text they came from.
#[derive(Debug, Clone, Default)]
pub(crate) struct SourceText(pub(crate) Option<Arc<str>>);

impl PartialEq for SourceText {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

fn default_cpu() -> Vcpu {
    Vcpu::ONE
}
fn default_memory() -> u32 {
    3072
}
fn default_desired_count() -> u32 {
    2
}
fn default_keep_releases() -> u32 {
    10
}
fn default_aliases() -> Vec<String> {
    vec!["www".into()]
}
fn yes() -> bool {
    true
}
