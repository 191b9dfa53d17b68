//! The deploy lock on AWS: an SSM parameter `/scaling/<app>/lock` holding the [`LockHolder`] as
//! JSON, tagged as the app's. It is created with `PutParameter` without overwrite, which is atomic:
//! of two runs asking at once, one creates it and the other gets `ParameterAlreadyExists` and reads
//! who holds it. The holder renews it by overwriting it (after checking its token); a lock whose
//! holder died expires and is deleted and created again by the next run, where the create without
//! overwrite still decides between racers.
//!
//! Releasing deletes the parameter without reading it first (SSM has no conditional delete, and a
//! read would cost every deploy one more round trip): the orchestrator releases only a lock it still
//! holds as far as its renewals saw. A lock broken with `--break-lock` while its holder still runs
//! may therefore be freed when that holder ends — `--break-lock` is for a run that was killed.

use aws_sdk_ssm::types::{ParameterType, Tag};
use scaling_core::providers::{LockHolder, Owner};
use scaling_core::{ErrorKind, ProviderError, ProviderResult};

use crate::error::{code, map};
use crate::AwsProvider;

/// The parameter that holds `app`'s lock.
pub(crate) fn lock_parameter(app: &str) -> String {
    format!("/scaling/{app}/lock")
}

impl AwsProvider {
    /// The lock as the parameter holds it, if it exists; a parameter of that name that is not a
    /// scaling lock is refused as not the app's.
    async fn read_lock(&self, owner: &Owner) -> ProviderResult<Option<LockHolder>> {
        let name = lock_parameter(&owner.app);
        let value = match self.ssm.get_parameter().name(&name).send().await {
            Ok(out) => out.parameter.and_then(|p| p.value).unwrap_or_default(),
            Err(e) if code(&e) == Some("ParameterNotFound") => return Ok(None),
            Err(e) => return Err(map("GetParameter", &name, e)),
        };
        serde_json::from_str(&value).map(Some).map_err(|_| {
            let message = format!("{name} exists but is not a lock scaling wrote; rename or delete it");
            ProviderError::new("GetParameter", &name, ErrorKind::NotOwned, message)
        })
    }

    /// Creates the parameter for `holder` (only if absent, unless `overwrite`); false when it existed.
    async fn put_lock(&self, owner: &Owner, holder: &LockHolder, overwrite: bool) -> ProviderResult<bool> {
        let name = lock_parameter(&owner.app);
        let value = serde_json::to_string(holder)
            .map_err(|e| ProviderError::new("PutParameter", &name, ErrorKind::Other, e.to_string()))?;
        let mut put = self
            .ssm
            .put_parameter()
            .name(&name)
            .value(value)
            .r#type(ParameterType::String)
            .description("scaling: the deploy lock of one app")
            .overwrite(overwrite);
        if !overwrite {
            for (key, value) in owner.tags(&Default::default()) {
                let tag =
                    Tag::builder().key(key).value(value).build().map_err(|e| {
                        ProviderError::new("PutParameter", &name, ErrorKind::InvalidRequest, e.to_string())
                    })?;
                put = put.tags(tag);
            }
        }
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e) if code(&e) == Some("ParameterAlreadyExists") => Ok(false),
            Err(e) => Err(map("PutParameter", &name, e)),
        }
    }

    async fn delete_lock(&self, owner: &Owner) -> ProviderResult<()> {
        let name = lock_parameter(&owner.app);
        match self.ssm.delete_parameter().name(&name).send().await {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == Some("ParameterNotFound") => Ok(()),
            Err(e) => Err(map("DeleteParameter", &name, e)),
        }
    }

    /// Takes or renews the lock; who holds it when another does.
    pub(crate) async fn acquire(&self, owner: &Owner, holder: &LockHolder) -> ProviderResult<Option<LockHolder>> {
        // Twice at most: once more after clearing an expired lock (or one deleted meanwhile).
        for _ in 0..2 {
            if self.put_lock(owner, holder, false).await? {
                return Ok(None);
            }
            match self.read_lock(owner).await? {
                None => continue,
                Some(current) if current.token == holder.token => {
                    self.put_lock(owner, holder, true).await?;
                    return Ok(None);
                }
                Some(current) if current.expired() => {
                    tracing::info!("taking over the expired lock of {} ({})", owner.app, current.describe());
                    self.delete_lock(owner).await?;
                }
                Some(current) => return Ok(Some(current)),
            }
        }
        Ok(self.read_lock(owner).await?.filter(|current| current.token != holder.token))
    }

    /// Deletes the lock `holder` took (see the module's note on why it is not read first).
    pub(crate) async fn release(&self, owner: &Owner, holder: &LockHolder) -> ProviderResult<()> {
        tracing::debug!("releasing the lock of {} ({})", owner.app, holder.describe());
        self.delete_lock(owner).await
    }

    /// Who holds the lock, unless it expired.
    pub(crate) async fn holder(&self, owner: &Owner) -> ProviderResult<Option<LockHolder>> {
        Ok(self.read_lock(owner).await?.filter(|holder| !holder.expired()))
    }

    /// Deletes the lock whoever holds it.
    pub(crate) async fn break_it(&self, owner: &Owner) -> ProviderResult<Option<LockHolder>> {
        let current = self.read_lock(owner).await?;
        if current.is_some() {
            self.delete_lock(owner).await?;
        }
        Ok(current)
    }
}
