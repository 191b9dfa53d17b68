//! The `autoscaling` step: registers the service's autoscaling, brings it to the spec, or removes it
//! when the spec no longer has `[scaling]` (the service then keeps the count it has).

use super::{detail, Apply};
use crate::orchestrator::diff::{self, Action};
use crate::orchestrator::kinds;
use crate::orchestrator::StepId;
use crate::{Error, Result};

impl Apply<'_> {
    pub(super) async fn autoscaling(&self, r: &str) -> Result<String> {
        let step = StepId::Autoscaling;
        let d = &self.plan.desired;
        let observed = self.plan.observed.autoscaling.as_ref();
        let Some(_) = d.spec.scaling else {
            let Some(current) = observed else { return Ok("no autoscaling".into()) };
            self.runner.call(step, r, || self.providers.autoscaler.delete_autoscaling(&d.owner, current)).await?;
            return Ok(format!("removed; the service keeps {} replica(s)", self.kept_count()));
        };
        let desired = d.autoscaling(&self.made(step))?.ok_or(Error::Internal { step, missing: "scaling" })?;
        let diff = diff::autoscaling(Some(&desired), observed);
        if diff.action == Action::NoChange {
            return Ok(detail(&diff));
        }
        let info = self.runner.call(step, r, || self.providers.autoscaler.ensure_autoscaling(&desired)).await?;
        Ok(format!("{}: {}", detail(&diff), info.describe()))
    }

    fn kept_count(&self) -> u32 {
        self.out.made.get::<kinds::Service>().map_or(self.plan.desired.spec.app.desired_count, |s| s.spec.desired_count)
    }
}
