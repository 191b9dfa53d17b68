//! The history of an app's revisions: what `scaling releases` lists, `rollback` goes back to, and a
//! deploy prunes to `app.keep_releases` (AWS: the family's task definitions; this machine: its
//! bundles and their settings).

use async_trait::async_trait;

use super::{unsupported, Owner, RevisionInfo};
use crate::ProviderResult;

/// The kept revisions of an app. A provider without a history leaves every method to its default,
/// [`Unsupported`](crate::ErrorKind::Unsupported): `releases` and `rollback` are refused by name, and
/// a deploy keeps every revision it made.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Releases: Send + Sync {
    /// The ids of the active revisions of `family`, newest first (cheap: no details).
    async fn revision_ids(&self, owner: &Owner, family: &str) -> ProviderResult<Vec<String>> {
        let _ = owner;
        Err(unsupported("revision_ids", family, "release history"))
    }
    /// The revision `id` when owned (`None` when it is gone).
    async fn describe_revision(&self, owner: &Owner, id: &str) -> ProviderResult<Option<RevisionInfo>> {
        let _ = owner;
        Err(unsupported("describe_revision", id, "release history"))
    }
    /// Deregisters one owned revision; one already gone succeeds.
    async fn deregister_revision(&self, owner: &Owner, id: &str) -> ProviderResult<()> {
        let _ = owner;
        Err(unsupported("deregister_revision", id, "release history"))
    }
}
