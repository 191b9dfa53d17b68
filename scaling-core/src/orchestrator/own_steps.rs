//! The provider's own steps ([`StepId::Own`]): what it needs beside the core's kinds (AWS: the
//! execution role and the log group; Kubernetes: the namespace), planned with a row each, made where
//! the provider's graph places the step, and removed when no longer needed — nodes of the graph like
//! every other resource, never created out of sight.

use super::apply::Apply;
use super::diff::Diff;
use super::observe::OwnStepState;
use super::{Action, StepId};
use crate::providers::OwnResource;
use crate::{Error, ErrorKind, ProviderError, Result};

/// What a row of an own step says of one of its resources.
pub(crate) fn label(resource: &OwnResource) -> String {
    format!("{} {}", resource.kind, resource.name)
}

fn same(a: &OwnResource, b: &OwnResource) -> bool {
    a.kind == b.kind && a.name == b.name
}

/// True when `found` has `needed` as it should be (present, nothing drifted).
fn as_needed(found: &[OwnResource], needed: &OwnResource) -> bool {
    found.iter().any(|f| same(f, needed) && f.drift.is_empty())
}

/// A row for each resource of `state`'s step: create when missing, update when its settings drifted,
/// delete when the provider no longer needs it, no change otherwise.
pub(crate) fn rows(state: &OwnStepState) -> Vec<(String, Diff)> {
    let needed = state.needed.iter().map(|needed| {
        let diff = match state.found.iter().find(|f| same(f, needed)) {
            None => Diff::create(),
            Some(f) if f.drift.is_empty() => Diff::same(),
            Some(f) => Diff { action: Action::Update, reason: f.drift.join("; ") },
        };
        (label(needed), diff)
    });
    let unneeded = unneeded(state)
        .map(|f| (label(f), Diff { action: Action::Delete, reason: "the provider no longer needs it".into() }));
    needed.chain(unneeded).collect()
}

fn unneeded(state: &OwnStepState) -> impl Iterator<Item = &OwnResource> {
    state.found.iter().filter(|f| !state.needed.iter().any(|n| same(n, f)))
}

impl Apply<'_> {
    /// Makes what is missing (or drifted) of an own step's resources in one idempotent provider call,
    /// then deletes what the provider no longer needs.
    pub(super) async fn provider_step(&self, step: StepId, r: &str) -> Result<String> {
        let state = self.plan.observed.own.iter().find(|s| s.step == step);
        let state = state.ok_or(Error::Internal { step, missing: "its observed resources" })?;
        let changed: Vec<String> =
            rows(state).into_iter().filter(|(_, diff)| diff.action != Action::NoChange).map(|(l, _)| l).collect();
        if changed.is_empty() {
            return Ok("no change".into());
        }
        let (d, own) = (&self.plan.desired, &self.providers.own_steps);
        if state.needed.iter().any(|n| !as_needed(&state.found, n)) {
            let made = self.runner.call(step, r, || own.ensure_resources(step, &d.owner, &d.tags)).await?;
            let left: Vec<String> = state.needed.iter().filter(|n| !as_needed(&made, n)).map(label).collect();
            if !left.is_empty() {
                let reason = "the provider reported success, but these are still missing or not as set";
                let source = ProviderError::new("ensure_resources", left.join(", "), ErrorKind::Other, reason);
                return Err(Error::Provider { step, source });
            }
        }
        for resource in unneeded(state) {
            self.runner.call(step, r, || own.delete_resource(step, &d.owner, resource)).await?;
        }
        Ok(format!("made, repaired or removed {}", changed.join(", ")))
    }
}
