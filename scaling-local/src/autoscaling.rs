//! Autoscaling records of the local cloud: what `ensure_autoscaling` asked for, handed to the
//! supervisor's autoscaler, and read back with its cap and last decision.

use scaling_core::providers::{AutoscalingInfo, DesiredAutoscaling, Owner};
use scaling_core::{ErrorKind, ProviderError, ProviderResult};

use crate::autoscaler::{machine_cap, Policy};
use crate::cloud::LocalCloud;
use crate::owned::owner_of;

impl LocalCloud {
    /// The autoscaling of `service` with what the supervisor runs: its cap and last decision.
    pub(crate) fn autoscaling_of(&self, owner: &Owner, service: &str) -> ProviderResult<Option<AutoscalingInfo>> {
        let Some(mut info) = self.records.autoscalers.find(owner, service, "find_autoscaling")? else {
            return Ok(None);
        };
        if let Some((policy, decision)) = self.supervisor.autoscaling(service) {
            if policy.cap < policy.max {
                let cores = crate::autoscaler::machine_cores();
                info.cap = Some((policy.cap.max(policy.min), format!("this machine has {cores} core(s)")));
            }
            info.last_decision = decision;
        }
        Ok(Some(info))
    }

    pub(crate) fn autoscale(&self, desired: &DesiredAutoscaling) -> ProviderResult<AutoscalingInfo> {
        let op = "ensure_autoscaling";
        let owner = owner_of(&desired.tags);
        let fail = |message: String| ProviderError::new(op, &desired.service, ErrorKind::NotFound, message);
        self.records
            .services
            .find(&owner, &desired.service, op)?
            .ok_or_else(|| fail(format!("service {} does not run here", desired.service)))?;
        let workers = self.supervisor.workers(&desired.service).unwrap_or(1);
        let policy = Policy {
            min: desired.spec.min,
            max: desired.spec.max,
            cap: machine_cap(workers).max(desired.spec.min),
            targets: desired.spec.targets.clone(),
            scale_out_cooldown: desired.spec.scale_out_cooldown,
            scale_in_cooldown: desired.spec.scale_in_cooldown,
        };
        let info = desired.as_registered(&desired.service);
        self.records.autoscalers.put(&owner, &desired.service, op, |_| Ok(info.clone()))?;
        if !self.supervisor.autoscale(&desired.service, policy) {
            return Err(fail(format!("service {} is not supervised here", desired.service)));
        }
        Ok(self.autoscaling_of(&owner, &desired.service)?.unwrap_or(info))
    }

    pub(crate) fn stop_autoscaling(&self, owner: &Owner, autoscaling: &AutoscalingInfo) -> ProviderResult<()> {
        if self.records.autoscalers.find(owner, &autoscaling.service, "delete_autoscaling")?.is_none() {
            return Ok(());
        }
        self.supervisor.stop_autoscaling(&autoscaling.service);
        self.records.autoscalers.remove(owner, &autoscaling.service, "delete_autoscaling").map(drop)
    }
}
