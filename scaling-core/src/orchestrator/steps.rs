//! The deploy steps and their dependencies: the one table both the planner and the runner use.

use std::fmt;

use serde::Serialize;

/// One step of a deployment. [`StepId::ALL`] lists them in an order where every step follows its
/// dependencies. Shown and saved by its [`name`](Self::name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
    /// A step the provider adds of its own, by its name (`StepId::Own("namespace")`; AWS: the execution
    /// role and log group every revision needs; Kubernetes: the app's namespace, before everything
    /// else): its resources are of kinds the core does not model
    /// ([`OwnResource`](crate::providers::OwnResource)), planned with a row each, made through
    /// [`OwnSteps`](crate::providers::OwnSteps) and removed by destroy. The provider places it in its
    /// [`StepGraph`](crate::providers::StepGraph); the name is snake_case and none of the recipe's.
    Own(&'static str),
}

/// One row of the recipe's table: the step, its stable name, its neutral noun, and the steps it waits
/// for in the neutral graph.
type Row = (StepId, &'static str, &'static str, &'static [StepId]);

/// The seed's recipe, each step after its dependencies: the one table [`StepId::ALL`],
/// [`StepId::name`], [`StepId::noun`] and [`StepId::dependencies`] read.
const RECIPE: [Row; 21] = {
    use StepId::*;
    [
        (Repository, "repository", "repository", &[]),
        (Image, "image", "image", &[Repository]),
        (Zone, "zone", "zone", &[]),
        (Certificate, "certificate", "certificate", &[]),
        (ValidationRecords, "validation_records", "certificate validation records", &[Zone, Certificate]),
        (CertificateIssued, "certificate_issued", "certificate", &[ValidationRecords]),
        (LoadBalancerFirewall, "load_balancer_firewall", "firewall", &[]),
        (LoadBalancer, "load_balancer", "load balancer", &[LoadBalancerFirewall]),
        (LoadBalancerActive, "load_balancer_active", "load balancer", &[LoadBalancer]),
        (Backend, "backend", "backend pool", &[]),
        (HttpListener, "http_listener", "listener", &[LoadBalancer, Backend]),
        (HttpsListener, "https_listener", "listener", &[LoadBalancer, Backend, CertificateIssued]),
        (HttpRedirect, "http_redirect", "listener", &[HttpListener, HttpsListener]),
        (DnsRecords, "dns_records", "DNS records", &[Zone, LoadBalancer]),
        (Cluster, "cluster", "cluster", &[]),
        (ReplicaFirewall, "replica_firewall", "firewall", &[LoadBalancerFirewall]),
        (Revision, "revision", "revision", &[Image]),
        (Service, "service", "service", &[Cluster, ReplicaFirewall, Revision, Backend]),
        (ServiceStable, "service_stable", "service", &[Service]),
        (Autoscaling, "autoscaling", "autoscaling", &[Service, LoadBalancer, Backend]),
        (Cleanup, "cleanup", "cleanup", &[HttpListener, HttpsListener, DnsRecords, ValidationRecords]),
    ]
};

impl StepId {
    /// Every step of the seed's recipe, each after its dependencies (a provider's own steps are its
    /// graph's: [`StepGraph::steps`](crate::providers::StepGraph::steps)).
    pub const ALL: [StepId; 21] = {
        let mut all = [StepId::Cleanup; 21];
        let mut i = 0;
        while i < all.len() {
            all[i] = RECIPE[i].0;
            i += 1;
        }
        all
    };

    /// Its place in [`StepId::ALL`]; `None` for a provider's own step.
    pub const fn recipe_index(self) -> Option<usize> {
        use StepId::*;
        Some(match self {
            Repository => 0,
            Image => 1,
            Zone => 2,
            Certificate => 3,
            ValidationRecords => 4,
            CertificateIssued => 5,
            LoadBalancerFirewall => 6,
            LoadBalancer => 7,
            LoadBalancerActive => 8,
            Backend => 9,
            HttpListener => 10,
            HttpsListener => 11,
            HttpRedirect => 12,
            DnsRecords => 13,
            Cluster => 14,
            ReplicaFirewall => 15,
            Revision => 16,
            Service => 17,
            ServiceStable => 18,
            Autoscaling => 19,
            Cleanup => 20,
            Own(_) => return None,
        })
    }

    /// The step called `name` ([`StepId::name`]): one of the recipe's, or else a provider's own.
    pub fn from_name(name: &str) -> StepId {
        StepId::ALL.into_iter().find(|s| s.name() == name).unwrap_or_else(|| StepId::Own(interned(name)))
    }

    /// The steps that must finish before this one starts, in the neutral table
    /// ([`StepGraph::RECIPE`](crate::providers::StepGraph::RECIPE)); a provider declares its own graph.
    pub const fn dependencies(self) -> &'static [StepId] {
        match self.recipe_index() {
            Some(i) => RECIPE[i].3,
            None => &[],
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
    pub const fn noun(self) -> &'static str {
        match self.recipe_index() {
            Some(i) => RECIPE[i].2,
            None => "provider step",
        }
    }

    /// A short, stable name (`load_balancer_active`; a provider's own step's name).
    pub const fn name(self) -> &'static str {
        match (self, self.recipe_index()) {
            (StepId::Own(name), _) => name,
            (_, Some(i)) => RECIPE[i].1,
            (_, None) => unreachable!(),
        }
    }

    /// Why this step's name cannot be a provider's own (empty, not snake_case, or one of the recipe's).
    pub fn own_name_problem(self) -> Option<String> {
        let StepId::Own(name) = self else { return None };
        let snake = !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !snake {
            return Some(format!("the provider's own step `{name}` needs a snake_case name, e.g. `namespace`"));
        }
        StepId::ALL
            .iter()
            .any(|s| s.name() == name)
            .then(|| format!("the provider's own step `{name}` has the name of the recipe's step: give it another"))
    }
}

