//! The resource names derived from the app name: the seed's naming, in one place. Every provider
//! names its resources after these (AWS exactly; a provider with fewer resources uses fewer).

use serde::Serialize;

/// The names of every resource of one app, as in the seed recipe (`app-alb`, `app-tg`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceNames {
    /// The app name everything derives from.
    pub app: String,
    /// Image repository: `<app>-repository`.
    pub repository: String,
    /// The load balancer's firewall: `<app>-alb-sg`.
    pub load_balancer_firewall: String,
    /// The replicas' firewall, admitting only the load balancer: `<app>-from-alb-sg`.
    pub replica_firewall: String,
    /// Cluster: `<app>-cluster`.
    pub cluster: String,
    /// The name every revision of what a replica runs shares: `<app>-taskdef`.
    pub revision: String,
    /// Container: `<app>-container`.
    pub container: String,
    /// Service: `<app>-service`.
    pub service: String,
    /// Load balancer: `<app>-alb`.
    pub load_balancer: String,
    /// The pool of replicas the load balancer forwards to: `<app>-tg`.
    pub backend: String,
}

impl ResourceNames {
    /// The names for `app`.
    pub fn new(app: &str) -> Self {
        Self {
            app: app.to_string(),
            repository: format!("{app}-repository"),
            load_balancer_firewall: format!("{app}-alb-sg"),
            replica_firewall: format!("{app}-from-alb-sg"),
            cluster: format!("{app}-cluster"),
            revision: format!("{app}-taskdef"),
            container: format!("{app}-container"),
            service: format!("{app}-service"),
            load_balancer: format!("{app}-alb"),
            backend: format!("{app}-tg"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_seed() {
        let names = ResourceNames::new("app");
        assert_eq!(
            [&names.load_balancer_firewall, &names.replica_firewall, &names.cluster, &names.revision],
            ["app-alb-sg", "app-from-alb-sg", "app-cluster", "app-taskdef"]
        );
        assert_eq!(
            [&names.container, &names.service, &names.load_balancer, &names.backend],
            ["app-container", "app-service", "app-alb", "app-tg"]
        );
    }
}
