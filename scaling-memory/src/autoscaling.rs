//! Autoscaling and secrets in memory: a registered autoscaler changes a service's count only when a
//! test says it decided to ([`InMemoryCloud::autoscale`]); every secret exists unless a test removes it
//! ([`InMemoryCloud::remove_secret`]).

use std::collections::BTreeMap;

use super::state::{check_owner, owner_of, State, Tagged};
use super::{lock, not_found, InMemoryCloud};
use scaling_core::providers::{AutoscalingInfo, DesiredAutoscaling, Owner, ScalingDecision};
use scaling_core::{ErrorKind, Problem, ProviderError, ProviderResult};

impl InMemoryCloud {
    /// Makes the secret `reference` (`store:name`) not exist: a spec naming it is refused.
    pub fn remove_secret(&self, reference: &str) {
        lock(&self.state).missing_secrets.insert(reference.to_string());
    }

    /// An autoscaling decision, as a cloud's autoscaler makes one: the service named `service` goes
    /// to `count` replicas (kept within its bounds), for `reason`. Returns the count it got.
    pub fn autoscale(&self, service: &str, count: u32, reason: &str) -> Option<u32> {
        let mut state = lock(&self.state);
        let state = &mut *state;
        let autoscaler = state.autoscalers.get_mut(service)?;
        let to = count.clamp(autoscaler.info.spec.min, autoscaler.info.spec.max);
        let found = state.services.values_mut().find(|s| s.info.spec.name == service)?;
        let from = found.info.spec.desired_count;
        found.info.spec.desired_count = to;
        found.running_before = to;
        autoscaler.info.last_decision = Some(ScalingDecision {
            at: scaling_core::providers::epoch_millis(std::time::SystemTime::now()),
            from: Some(from),
            to: Some(to),
            reason: reason.to_string(),
        });
        Some(to)
    }
}

pub(super) fn check_secrets(s: &State, secrets: &BTreeMap<String, String>) -> Vec<Problem> {
    secrets
        .iter()
        .filter(|(_, reference)| s.missing_secrets.contains(*reference))
        .map(|(variable, reference)| {
            Problem::new(
                format!("secrets.{variable}"),
                format!("{reference} does not exist"),
                "create it in its store, or correct the reference",
            )
        })
        .collect()
}

pub(super) fn find(s: &State, owner: &Owner, service: &str) -> ProviderResult<Option<AutoscalingInfo>> {
    let Some(found) = s.autoscalers.get(service) else { return Ok(None) };
    check_owner(&found.tags, owner, "find_autoscaling", service)?;
    Ok(Some(found.info.clone()))
}

pub(super) fn ensure(s: &mut State, desired: &DesiredAutoscaling) -> ProviderResult<AutoscalingInfo> {
    let op = "ensure_autoscaling";
    let owner = owner_of(&desired.tags);
    let service = s.services.values_mut().find(|svc| svc.info.spec.name == desired.service);
    let Some(service) = service else { return Err(not_found(op, &desired.service)) };
    check_owner(&service.tags, &owner, op, &desired.service)?;
    let (backend, balancer) = (desired.backend_id.as_deref(), desired.load_balancer_id.as_deref());
    if !s.backends.contains_key(backend.unwrap_or_default())
        || !s.load_balancers.contains_key(balancer.unwrap_or_default())
    {
        let message = "the request counts need the service's load balancer and backend pool".to_string();
        return Err(ProviderError::new(op, &desired.service, ErrorKind::InvalidRequest, message));
    }
    // Registering bounds moves a count outside them at once, as Application Auto Scaling does.
    let count = service.info.spec.desired_count.clamp(desired.spec.min, desired.spec.max);
    service.info.spec.desired_count = count;
    let last_decision = s.autoscalers.get(&desired.service).and_then(|a| a.info.last_decision.clone());
    let info = AutoscalingInfo { last_decision, ..desired.as_registered(format!("autoscaling/{}", desired.service)) };
    s.autoscalers.insert(desired.service.clone(), Tagged { info: info.clone(), tags: desired.tags.clone() });
    Ok(info)
}

pub(super) fn delete(s: &mut State, owner: &Owner, autoscaling: &AutoscalingInfo) -> ProviderResult<()> {
    let Some(found) = s.autoscalers.get(&autoscaling.service) else { return Ok(()) };
    check_owner(&found.tags, owner, "delete_autoscaling", &autoscaling.service)?;
    s.autoscalers.remove(&autoscaling.service);
    Ok(())
}
