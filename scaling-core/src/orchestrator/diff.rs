//! Desired-versus-observed comparisons, one per resource. The planner shows them; apply acts on them,
//! so the two cannot disagree.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::time::Duration;

use serde::Serialize;

use super::words::InWords;
use crate::spec::HealthCheckSpec;

use crate::providers::{
    AutoscalingInfo, BackendInfo, CertificateInfo, CertificateStatus, DesiredAutoscaling, DesiredBackend,
    DesiredCertificate, DesiredFirewall, DesiredListener, DesiredLoadBalancer, DesiredRepository, DesiredRevision,
    DesiredService, DnsRecord, FirewallInfo, IngressRule, ListenerInfo, LoadBalancerInfo, RepositoryInfo, RevisionInfo,
    Rollout, ServiceInfo,
};

/// What a step does to its resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The resource is missing and will be created.
    Create,
    /// The resource exists and will be changed in place.
    Update,
    /// The resource will be replaced by a new one (the old one is removed afterwards).
    Replace,
    /// The resource already matches.
    NoChange,
    /// The resource is no longer wanted and will be deleted.
    Delete,
    /// Nothing changes, but the step waits for the provider.
    Wait,
}

impl Action {
    /// True for actions that call a mutating provider operation.
    pub fn mutates(self) -> bool {
        !matches!(self, Action::NoChange | Action::Wait)
    }
}

/// An action with the reason for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Diff {
    pub action: Action,
    pub reason: String,
}

impl Diff {
    pub fn create() -> Self {
        Self { action: Action::Create, reason: "does not exist".into() }
    }

    pub fn same() -> Self {
        Self { action: Action::NoChange, reason: "matches the spec".into() }
    }

    /// An update when `changes` is not empty.
    pub fn changes(changes: Vec<String>) -> Self {
        if changes.is_empty() {
            Self::same()
        } else {
            Self { action: Action::Update, reason: changes.join("; ") }
        }
    }
}

/// Collects `field: old → new` lines for fields that differ.
#[derive(Default)]
struct Changes(Vec<String>);

impl Changes {
    fn field<T: PartialEq + InWords>(mut self, name: &str, old: T, new: T) -> Self {
        if old != new {
            self.0.push(format!("{name}: {} → {}", old.in_words(), new.in_words()));
        }
        self
    }

    /// Each part of a health check that differs, by name (the grace period belongs to the service).
    fn health_check(self, old: &HealthCheckSpec, new: &HealthCheckSpec) -> Self {
        self.field("health check path", &old.path, &new.path)
            .duration("health check interval", old.interval, new.interval)
            .duration("health check timeout", old.timeout, new.timeout)
            .field("healthy threshold", old.healthy_threshold, new.healthy_threshold)
            .field("unhealthy threshold", old.unhealthy_threshold, new.unhealthy_threshold)
    }

    /// `name changed: a, b` when `names` is not empty.
    /// Like `field`, for optional values shown in words (`none` when unset).
    fn optional<T: PartialEq + std::fmt::Display>(mut self, name: &str, old: Option<T>, new: Option<T>) -> Self {
        if old != new {
            let shown = |v: Option<T>| v.map_or_else(|| "none".to_string(), |v| v.to_string());
            self.0.push(format!("{name}: {} → {}", shown(old), shown(new)));
        }
        self
    }

    /// The host names, where the provider reports them (`None`: it serves any name).
    fn hosts(self, old: Option<&[String]>, new: &[String]) -> Self {
        match old {
            Some(old) if old != new => self.field("host names", old.join(", "), new.join(", ")),
            _ => self,
        }
    }

    fn changed(mut self, name: &str, names: Vec<String>) -> Self {
        if !names.is_empty() {
            self.0.push(format!("{name} changed: {}", names.join(", ")));
        }
        self
    }

    fn duration(mut self, name: &str, old: Duration, new: Duration) -> Self {
        if old != new {
            self.0.push(format!("{name}: {} → {}", humantime::format_duration(old), humantime::format_duration(new)));
        }
        self
    }

    /// The provider's own findings (settings only it knows it set), verbatim.
    fn drift(mut self, drift: &[String]) -> Self {
        self.0.extend(drift.iter().cloned());
        self
    }

    fn done(self) -> Diff {
        Diff::changes(self.0)
    }
}

