//! The deploy steps and their dependencies: the one table both the planner and the runner use.

use std::fmt;

use serde::Serialize;

/// One step of a deployment. [`StepId::ALL`] lists them in an order where every step follows its
/// dependencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepId {
    /// The image repository.
    Repository,
    /// The image, pushed by digest.
    Image,
    /// The domain's DNS zone.
    Zone,
    /// The certificate request.
    Certificate,
    /// The certificate's DNS validation records.
    ValidationRecords,
    /// Waiting until the certificate is issued.
    CertificateIssued,
    /// The load balancer's firewall (AWS: a security group).
    LoadBalancerFirewall,
    /// The load balancer.
    LoadBalancer,
    /// Waiting until the load balancer is active.
    LoadBalancerActive,
    /// The pool of replicas the load balancer forwards to (AWS: a target group).
    Backend,
    /// The HTTP:80 listener (forwarding first, so tasks can attach before HTTPS is ready).
    HttpListener,
    /// The HTTPS:443 listener.
    HttpsListener,
    /// HTTP:80 turned into a redirect to HTTPS:443.
    HttpRedirect,
    /// The DNS records that lead the apex and every alias to the load balancer's endpoint.
    DnsRecords,
    /// The cluster.
    Cluster,
    /// What the cluster provider needs beside it to run replicas (AWS: the execution role, the log group).
    SupportResources,
    /// The replicas' firewall, admitting only the load balancer (AWS: a security group).
    ReplicaFirewall,
    /// What one replica runs, as a new revision when it changes (AWS: a task definition).
    Revision,
    /// The service.
    Service,
    /// Waiting until the service is stable.
    ServiceStable,
    /// Autoscaling of the service between the spec's bounds (AWS: a scalable target and its policies).
    Autoscaling,
    /// Removing what the spec no longer wants (a replaced certificate, a removed alias).
    Cleanup,
}

impl StepId {
    /// Every step, each after its dependencies.
    pub const ALL: [StepId; 22] = [
        StepId::Repository,
        StepId::Image,
        StepId::Zone,
        StepId::Certificate,
        StepId::ValidationRecords,
        StepId::CertificateIssued,
        StepId::LoadBalancerFirewall,
        StepId::LoadBalancer,
        StepId::LoadBalancerActive,
        StepId::Backend,
        StepId::HttpListener,
        StepId::HttpsListener,
        StepId::HttpRedirect,
        StepId::DnsRecords,
        StepId::Cluster,
        StepId::SupportResources,
        StepId::ReplicaFirewall,
        StepId::Revision,
        StepId::Service,
        StepId::ServiceStable,
        StepId::Autoscaling,
        StepId::Cleanup,
    ];

