//! [`OwnSteps`]: the steps a provider adds of its own ([`StepId::Own`]) and the resources they make —
//! kinds the core does not model (AWS: the execution role and the log group; Kubernetes: the app's
//! namespace; Cloud Run: a URL map), each a node of the graph all the same: planned with a row of its
//! own, made where the provider's [`StepGraph`](super::StepGraph) places its step, and listed by
//! destroy, which deletes it or says why it keeps it.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{unsupported, Owner, Tags};
use crate::{ProviderResult, StepId};

/// A resource of a provider's own step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnResource {
    /// What it is, in the provider's words, e.g. `execution role` or `namespace`.
    pub kind: String,
    /// Its name, e.g. `dashmath-us-west-2-execution-role`.
    pub name: String,
    /// The provider's id (empty before it exists).
    pub id: String,
    /// It holds the app's logs: destroy keeps it unless asked to delete logs.
    pub holds_logs: bool,
    /// Settings the provider gives it that were found changed out of band, in words (e.g. `managed
    /// policy AmazonECSTaskExecutionRolePolicy: detached → attached`); the next deploy restores them.
    #[serde(default)]
    pub drift: Vec<String>,
}

impl OwnResource {
    /// A resource as [`OwnSteps::needed_resources`] names it, before it exists.
    pub fn needed(kind: impl Into<String>, name: impl Into<String>, holds_logs: bool) -> Self {
        Self { kind: kind.into(), name: name.into(), id: String::new(), holds_logs, drift: Vec::new() }
    }
}

/// The provider's own steps: for each [`StepId::Own`] step its graph declares, what it needs, makes,
/// finds and deletes. A provider with no step of its own leaves every method to its default: it needs
/// and owns nothing, and making or deleting answers [`Unsupported`](crate::ErrorKind::Unsupported).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OwnSteps: Send + Sync {
    /// The resources `step` needs for `owner`, by kind and name (no id yet). Makes no call.
    fn needed_resources(&self, step: StepId, owner: &Owner) -> Vec<OwnResource> {
        let _ = (step, owner);
        Vec::new()
    }
    /// Creates what is missing of `step`'s needed resources and puts back their settings; idempotent.
    /// Returns them as they are.
    async fn ensure_resources(&self, step: StepId, owner: &Owner, tags: &Tags) -> ProviderResult<Vec<OwnResource>> {
        let _ = (owner, tags);
        Err(unsupported("ensure_resources", step.name(), "step of its own"))
    }
    /// Every resource of `step` this owner owns.
    async fn find_resources(&self, step: StepId, owner: &Owner) -> ProviderResult<Vec<OwnResource>> {
        let _ = (step, owner);
        Ok(Vec::new())
    }
    /// Deletes an owned resource of `step`; deleting one already gone succeeds.
    async fn delete_resource(&self, step: StepId, owner: &Owner, resource: &OwnResource) -> ProviderResult<()> {
        let _ = (step, owner);
        Err(unsupported("delete_resource", &resource.name, "step of its own"))
    }
}