/// A repository has nothing the core compares: only what its provider reports as drift.
pub(crate) fn repository(_desired: &DesiredRepository, observed: Option<&RepositoryInfo>) -> Diff {
    let Some(o) = observed else { return Diff::create() };
    Changes::default().drift(&o.drift).done()
}

/// Rules compared one address family at a time, so a missing IPv6 half or one extra rule shows by name.
pub(crate) fn security_group(desired: &DesiredFirewall, observed: Option<&FirewallInfo>) -> Diff {
    let Some(o) = observed else { return Diff::create() };
    let atoms = |rules: &[IngressRule]| rules.iter().flat_map(IngressRule::atoms).collect::<BTreeSet<_>>();
    let (want, have) = (atoms(&desired.spec.ingress), atoms(&o.spec.ingress));
    let mut changes = Changes::default();
    changes.0.extend(want.difference(&have).map(|r| format!("missing rule {r}")));
    changes.0.extend(have.difference(&want).map(|r| format!("extra rule {r}")));
    changes.0.extend(o.other_rules.iter().map(|r| format!("extra rule {r}")));
    changes.done()
}

pub(crate) fn load_balancer(desired: &DesiredLoadBalancer, observed: Option<&LoadBalancerInfo>) -> Diff {
    let Some(o) = observed else { return Diff::create() };
    let changes = Changes::default()
        .field("firewalls", o.firewall_ids.clone(), desired.firewall_id.iter().cloned().collect())
        .duration("idle timeout", o.spec.idle_timeout, desired.spec.idle_timeout);
    // Compared only where the provider has the setting.
    let changes = match o.drop_invalid_header_fields {
        Some(found) => changes.field("drop invalid header fields", found, desired.drop_invalid_header_fields),
        None => changes,
    };
    changes.hosts(o.hosts.as_deref(), &desired.hosts).drift(&o.drift).done()
}

pub(crate) fn backend(desired: &DesiredBackend, observed: Option<&BackendInfo>) -> Diff {
    let Some(found) = observed else { return Diff::create() };
    let (o, desired) = (&found.spec, &desired.spec);
    Changes::default()
        .field("port", o.port, desired.port)
        .health_check(&o.health_check, &desired.health_check)
        .duration("drain time", o.drain_time, desired.drain_time)
        .field("stickiness", o.stickiness, desired.stickiness)
        .field("algorithm", o.algorithm, desired.algorithm)
        .drift(&found.drift)
        .done()
}

pub(crate) fn listener(desired: &DesiredListener, observed: Option<&ListenerInfo>) -> Diff {
    let Some(o) = observed else { return Diff::create() };
    Changes::default()
        .field("protocol", o.spec.protocol, desired.spec.protocol)
        .field("action", &o.spec.action, &desired.spec.action)
        .field("certificate", &o.spec.certificate_id, &desired.spec.certificate_id)
        .optional("minimum TLS version", o.spec.min_tls_version, desired.spec.min_tls_version)
        .hosts(o.hosts.as_deref(), &desired.hosts)
        .drift(&o.drift)
        .done()
}

/// The owned certificate that serves `desired`, if one exists and has not failed.
pub(crate) fn matching_certificate<'a>(
    desired: &DesiredCertificate,
    owned: &'a [CertificateInfo],
) -> Option<&'a CertificateInfo> {
    owned.iter().find(|c| {
        let mut names = c.spec.alternative_names.clone();
        names.sort();
        c.spec.domain == desired.spec.domain
            && names == desired.spec.alternative_names
            && !matches!(c.status, CertificateStatus::Failed(_))
            && c.renewal_due.is_none()
    })
}

pub(crate) fn certificate(desired: &DesiredCertificate, owned: &[CertificateInfo]) -> Diff {
    if matching_certificate(desired, owned).is_some() {
        return Diff::same();
    }
    match owned.iter().find(|c| c.spec.domain == desired.spec.domain) {
        Some(old) if matches!(old.status, CertificateStatus::Failed(_)) => {
            Diff { action: Action::Replace, reason: format!("{} failed; requesting a new one", old.id) }
        }
        Some(old) if old.renewal_due.is_some() => Diff {
            action: Action::Replace,
            reason: format!("renew {}: {}", old.id, old.renewal_due.as_deref().unwrap_or_default()),
        },
        Some(old) => Diff {
            action: Action::Replace,
            reason: format!(
                "names {:?} → {:?}; certificates cannot change names",
                old.spec.alternative_names, desired.spec.alternative_names
            ),
        },
        None => Diff::create(),
    }
}

