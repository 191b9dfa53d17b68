//! The `support_resources` step: what the cluster provider needs beside the cluster to run replicas
//! (AWS: the execution role and the log group), planned with a row each and made before any revision
//! uses them — a node of the graph like every other resource, never created out of sight.

use super::apply::Apply;
use super::diff::Diff;
use super::{Action, Observed, StepId};
use crate::providers::SupportResource;
use crate::Result;

/// A row for each support resource the provider needs: create when missing, update when its settings
/// drifted, no change otherwise.
pub(crate) fn rows(o: &Observed) -> Vec<(String, Diff)> {
    o.needed_support
        .iter()
        .map(|needed| {
            let label = format!("{} {}", needed.kind, needed.name);
            let found = o.support.iter().find(|s| s.kind == needed.kind && s.name == needed.name);
            let diff = match found {
                None => Diff::create(),
                Some(s) if s.drift.is_empty() => Diff::same(),
                Some(s) => Diff { action: Action::Update, reason: s.drift.join("; ") },
            };
            (label, diff)
        })
        .collect()
}

impl Apply<'_> {
    /// Makes what is missing (or drifted) of the support resources, in one idempotent provider call.
    pub(super) async fn support_resources(&self, r: &str) -> Result<String> {
        let rows = rows(&self.plan.observed);
        let changed: Vec<&String> =
            rows.iter().filter(|(_, diff)| diff.action != Action::NoChange).map(|(label, _)| label).collect();
        if changed.is_empty() {
            return Ok("no change".into());
        }
        let d = &self.plan.desired;
        let made: Vec<SupportResource> = self
            .runner
            .call(StepId::SupportResources, r, || self.providers.cluster.ensure_support_resources(&d.owner, &d.tags))
            .await?;
        let left: Vec<String> = self
            .plan
            .observed
            .needed_support
            .iter()
            .filter(|n| !made.iter().any(|m| m.kind == n.kind && m.name == n.name && m.drift.is_empty()))
            .map(|n| format!("{} {}", n.kind, n.name))
            .collect();
        if !left.is_empty() {
            return Err(crate::Error::Provider {
                step: StepId::SupportResources,
                source: crate::ProviderError::new(
                    "ensure_support_resources",
                    left.join(", "),
                    crate::ErrorKind::Other,
                    "the provider reported success, but these are still missing or not as set",
                ),
            });
        }
        Ok(format!("made or repaired {}", changed.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")))
    }
}
