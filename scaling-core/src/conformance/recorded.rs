//! [`Recorded`]: any [`Providers`] wrapped so that every call is counted, reads apart from writes —
//! how the kit tells "a re-deploy makes 0 writes" the same way for every provider.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::providers::{
    BackendInfo, BuildRequest, Capabilities, Capable, Certificate, CertificateInfo, Cluster, ClusterInfo, Delegation,
    DesiredBackend, DesiredCertificate, DesiredCluster, DesiredFirewall, DesiredListener, DesiredLoadBalancer,
    DesiredRepository, DesiredRevision, DesiredService, Dns, DnsRecord, Endpoint, FirewallInfo, ImageArtifact,
    ImageRef, ListenerInfo, LoadBalancer, LoadBalancerInfo, Owner, Registry, RepositoryInfo, RevisionInfo, ServiceInfo,
    SupportResource, Tags, TargetHealth, ZoneInfo,
};
use crate::{ProviderResult, Providers};

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

#[async_trait]
impl Registry for Recorded {
    async fn find_repository(&self, owner: &Owner, name: &str) -> ProviderResult<Option<RepositoryInfo>> {
        self.note("find_repository", false);
        self.inner.registry.find_repository(owner, name).await
    }
    async fn ensure_repository(&self, desired: &DesiredRepository) -> ProviderResult<RepositoryInfo> {
        self.note("ensure_repository", true);
        self.inner.registry.ensure_repository(desired).await
    }
    async fn build_image(&self, request: &BuildRequest) -> ProviderResult<ImageArtifact> {
        self.note("build_image", false);
        self.inner.registry.build_image(request).await
    }
    async fn find_image(&self, repository: &RepositoryInfo, digest: &str) -> ProviderResult<Option<ImageRef>> {
        self.note("find_image", false);
        self.inner.registry.find_image(repository, digest).await
    }
    async fn push_image(&self, repository: &RepositoryInfo, artifact: &ImageArtifact) -> ProviderResult<ImageRef> {
        self.note("push_image", true);
        self.inner.registry.push_image(repository, artifact).await
    }
    async fn delete_repository(
        &self,
        owner: &Owner,
        repository: &RepositoryInfo,
        delete_images: bool,
    ) -> ProviderResult<()> {
        self.note("delete_repository", true);
        self.inner.registry.delete_repository(owner, repository, delete_images).await
    }
}

