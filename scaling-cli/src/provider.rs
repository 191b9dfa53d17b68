//! Builds the providers the command line asks for. Credentials are never read here: AWS takes them
//! from its default chain.

use anyhow::Result;
use scaling_core::{DeployOptions, Problem, Session, Spec};

use crate::args::Global;
pub use crate::args::ProviderArg as ProviderKind;

/// The providers this `scaling` knows, by their `[provider.<name>]` table.
pub const KNOWN: [(&str, ProviderKind); 2] = [("local", ProviderKind::Local), ("aws", ProviderKind::Aws)];

impl ProviderKind {
    /// The provider's name, as in `--provider` and `[provider.<name>]`.
    #[cfg_attr(not(feature = "aws"), allow(dead_code))]
    pub fn name(self) -> &'static str {
        KNOWN.iter().find(|(_, kind)| *kind == self).map_or("local", |(name, _)| name)
    }
}

/// The provider kind: the flag, else the config's `provider.default`, else local.
pub fn kind(global: &Global, spec: &Spec) -> ProviderKind {
    chosen(global, spec).unwrap_or(ProviderKind::Local)
}

/// The provider kind, or the problem with `provider.default`.
pub fn chosen(global: &Global, spec: &Spec) -> Result<ProviderKind, Problem> {
    if let Some(kind) = global.provider {
        return Ok(kind);
    }
    let Some(name) = spec.provider.default.as_deref() else { return Ok(ProviderKind::Local) };
    KNOWN.iter().find(|(known, _)| *known == name).map(|(_, kind)| *kind).ok_or_else(|| {
        Problem::new(
            "provider.default",
            format!("`{name}` is not a provider this `scaling` knows"),
            format!("use one of {}", known_names()),
        )
    })
}

/// `local`, `aws`.
pub fn known_names() -> String {
    KNOWN.iter().map(|(name, _)| format!("`{name}`")).collect::<Vec<_>>().join(", ")
}

/// Every `[provider.<name>]` table that names no known provider (a typo would otherwise be ignored).
pub fn unknown_tables(spec: &Spec) -> Vec<Problem> {
    spec.provider
        .sections
        .keys()
        .filter(|name| !KNOWN.iter().any(|(known, _)| known == name))
        .map(|name| {
            Problem::new(
                format!("provider.{name}"),
                format!("`[provider.{name}]` names no provider this `scaling` knows"),
                format!("rename it to one of {}, or remove it", known_names()),
            )
        })
        .collect()
}

/// Every problem with `spec` for the provider the command line or the config picks, all at once:
/// unknown provider tables, the core's rules, the provider's table and limits, and the flags.
pub fn problems(global: &Global, spec: &Spec) -> Vec<Problem> {
    problems_for(global, spec, chosen(global, spec))
}

/// The providers `validate` checks: the one the command line names, else the config's default and
/// every provider whose `[provider.<name>]` table the file has. A provider this build cannot check
/// (AWS without the `aws` feature) is in the second list.
pub fn to_validate(global: &Global, spec: &Spec) -> (Vec<ProviderKind>, Vec<ProviderKind>) {
    let mut kinds = vec![kind(global, spec)];
    if global.provider.is_none() {
        let configured = KNOWN.iter().filter(|(name, _)| spec.provider.sections.contains_key(*name));
        kinds.extend(configured.map(|(_, kind)| *kind));
    }
    kinds.sort_by_key(|k| k.name());
    kinds.dedup();
    kinds.into_iter().partition(|kind| cfg!(feature = "aws") || *kind == ProviderKind::Local)
}

/// [`problems`] for the provider `kind` (or the problem naming it).
pub fn problems_for(global: &Global, spec: &Spec, kind: Result<ProviderKind, Problem>) -> Vec<Problem> {
    let mut problems = unknown_tables(spec);
    match kind {
        Err(problem) => {
            problems.push(problem);
            problems.extend(spec.problems());
        }
        Ok(ProviderKind::Local) => problems.extend(provider_problems::<scaling_local::LocalSettings>(spec)),
        Ok(ProviderKind::Aws) => problems.extend(aws_problems(global, spec)),
    }
    problems.extend(flag_problems(global));
    problems
}

fn provider_problems<S: scaling_core::ProviderSettings>(spec: &Spec) -> Vec<Problem> {
    spec.check_for::<S>().err().map(|e| e.problems).unwrap_or_default()
}

/// The AWS provider's problems with `spec`, all of them (`--region` overrides `provider.aws.region`,
/// so the file's is not held against it).
#[cfg(feature = "aws")]
fn aws_problems(global: &Global, spec: &Spec) -> Vec<Problem> {
    let mut problems = provider_problems::<scaling_aws::AwsSettings>(spec);
    if global.region.is_some() {
        problems.retain(|p| p.field != "provider.aws.region");
    }
    problems
}

#[cfg(not(feature = "aws"))]
fn aws_problems(_global: &Global, spec: &Spec) -> Vec<Problem> {
    spec.problems()
}

/// The command line's own values, checked like the file and named as the flags.
fn flag_problems(global: &Global) -> Vec<Problem> {
    #[cfg(feature = "aws")]
    if let Some(region) = &global.region {
        return scaling_aws::AwsSettings::region_problem(region)
            .map(|p| Problem { field: "--region".into(), ..p })
            .into_iter()
            .collect();
    }
    let _ = global;
    Vec::new()
}

/// The session of `spec`'s deployment through the provider the command line or the config picks:
/// the one place that knows which providers exist.
pub async fn select(global: &Global, spec: &Spec, options: DeployOptions) -> Result<Box<dyn Session>> {
    match kind(global, spec) {
        ProviderKind::Local => Ok(Box::new(scaling_local::LocalSession::new(spec, options)?)),
        ProviderKind::Aws => aws(global, spec, options).await,
    }
}

#[cfg(feature = "aws")]
async fn aws(global: &Global, spec: &Spec, options: DeployOptions) -> Result<Box<dyn Session>> {
    let settings = spec.settings::<scaling_aws::AwsSettings>()?;
    let mut builder = scaling_aws::AwsProvider::builder().settings(&settings);
    if let Some(region) = &global.region {
        builder = builder.region(region);
    }
    if let Some(profile) = &global.profile {
        builder = builder.profile(profile);
    }
    let provider = std::sync::Arc::new(builder.build().await?);
    let orchestrator =
        scaling_core::Orchestrator::new(scaling_core::Providers::from_cloud(provider)).with_options(options);
    Ok(Box::new(scaling_core::CloudSession::new(ProviderKind::Aws.name(), spec.clone(), orchestrator)))
}

#[cfg(not(feature = "aws"))]
async fn aws(_global: &Global, _spec: &Spec, _options: DeployOptions) -> Result<Box<dyn Session>> {
    anyhow::bail!("this `scaling` was built without AWS support; rebuild with the `aws` feature (on by default)")
}
