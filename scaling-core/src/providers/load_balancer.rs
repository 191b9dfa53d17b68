//! [`LoadBalancer`]: the public entry point — its firewall, the backend pool of replicas it forwards
//! to, and its listeners (Gateway API's words: a listener per port, backends by reference).

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{unsupported, DesiredFirewall, Endpoint, FirewallInfo, Owner, Tags};
use crate::spec::{Algorithm, HealthCheckSpec, TlsVersion};
use crate::ProviderResult;

/// Whether a load balancer can take traffic yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoadBalancerStatus {
    /// Being set up.
    Provisioning,
    /// Taking traffic.
    Active,
    /// Failed to come up, with the provider's reason.
    Failed(String),
}

/// A load balancer's settings every provider has: the same in what is asked
/// ([`DesiredLoadBalancer`]) and what is found ([`LoadBalancerInfo`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadBalancerSpec {
    /// Its name, e.g. `app-alb`.
    pub name: String,
    /// How long idle connections stay open.
    pub idle_timeout: Duration,
}

/// A load balancer as it should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredLoadBalancer {
    /// Its name and idle timeout.
    #[serde(flatten)]
    pub spec: LoadBalancerSpec,
    /// The firewall it must carry (the seed's console gets this wrong); `None` for a provider
    /// without a load-balancer firewall.
    pub firewall_id: Option<String>,
    /// Drop requests whose header names are not valid HTTP (request smuggling protection).
    pub drop_invalid_header_fields: bool,
    /// The host names it answers for, sorted (a platform's domain mapping binds them; a balancer
    /// that answers for any name ignores them).
    pub hosts: Vec<String>,
    /// Tags, ownership included.
    pub tags: Tags,
}

/// A load balancer as it is: its spec as read back, the settings only some providers have, and its
/// status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadBalancerInfo {
    /// The provider's id (an ARN on AWS).
    pub id: String,
    /// Its name and idle timeout, as read back.
    #[serde(flatten)]
    pub spec: LoadBalancerSpec,
    /// Where the app's host names must lead (the DNS provider picks alias, CNAME or A/AAAA records).
    pub endpoint: Endpoint,
    /// The firewalls it carries.
    pub firewall_ids: Vec<String>,
    /// Whether requests with invalid header names are dropped, where that is a setting of the
    /// balancer (an ALB attribute); `None` where it is not (a balancer that always refuses them, or
    /// never can), and then it is not compared with the spec.
    pub drop_invalid_header_fields: Option<bool>,
    /// The host names it is bound to, sorted, where the provider binds names to the balancer itself
    /// (a domain mapping); `None` where it answers for any name, and then they are not compared.
    #[serde(default)]
    pub hosts: Option<Vec<String>>,
    /// Whether it takes traffic yet.
    pub status: LoadBalancerStatus,
    /// Settings the provider makes itself (beyond the fields above) that were found changed out of band,
    /// in words, e.g. `invalid header fields: kept → dropped`. Non-empty means the next deploy updates
    /// the resource; the provider's `ensure` puts every one of them back.
    #[serde(default)]
    pub drift: Vec<String>,
    /// The client connections it holds now and the most it accepts at once, where the provider
    /// counts them (this machine's balancer does; a cloud's grows by itself and says `None`). Only
    /// shown, never compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<ConnectionUse>,
}

/// Client connections open now against the most a load balancer accepts at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionUse {
    /// Open now.
    pub open: u64,
    /// Accepted at once at most; more wait to be accepted.
    pub limit: u64,
}

/// A backend pool's settings (the replicas a load balancer forwards to, with their health check): the
/// same in what is asked ([`DesiredBackend`]) and what is found ([`BackendInfo`]). AWS: a target
/// group; Kubernetes: a Service; Cloud Run: a serverless network endpoint group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendSpec {
    /// Its name, e.g. `app-tg`.
    pub name: String,
    /// The container port targets listen on.
    pub port: u16,
    /// The health check.
    pub health_check: HealthCheckSpec,
    /// How long a leaving target keeps its in-flight requests.
    pub drain_time: Duration,
    /// Sticky-cookie duration, when stickiness is on.
    pub stickiness: Option<Duration>,
    /// How a replica is picked.
    pub algorithm: Algorithm,
}

/// A backend pool as it should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredBackend {
    /// Its settings.
    #[serde(flatten)]
    pub spec: BackendSpec,
    /// Tags, ownership included.
    pub tags: Tags,
}

/// A backend pool as it is: its settings as read back, and its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendInfo {
    /// The provider's id.
    pub id: String,
    /// Its settings, as read back.
    #[serde(flatten)]
    pub spec: BackendSpec,
    /// Settings the provider makes itself (beyond the fields above) that were found changed out of band,
    /// in words, e.g. `success codes: 200 → 200-399`. Non-empty means the next deploy updates the
    /// resource; the provider's `ensure` puts every one of them back.
    #[serde(default)]
    pub drift: Vec<String>,
}

