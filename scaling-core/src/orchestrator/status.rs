//! Status: what runs, how healthy it is, where it answers.

use super::kinds;
use serde::Serialize;

use super::observe::Observed;
use super::{Plan, Providers};
use crate::providers::{
    CertificateStatus, Delegation, ListenerInfo, LoadBalancerInfo, LockHolder, Protocol, ServiceInfo, TargetHealth,
};
use crate::spec::Spec;
use crate::ProviderResult;

/// The state of a deployed app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct StatusReport {
    /// The app.
    pub app: String,
    /// The service: desired/running/pending tasks and rollout state; `None` when not deployed.
    pub service: Option<ServiceInfo>,
    /// The load balancer.
    pub load_balancer: Option<LoadBalancerInfo>,
    /// Every target's health.
    pub targets: Vec<TargetHealth>,
    /// The certificate's status, when HTTPS is on.
    pub certificate: Option<CertificateStatus>,
    /// Where the app answers.
    pub urls: Vec<String>,
    /// Whether the public DNS delegates the domain to the zone (when there is a domain).
    pub delegation: Option<Delegation>,
    /// The zone's name servers (to set at the registrar).
    pub name_servers: Vec<String>,
    /// The release the service runs (its revision's number), when deployed.
    #[serde(default)]
    pub release: Option<u32>,
    /// Who holds the app's deploy lock now (a deploy, scale or destroy running), if anyone.
    #[serde(default)]
    pub lock: Option<LockHolder>,
    /// The service's autoscaling (bounds, targets, last decision), when it has one; the current
    /// count is the service's `desired_count`.
    #[serde(default)]
    pub autoscaling: Option<crate::providers::AutoscalingInfo>,
}

/// The URLs a deployment answers on: every host name over HTTPS (or HTTP), or the load balancer's name.
pub(crate) fn urls(spec: &Spec, lb: Option<&LoadBalancerInfo>, listeners: &[&ListenerInfo]) -> Vec<String> {
    let port_of = |protocol| listeners.iter().find(|l| l.spec.protocol == protocol).map(|l| l.public_port);
    let suffix = |port: Option<u16>, default| match port {
        Some(p) if p != default => format!(":{p}"),
        _ => String::new(),
    };
    let hosts = spec.hostnames();
    if hosts.is_empty() {
        return lb
            .and_then(|lb| lb.endpoint.url_host())
            .map(|host| format!("http://{host}{}", suffix(port_of(Protocol::Http), 80)))
            .into_iter()
            .collect();
    }
    let (scheme, port) = if spec.https() {
        ("https", suffix(port_of(Protocol::Https), 443))
    } else {
        ("http", suffix(port_of(Protocol::Http), 80))
    };
    hosts.into_iter().map(|h| format!("{scheme}://{h}{port}")).collect()
}

/// Who holds `owner`'s deploy lock: read beside the deployment, not after it. A provider without a
/// deploy lock has no holder to show.
pub(crate) async fn lock_holder(providers: &Providers, owner: &crate::Owner) -> ProviderResult<Option<LockHolder>> {
    match providers.locks.lock_holder(owner).await {
        Err(e) if e.kind == crate::ErrorKind::Unsupported => Ok(None),
        other => other,
    }
}

/// The status of an observed deployment (`plan`, read with [`Reach::Status`](super::observe::Reach):
/// its targets' health came with it) and the lock's holder.
pub(crate) async fn status(
    providers: &Providers,
    plan: &Plan,
    lock: Option<LockHolder>,
) -> ProviderResult<StatusReport> {
    let (spec, o): (&Spec, &Observed) = (&plan.desired.spec, &plan.observed);
    let delegation = match &o.zone {
        Some(zone) => Some(providers.dns.delegation(zone).await?),
        None => None,
    };
    let targets = o.targets.clone();
    // `family:3`, or an ARN ending so: the number after the last colon.
    let release =
        o.one::<kinds::Service>().and_then(|s| s.spec.revision_id.rsplit_once(':')).and_then(|(_, n)| n.parse().ok());
    let certificate = o
        .all::<kinds::Certificate>()
        .iter()
        .find(|c| Some(c.spec.domain.as_str()) == plan.desired.apex())
        .map(|c| c.status.clone());
    let listeners: Vec<&ListenerInfo> = o.listeners.iter().collect();
    Ok(StatusReport {
        app: plan.app.clone(),
        service: o.one::<kinds::Service>().cloned(),
        load_balancer: o.one::<kinds::LoadBalancer>().cloned(),
        targets,
        certificate,
        urls: urls(spec, o.one::<kinds::LoadBalancer>(), &listeners),
        delegation,
        name_servers: o.zone.as_ref().map(|z| z.name_servers.clone()).unwrap_or_default(),
        release,
        lock,
        autoscaling: o.autoscaling.clone(),
    })
}