#[async_trait]
impl Cluster for Recorded {
    async fn find_cluster(&self, owner: &Owner, name: &str) -> ProviderResult<Option<ClusterInfo>> {
        self.note("find_cluster", false);
        self.inner.cluster.find_cluster(owner, name).await
    }
    async fn ensure_cluster(&self, desired: &DesiredCluster) -> ProviderResult<ClusterInfo> {
        self.note("ensure_cluster", true);
        self.inner.cluster.ensure_cluster(desired).await
    }
    async fn delete_cluster(&self, owner: &Owner, cluster: &ClusterInfo) -> ProviderResult<()> {
        self.note("delete_cluster", true);
        self.inner.cluster.delete_cluster(owner, cluster).await
    }
    async fn find_replica_firewall(&self, owner: &Owner, name: &str) -> ProviderResult<Option<FirewallInfo>> {
        self.note("find_replica_firewall", false);
        self.inner.cluster.find_replica_firewall(owner, name).await
    }
    async fn ensure_replica_firewall(&self, desired: &DesiredFirewall) -> ProviderResult<FirewallInfo> {
        self.note("ensure_replica_firewall", true);
        self.inner.cluster.ensure_replica_firewall(desired).await
    }
    async fn delete_replica_firewall(&self, owner: &Owner, group: &FirewallInfo) -> ProviderResult<()> {
        self.note("delete_replica_firewall", true);
        self.inner.cluster.delete_replica_firewall(owner, group).await
    }
    async fn find_revision(&self, owner: &Owner, family: &str) -> ProviderResult<Option<RevisionInfo>> {
        self.note("find_revision", false);
        self.inner.cluster.find_revision(owner, family).await
    }
    async fn register_revision(&self, desired: &DesiredRevision) -> ProviderResult<RevisionInfo> {
        self.note("register_revision", true);
        self.inner.cluster.register_revision(desired).await
    }
    async fn deregister_revisions(&self, owner: &Owner, family: &str) -> ProviderResult<()> {
        self.note("deregister_revisions", true);
        self.inner.cluster.deregister_revisions(owner, family).await
    }
    async fn find_service(
        &self,
        owner: &Owner,
        cluster: &ClusterInfo,
        name: &str,
    ) -> ProviderResult<Option<ServiceInfo>> {
        self.note("find_service", false);
        self.inner.cluster.find_service(owner, cluster, name).await
    }
    async fn ensure_service(&self, desired: &DesiredService) -> ProviderResult<ServiceInfo> {
        self.note("ensure_service", true);
        self.inner.cluster.ensure_service(desired).await
    }
    async fn scale_service(
        &self,
        owner: &Owner,
        service: &ServiceInfo,
        desired_count: u32,
    ) -> ProviderResult<ServiceInfo> {
        self.note("scale_service", true);
        self.inner.cluster.scale_service(owner, service, desired_count).await
    }
    async fn delete_service(&self, owner: &Owner, service: &ServiceInfo) -> ProviderResult<()> {
        self.note("delete_service", true);
        self.inner.cluster.delete_service(owner, service).await
    }
    async fn revision_ids(&self, owner: &Owner, family: &str) -> ProviderResult<Vec<String>> {
        self.note("revision_ids", false);
        self.inner.cluster.revision_ids(owner, family).await
    }
    async fn describe_revision(&self, owner: &Owner, id: &str) -> ProviderResult<Option<RevisionInfo>> {
        self.note("describe_revision", false);
        self.inner.cluster.describe_revision(owner, id).await
    }
    async fn deregister_revision(&self, owner: &Owner, id: &str) -> ProviderResult<()> {
        self.note("deregister_revision", true);
        self.inner.cluster.deregister_revision(owner, id).await
    }
    // The lock is not a resource: not counted as a write.
    async fn service_changed(&self, service: &ServiceInfo, within: std::time::Duration) {
        self.inner.cluster.service_changed(service, within).await
    }
    fn needed_support_resources(&self, owner: &Owner) -> Vec<SupportResource> {
        self.inner.cluster.needed_support_resources(owner)
    }
    async fn ensure_support_resources(&self, owner: &Owner, tags: &Tags) -> ProviderResult<Vec<SupportResource>> {
        self.note("ensure_support_resources", true);
        self.inner.cluster.ensure_support_resources(owner, tags).await
    }
    async fn find_support_resources(&self, owner: &Owner) -> ProviderResult<Vec<SupportResource>> {
        self.note("find_support_resources", false);
        self.inner.cluster.find_support_resources(owner).await
    }
    async fn delete_support_resource(&self, owner: &Owner, resource: &SupportResource) -> ProviderResult<()> {
        self.note("delete_support_resource", true);
        self.inner.cluster.delete_support_resource(owner, resource).await
    }
}

#[async_trait]
impl crate::providers::Locks for Recorded {
    async fn acquire_lock(
        &self,
        owner: &Owner,
        holder: &crate::providers::LockHolder,
    ) -> ProviderResult<Option<crate::providers::LockHolder>> {
        self.note("acquire_lock", false);
        self.inner.locks.acquire_lock(owner, holder).await
    }

    async fn release_lock(&self, owner: &Owner, holder: &crate::providers::LockHolder) -> ProviderResult<()> {
        self.note("release_lock", false);
        self.inner.locks.release_lock(owner, holder).await
    }

    async fn break_lock(&self, owner: &Owner) -> ProviderResult<Option<crate::providers::LockHolder>> {
        self.note("break_lock", false);
        self.inner.locks.break_lock(owner).await
    }

