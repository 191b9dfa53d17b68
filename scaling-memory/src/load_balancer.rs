//! [`LoadBalancer`] in memory, and the security-group table the cluster shares.

use async_trait::async_trait;
use tokio::time::Instant;

use super::state::{check_owner, owned_key, owner_of, Balancer, Listener, State, Tagged};
use super::{not_found, InMemoryCloud};
use scaling_core::providers::{
    BackendInfo, CertificateStatus, DesiredBackend, DesiredFirewall, DesiredListener, DesiredLoadBalancer,
    FirewallInfo, FirewallSpec, ListenerAction, ListenerInfo, LoadBalancer, LoadBalancerInfo, LoadBalancerStatus,
    Owner, Rollout, TargetHealth, TargetState, TrafficFrom,
};
use scaling_core::{ErrorKind, ProviderError, ProviderResult, StepId};

fn in_use(operation: &str, resource: &str, kind: ErrorKind, by: &str) -> ProviderError {
    ProviderError::new(operation, resource, kind, format!("{resource} is still used by {by}"))
}

pub(crate) fn find_firewall(s: &State, owner: &Owner, name: &str) -> ProviderResult<Option<FirewallInfo>> {
    let key = owned_key(&s.firewalls, |g| (&g.info.spec.name, &g.tags), owner, name, "find_firewall")?;
    Ok(key.and_then(|k| s.firewalls.get(&k)).map(|g| g.info.clone()))
}

pub(crate) fn ensure_firewall(s: &mut State, desired: &DesiredFirewall) -> ProviderResult<FirewallInfo> {
    let owner = owner_of(&desired.tags);
    let mut ingress = desired.spec.ingress.clone();
    ingress.sort();
    if let Some(id) = find_firewall(s, &owner, &desired.spec.name)?.map(|g| g.id) {
        let group = s.firewalls.get_mut(&id).ok_or_else(|| not_found("ensure_firewall", &id))?;
        group.info.spec.ingress = ingress;
        group.info.other_rules.clear();
        return Ok(group.info.clone());
    }
    let id = s.id("sg");
    let info = FirewallInfo {
        spec: FirewallSpec { name: desired.spec.name.clone(), ingress },
        id: id.clone(),
        other_rules: Vec::new(),
    };
    s.firewalls.insert(id, Tagged { info: info.clone(), tags: desired.tags.clone() });
    Ok(info)
}

pub(crate) fn delete_firewall(s: &mut State, owner: &Owner, group: &FirewallInfo) -> ProviderResult<()> {
    let op = "delete_firewall";
    let Some(found) = s.firewalls.get(&group.id) else { return Ok(()) };
    check_owner(&found.tags, owner, op, &group.spec.name)?;
    let violation = |by: &str| in_use(op, &group.spec.name, ErrorKind::DependencyViolation, by);
    if let Some(lb) = s.load_balancers.values().find(|lb| lb.info.firewall_ids.contains(&group.id)) {
        return Err(violation(&lb.info.spec.name));
    }
    if let Some(other) = s
        .firewalls
        .values()
        .find(|g| g.info.spec.ingress.iter().any(|r| r.from == TrafficFrom::Group(group.id.clone())))
    {
        return Err(violation(&other.info.spec.name));
    }
    if let Some(service) = s.services.values().find(|svc| svc.info.spec.firewall_id.as_ref() == Some(&group.id)) {
        return Err(violation(&format!("network interfaces of {}", service.info.spec.name)));
    }
    s.firewalls.remove(&group.id);
    Ok(())
}

fn balancer_info(lb: &Balancer, now: Instant) -> LoadBalancerInfo {
    let status = if now >= lb.active_at { LoadBalancerStatus::Active } else { LoadBalancerStatus::Provisioning };
    LoadBalancerInfo { status, ..lb.info.clone() }
}

#[async_trait]
impl LoadBalancer for InMemoryCloud {
    async fn find_firewall(&self, owner: &Owner, name: &str) -> ProviderResult<Option<FirewallInfo>> {
        self.call("find_firewall", name, false, |s, _| find_firewall(s, owner, name)).await
    }

    async fn ensure_firewall(&self, desired: &DesiredFirewall) -> ProviderResult<FirewallInfo> {
        self.call("ensure_firewall", &desired.spec.name, true, |s, _| ensure_firewall(s, desired)).await
    }

    async fn delete_firewall(&self, owner: &Owner, group: &FirewallInfo) -> ProviderResult<()> {
        self.call("delete_firewall", &group.spec.name, true, |s, _| delete_firewall(s, owner, group)).await
    }

