//! [`Recorded`]: any [`Providers`] wrapped so that every call is counted, reads apart from writes —
//! how the kit tells "a re-deploy makes 0 writes" the same way for every provider.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::providers::{
    Autoscaler, AutoscalingInfo, BackendInfo, BuildRequest, Capabilities, Capable, Certificate, CertificateInfo,
    Cluster, ClusterInfo, Delegation, DesiredAutoscaling, DesiredBackend, DesiredCertificate, DesiredCluster,
    DesiredFirewall, DesiredListener, DesiredLoadBalancer, DesiredRepository, DesiredRevision, DesiredService, Dns,
    DnsRecord, Endpoint, FirewallInfo, ImageArtifact, ImageRef, KeyMaterial, ListenerInfo, LoadBalancer,
    LoadBalancerInfo, LockHolder, Locks, LogPage, LogQuery, Logs, OwnResource, OwnSteps, Owner, Registry, Releases,
    RepositoryInfo, RevisionInfo, SecretStore, ServiceInfo, Tags, TargetHealth, ZoneInfo,
};
use crate::{Problem, ProviderResult, Providers, StepId};

/// One provider call as [`Recorded`] saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedCall {
    /// The trait method, e.g. `ensure_listener`.
    pub method: &'static str,
    /// True for a call that may change something (not a `find_`, `list_`, `describe_` or health read).
    pub writes: bool,
}

/// Providers that record every call before passing it on.
#[derive(Clone)]
pub struct Recorded {
    inner: Providers,
    calls: Arc<Mutex<Vec<RecordedCall>>>,
}

impl Recorded {
    /// Wraps `inner`.
    pub fn new(inner: Providers) -> Arc<Self> {
        Arc::new(Self { inner, calls: Arc::default() })
    }

    fn note(&self, method: &'static str, writes: bool) {
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(RecordedCall { method, writes });
        }
    }

    /// Every call since the last [`clear`](Self::clear).
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// The methods of the calls that may have changed something.
    pub fn writes(&self) -> Vec<&'static str> {
        self.calls().into_iter().filter(|c| c.writes).map(|c| c.method).collect()
    }

    /// Forgets the calls so far.
    pub fn clear(&self) {
        if let Ok(mut calls) = self.calls.lock() {
            calls.clear();
        }
    }
}

impl Capable for Recorded {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities
    }
}

