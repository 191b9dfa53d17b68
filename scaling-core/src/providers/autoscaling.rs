//! Autoscaling of a service, as the [`Autoscaler`] (usually the cluster's provider) does it: bounds, targets,
//! cooldowns, and the last decision it made (AWS: Application Auto Scaling's scalable target and
//! target-tracking policies; Kubernetes: a HorizontalPodAutoscaler; Cloud Run: min/max instances;
//! local: the supervisor's autoscaler).

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{unsupported, Owner, Tags};
use crate::ProviderResult;

/// A load measure autoscaling keeps near a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "metric", content = "target")]
#[non_exhaustive]
pub enum ScalingTarget {
    /// The replicas' average CPU use, in percent of what each is given.
    CpuPercent(u32),
    /// Requests each replica serves per second, counted by the load balancer.
    RequestsPerSecond(u32),
}

impl std::fmt::Display for ScalingTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScalingTarget::CpuPercent(p) => write!(f, "CPU {p}%"),
            ScalingTarget::RequestsPerSecond(r) => write!(f, "{r} requests/s per replica"),
        }
    }
}

/// Autoscaling's bounds, targets and cooldowns: the same in what is asked ([`DesiredAutoscaling`]) and
/// what is found ([`AutoscalingInfo`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScalingPolicy {
    /// The fewest replicas.
    pub min: u32,
    /// The most replicas.
    pub max: u32,
    /// What it follows, sorted.
    pub targets: Vec<ScalingTarget>,
    /// After a scale-out, how long before the next.
    #[serde(with = "humantime_serde")]
    pub scale_out_cooldown: Duration,
    /// How long the load stays low before a scale-in, and between two.
    #[serde(with = "humantime_serde")]
    pub scale_in_cooldown: Duration,
}

/// Autoscaling of one service as it should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredAutoscaling {
    /// The cluster the service runs in (by name).
    pub cluster: String,
    /// The service (by name).
    pub service: String,
    /// Its bounds, targets and cooldowns.
    #[serde(flatten)]
    pub spec: ScalingPolicy,
    /// The load balancer whose request counts it reads (its provider id); `None` where the
    /// providers have no load balancer step (a platform that counts requests itself).
    pub load_balancer_id: Option<String>,
    /// The backend pool the requests are counted on (its provider id); `None` without a backend
    /// pool step.
    pub backend_id: Option<String>,
    /// Tags, ownership included.
    pub tags: Tags,
}

impl DesiredAutoscaling {
    /// The autoscaling as a provider that keeps exactly what was asked reports it, under `id`, before
    /// any decision.
    pub fn as_registered(&self, id: impl Into<String>) -> AutoscalingInfo {
        AutoscalingInfo {
            id: id.into(),
            service: self.service.clone(),
            spec: self.spec.clone(),
            cap: None,
            last_decision: None,
            last_decision_unknown: None,
            drift: Vec::new(),
        }
    }
}

/// One decision of the autoscaler: a count changed (or was refused), when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScalingDecision {
    /// When, in milliseconds since the Unix epoch.
    pub at: u64,
    /// The count before, where known.
    pub from: Option<u32>,
    /// The count after, where known.
    pub to: Option<u32>,
    /// Why, in the provider's words (e.g. `CPU 91% over the 60% target`).
    pub reason: String,
}

/// Autoscaling of one service as it is: its policy as read back, and what it decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoscalingInfo {
    /// The provider's id.
    pub id: String,
    /// The service it scales (by name).
    pub service: String,
    /// Its bounds, targets and cooldowns, as read back.
    #[serde(flatten)]
    pub spec: ScalingPolicy,
    /// A lower maximum the provider applies by itself, with why (locally: this machine's cores).
    #[serde(default)]
    pub cap: Option<(u32, String)>,
    /// The last decision, if it made one.
    #[serde(default)]
    pub last_decision: Option<ScalingDecision>,
    /// Why the last decision is not known, when reading it failed: it only decorates `status`, so it
    /// is asked once, briefly, and its failure is said rather than waited out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_decision_unknown: Option<String>,
    /// Settings the provider gives it that were found changed out of band, in words; the next deploy
    /// puts them back.
    #[serde(default)]
    pub drift: Vec<String>,
}

impl AutoscalingInfo {
    /// The bounds and targets in words: `2–10 replicas on CPU 60%, 100 requests/s per replica`.
    pub fn describe(&self) -> String {
        let targets: Vec<String> = self.spec.targets.iter().map(ToString::to_string).collect();
        let cap = self.cap.as_ref().map(|(cap, why)| format!(" (capped at {cap}: {why})")).unwrap_or_default();
        format!("{}–{} replicas{cap} on {}", self.spec.min, self.spec.max, targets.join(", "))
    }
}

/// Autoscaling of services. A provider without it leaves every method to its default: nothing is
/// found, and asking for autoscaling is [`Unsupported`](crate::ErrorKind::Unsupported) (a spec with
/// `[scaling]` is refused at that step, naming it).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Autoscaler: Send + Sync {
    /// The autoscaling of the service `service` in the cluster `cluster` (both by name) when owned.
    async fn find_autoscaling(
        &self,
        owner: &Owner,
        cluster: &str,
        service: &str,
    ) -> ProviderResult<Option<AutoscalingInfo>> {
        let _ = (owner, cluster, service);
        Ok(None)
    }
    /// Registers autoscaling of `desired.service`, or brings it to `desired`: bounds, targets (only
    /// those), cooldowns. The service's current count is left to it.
    async fn ensure_autoscaling(&self, desired: &DesiredAutoscaling) -> ProviderResult<AutoscalingInfo> {
        Err(unsupported("ensure_autoscaling", &desired.service, "autoscaling"))
    }
    /// Removes the autoscaling (the service keeps the count it has); one already gone succeeds.
    async fn delete_autoscaling(&self, owner: &Owner, autoscaling: &AutoscalingInfo) -> ProviderResult<()> {
        let _ = owner;
        Err(unsupported("delete_autoscaling", &autoscaling.service, "autoscaling"))
    }
}
