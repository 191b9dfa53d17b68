//! [`LoadBalancer`] locally: listeners of the embedded balancer on loopback ports (HTTP:80 and
//! HTTPS:443 map to `provider.local.http_port` / `https_port`), target groups as replica pools.

use async_trait::async_trait;
use scaling_core::providers::{
    BackendInfo, DesiredBackend, DesiredFirewall, DesiredListener, DesiredLoadBalancer, FirewallInfo, ListenerAction,
    ListenerInfo, LoadBalancer, LoadBalancerInfo, Owner, TargetHealth,
};
use scaling_core::{Certificate, ErrorKind, ProviderError, ProviderResult};

use crate::balancer::{tls_config, ListenerConfig, PoolSettings, Route};
use crate::cloud::{lock, LocalCloud};

/// `dashmath-alb` answers as `dashmath.localhost`.
fn local_name(lb: LoadBalancerInfo, owner: &Owner) -> LoadBalancerInfo {
    LoadBalancerInfo { endpoint: scaling_core::providers::Endpoint::hostname(format!("{}.localhost", owner.app)), ..lb }
}

fn owner_of(tags: &scaling_core::providers::Tags) -> Owner {
    Owner::new(tags.get(Owner::TAG).cloned().unwrap_or_default())
}

impl LocalCloud {
    fn bind_port(&self, port: u16) -> u16 {
        match port {
            80 => self.settings.http_port,
            443 => self.settings.https_port,
            other => other,
        }
    }

    fn with_public_port(&self, listener: ListenerInfo) -> ListenerInfo {
        let public_port = self.balancer.listener_addr(listener.port).map_or(listener.public_port, |a| a.port());
        ListenerInfo { public_port, ..listener }
    }

    async fn tls_for(
        &self,
        desired: &DesiredListener,
        certificate_id: &str,
    ) -> ProviderResult<std::sync::Arc<rustls::ServerConfig>> {
        let fail = |kind, message: String| ProviderError::new("ensure_listener", certificate_id, kind, message);
        let owned = self.memory.find_certificates(&owner_of(&desired.tags)).await?;
        let cert = owned
            .into_iter()
            .find(|c| c.id == certificate_id)
            .ok_or_else(|| fail(ErrorKind::NotFound, "no such certificate".into()))?;
        let names: Vec<String> = std::iter::once(cert.domain).chain(cert.alternative_names).collect();
        let issued = self.ca()?.issue(&names).map_err(|e| fail(ErrorKind::Other, e.to_string()))?;
        tls_config(issued, desired.min_tls_version.unwrap_or_default())
            .map_err(|e| fail(ErrorKind::InvalidRequest, e.to_string()))
    }
}

#[async_trait]
impl LoadBalancer for LocalCloud {
    async fn find_firewall(&self, owner: &Owner, name: &str) -> ProviderResult<Option<FirewallInfo>> {
        self.memory.find_firewall(owner, name).await
    }

    async fn ensure_firewall(&self, desired: &DesiredFirewall) -> ProviderResult<FirewallInfo> {
        self.memory.ensure_firewall(desired).await
    }

    async fn delete_firewall(&self, owner: &Owner, group: &FirewallInfo) -> ProviderResult<()> {
        self.memory.delete_firewall(owner, group).await
    }

    async fn find_load_balancer(&self, owner: &Owner, name: &str) -> ProviderResult<Option<LoadBalancerInfo>> {
        Ok(self.memory.find_load_balancer(owner, name).await?.map(|lb| local_name(lb, owner)))
    }

    async fn ensure_load_balancer(&self, desired: &DesiredLoadBalancer) -> ProviderResult<LoadBalancerInfo> {
        let lb = self.memory.ensure_load_balancer(desired).await?;
        Ok(local_name(lb, &owner_of(&desired.tags)))
    }

    async fn delete_load_balancer(&self, owner: &Owner, lb: &LoadBalancerInfo) -> ProviderResult<()> {
        self.memory.delete_load_balancer(owner, lb).await?;
        self.balancer.shutdown().await;
        Ok(())
    }

    async fn find_backend(&self, owner: &Owner, name: &str) -> ProviderResult<Option<BackendInfo>> {
        self.memory.find_backend(owner, name).await
    }

    async fn ensure_backend(&self, desired: &DesiredBackend) -> ProviderResult<BackendInfo> {
        let group = self.memory.ensure_backend(desired).await?;
        let settings = PoolSettings {
            health: desired.health_check.clone(),
            stickiness: desired.stickiness,
            algorithm: desired.algorithm,
            ..PoolSettings::default()
        };
        self.balancer.pool(&group.id).configure(settings);
        lock(&self.target_groups).insert(group.id.clone(), group.clone());
        Ok(group)
    }

    async fn delete_backend(&self, owner: &Owner, group: &BackendInfo) -> ProviderResult<()> {
        self.memory.delete_backend(owner, group).await?;
        self.balancer.remove_pool(&group.id);
        lock(&self.target_groups).remove(&group.id);
        Ok(())
    }

    async fn list_listeners(&self, lb: &LoadBalancerInfo) -> ProviderResult<Vec<ListenerInfo>> {
        Ok(self.memory.list_listeners(lb).await?.into_iter().map(|l| self.with_public_port(l)).collect())
    }

    async fn ensure_listener(&self, lb: &LoadBalancerInfo, desired: &DesiredListener) -> ProviderResult<ListenerInfo> {
        let info = self.memory.ensure_listener(lb, desired).await?;
        let route = match &desired.action {
            ListenerAction::Forward { backend_id } => Route::Forward(self.balancer.pool(backend_id)),
            ListenerAction::RedirectToHttps { port } => {
                let https_port = self.balancer.listener_addr(*port).map_or(self.bind_port(*port), |a| a.port());
                Route::Redirect { https_port }
            }
        };
        let tls = match &desired.certificate_id {
            Some(id) => Some(self.tls_for(desired, id).await?),
            None => None,
        };
        let bind = self.bind_port(desired.port);
        let addr =
            self.balancer.ensure_listener(desired.port, bind, ListenerConfig { route, tls }).await.map_err(|e| {
                let fix = if desired.port == 443 { "provider.local.https_port" } else { "provider.local.http_port" };
                let message = format!("cannot listen on 127.0.0.1:{bind}: {e}; set {fix} to a free port (0 picks one)");
                ProviderError::new(
                    "ensure_listener",
                    format!("{}:{}", lb.name, desired.port),
                    ErrorKind::InvalidRequest,
                    message,
                )
            })?;
        Ok(ListenerInfo { public_port: addr.port(), ..info })
    }

    async fn delete_listener(&self, owner: &Owner, listener: &ListenerInfo) -> ProviderResult<()> {
        self.memory.delete_listener(owner, listener).await?;
        self.balancer.remove_listener(listener.port).await;
        Ok(())
    }

    async fn target_health(&self, group: &BackendInfo) -> ProviderResult<Vec<TargetHealth>> {
        Ok(self.balancer.pool(&group.id).health())
    }
}