/// `name` as a `&'static str`: each distinct own step name read back (from a saved report) is kept
/// once for the life of the process.
fn interned(name: &str) -> &'static str {
    static NAMES: std::sync::Mutex<std::collections::BTreeSet<&'static str>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut names = NAMES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    match names.get(name) {
        Some(kept) => kept,
        None => {
            let kept: &'static str = Box::leak(name.to_owned().into_boxed_str());
            names.insert(kept);
            kept
        }
    }
}

impl Serialize for StepId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for StepId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(StepId::from_name(&name))
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
        for (i, row) in RECIPE.iter().enumerate() {
            assert_eq!(row.0.recipe_index(), Some(i), "{} is out of place in the table", row.1);
        }
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
            [StepId::Zone, StepId::Certificate, StepId::LoadBalancerFirewall, StepId::Cluster, StepId::Own("namespace")]
        {
            assert!(root.dependencies().is_empty(), "{root} should start at once");
        }
    }

    #[test]
    fn a_step_is_saved_by_its_name_and_read_back_the_same() {
        for step in StepId::ALL.into_iter().chain([StepId::Own("namespace")]) {
            let saved = serde_json::to_string(&step).unwrap();
            assert_eq!(saved, format!("\"{}\"", step.name()));
            assert_eq!(serde_json::from_str::<StepId>(&saved).unwrap(), step);
        }
    }

    #[test]
    fn an_own_step_needs_a_name_of_its_own() {
        assert_eq!(StepId::Own("namespace").own_name_problem(), None);
        for bad in ["", "Namespace", "name space", "service", "cluster"] {
            assert!(StepId::Own(bad).own_name_problem().is_some(), "`{bad}` was accepted");
        }
        let graph = crate::providers::StepGraph::RECIPE.with_step(StepId::Own("service"));
        let conflicts = crate::Capabilities::CLOUD.with_graph(graph).conflicts();
        assert!(conflicts.iter().any(|c| c.contains("`service`")), "{conflicts:?}");
    }
}