    /// The steps that must finish before this one starts, in the neutral table
    /// ([`StepGraph::RECIPE`](crate::providers::StepGraph::RECIPE)); a provider declares its own graph.
    pub const fn dependencies(self) -> &'static [StepId] {
        use StepId::*;
        match self {
            Repository | Zone | Certificate | LoadBalancerFirewall | Backend | Cluster | SupportResources => &[],
            Image => &[Repository],
            ValidationRecords => &[Zone, Certificate],
            CertificateIssued => &[ValidationRecords],
            LoadBalancer => &[LoadBalancerFirewall],
            LoadBalancerActive => &[LoadBalancer],
            HttpListener => &[LoadBalancer, Backend],
            HttpsListener => &[LoadBalancer, Backend, CertificateIssued],
            HttpRedirect => &[HttpListener, HttpsListener],
            DnsRecords => &[Zone, LoadBalancer],
            ReplicaFirewall => &[LoadBalancerFirewall],
            Revision => &[Image, SupportResources],
            Service => &[Cluster, ReplicaFirewall, Revision, Backend],
            ServiceStable => &[Service],
            Autoscaling => &[Service, LoadBalancer, Backend],
            Cleanup => &[HttpListener, HttpsListener, DnsRecords, ValidationRecords],
        }
    }

    /// When destroy removes this step's resource on a cloud with every step
    /// ([`Capabilities::CLOUD`](crate::Capabilities::CLOUD)): see
    /// [`Capabilities::teardown_round`](crate::Capabilities::teardown_round).
    pub fn teardown_round(self) -> usize {
        crate::Capabilities::CLOUD.teardown_round(self)
    }

    /// The neutral noun for this step's resource (`firewall`, `backend pool`, `revision`); a provider
    /// may call it otherwise ([`Capabilities::noun`](crate::Capabilities::noun)).
    pub fn noun(self) -> &'static str {
        use StepId::*;
        match self {
            Repository => "repository",
            Image => "image",
            Zone => "zone",
            Certificate | CertificateIssued => "certificate",
            ValidationRecords => "certificate validation records",
            LoadBalancerFirewall | ReplicaFirewall => "firewall",
            LoadBalancer | LoadBalancerActive => "load balancer",
            Backend => "backend pool",
            HttpListener | HttpsListener | HttpRedirect => "listener",
            DnsRecords => "DNS records",
            Cluster => "cluster",
            SupportResources => "support resources",
            Revision => "revision",
            Service | ServiceStable => "service",
            Autoscaling => "autoscaling",
            Cleanup => "cleanup",
        }
    }

    /// True for steps that only wait for the provider (no resource of their own).
    pub fn is_wait(self) -> bool {
        matches!(self, StepId::CertificateIssued | StepId::LoadBalancerActive | StepId::ServiceStable)
    }

    /// A short, stable name (`load_balancer_active`).
    pub fn name(self) -> &'static str {
        use StepId::*;
        match self {
            Repository => "repository",
            Image => "image",
            Zone => "zone",
            Certificate => "certificate",
            ValidationRecords => "validation_records",
            CertificateIssued => "certificate_issued",
            LoadBalancerFirewall => "load_balancer_firewall",
            LoadBalancer => "load_balancer",
            LoadBalancerActive => "load_balancer_active",
            Backend => "backend",
            HttpListener => "http_listener",
            HttpsListener => "https_listener",
            HttpRedirect => "http_redirect",
            DnsRecords => "dns_records",
            Cluster => "cluster",
            SupportResources => "support_resources",
            ReplicaFirewall => "replica_firewall",
            Revision => "revision",
            Service => "service",
            ServiceStable => "service_stable",
            Autoscaling => "autoscaling",
            Cleanup => "cleanup",
        }
    }
}

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_follows_its_dependencies() {
        for (i, step) in StepId::ALL.iter().enumerate() {
            for dep in step.dependencies() {
                let at = StepId::ALL.iter().position(|s| s == dep).unwrap();
                assert!(at < i, "{step} is listed before its dependency {dep}");
            }
        }
    }

    #[test]
    fn destroy_removes_what_depends_on_a_resource_before_the_resource() {
        for step in StepId::ALL.into_iter().filter(|s| *s != StepId::Cleanup) {
            for dependency in step.dependencies() {
                assert!(
                    dependency.teardown_round() > step.teardown_round(),
                    "{dependency} must go after {step}, which is built on it"
                );
            }
        }
        assert!(StepId::Service.teardown_round() < StepId::ReplicaFirewall.teardown_round());
        assert!(StepId::ReplicaFirewall.teardown_round() < StepId::LoadBalancerFirewall.teardown_round());
        assert!(StepId::HttpsListener.teardown_round() < StepId::Certificate.teardown_round());
    }

    #[test]
    fn independent_roots_do_not_wait_for_each_other() {
        for root in
            [StepId::Zone, StepId::Certificate, StepId::LoadBalancerFirewall, StepId::Cluster, StepId::SupportResources]
        {
            assert!(root.dependencies().is_empty(), "{root} should start at once");
        }
    }
}