/// Records of `desired` that are missing or differ in `observed`.
pub(crate) fn missing_records(desired: &[DnsRecord], observed: &[DnsRecord]) -> Vec<DnsRecord> {
    desired.iter().filter(|d| !observed.iter().any(|o| o.same_as(d))).cloned().collect()
}

pub(crate) fn records(desired: &[DnsRecord], observed: &[DnsRecord]) -> Diff {
    let missing = missing_records(desired, observed);
    if missing.is_empty() {
        return Diff::same();
    }
    let names: Vec<&str> = missing.iter().map(|r| r.name.as_str()).collect();
    let exists = missing.iter().any(|m| observed.iter().any(|o| o.name == m.name && o.kind == m.kind));
    Diff { action: if exists { Action::Update } else { Action::Create }, reason: format!("write {}", names.join(", ")) }
}

pub(crate) fn revision(desired: &DesiredRevision, image_matches: bool, observed: Option<&RevisionInfo>) -> Diff {
    let Some(found) = observed else { return Diff::create() };
    let (o, wanted) = (&found.spec, desired);
    let desired = &wanted.spec;
    let mut changes = Changes::default();
    if !image_matches {
        changes.0.push(format!("image: {} → {}", o.image, desired.image));
    }
    let changes = changes
        .field("container", &o.container, &desired.container)
        .field("platform", o.platform, desired.platform)
        .field("cpu", o.cpu, desired.cpu)
        .field("memory", o.memory, desired.memory)
        .field("port", o.port, desired.port)
        .changed("environment variables", env_changes(&o.env, &desired.env))
        .changed("secrets", env_changes(&o.secrets, &desired.secrets));
    // Compared only where the provider registers the probe with the revision.
    let changes = match &found.health_check {
        Some(probe) => changes.health_check(probe, &wanted.health_check),
        None => changes,
    };
    changes.drift(&found.drift).done()
}

pub(crate) fn autoscaling(desired: Option<&DesiredAutoscaling>, observed: Option<&AutoscalingInfo>) -> Diff {
    match (desired, observed) {
        (None, None) => Diff::same(),
        (None, Some(_)) => {
            Diff { action: Action::Delete, reason: "the spec has no [scaling]; the count stays as it is".into() }
        }
        (Some(_), None) => Diff::create(),
        (Some(d), Some(o)) => Changes::default()
            .field("min", o.spec.min, d.spec.min)
            .field("max", o.spec.max, d.spec.max)
            .field("targets", &o.spec.targets, &d.spec.targets)
            .duration("scale-out cooldown", o.spec.scale_out_cooldown, d.spec.scale_out_cooldown)
            .duration("scale-in cooldown", o.spec.scale_in_cooldown, d.spec.scale_in_cooldown)
            .drift(&o.drift)
            .done(),
    }
}

