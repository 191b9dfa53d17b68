//! Builds the providers the command line asks for. Credentials are never read here: AWS takes them
//! from its default chain.

use std::sync::Arc;

use anyhow::Result;
use scaling_core::{Problem, Providers, Spec};
use scaling_local::LocalCloud;

use crate::args::Global;
pub use crate::args::ProviderArg as ProviderKind;

/// The providers this `scaling` knows, by their `[provider.<name>]` table.
pub const KNOWN: [(&str, ProviderKind); 2] = [("local", ProviderKind::Local), ("aws", ProviderKind::Aws)];

/// The providers of one command, and what must be shut down afterwards.
pub struct Selected {
    /// Which provider.
    pub kind: ProviderKind,
    /// The spec as that provider serves it (local: `<app>.localhost` names).
    pub spec: Spec,
    /// The trait objects.
    pub providers: Providers,
    /// The local cloud, when local (it owns processes and listeners).
    pub local: Option<Arc<LocalCloud>>,
}

impl ProviderKind {
    /// The provider's name, as in `--provider` and `[provider.<name>]`.
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

/// Builds the providers for `spec`.
pub async fn select(global: &Global, spec: &Spec) -> Result<Selected> {
    match kind(global, spec) {
        ProviderKind::Local => {
            let spec = scaling_local::localize(spec);
            let cloud = Arc::new(LocalCloud::from_env(&spec)?);
            Ok(Selected {
                kind: ProviderKind::Local,
                providers: Providers::from_cloud(cloud.clone()),
                local: Some(cloud),
                spec,
            })
        }
        ProviderKind::Aws => aws(global, spec).await,
    }
}

#[cfg(feature = "aws")]
async fn aws(global: &Global, spec: &Spec) -> Result<Selected> {
    let settings = spec.settings::<scaling_aws::AwsSettings>()?;
    let mut builder = scaling_aws::AwsProvider::builder().settings(&settings);
    if let Some(region) = &global.region {
        builder = builder.region(region);
    }
    if let Some(profile) = &global.profile {
        builder = builder.profile(profile);
    }
    let provider = Arc::new(builder.build().await?);
    Ok(Selected {
        kind: ProviderKind::Aws,
        spec: spec.clone(),
        providers: Providers::from_cloud(provider),
        local: None,
    })
}

#[cfg(not(feature = "aws"))]
async fn aws(_global: &Global, _spec: &Spec) -> Result<Selected> {
    anyhow::bail!("this `scaling` was built without AWS support; rebuild with the `aws` feature (on by default)")
}