    async fn find_load_balancer(&self, owner: &Owner, name: &str) -> ProviderResult<Option<LoadBalancerInfo>> {
        self.call("find_load_balancer", name, false, |s, now| {
            let key =
                owned_key(&s.load_balancers, |l| (&l.info.spec.name, &l.tags), owner, name, "find_load_balancer")?;
            Ok(key.and_then(|k| s.load_balancers.get(&k)).map(|lb| balancer_info(lb, now)))
        })
        .await
    }

    async fn ensure_load_balancer(&self, desired: &DesiredLoadBalancer) -> ProviderResult<LoadBalancerInfo> {
        self.call("ensure_load_balancer", &desired.spec.name, true, |s, now| {
            let owner = owner_of(&desired.tags);
            match &desired.firewall_id {
                Some(id) if !s.firewalls.contains_key(id) => return Err(not_found("ensure_load_balancer", id)),
                Some(_) if !s.capabilities.has_step(StepId::LoadBalancerFirewall) => {
                    let message = "this cloud's load balancers carry no security group";
                    return Err(ProviderError::new(
                        "ensure_load_balancer",
                        &desired.spec.name,
                        ErrorKind::Unsupported,
                        message,
                    ));
                }
                None if s.capabilities.has_step(StepId::LoadBalancerFirewall) => {
                    let message = "the load balancer needs its security group";
                    return Err(ProviderError::new(
                        "ensure_load_balancer",
                        &desired.spec.name,
                        ErrorKind::InvalidRequest,
                        message,
                    ));
                }
                _ => {}
            }
            let key = owned_key(
                &s.load_balancers,
                |l| (&l.info.spec.name, &l.tags),
                &owner,
                &desired.spec.name,
                "ensure_load_balancer",
            )?;
            let id = match key {
                Some(id) => id,
                None => {
                    let id = s.id("lb");
                    let info = LoadBalancerInfo {
                        spec: desired.spec.clone(),
                        id: id.clone(),
                        endpoint: scaling_core::providers::Endpoint::hostname(format!(
                            "{}-{}{}",
                            desired.spec.name,
                            s.next_id,
                            super::dns::MEMORY_ELB_SUFFIX
                        )),
                        firewall_ids: Vec::new(),
                        drop_invalid_header_fields: Some(desired.drop_invalid_header_fields),
                        hosts: Some(desired.hosts.clone()),
                        status: LoadBalancerStatus::Provisioning,
                        drift: Vec::new(),
                        connections: None,
                    };
                    let active_at = now + s.latency.load_balancer_active;
                    s.load_balancers.insert(id.clone(), Balancer { info, tags: desired.tags.clone(), active_at });
                    id
                }
            };
            let lb = s.load_balancers.get_mut(&id).ok_or_else(|| not_found("ensure_load_balancer", &id))?;
            lb.info.firewall_ids = desired.firewall_id.iter().cloned().collect();
            lb.info.spec.idle_timeout = desired.spec.idle_timeout;
            lb.info.drop_invalid_header_fields = Some(desired.drop_invalid_header_fields);
            lb.info.hosts = Some(desired.hosts.clone());
            lb.info.drift.clear();
            Ok(balancer_info(lb, now))
        })
        .await
    }

    async fn delete_load_balancer(&self, owner: &Owner, lb: &LoadBalancerInfo) -> ProviderResult<()> {
        self.call("delete_load_balancer", &lb.spec.name, true, |s, _| {
            let Some(found) = s.load_balancers.get(&lb.id) else { return Ok(()) };
            check_owner(&found.tags, owner, "delete_load_balancer", &lb.spec.name)?;
            s.listeners.retain(|_, l| l.load_balancer_id != lb.id);
            s.load_balancers.remove(&lb.id);
            Ok(())
        })
        .await
    }

    async fn find_backend(&self, owner: &Owner, name: &str) -> ProviderResult<Option<BackendInfo>> {
        self.call("find_backend", name, false, |s, _| {
            let key = owned_key(&s.backends, |t| (&t.info.spec.name, &t.tags), owner, name, "find_backend")?;
            Ok(key.and_then(|k| s.backends.get(&k)).map(|t| t.info.clone()))
        })
        .await
    }

    async fn ensure_backend(&self, desired: &DesiredBackend) -> ProviderResult<BackendInfo> {
        self.call("ensure_backend", &desired.spec.name, true, |s, _| {
            let owner = owner_of(&desired.tags);
            let key =
                owned_key(&s.backends, |t| (&t.info.spec.name, &t.tags), &owner, &desired.spec.name, "ensure_backend")?;
            let id = key.unwrap_or_else(|| s.id("tg"));
            let info = desired.as_made(id.clone());
            s.backends.insert(id, Tagged { info: info.clone(), tags: desired.tags.clone() });
            Ok(info)
        })
        .await
    }

