//! [`LoadBalancer`] locally: listeners of the embedded balancer on loopback ports, or on a public
//! server's addresses (HTTP:80 and HTTPS:443 map to `provider.local.http_port` / `https_port`),
//! backend pools as replica pools.

use async_trait::async_trait;
use scaling_core::providers::{
    BackendInfo, ConnectionUse, DesiredBackend, DesiredFirewall, DesiredListener, DesiredLoadBalancer, Endpoint,
    FirewallInfo, ListenerAction, ListenerInfo, LoadBalancer, LoadBalancerInfo, LoadBalancerStatus, Owner, Protocol,
    TargetHealth,
};
use scaling_core::{Certificate, ErrorKind, ProviderError, ProviderResult};

use crate::balancer::{tls_config, ListenerConfig, PoolSettings, Route};
use crate::cloud::LocalCloud;
use crate::cluster::no_firewalls;
use crate::owned::owner_of;

impl LocalCloud {
    fn bind_port(&self, port: u16) -> u16 {
        match port {
            80 => self.settings.http_port(),
            443 => self.settings.https_port(),
            other => other,
        }
    }

    /// The addresses listeners bind: a public server's, else loopback only.
    fn bind_addresses(&self) -> Vec<std::net::IpAddr> {
        match &self.settings.public {
            Some(public) => public.addresses.clone(),
            None => vec![std::net::IpAddr::from([127, 0, 0, 1])],
        }
    }

    /// Where clients reach the balancer: a public server's addresses, else `<app>.localhost`.
    fn endpoint(&self, app: &str) -> Endpoint {
        match &self.settings.public {
            Some(public) => Endpoint::addresses(public.addresses.iter().copied()),
            None => Endpoint::hostname(format!("{app}.localhost")),
        }
    }

    fn with_public_port(&self, listener: ListenerInfo) -> ListenerInfo {
        let public_port = self.balancer.listener_addr(listener.spec.port).map_or(listener.public_port, |a| a.port());
        ListenerInfo { public_port, ..listener }
    }

    async fn tls_for(
        &self,
        desired: &DesiredListener,
        certificate_id: &str,
    ) -> ProviderResult<std::sync::Arc<rustls::ServerConfig>> {
        let fail = |kind, message: String| ProviderError::new("ensure_listener", certificate_id, kind, message);
        let min_version = desired.spec.min_tls_version.unwrap_or_default();
        if let Some(provider) = &self.served_certificates {
            let material = provider.key_material(certificate_id).await?.ok_or_else(|| {
                fail(ErrorKind::NotFound, "the certificate provider has no issued key for it yet".into())
            })?;
            let issued = crate::ca::IssuedCertificate::from_pem(&material.chain_pem, &material.key_pem)
                .map_err(|e| fail(ErrorKind::InvalidRequest, e))?;
            return tls_config(issued, min_version).map_err(|e| fail(ErrorKind::InvalidRequest, e.to_string()));
        }
        let owned = self.find_certificates(&owner_of(&desired.tags), &[]).await?;
        let cert = owned
            .into_iter()
            .find(|c| c.id == certificate_id)
            .ok_or_else(|| fail(ErrorKind::NotFound, "no such certificate".into()))?;
        let names: Vec<String> = cert.spec.names().cloned().collect();
        let issued = self.ca()?.issue(&names).map_err(|e| fail(ErrorKind::Other, e.to_string()))?;
        tls_config(issued, min_version).map_err(|e| fail(ErrorKind::InvalidRequest, e.to_string()))
    }
}

/// Why listener `port` could not bind `bind` on `addresses`, with the fix: a privileged port needs the
/// capability (or a lower unprivileged-port start), a port in use needs another one.
fn bind_failure(addresses: &[std::net::IpAddr], bind: u16, port: u16, e: &std::io::Error) -> String {
    let shown: Vec<String> = addresses.iter().map(|a| std::net::SocketAddr::new(*a, bind).to_string()).collect();
    let key = if port == 443 { "provider.local.https_port" } else { "provider.local.http_port" };
    let fix = match e.kind() {
        std::io::ErrorKind::PermissionDenied => format!(
            "ports below 1024 need the right to bind them: run `sudo setcap cap_net_bind_service=+ep \"$(command -v \
             scaling)\"` once (or give a systemd unit AmbientCapabilities=CAP_NET_BIND_SERVICE), or set {key} to a \
             port above 1023"
        ),
        std::io::ErrorKind::AddrNotAvailable => {
            "the address is not this machine's: fix provider.local.public.addresses".to_string()
        }
        _ => format!("set {key} to a free port (0 picks one)"),
    };
    format!("cannot listen on {}: {e}; {fix}", shown.join(", "))
}

