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
    /// The load balancer's security group.
    LoadBalancerSecurityGroup,
    /// The load balancer.
    LoadBalancer,
    /// Waiting until the load balancer is active.
    LoadBalancerActive,
    /// The target group.
    TargetGroup,
    /// The HTTP:80 listener (forwarding first, so tasks can attach before HTTPS is ready).
    HttpListener,
    /// The HTTPS:443 listener.
    HttpsListener,
    /// HTTP:80 turned into a redirect to HTTPS:443.
    HttpRedirect,
    /// The alias records of the apex and every alias.
    AliasRecords,
    /// The cluster.
    Cluster,
    /// The tasks' security group.
    TaskSecurityGroup,
    /// The task definition.
    TaskDefinition,
    /// The service.
    Service,
    /// Waiting until the service is stable.
    ServiceStable,
    /// Removing what the spec no longer wants (a replaced certificate, a removed alias).
    Cleanup,
}

impl StepId {
    /// Every step, each after its dependencies.
    pub const ALL: [StepId; 20] = [
        StepId::Repository,
        StepId::Image,
        StepId::Zone,
        StepId::Certificate,
        StepId::ValidationRecords,
        StepId::CertificateIssued,
        StepId::LoadBalancerSecurityGroup,
        StepId::LoadBalancer,
        StepId::LoadBalancerActive,
        StepId::TargetGroup,
        StepId::HttpListener,
        StepId::HttpsListener,
        StepId::HttpRedirect,
        StepId::AliasRecords,
        StepId::Cluster,
        StepId::TaskSecurityGroup,
        StepId::TaskDefinition,
        StepId::Service,
        StepId::ServiceStable,
        StepId::Cleanup,
    ];

    /// The steps that must finish before this one starts.
    pub fn dependencies(self) -> &'static [StepId] {
        use StepId::*;
        match self {
            Repository | Zone | Certificate | LoadBalancerSecurityGroup | TargetGroup | Cluster => &[],
            Image => &[Repository],
            ValidationRecords => &[Zone, Certificate],
            CertificateIssued => &[ValidationRecords],
            LoadBalancer => &[LoadBalancerSecurityGroup],
            LoadBalancerActive => &[LoadBalancer],
            HttpListener => &[LoadBalancer, TargetGroup],
            HttpsListener => &[LoadBalancer, TargetGroup, CertificateIssued],
            HttpRedirect => &[HttpListener, HttpsListener],
            AliasRecords => &[Zone, LoadBalancer],
            TaskSecurityGroup => &[LoadBalancerSecurityGroup],
            TaskDefinition => &[Image],
            Service => &[Cluster, TaskSecurityGroup, TaskDefinition, TargetGroup, HttpListener],
            ServiceStable => &[Service],
            Cleanup => &[HttpListener, HttpsListener, AliasRecords, ValidationRecords],
        }
    }

    /// When destroy removes this step's resource: one round after the latest of the steps that depend
    /// on it (0 for a step nothing depends on). The deploy graph reversed, so nothing is deleted while
    /// something built on it remains. `Cleanup` is left out: it depends on everything it cleans.
    pub fn teardown_round(self) -> usize {
        StepId::ALL
            .into_iter()
            .filter(|other| *other != StepId::Cleanup && other.dependencies().contains(&self))
            .map(|dependent| dependent.teardown_round() + 1)
            .max()
            .unwrap_or(0)
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
            LoadBalancerSecurityGroup => "load_balancer_security_group",
            LoadBalancer => "load_balancer",
            LoadBalancerActive => "load_balancer_active",
            TargetGroup => "target_group",
            HttpListener => "http_listener",
            HttpsListener => "https_listener",
            HttpRedirect => "http_redirect",
            AliasRecords => "alias_records",
            Cluster => "cluster",
            TaskSecurityGroup => "task_security_group",
            TaskDefinition => "task_definition",
            Service => "service",
            ServiceStable => "service_stable",
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
        assert!(StepId::Service.teardown_round() < StepId::TaskSecurityGroup.teardown_round());
        assert!(StepId::TaskSecurityGroup.teardown_round() < StepId::LoadBalancerSecurityGroup.teardown_round());
        assert!(StepId::HttpsListener.teardown_round() < StepId::Certificate.teardown_round());
    }

    #[test]
    fn independent_roots_do_not_wait_for_each_other() {
        for root in
            [StepId::Zone, StepId::Certificate, StepId::LoadBalancerSecurityGroup, StepId::Cluster, StepId::Repository]
        {
            assert!(root.dependencies().is_empty(), "{root} should start at once");
        }
    }
}