/// One `impl` of a provider trait for [`Recorded`]: each method notes its call (`read`, or `write`
/// for one that may change something) and passes it on to the same trait of the wrapped providers
/// (`$field`); `$extra` are methods passed on as they are.
macro_rules! recorded {
    ($trait:path, $field:ident {
        $($kind:ident $method:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*
    } $($extra:item)*) => {
        #[async_trait]
        impl $trait for Recorded {
            $(
                async fn $method(&self, $($arg: $ty),*) -> $ret {
                    self.note(stringify!($method), recorded!(@writes $kind));
                    self.inner.$field.$method($($arg),*).await
                }
            )*
            $($extra)*
        }
    };
    (@writes read) => { false };
    (@writes write) => { true };
}

recorded!(Registry, registry {
    read find_repository(owner: &Owner, name: &str) -> ProviderResult<Option<RepositoryInfo>>;
    write ensure_repository(desired: &DesiredRepository) -> ProviderResult<RepositoryInfo>;
    read build_image(request: &BuildRequest) -> ProviderResult<ImageArtifact>;
    read find_image(repository: &RepositoryInfo, digest: &str) -> ProviderResult<Option<ImageRef>>;
    write push_image(repository: &RepositoryInfo, artifact: &ImageArtifact) -> ProviderResult<ImageRef>;
    write delete_repository(owner: &Owner, repository: &RepositoryInfo, delete_images: bool) -> ProviderResult<()>;
});

recorded!(Cluster, cluster {
    read find_cluster(owner: &Owner, name: &str) -> ProviderResult<Option<ClusterInfo>>;
    write ensure_cluster(desired: &DesiredCluster) -> ProviderResult<ClusterInfo>;
    write delete_cluster(owner: &Owner, cluster: &ClusterInfo) -> ProviderResult<()>;
    read find_replica_firewall(owner: &Owner, name: &str) -> ProviderResult<Option<FirewallInfo>>;
    write ensure_replica_firewall(desired: &DesiredFirewall) -> ProviderResult<FirewallInfo>;
    write delete_replica_firewall(owner: &Owner, group: &FirewallInfo) -> ProviderResult<()>;
    read find_revision(owner: &Owner, family: &str) -> ProviderResult<Option<RevisionInfo>>;
    write register_revision(desired: &DesiredRevision) -> ProviderResult<RevisionInfo>;
    write deregister_revisions(owner: &Owner, family: &str) -> ProviderResult<()>;
    read find_service(owner: &Owner, cluster: &ClusterInfo, name: &str) -> ProviderResult<Option<ServiceInfo>>;
    write ensure_service(desired: &DesiredService) -> ProviderResult<ServiceInfo>;
    write scale_service(owner: &Owner, service: &ServiceInfo, desired_count: u32) -> ProviderResult<ServiceInfo>;
    write delete_service(owner: &Owner, service: &ServiceInfo) -> ProviderResult<()>;
}
    async fn service_changed(&self, service: &ServiceInfo, within: std::time::Duration) {
        self.inner.cluster.service_changed(service, within).await
    }
);

recorded!(OwnSteps, own_steps {
    write ensure_resources(step: StepId, owner: &Owner, tags: &Tags) -> ProviderResult<Vec<OwnResource>>;
    read find_resources(step: StepId, owner: &Owner) -> ProviderResult<Vec<OwnResource>>;
    write delete_resource(step: StepId, owner: &Owner, resource: &OwnResource) -> ProviderResult<()>;
}
    fn needed_resources(&self, step: StepId, owner: &Owner) -> Vec<OwnResource> {
        self.inner.own_steps.needed_resources(step, owner)
    }
);

recorded!(Releases, releases {
    read revision_ids(owner: &Owner, family: &str) -> ProviderResult<Vec<String>>;
    read describe_revision(owner: &Owner, id: &str) -> ProviderResult<Option<RevisionInfo>>;
    write deregister_revision(owner: &Owner, id: &str) -> ProviderResult<()>;
});

// The lock is not a resource: its calls are not counted as writes.
recorded!(Locks, locks {
    read acquire_lock(owner: &Owner, holder: &LockHolder) -> ProviderResult<Option<LockHolder>>;
    read release_lock(owner: &Owner, holder: &LockHolder) -> ProviderResult<()>;
    read break_lock(owner: &Owner) -> ProviderResult<Option<LockHolder>>;
    read lock_holder(owner: &Owner) -> ProviderResult<Option<LockHolder>>;
});

recorded!(Logs, logs {
    read read_logs(owner: &Owner, service: &str, query: &LogQuery) -> ProviderResult<LogPage>;
});

recorded!(SecretStore, secrets {
    read check_secrets(owner: &Owner, secrets: &BTreeMap<String, String>) -> ProviderResult<Vec<Problem>>;
});

recorded!(Autoscaler, autoscaler {
    read find_autoscaling(owner: &Owner, cluster: &str, service: &str) -> ProviderResult<Option<AutoscalingInfo>>;
    write ensure_autoscaling(desired: &DesiredAutoscaling) -> ProviderResult<AutoscalingInfo>;
    write delete_autoscaling(owner: &Owner, autoscaling: &AutoscalingInfo) -> ProviderResult<()>;
});

recorded!(LoadBalancer, load_balancer {
    read find_firewall(owner: &Owner, name: &str) -> ProviderResult<Option<FirewallInfo>>;
    write ensure_firewall(desired: &DesiredFirewall) -> ProviderResult<FirewallInfo>;
    write delete_firewall(owner: &Owner, group: &FirewallInfo) -> ProviderResult<()>;
    read find_load_balancer(owner: &Owner, name: &str) -> ProviderResult<Option<LoadBalancerInfo>>;
    write ensure_load_balancer(desired: &DesiredLoadBalancer) -> ProviderResult<LoadBalancerInfo>;
    write delete_load_balancer(owner: &Owner, lb: &LoadBalancerInfo) -> ProviderResult<()>;
    read find_backend(owner: &Owner, name: &str) -> ProviderResult<Option<BackendInfo>>;
    write ensure_backend(desired: &DesiredBackend) -> ProviderResult<BackendInfo>;
    write delete_backend(owner: &Owner, group: &BackendInfo) -> ProviderResult<()>;
    read list_listeners(lb: &LoadBalancerInfo) -> ProviderResult<Vec<ListenerInfo>>;
    write ensure_listener(lb: &LoadBalancerInfo, desired: &DesiredListener) -> ProviderResult<ListenerInfo>;
    write delete_listener(owner: &Owner, listener: &ListenerInfo) -> ProviderResult<()>;
    read target_health(group: &BackendInfo) -> ProviderResult<Vec<TargetHealth>>;
}
    fn serves_key_material(&self) -> bool {
        self.inner.load_balancer.serves_key_material()
    }
);

recorded!(Dns, dns {
    read find_zone(domain: &str) -> ProviderResult<Option<ZoneInfo>>;
    write create_zone(owner: &Owner, domain: &str, tags: &Tags) -> ProviderResult<ZoneInfo>;
    write delete_zone(owner: &Owner, zone: &ZoneInfo) -> ProviderResult<()>;
    read list_records(zone: &ZoneInfo) -> ProviderResult<Vec<DnsRecord>>;
    write upsert_records(zone: &ZoneInfo, records: &[DnsRecord]) -> ProviderResult<()>;
    write delete_records(owner: &Owner, zone: &ZoneInfo, records: &[DnsRecord]) -> ProviderResult<()>;
    read delegation(zone: &ZoneInfo) -> ProviderResult<Delegation>;
    read pointer_records(owner: &Owner, zone: &ZoneInfo, names: &[String], endpoint: &Endpoint)
        -> ProviderResult<Vec<DnsRecord>>;
}
    fn aliases_apex_to_host_names(&self) -> bool {
        self.inner.dns.aliases_apex_to_host_names()
    }
);

recorded!(Certificate, certificate {
    read find_certificates(owner: &Owner, domains: &[String]) -> ProviderResult<Vec<CertificateInfo>>;
    write request_certificate(desired: &DesiredCertificate) -> ProviderResult<CertificateInfo>;
    read describe_certificate(certificate: &CertificateInfo) -> ProviderResult<CertificateInfo>;
    write delete_certificate(owner: &Owner, certificate: &CertificateInfo) -> ProviderResult<()>;
    read key_material(certificate_id: &str) -> ProviderResult<Option<KeyMaterial>>;
    read http_challenge(token: &str) -> ProviderResult<Option<String>>;
}
    fn hands_out_key_material(&self) -> bool {
        self.inner.certificate.hands_out_key_material()
    }
);