/// The names of environment variables added, removed or changed — never their values, which may be secret.
fn env_changes(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> Vec<String> {
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter().filter(|k| old.get(*k) != new.get(*k)).cloned().collect()
}

/// Why the service's rollout must be started again although nothing in it changed, if it must: its
/// last rollout failed (the circuit breaker stopped it, and a re-run with the cause fixed must not
/// just fail again with the old reason), or it runs none of its replicas and nothing is starting them.
pub(crate) fn restart_reason(observed: &ServiceInfo) -> Option<String> {
    match &observed.rollout {
        Rollout::Failed(reason) => Some(format!("restart the rollout: the last one failed because {reason}")),
        Rollout::Completed
            if observed.spec.desired_count > 0 && observed.running_count == 0 && observed.pending_count == 0 =>
        {
            Some(format!("restart the rollout: 0 of {} replicas run and none is starting", observed.spec.desired_count))
        }
        _ => None,
    }
}

pub(crate) fn service(desired: &DesiredService, observed: Option<&ServiceInfo>) -> Diff {
    let Some(o) = observed else { return Diff::create() };
    let mut changes = Changes::default();
    changes.0.extend(restart_reason(o));
    changes
        .field("revision", &o.spec.revision_id, &desired.spec.revision_id)
        .field("desired count", o.spec.desired_count, desired.spec.desired_count)
        .field("backend pool", &o.backend_id, &desired.traffic.backend_id)
        .field("firewall", &o.spec.firewall_id, &desired.spec.firewall_id)
        // A provider that does not report the grace period cannot show drift in it.
        .duration(
            "health check grace period",
            o.health_check_grace_period.unwrap_or(desired.health_check_grace_period),
            desired.health_check_grace_period,
        )
        .drift(&o.drift)
        .done()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::{FirewallSpec, LoadBalancerSpec, TrafficFrom};

    #[test]
    fn a_setting_the_balancer_does_not_have_is_not_compared() {
        let desired = DesiredLoadBalancer {
            spec: LoadBalancerSpec { name: "app-lb".into(), idle_timeout: std::time::Duration::from_secs(60) },
            firewall_id: None,
            drop_invalid_header_fields: true,
            hosts: vec!["app.example.com".into(), "www.app.example.com".into()],
            tags: Default::default(),
        };
        let found = |drop_invalid_header_fields| LoadBalancerInfo {
            spec: LoadBalancerSpec { name: "app-lb".into(), idle_timeout: desired.spec.idle_timeout },
            id: "app-lb".into(),
            endpoint: crate::providers::Endpoint::hostname("app.example"),
            firewall_ids: Vec::new(),
            drop_invalid_header_fields,
            hosts: None,
            status: crate::providers::LoadBalancerStatus::Active,
            drift: Vec::new(),
            connections: None,
        };
        assert_eq!(load_balancer(&desired, Some(&found(None))).action, Action::NoChange, "no such setting");
        assert_eq!(load_balancer(&desired, Some(&found(Some(true)))).action, Action::NoChange);
        let changed = load_balancer(&desired, Some(&found(Some(false))));
        assert_eq!(changed.action, Action::Update, "a setting it has, changed out of band");
        // Host names likewise: compared only where the balancer is bound to names.
        let bound = |hosts: &[&str]| LoadBalancerInfo {
            hosts: Some(hosts.iter().map(|h| h.to_string()).collect()),
            ..found(None)
        };
        assert_eq!(
            load_balancer(&desired, Some(&bound(&["app.example.com", "www.app.example.com"]))).action,
            Action::NoChange
        );
        let rebound = load_balancer(&desired, Some(&bound(&["app.example.com"])));
        assert_eq!(rebound.action, Action::Update);
        assert_eq!(rebound.reason, "host names: app.example.com → app.example.com, www.app.example.com");
    }

    fn group(ingress: Vec<IngressRule>, other_rules: Vec<String>) -> FirewallInfo {
        FirewallInfo { spec: FirewallSpec { name: "app-alb-sg".into(), ingress }, id: "sg-1".into(), other_rules }
    }

    #[test]
    fn every_rule_the_spec_does_not_want_is_named_and_every_missing_half_too() {
        let desired = DesiredFirewall {
            spec: FirewallSpec {
                name: "app-alb-sg".into(),
                ingress: vec![IngressRule { port: 80, from: TrafficFrom::Anywhere }],
            },
            description: String::new(),
            tags: Default::default(),
        };
        let exact = group(
            vec![
                IngressRule { port: 80, from: TrafficFrom::Cidr("0.0.0.0/0".into()) },
                IngressRule { port: 80, from: TrafficFrom::Cidr("::/0".into()) },
            ],
            vec![],
        );
        assert_eq!(security_group(&desired, Some(&exact)).action, Action::NoChange);
        let drifted = group(
            vec![
                IngressRule { port: 22, from: TrafficFrom::Cidr("0.0.0.0/0".into()) },
                IngressRule { port: 80, from: TrafficFrom::Cidr("0.0.0.0/0".into()) },
            ],
            vec!["udp/53 from 10.0.0.0/8".into()],
        );
        let diff = security_group(&desired, Some(&drifted));
        assert_eq!(diff.action, Action::Update);
        assert_eq!(
            diff.reason,
            "missing rule tcp/80 from ::/0; extra rule tcp/22 from 0.0.0.0/0; extra rule udp/53 from 10.0.0.0/8"
        );
    }

    #[test]
    fn environment_changes_name_keys_never_values() {
        let old =
            BTreeMap::from([("API_KEY".to_string(), "old-secret".to_string()), ("MODE".to_string(), "a".to_string())]);
        let new =
            BTreeMap::from([("API_KEY".to_string(), "new-secret".to_string()), ("MODE".to_string(), "a".to_string())]);
        let diff = Changes::default().changed("environment variables", env_changes(&old, &new)).done();
        assert_eq!(diff.reason, "environment variables changed: API_KEY");
        assert!(!diff.reason.contains("secret"));
    }
}