impl DesiredBackend {
    /// The pool as a provider that keeps exactly what was asked reports it, under `id`.
    pub fn as_made(&self, id: impl Into<String>) -> BackendInfo {
        BackendInfo { id: id.into(), spec: self.spec.clone(), drift: Vec::new() }
    }
}

/// A listener protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Protocol {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Protocol::Http => "HTTP",
            Protocol::Https => "HTTPS",
        })
    }
}

/// What a listener does with a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ListenerAction {
    /// Forward to a backend pool (by id).
    Forward {
        /// The backend pool's id.
        backend_id: String,
    },
    /// Answer 301 with the same URL on HTTPS at `port`.
    RedirectToHttps {
        /// The HTTPS port.
        port: u16,
    },
}

/// A listener's port, protocol and what it does: the same in what is asked ([`DesiredListener`])
/// and what is found ([`ListenerInfo`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerSpec {
    /// The port it listens on.
    pub port: u16,
    /// Its protocol.
    pub protocol: Protocol,
    /// What it does.
    pub action: ListenerAction,
    /// The certificate id, for HTTPS.
    pub certificate_id: Option<String>,
    /// The lowest TLS version accepted, for HTTPS (the provider picks its policy for it, and reads
    /// it back from that policy).
    pub min_tls_version: Option<TlsVersion>,
}

/// A listener as it should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredListener {
    /// Its port, protocol and action.
    #[serde(flatten)]
    pub spec: ListenerSpec,
    /// The host names it serves, sorted (Gateway API: a listener's hostname, so that one shared
    /// gateway serves several apps; an ALB listener serves any name and ignores them).
    pub hosts: Vec<String>,
    /// Tags, ownership included.
    pub tags: Tags,
}

/// A listener as it is: its spec as read back, and what the provider adds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerInfo {
    /// The provider's id.
    pub id: String,
    /// Its port, protocol and action, as read back.
    #[serde(flatten)]
    pub spec: ListenerSpec,
    /// The port clients connect to: `spec.port` on a cloud, the bound port on the local provider.
    pub public_port: u16,
    /// The host names it serves, sorted, where the listener has them; `None` where it serves any
    /// name, and then they are not compared.
    #[serde(default)]
    pub hosts: Option<Vec<String>>,
    /// Settings the provider makes itself (beyond the fields above) that were found changed out of band,
    /// in words, e.g. `invalid header fields: kept → dropped`. Non-empty means the next deploy updates
    /// the resource; the provider's `ensure` puts every one of them back.
    #[serde(default)]
    pub drift: Vec<String>,
}

/// The health of one target as the load balancer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TargetState {
    /// Registering, first checks running.
    Initial,
    /// Passing checks.
    Healthy,
    /// Failing checks.
    Unhealthy,
    /// Leaving.
    Draining,
}

impl std::fmt::Display for TargetState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TargetState::Initial => "starting",
            TargetState::Healthy => "healthy",
            TargetState::Unhealthy => "unhealthy",
            TargetState::Draining => "draining",
        })
    }
}

/// One target's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetHealth {
    /// The target (address:port).
    pub target: String,
    /// Its state.
    pub state: TargetState,
    /// Why, when not healthy (e.g. `Health checks failed with these codes: [502]`).
    pub reason: Option<String>,
}

