//! The `service_stable` step: after the service (its descriptor, [`crate::orchestrator::kinds::Service`])
//! rolls to the revision, the wait until its replicas run and pass health checks, then the pruning of
//! old releases.

use super::{made, Apply, Poll};
use crate::orchestrator::diff::Action;
use crate::orchestrator::kinds;
use crate::orchestrator::resource::Ids;
use crate::orchestrator::StepId;
use crate::providers::{BackendInfo, Rollout, TargetState};
use crate::{Error, Result};

impl Apply<'_> {
    /// The backend pool of the backend step, or `None` for providers without one.
    pub(super) fn backend_of_service(&self, step: StepId) -> Result<Option<&BackendInfo>> {
        match self.plan.desired.capabilities.has_step(StepId::Backend) {
            true => made::<kinds::Backend>(&self.out, step).map(Some),
            false => Ok(None),
        }
    }

    pub(super) async fn service_stable(&self, r: &str) -> Result<String> {
        let step = StepId::ServiceStable;
        let service = made::<kinds::Service>(&self.out, step)?;
        let cluster = &self.made(step).cluster()?;
        let tg = self.backend_of_service(step)?;
        let unchanged = self.plan.change(step).is_some_and(|c| c.action == Action::NoChange);
        if unchanged {
            return Ok("stable".into());
        }
        if !self.runner.options.wait {
            let pruned = self.prune_releases(service).await?;
            return Ok(format!("not waiting (--no-wait){pruned}"));
        }
        let owner = &self.plan.desired.owner;
        let timeout = self.runner.options.timeouts.service_stable;
        let woken = |within| self.providers.cluster.service_changed(service, within);
        let warnings = self
            .runner
            .wait_woken(
                step,
                r,
                timeout,
                || async {
                    let now = self
                        .runner
                        .call(step, r, || self.providers.cluster.find_service(owner, cluster, &service.spec.name))
                        .await?;
                    let Some(now) = now else { return Ok(Poll::Pending("service not visible yet".into())) };
                    let counts = format!(
                        "{}/{} running, {} pending",
                        now.running_count, now.spec.desired_count, now.pending_count
                    );
                    match now.rollout {
                        // Finished on another revision: the new one's rollout failed and was rolled back.
                        Rollout::Completed if now.spec.revision_id != service.spec.revision_id => {
                            Err(Error::RolloutFailed {
                                reason: format!(
                                    "the rollout of {} did not finish: the service went back to {} (rolled back after \
                                 its replicas failed; `scaling logs` shows why){}",
                                    service.spec.revision_id,
                                    now.spec.revision_id,
                                    self.target_summary(step, r, tg).await
                                ),
                            })
                        }
                        Rollout::Completed if now.running_count == now.spec.desired_count => {
                            Ok(Poll::Ready(now.warnings))
                        }
                        Rollout::Failed(reason) => Err(Error::RolloutFailed {
                            reason: format!("{reason} ({counts}){}", self.target_summary(step, r, tg).await),
                        }),
                        _ => Ok(Poll::Pending(format!("{counts}{}", self.target_summary(step, r, tg).await))),
                    }
                },
                woken,
            )
            .await?;
        let pruned = self.prune_releases(service).await?;
        Ok(match warnings.is_empty() {
            true => format!("stable{pruned}"),
            false => format!("stable{pruned}; warning: {}", warnings.join("; warning: ")),
        })
    }

    /// `; targets: 1 healthy, 1 unhealthy (Health checks failed with these codes: [502])`, or empty.
    async fn target_summary(&self, step: StepId, r: &str, tg: Option<&BackendInfo>) -> String {
        let Some(tg) = tg else { return String::new() };
        let Ok(targets) = self.runner.call(step, r, || self.providers.load_balancer.target_health(tg)).await else {
            return String::new();
        };
        if targets.is_empty() {
            return String::new();
        }
        let count = |state| targets.iter().filter(|t| t.state == state).count();
        let reasons: Vec<&str> = targets.iter().filter_map(|t| t.reason.as_deref()).collect();
        let mut text = format!(
            "; targets: {} healthy, {} unhealthy, {} starting",
            count(TargetState::Healthy),
            count(TargetState::Unhealthy),
            count(TargetState::Initial)
        );
        if let Some(reason) = reasons.first() {
            text.push_str(&format!(" ({reason})"));
        }
        text
    }
}
