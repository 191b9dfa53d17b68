//! [`SecretStore`]: where the values of `[secrets]` references come from (AWS: SSM Parameter Store
//! and Secrets Manager; this machine: the deploying shell or an env file). Only references pass
//! through the contract, never values.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::Owner;
use crate::{Problem, ProviderResult};

/// Checks that the replicas can be given the secrets a spec references. A provider without a store
/// leaves [`SecretStore::check_secrets`] to its default: every reference is a problem saying so.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SecretStore: Send + Sync {
    /// Which of `secrets` (variable → `store:name` reference) the replicas could not be given, each
    /// as a problem naming `secrets.<VARIABLE>` with the fix: a store this provider does not know, a
    /// secret that does not exist. Reads no secret's value.
    async fn check_secrets(&self, owner: &Owner, secrets: &BTreeMap<String, String>) -> ProviderResult<Vec<Problem>> {
        let _ = owner;
        Ok(secrets
            .keys()
            .map(|variable| {
                Problem::new(
                    format!("secrets.{variable}"),
                    "this provider has no secret store",
                    "give the value through [env] (if it is no secret) or deploy with a provider that has one",
                )
            })
            .collect())
    }
}