/// Spreads traffic over the replicas, terminates TLS and redirects plain HTTP.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait LoadBalancer: Send + Sync {
    /// True when it serves certificates from their chain and key
    /// ([`Certificate::key_material`](super::Certificate::key_material): a balancer of one's own);
    /// false when it takes only ids of its own cloud's certificates (an ALB takes ACM's). A pairing
    /// with a certificate provider of the other kind is refused before any call. Makes no call; false
    /// by default.
    fn serves_key_material(&self) -> bool {
        false
    }

    /// The load balancer's firewall `name` when owned. A provider whose graph has no
    /// [`LoadBalancerFirewall`](crate::StepId::LoadBalancerFirewall) step leaves the three firewall
    /// methods to their defaults: nothing is found, and making or deleting one is
    /// [`Unsupported`](crate::ErrorKind::Unsupported). So it is with the backend pool and the
    /// listeners.
    async fn find_firewall(&self, owner: &Owner, name: &str) -> ProviderResult<Option<FirewallInfo>> {
        let _ = (owner, name);
        Ok(None)
    }
    /// Creates the firewall or makes its rules exactly `desired.ingress`.
    async fn ensure_firewall(&self, desired: &DesiredFirewall) -> ProviderResult<FirewallInfo> {
        Err(unsupported("ensure_firewall", &desired.spec.name, "firewall in front of its load balancer"))
    }
    /// Deletes the firewall; retryable while something still uses it.
    async fn delete_firewall(&self, owner: &Owner, group: &FirewallInfo) -> ProviderResult<()> {
        let _ = owner;
        Err(unsupported("delete_firewall", &group.spec.name, "firewall in front of its load balancer"))
    }

    /// The load balancer `name` when owned (also used to poll its status).
    async fn find_load_balancer(&self, owner: &Owner, name: &str) -> ProviderResult<Option<LoadBalancerInfo>>;
    /// Creates the load balancer or brings its settings and firewall to `desired`.
    async fn ensure_load_balancer(&self, desired: &DesiredLoadBalancer) -> ProviderResult<LoadBalancerInfo>;
    /// Deletes the load balancer.
    async fn delete_load_balancer(&self, owner: &Owner, lb: &LoadBalancerInfo) -> ProviderResult<()>;

    /// The backend pool `name` when owned.
    async fn find_backend(&self, owner: &Owner, name: &str) -> ProviderResult<Option<BackendInfo>> {
        let _ = (owner, name);
        Ok(None)
    }
    /// Creates the backend pool or brings its health check and settings to `desired`.
    async fn ensure_backend(&self, desired: &DesiredBackend) -> ProviderResult<BackendInfo> {
        Err(unsupported("ensure_backend", &desired.spec.name, "backend pool"))
    }
    /// Deletes the backend pool; retryable while a listener or service still uses it.
    async fn delete_backend(&self, owner: &Owner, group: &BackendInfo) -> ProviderResult<()> {
        let _ = owner;
        Err(unsupported("delete_backend", &group.spec.name, "backend pool"))
    }

    /// The listeners of `lb`.
    async fn list_listeners(&self, lb: &LoadBalancerInfo) -> ProviderResult<Vec<ListenerInfo>> {
        let _ = lb;
        Ok(Vec::new())
    }
    /// Creates the listener on `desired.port` or changes it to `desired`.
    async fn ensure_listener(&self, lb: &LoadBalancerInfo, desired: &DesiredListener) -> ProviderResult<ListenerInfo> {
        let what = format!("{}:{}", desired.spec.protocol, desired.spec.port);
        Err(unsupported("ensure_listener", &format!("{} {what}", lb.spec.name), "listeners"))
    }
    /// Deletes a listener.
    async fn delete_listener(&self, owner: &Owner, listener: &ListenerInfo) -> ProviderResult<()> {
        let _ = owner;
        Err(unsupported("delete_listener", &listener.id, "listeners"))
    }

    /// The health of every target of `group` (none without backend pools).
    async fn target_health(&self, group: &BackendInfo) -> ProviderResult<Vec<TargetHealth>> {
        let _ = group;
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::{CertificateInfo, FirewallInfo};

    #[test]
    fn what_a_provider_saved_before_spec_and_status_were_split_still_reads() {
        // The local provider and the ACME store keep these as JSON files: the spec is flattened, so a
        // record written with the fields side by side reads, and is written back the same way.
        let listener = r#"{"id":"l-1","port":443,"public_port":8443,"protocol":"Https",
            "action":{"Forward":{"backend_id":"tg"}},"certificate_id":"c-1","min_tls_version":"1.3"}"#;
        let listener: ListenerInfo = serde_json::from_str(listener).expect("an old listener reads");
        assert_eq!((listener.spec.port, listener.public_port, &listener.hosts), (443, 8443, &None));
        assert_eq!(serde_json::to_value(&listener).unwrap()["certificate_id"], "c-1");

        let balancer = r#"{"id":"app","name":"app","endpoint":{"hostname":"app.localhost","addresses":[]},
            "firewall_ids":[],"idle_timeout":{"secs":60,"nanos":0},"drop_invalid_header_fields":null,
            "status":"Active"}"#;
        let balancer: LoadBalancerInfo = serde_json::from_str(balancer).expect("an old balancer reads");
        assert_eq!((balancer.spec.name.as_str(), balancer.spec.idle_timeout), ("app", Duration::from_secs(60)));

        let certificate = r#"{"id":"c-1","domain":"a.example","alternative_names":["www.a.example"],
            "status":"Issued","validation_records":[],"in_use":true}"#;
        let certificate: CertificateInfo = serde_json::from_str(certificate).expect("an old certificate reads");
        assert_eq!(certificate.spec.names().collect::<Vec<_>>(), ["a.example", "www.a.example"]);

        let firewall = r#"{"id":"sg-1","name":"app-sg","ingress":[]}"#;
        let firewall: FirewallInfo = serde_json::from_str(firewall).expect("an old firewall reads");
        assert_eq!((firewall.spec.name.as_str(), firewall.other_rules.len()), ("app-sg", 0));
    }
}