    async fn lock_holder(&self, owner: &Owner) -> ProviderResult<Option<crate::providers::LockHolder>> {
        self.note("lock_holder", false);
        self.inner.locks.lock_holder(owner).await
    }
}

#[async_trait]
impl crate::providers::Logs for Recorded {
    async fn read_logs(
        &self,
        owner: &Owner,
        service: &str,
        query: &crate::providers::LogQuery,
    ) -> ProviderResult<crate::providers::LogPage> {
        self.note("read_logs", false);
        self.inner.logs.read_logs(owner, service, query).await
    }
}

#[async_trait]
impl crate::providers::SecretStore for Recorded {
    async fn check_secrets(
        &self,
        owner: &Owner,
        secrets: &std::collections::BTreeMap<String, String>,
    ) -> ProviderResult<Vec<crate::Problem>> {
        self.note("check_secrets", false);
        self.inner.secrets.check_secrets(owner, secrets).await
    }
}

#[async_trait]
impl crate::providers::Autoscaler for Recorded {
    async fn find_autoscaling(
        &self,
        owner: &Owner,
        cluster: &str,
        service: &str,
    ) -> ProviderResult<Option<crate::providers::AutoscalingInfo>> {
        self.note("find_autoscaling", false);
        self.inner.autoscaler.find_autoscaling(owner, cluster, service).await
    }

    async fn ensure_autoscaling(
        &self,
        desired: &crate::providers::DesiredAutoscaling,
    ) -> ProviderResult<crate::providers::AutoscalingInfo> {
        self.note("ensure_autoscaling", true);
        self.inner.autoscaler.ensure_autoscaling(desired).await
    }

    async fn delete_autoscaling(
        &self,
        owner: &Owner,
        autoscaling: &crate::providers::AutoscalingInfo,
    ) -> ProviderResult<()> {
        self.note("delete_autoscaling", true);
        self.inner.autoscaler.delete_autoscaling(owner, autoscaling).await
    }
}

#[async_trait]
impl LoadBalancer for Recorded {
    async fn find_firewall(&self, owner: &Owner, name: &str) -> ProviderResult<Option<FirewallInfo>> {
        self.note("find_firewall", false);
        self.inner.load_balancer.find_firewall(owner, name).await
    }
    async fn ensure_firewall(&self, desired: &DesiredFirewall) -> ProviderResult<FirewallInfo> {
        self.note("ensure_firewall", true);
        self.inner.load_balancer.ensure_firewall(desired).await
    }
    async fn delete_firewall(&self, owner: &Owner, group: &FirewallInfo) -> ProviderResult<()> {
        self.note("delete_firewall", true);
        self.inner.load_balancer.delete_firewall(owner, group).await
    }
    async fn find_load_balancer(&self, owner: &Owner, name: &str) -> ProviderResult<Option<LoadBalancerInfo>> {
        self.note("find_load_balancer", false);
        self.inner.load_balancer.find_load_balancer(owner, name).await
    }
    async fn ensure_load_balancer(&self, desired: &DesiredLoadBalancer) -> ProviderResult<LoadBalancerInfo> {
        self.note("ensure_load_balancer", true);
        self.inner.load_balancer.ensure_load_balancer(desired).await
    }
    async fn delete_load_balancer(&self, owner: &Owner, lb: &LoadBalancerInfo) -> ProviderResult<()> {
        self.note("delete_load_balancer", true);
        self.inner.load_balancer.delete_load_balancer(owner, lb).await
    }
    async fn find_backend(&self, owner: &Owner, name: &str) -> ProviderResult<Option<BackendInfo>> {
        self.note("find_backend", false);
        self.inner.load_balancer.find_backend(owner, name).await
    }
    async fn ensure_backend(&self, desired: &DesiredBackend) -> ProviderResult<BackendInfo> {
        self.note("ensure_backend", true);
        self.inner.load_balancer.ensure_backend(desired).await
    }
    async fn delete_backend(&self, owner: &Owner, group: &BackendInfo) -> ProviderResult<()> {
        self.note("delete_backend", true);
        self.inner.load_balancer.delete_backend(owner, group).await
    }
    async fn list_listeners(&self, lb: &LoadBalancerInfo) -> ProviderResult<Vec<ListenerInfo>> {
        self.note("list_listeners", false);
        self.inner.load_balancer.list_listeners(lb).await
    }
    async fn ensure_listener(&self, lb: &LoadBalancerInfo, desired: &DesiredListener) -> ProviderResult<ListenerInfo> {
        self.note("ensure_listener", true);
        self.inner.load_balancer.ensure_listener(lb, desired).await
    }
    async fn delete_listener(&self, owner: &Owner, listener: &ListenerInfo) -> ProviderResult<()> {
        self.note("delete_listener", true);
        self.inner.load_balancer.delete_listener(owner, listener).await
    }
    async fn target_health(&self, group: &BackendInfo) -> ProviderResult<Vec<TargetHealth>> {
        self.note("target_health", false);
        self.inner.load_balancer.target_health(group).await
    }
}