#[async_trait]
impl LoadBalancer for LocalCloud {
    /// The embedded balancer serves the chain and key it is given (the local CA's, or an ACME
    /// authority's).
    fn serves_key_material(&self) -> bool {
        true
    }

    async fn find_firewall(&self, _owner: &Owner, name: &str) -> ProviderResult<Option<FirewallInfo>> {
        Err(no_firewalls("find_firewall", name))
    }

    async fn ensure_firewall(&self, desired: &DesiredFirewall) -> ProviderResult<FirewallInfo> {
        Err(no_firewalls("ensure_firewall", &desired.spec.name))
    }

    async fn delete_firewall(&self, _owner: &Owner, group: &FirewallInfo) -> ProviderResult<()> {
        Err(no_firewalls("delete_firewall", &group.spec.name))
    }

    /// The balancer this process runs, with the client connections it holds now and its limit.
    async fn find_load_balancer(&self, owner: &Owner, name: &str) -> ProviderResult<Option<LoadBalancerInfo>> {
        let found = self.records.load_balancers.find(owner, name, "find_load_balancer")?;
        let counts = self.balancer.connections();
        let connections = ConnectionUse { open: counts.clients as u64, limit: counts.client_limit as u64 };
        Ok(found.map(|info| LoadBalancerInfo { connections: Some(connections), ..info }))
    }

    /// The embedded balancer under `desired.name`, answering as `<app>.localhost` (or at a public
    /// server's addresses).
    async fn ensure_load_balancer(&self, desired: &DesiredLoadBalancer) -> ProviderResult<LoadBalancerInfo> {
        let owner = owner_of(&desired.tags);
        if desired.firewall_id.is_some() {
            return Err(no_firewalls("ensure_load_balancer", &desired.spec.name));
        }
        self.records.load_balancers.put(&owner, &desired.spec.name, "ensure_load_balancer", |_| {
            Ok(LoadBalancerInfo {
                id: desired.spec.name.clone(),
                spec: desired.spec.clone(),
                endpoint: self.endpoint(&owner.app),
                firewall_ids: Vec::new(),
                // hyper refuses invalid header names itself (400): no setting to report.
                drop_invalid_header_fields: None,
                // It answers for any name (the certificate is picked by SNI): none to compare.
                hosts: None,
                status: LoadBalancerStatus::Active,
                drift: Vec::new(),
                connections: None,
            })
        })
    }

    /// Stops every listener of the balancer, and forgets them with it.
    async fn delete_load_balancer(&self, owner: &Owner, lb: &LoadBalancerInfo) -> ProviderResult<()> {
        if self.records.load_balancers.remove(owner, &lb.spec.name, "delete_load_balancer")?.is_some() {
            self.records.listeners.remove_where(|(lb_id, _)| *lb_id == lb.id);
            self.balancer.shutdown().await;
        }
        Ok(())
    }

    async fn find_backend(&self, owner: &Owner, name: &str) -> ProviderResult<Option<BackendInfo>> {
        self.records.backends.find(owner, name, "find_backend")
    }

    /// The replica pool `desired.name`, its health check and picking configured.
    async fn ensure_backend(&self, desired: &DesiredBackend) -> ProviderResult<BackendInfo> {
        let owner = owner_of(&desired.tags);
        let group = self
            .records
            .backends
            .put(&owner, &desired.spec.name, "ensure_backend", |_| Ok(desired.as_made(&desired.spec.name)))?;
        let settings = PoolSettings {
            health: desired.spec.health_check.clone(),
            stickiness: desired.spec.stickiness,
            algorithm: desired.spec.algorithm,
            ..PoolSettings::default()
        };
        self.balancer.pool(&group.id).configure(settings);
        Ok(group)
    }