    async fn delete_backend(&self, owner: &Owner, group: &BackendInfo) -> ProviderResult<()> {
        self.call("delete_backend", &group.spec.name, true, |s, _| {
            let op = "delete_backend";
            let Some(found) = s.backends.get(&group.id) else { return Ok(()) };
            check_owner(&found.tags, owner, op, &group.spec.name)?;
            let forward = ListenerAction::Forward { backend_id: group.id.clone() };
            if let Some(l) = s.listeners.values().find(|l| l.info.spec.action == forward) {
                return Err(in_use(op, &group.spec.name, ErrorKind::InUse, &format!("listener {}", l.info.spec.port)));
            }
            if let Some(svc) = s.services.values().find(|svc| svc.info.backend_id.as_ref() == Some(&group.id)) {
                return Err(in_use(op, &group.spec.name, ErrorKind::InUse, &svc.info.spec.name));
            }
            s.backends.remove(&group.id);
            Ok(())
        })
        .await
    }

    async fn list_listeners(&self, lb: &LoadBalancerInfo) -> ProviderResult<Vec<ListenerInfo>> {
        self.call("list_listeners", &lb.spec.name, false, |s, _| {
            Ok(s.listeners.values().filter(|l| l.load_balancer_id == lb.id).map(|l| l.info.clone()).collect())
        })
        .await
    }

    async fn ensure_listener(&self, lb: &LoadBalancerInfo, desired: &DesiredListener) -> ProviderResult<ListenerInfo> {
        let resource = format!("{}:{}", lb.spec.name, desired.spec.port);
        self.call("ensure_listener", &resource, true, |s, _| {
            let op = "ensure_listener";
            let owner = owner_of(&desired.tags);
            if !s.load_balancers.contains_key(&lb.id) {
                return Err(not_found(op, &lb.spec.name));
            }
            if let ListenerAction::Forward { backend_id } = &desired.spec.action {
                if !s.backends.contains_key(backend_id) {
                    return Err(not_found(op, backend_id));
                }
            }
            if let Some(cert_id) = &desired.spec.certificate_id {
                let issued = s.certificates.get(cert_id).is_some_and(|c| c.info.status == CertificateStatus::Issued);
                if !issued {
                    return Err(ProviderError::new(
                        op,
                        &resource,
                        ErrorKind::InvalidRequest,
                        format!("certificate {cert_id} is not issued"),
                    ));
                }
            }
            let existing = s
                .listeners
                .iter()
                .find(|(_, l)| l.load_balancer_id == lb.id && l.info.spec.port == desired.spec.port)
                .map(|(k, l)| (k.clone(), l.tags.clone()));
            let id = match existing {
                Some((id, tags)) => {
                    check_owner(&tags, &owner, op, &resource)?;
                    id
                }
                None => s.id("listener"),
            };
            let info = ListenerInfo {
                spec: desired.spec.clone(),
                id: id.clone(),
                public_port: desired.spec.port,
                hosts: Some(desired.hosts.clone()),
                drift: Vec::new(),
            };
            s.listeners.insert(
                id,
                Listener { load_balancer_id: lb.id.clone(), info: info.clone(), tags: desired.tags.clone() },
            );
            Ok(info)
        })
        .await
    }

    async fn delete_listener(&self, owner: &Owner, listener: &ListenerInfo) -> ProviderResult<()> {
        self.call("delete_listener", &listener.id, true, |s, _| {
            let Some(found) = s.listeners.get(&listener.id) else { return Ok(()) };
            check_owner(&found.tags, owner, "delete_listener", &listener.id)?;
            s.listeners.remove(&listener.id);
            Ok(())
        })
        .await
    }

    async fn target_health(&self, group: &BackendInfo) -> ProviderResult<Vec<TargetHealth>> {
        self.call("target_health", &group.spec.name, false, |s, now| {
            let mut targets = Vec::new();
            for service in s.services.values().filter(|svc| svc.info.backend_id.as_ref() == Some(&group.id)) {
                let stable = now >= service.stable_at;
                let count = if stable {
                    service.info.spec.desired_count
                } else {
                    service.running_before.min(service.info.spec.desired_count)
                };
                for i in 0..service.info.spec.desired_count {
                    let healthy = i < count && !matches!(service.info.rollout, Rollout::Failed(_));
                    targets.push(TargetHealth {
                        target: format!("10.0.0.{}:{}", i + 10, group.spec.port),
                        state: if healthy { TargetState::Healthy } else { TargetState::Initial },
                        reason: (!healthy).then(|| "Target registration is in progress".to_string()),
                    });
                }
            }
            Ok(targets)
        })
        .await
    }
}