#[async_trait]
impl Dns for Recorded {
    async fn find_zone(&self, domain: &str) -> ProviderResult<Option<ZoneInfo>> {
        self.note("find_zone", false);
        self.inner.dns.find_zone(domain).await
    }
    async fn create_zone(&self, owner: &Owner, domain: &str, tags: &Tags) -> ProviderResult<ZoneInfo> {
        self.note("create_zone", true);
        self.inner.dns.create_zone(owner, domain, tags).await
    }
    async fn delete_zone(&self, owner: &Owner, zone: &ZoneInfo) -> ProviderResult<()> {
        self.note("delete_zone", true);
        self.inner.dns.delete_zone(owner, zone).await
    }
    async fn list_records(&self, zone: &ZoneInfo) -> ProviderResult<Vec<DnsRecord>> {
        self.note("list_records", false);
        self.inner.dns.list_records(zone).await
    }
    async fn upsert_records(&self, zone: &ZoneInfo, records: &[DnsRecord]) -> ProviderResult<()> {
        self.note("upsert_records", true);
        self.inner.dns.upsert_records(zone, records).await
    }
    async fn delete_records(&self, owner: &Owner, zone: &ZoneInfo, records: &[DnsRecord]) -> ProviderResult<()> {
        self.note("delete_records", true);
        self.inner.dns.delete_records(owner, zone, records).await
    }
    async fn delegation(&self, zone: &ZoneInfo) -> ProviderResult<Delegation> {
        self.note("delegation", false);
        self.inner.dns.delegation(zone).await
    }
    async fn pointer_records(
        &self,
        owner: &Owner,
        zone: &ZoneInfo,
        names: &[String],
        endpoint: &Endpoint,
    ) -> ProviderResult<Vec<DnsRecord>> {
        self.note("pointer_records", false);
        self.inner.dns.pointer_records(owner, zone, names, endpoint).await
    }
}

#[async_trait]
impl Certificate for Recorded {
    async fn find_certificates(&self, owner: &Owner, domains: &[String]) -> ProviderResult<Vec<CertificateInfo>> {
        self.note("find_certificates", false);
        self.inner.certificate.find_certificates(owner, domains).await
    }
    async fn request_certificate(&self, desired: &DesiredCertificate) -> ProviderResult<CertificateInfo> {
        self.note("request_certificate", true);
        self.inner.certificate.request_certificate(desired).await
    }
    async fn describe_certificate(&self, certificate: &CertificateInfo) -> ProviderResult<CertificateInfo> {
        self.note("describe_certificate", false);
        self.inner.certificate.describe_certificate(certificate).await
    }
    async fn delete_certificate(&self, owner: &Owner, certificate: &CertificateInfo) -> ProviderResult<()> {
        self.note("delete_certificate", true);
        self.inner.certificate.delete_certificate(owner, certificate).await
    }
    async fn key_material(&self, certificate_id: &str) -> ProviderResult<Option<crate::providers::KeyMaterial>> {
        self.note("key_material", false);
        self.inner.certificate.key_material(certificate_id).await
    }
}