    /// Refused (retryable) while a listener forwards to the pool or a service registers in it.
    async fn delete_backend(&self, owner: &Owner, group: &BackendInfo) -> ProviderResult<()> {
        let forwarded = self.records.listeners.find_map(|(_, l)| {
            (l.spec.action == ListenerAction::Forward { backend_id: group.id.clone() })
                .then(|| format!("listener {}", l.id))
        });
        let user = forwarded.or_else(|| {
            self.records
                .services
                .find_map(|s| (s.backend_id.as_ref() == Some(&group.id)).then(|| format!("service {}", s.spec.name)))
        });
        if let Some(user) = user {
            let message = format!("the replica pool is in use by {user}");
            return Err(ProviderError::new("delete_backend", &group.spec.name, ErrorKind::InUse, message));
        }
        if self.records.backends.remove(owner, &group.spec.name, "delete_backend")?.is_some() {
            self.balancer.remove_pool(&group.id);
        }
        Ok(())
    }

    async fn list_listeners(&self, lb: &LoadBalancerInfo) -> ProviderResult<Vec<ListenerInfo>> {
        let listeners = self.records.listeners.filter(|(lb_id, _)| *lb_id == lb.id);
        Ok(listeners.into_iter().map(|(_, l)| self.with_public_port(l)).collect())
    }

    /// Binds (or re-routes) the balancer's listener for `desired.port` on its loopback port.
    async fn ensure_listener(&self, lb: &LoadBalancerInfo, desired: &DesiredListener) -> ProviderResult<ListenerInfo> {
        let owner = owner_of(&desired.tags);
        if self.records.load_balancers.find(&owner, &lb.spec.name, "ensure_listener")?.is_none() {
            let message = format!("load balancer {} does not exist", lb.spec.name);
            return Err(ProviderError::new("ensure_listener", &lb.spec.name, ErrorKind::NotFound, message));
        }
        let route = match &desired.spec.action {
            ListenerAction::Forward { backend_id } => Route::Forward(self.balancer.pool(backend_id)),
            ListenerAction::RedirectToHttps { port } => {
                let https_port = self.balancer.listener_addr(*port).map_or(self.bind_port(*port), |a| a.port());
                Route::Redirect { https_port }
            }
        };
        let tls = match &desired.spec.certificate_id {
            Some(id) => Some(self.tls_for(desired, id).await?),
            None => None,
        };
        let bind = self.bind_port(desired.spec.port);
        let addresses = self.bind_addresses();
        // The plain port answers the certificate authority's HTTP-01 challenges, whatever its route.
        let challenges = (desired.spec.protocol == Protocol::Http).then(|| self.served_certificates.clone()).flatten();
        let config = ListenerConfig { route, tls, challenges };
        let addr =
            self.balancer.ensure_listener_on(desired.spec.port, &addresses, bind, config).await.map_err(|e| {
                ProviderError::new(
                    "ensure_listener",
                    format!("{}:{}", lb.spec.name, desired.spec.port),
                    ErrorKind::InvalidRequest,
                    bind_failure(&addresses, bind, desired.spec.port, &e),
                )
            })?;
        let id = format!("{}:{}", lb.spec.name, desired.spec.port);
        let info = ListenerInfo {
            spec: desired.spec.clone(),
            id: id.clone(),
            public_port: addr.port(),
            hosts: None,
            drift: Vec::new(),
        };
        self.records.listeners.put(&owner, &id, "ensure_listener", |_| Ok((lb.id.clone(), info.clone())))?;
        Ok(info)
    }

    async fn delete_listener(&self, owner: &Owner, listener: &ListenerInfo) -> ProviderResult<()> {
        if self.records.listeners.remove(owner, &listener.id, "delete_listener")?.is_some() {
            self.balancer.remove_listener(listener.spec.port).await;
        }
        Ok(())
    }

    async fn target_health(&self, group: &BackendInfo) -> ProviderResult<Vec<TargetHealth>> {
        Ok(self.balancer.pool(&group.id).health())
    }
}
