//! The names of an app's resources: [`Naming`] is how a provider derives them from the app name (a
//! suffix per kind, declared in its [`Capabilities`](crate::Capabilities)), [`ResourceNames`] the
//! names it gives. The core never picks a provider's names: AWS declares the seed's (`app-alb`,
//! `app-tg`, …), the local provider its own, and a provider that declares none gets [`Naming::PLAIN`].

use serde::Serialize;

/// A suffix per kind of resource, appended to the app name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Naming {
    /// The image repository.
    pub repository: &'static str,
    /// The load balancer's firewall.
    pub load_balancer_firewall: &'static str,
    /// The replicas' firewall, admitting only the load balancer.
    pub replica_firewall: &'static str,
    /// The cluster.
    pub cluster: &'static str,
    /// The name every revision of what a replica runs shares.
    pub revision: &'static str,
    /// The container in a revision.
    pub container: &'static str,
    /// The service that keeps the replicas running.
    pub service: &'static str,
    /// The load balancer.
    pub load_balancer: &'static str,
    /// The pool of replicas the load balancer forwards to.
    pub backend: &'static str,
}

impl Naming {
    /// Every resource named after the app itself, but the two firewalls, which must differ from each
    /// other: `app`, `app-lb-firewall`, `app-replica-firewall`.
    pub const PLAIN: Naming = Naming {
        repository: "",
        load_balancer_firewall: "-lb-firewall",
        replica_firewall: "-replica-firewall",
        cluster: "",
        revision: "",
        container: "",
        service: "",
        load_balancer: "",
        backend: "",
    };

    /// The names of `app`'s resources.
    pub fn names(&self, app: &str) -> ResourceNames {
        let named = |suffix: &str| format!("{app}{suffix}");
        ResourceNames {
            app: app.to_string(),
            repository: named(self.repository),
            load_balancer_firewall: named(self.load_balancer_firewall),
            replica_firewall: named(self.replica_firewall),
            cluster: named(self.cluster),
            revision: named(self.revision),
            container: named(self.container),
            service: named(self.service),
            load_balancer: named(self.load_balancer),
            backend: named(self.backend),
        }
    }

    /// The longest suffix, for providers that limit the length of a name.
    pub fn longest_suffix(&self) -> usize {
        [
            self.repository,
            self.load_balancer_firewall,
            self.replica_firewall,
            self.cluster,
            self.revision,
            self.container,
            self.service,
            self.load_balancer,
            self.backend,
        ]
        .iter()
        .map(|s| s.len())
        .max()
        .unwrap_or(0)
    }
}

impl Default for Naming {
    fn default() -> Self {
        Self::PLAIN
    }
}

/// The names of every resource of one app, as its provider's [`Naming`] derives them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceNames {
    /// The app name everything derives from.
    pub app: String,
    /// The image repository.
    pub repository: String,
    /// The load balancer's firewall.
    pub load_balancer_firewall: String,
    /// The replicas' firewall.
    pub replica_firewall: String,
    /// The cluster.
    pub cluster: String,
    /// The name every revision shares.
    pub revision: String,
    /// The container.
    pub container: String,
    /// The service.
    pub service: String,
    /// The load balancer.
    pub load_balancer: String,
    /// The backend pool.
    pub backend: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_the_app_name_with_two_distinct_firewalls() {
        let names = Naming::PLAIN.names("app");
        assert_eq!([&names.cluster, &names.service, &names.load_balancer, &names.backend], ["app"; 4]);
        assert_ne!(names.load_balancer_firewall, names.replica_firewall);
        assert_eq!(Naming::PLAIN.longest_suffix(), "-replica-firewall".len());
    }
}
