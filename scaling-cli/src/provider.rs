//! Builds the providers the command line asks for. Credentials are never read here: AWS takes them
//! from its default chain.

use std::sync::Arc;

use anyhow::Result;
use scaling_core::{ProviderKind, Providers, Spec};
use scaling_local::LocalCloud;

use crate::args::{Global, ProviderArg};

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

/// The provider kind: the flag, else the config's default.
pub fn kind(global: &Global, spec: &Spec) -> ProviderKind {
    match global.provider {
        Some(ProviderArg::Local) => ProviderKind::Local,
        Some(ProviderArg::Aws) => ProviderKind::Aws,
        None => spec.provider.default,
    }
}

/// Builds the providers for `spec`.
pub async fn select(global: &Global, spec: &Spec) -> Result<Selected> {
    match kind(global, spec) {
        ProviderKind::Local => {
            let spec = scaling_local::localize(spec);
            let cloud = Arc::new(LocalCloud::from_env(&spec));
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
    let mut builder = scaling_aws::AwsProvider::builder().settings(&spec.provider.aws);
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
