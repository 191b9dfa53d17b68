//! The app's deploy lock around `deploy`, `scale` and `destroy`: taken first (broken first with
//! `DeployOptions::break_lock`), renewed while the operation runs, released after it — when it fails
//! too, and through [`Orchestrator::abandon`] when the caller drops it (Ctrl-C). `plan` and `status`
//! only read, and take no lock.

use std::future::Future;
use std::sync::{Arc, Mutex};

use super::Orchestrator;
use crate::providers::{LockHolder, Locks, Owner, LOCK_RENEWAL};
use crate::{Error, Result};

/// The holder this orchestrator's running operation has, shared by its clones.
pub(crate) type HeldLock = Arc<Mutex<Option<(Owner, LockHolder)>>>;

/// A lock call's failure (it belongs to no step of the graph).
fn provider_error(source: crate::ProviderError) -> Error {
    Error::LockFailed { source }
}

impl Orchestrator {
    /// Takes `app`'s lock for `operation` (after breaking it, when asked), as `deploy`, `scale` and
    /// `destroy` do for theirs, or for an operation of the caller's own; refused with
    /// [`Error::Locked`] naming the holder when another run has it. With a provider that has no deploy
    /// lock (`Unsupported`), the operation runs without one. Release it with [`Self::unlock`];
    /// a process that ends holding it leaves it to expire (on this machine, frees it as it exits).
    pub async fn lock_for(&self, app: &str, operation: &str) -> Result<LockHolder> {
        let owner = Owner::new(app);
        let locks = &self.providers.locks;
        if self.options.break_lock {
            if let Some(broken) = locks.break_lock(&owner).await.map_err(provider_error)? {
                tracing::warn!("broke the lock of {app} held by {}", broken.describe());
            }
        }
        let holder = LockHolder::here(operation);
        let mut current = match locks.acquire_lock(&owner, &holder).await {
            // A provider without a deploy lock: the operation runs unguarded, and says so.
            Err(e) if e.kind == crate::ErrorKind::Unsupported => {
                tracing::warn!("{app}: this provider has no deploy lock; nothing stops a second run beside this one");
                return Ok(holder);
            }
            other => other.map_err(provider_error)?,
        };
        // A holder killed on this machine (its pid gone, or reused by a process that started later)
        // cannot release it: take it over at once, and say so, rather than wait for it to expire.
        if let Some(gone) = current.take_if(|held| held.holder_gone()) {
            let broken = locks.break_lock(&owner).await.map_err(provider_error)?;
            // Broken between our two calls by another run that took it: that one's lock is put back.
            if let Some(other) = broken.filter(|b| b.token != gone.token) {
                locks.acquire_lock(&owner, &other).await.map_err(provider_error)?;
                return Err(Error::Locked { app: app.to_string(), holder: other.describe() });
            }
            tracing::warn!("took over the lock of {app}: {} ended without releasing it", gone.describe());
            current = locks.acquire_lock(&owner, &holder).await.map_err(provider_error)?;
        }
        if let Some(current) = current {
            return Err(Error::Locked { app: app.to_string(), holder: current.describe() });
        }
        *super::lock(&self.held) = Some((owner, holder.clone()));
        Ok(holder)
    }

    /// Releases a lock [`Self::lock_for`] took (nothing when it was already given back or lost).
    pub async fn unlock(&self, holder: &LockHolder) -> Result<()> {
        let taken = super::lock(&self.held).take_if(|(_, held)| held.token == holder.token);
        match taken {
            Some((owner, holder)) => self.providers.locks.release_lock(&owner, &holder).await.map_err(provider_error),
            None => Ok(()),
        }
    }

    /// Runs `work` holding the lock `holder` (taken already): renewed every [`LOCK_RENEWAL`] while it
    /// runs, released after, whatever `work` returned.
    pub(crate) async fn holding<T>(&self, holder: LockHolder, work: impl Future<Output = Result<T>>) -> Result<T> {
        let renewal = renew(self.providers.locks.clone(), self.held.clone(), holder.clone());
        let result = work.await;
        renewal.abort();
        let released = self.unlock(&holder).await;
        let value = result?;
        released?;
        Ok(value)
    }

    /// Takes `app`'s lock for `operation` while `read` runs (reads only: the two overlap, so the lock
    /// costs no extra round); a failed read releases the lock again.
    pub(crate) async fn lock_while<T>(
        &self,
        app: &str,
        operation: &str,
        read: impl Future<Output = Result<T>>,
    ) -> Result<(LockHolder, T)> {
        match tokio::join!(self.lock_for(app, operation), read) {
            (Ok(holder), Ok(value)) => Ok((holder, value)),
            (Ok(holder), Err(error)) => {
                self.unlock(&holder).await?;
                Err(error)
            }
            (Err(error), _) => Err(error),
        }
    }

    /// Runs `work` under `app`'s lock for `operation`.
    pub(crate) async fn locked<T>(
        &self,
        app: &str,
        operation: &str,
        work: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let holder = self.lock_for(app, operation).await?;
        self.holding(holder, work).await
    }

    /// Releases the lock of an operation the caller stopped waiting for (an interrupted deploy), so
    /// that the next run does not find it held. Nothing when none is held.
    pub async fn abandon(&self) {
        let held = super::lock(&self.held).take();
        if let Some((owner, holder)) = held {
            if let Err(error) = self.providers.locks.release_lock(&owner, &holder).await {
                tracing::warn!(%error, "could not release the lock; it expires by itself");
            }
        }
    }
}

/// Renews `holder` every [`LOCK_RENEWAL`] until aborted; a lock found taken by another (broken
/// meanwhile) is said once and left alone.
fn renew(locks: Arc<dyn Locks>, held: HeldLock, holder: LockHolder) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(LOCK_RENEWAL).await;
            let Some((owner, _)) = super::lock(&held).clone() else { return };
            match locks.acquire_lock(&owner, &holder.renewed()).await {
                Ok(None) => {}
                Ok(Some(other)) => {
                    tracing::warn!("the lock of {} was broken and is now held by {}", owner.app, other.describe());
                    // No longer ours: the end of the operation must not release the other's lock.
                    super::lock(&held).take_if(|(_, mine)| mine.token == holder.token);
                    return;
                }
                Err(error) => tracing::warn!(%error, "could not renew the lock; trying again"),
            }
        }
    })
}
