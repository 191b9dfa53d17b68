//! The resource names derived from the app name: the seed's naming, in one place.

use serde::Serialize;

/// The names of every resource of one app, as in the seed recipe (`app-alb`, `app-tg`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceNames {
    /// The app name everything derives from.
    pub app: String,
    /// Image repository: `<app>-repository`.
    pub repository: String,
    /// Load balancer security group: `<app>-alb-sg`.
    pub load_balancer_security_group: String,
    /// Task security group: `<app>-from-alb-sg`.
    pub task_security_group: String,
    /// Cluster: `<app>-cluster`.
    pub cluster: String,
    /// Task definition family: `<app>-taskdef`.
    pub task_definition: String,
    /// Container: `<app>-container`.
    pub container: String,
    /// Service: `<app>-service`.
    pub service: String,
    /// Load balancer: `<app>-alb`.
    pub load_balancer: String,
    /// Target group: `<app>-tg`.
    pub target_group: String,
    /// Log group: `/ecs/<app>`.
    pub log_group: String,
}

impl ResourceNames {
    /// The names for `app`.
    pub fn new(app: &str) -> Self {
        Self {
            app: app.to_string(),
            repository: format!("{app}-repository"),
            load_balancer_security_group: format!("{app}-alb-sg"),
            task_security_group: format!("{app}-from-alb-sg"),
            cluster: format!("{app}-cluster"),
            task_definition: format!("{app}-taskdef"),
            container: format!("{app}-container"),
            service: format!("{app}-service"),
            load_balancer: format!("{app}-alb"),
            target_group: format!("{app}-tg"),
            log_group: format!("/ecs/{app}"),
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
            [&names.load_balancer_security_group, &names.task_security_group, &names.cluster, &names.task_definition],
            ["app-alb-sg", "app-from-alb-sg", "app-cluster", "app-taskdef"]
        );
        assert_eq!(
            [&names.container, &names.service, &names.load_balancer, &names.target_group],
            ["app-container", "app-service", "app-alb", "app-tg"]
        );
    }
}
