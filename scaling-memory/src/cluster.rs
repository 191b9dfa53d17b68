//! [`Cluster`] in memory: services converge to their desired count after the configured latency.

use async_trait::async_trait;
use tokio::time::Instant;

use super::load_balancer::{delete_firewall, ensure_firewall, find_firewall};
use super::state::{check_owner, owned_key, owner_of, Service, State, StoredRevision, Tagged};
use super::{not_found, InMemoryCloud};
use scaling_core::providers::{
    AutoscalingInfo, Cluster, ClusterInfo, DesiredAutoscaling, DesiredCluster, DesiredFirewall, DesiredRevision,
    DesiredService, FirewallInfo, ListenerAction, LockHolder, LogPage, LogQuery, Owner, RevisionInfo, Rollout,
    ServiceInfo,
};
use scaling_core::{ErrorKind, Problem, ProviderError, ProviderResult, StepId};

fn service_info(service: &Service, now: Instant) -> ServiceInfo {
    let desired = service.info.spec.desired_count;
    let (running, rollout) = if let (Some(reason), true) = (&service.failing, now >= service.stable_at) {
        (0, Rollout::Failed(reason.clone()))
    } else if now >= service.stable_at {
        (desired, Rollout::Completed)
    } else {
        (service.running_before.min(desired), Rollout::InProgress)
    };
    ServiceInfo { running_count: running, pending_count: desired - running, rollout, ..service.info.clone() }
}

fn invalid(operation: &str, resource: &str, message: String) -> ProviderError {
    ProviderError::new(operation, resource, ErrorKind::InvalidRequest, message)
}

fn check_service_inputs(s: &State, desired: &DesiredService) -> ProviderResult<()> {
    let op = "ensure_service";
    let tg = desired.traffic.backend_id.clone().unwrap_or_default();
    let attached =
        s.listeners.values().any(|l| l.info.spec.action == ListenerAction::Forward { backend_id: tg.clone() });
    if !attached && s.capabilities.service_needs_listener() {
        return Err(invalid(
            op,
            &desired.spec.name,
            format!("the target group {tg} does not have an associated load balancer"),
        ));
    }
    if !s.clusters.contains_key(&desired.cluster.id) {
        return Err(not_found(op, &desired.cluster.name));
    }
    if !s.revisions.iter().any(|t| t.active && t.info.id == desired.spec.revision_id) {
        return Err(not_found(op, &desired.spec.revision_id));
    }
    match &desired.spec.firewall_id {
        Some(id) if !s.firewalls.contains_key(id) => return Err(not_found(op, id)),
        Some(_) if !s.capabilities.has_step(StepId::ReplicaFirewall) => {
            return Err(invalid(op, &desired.spec.name, "this cloud has no task firewalls to attach".into()))
        }
        None if s.capabilities.has_step(StepId::ReplicaFirewall) => {
            return Err(invalid(op, &desired.spec.name, "tasks need their security group".into()))
        }
        _ => {}
    }
    Ok(())
}

#[async_trait]
impl Cluster for InMemoryCloud {
    async fn find_cluster(&self, owner: &Owner, name: &str) -> ProviderResult<Option<ClusterInfo>> {
        self.call("find_cluster", name, false, |s, _| {
            let key = owned_key(&s.clusters, |c| (&c.info.name, &c.tags), owner, name, "find_cluster")?;
            Ok(key.and_then(|k| s.clusters.get(&k)).map(|c| c.info.clone()))
        })
        .await
    }

    async fn ensure_cluster(&self, desired: &DesiredCluster) -> ProviderResult<ClusterInfo> {
        self.call("ensure_cluster", &desired.name, true, |s, _| {
            let owner = owner_of(&desired.tags);
            let key = owned_key(&s.clusters, |c| (&c.info.name, &c.tags), &owner, &desired.name, "ensure_cluster")?;
            if let Some(cluster) = key.and_then(|k| s.clusters.get(&k)) {
                return Ok(cluster.info.clone());
            }
            let info = ClusterInfo { id: s.id("cluster"), name: desired.name.clone() };
            s.clusters.insert(info.id.clone(), Tagged { info: info.clone(), tags: desired.tags.clone() });
            Ok(info)
        })
        .await
    }

    async fn delete_cluster(&self, owner: &Owner, cluster: &ClusterInfo) -> ProviderResult<()> {
        self.call("delete_cluster", &cluster.name, true, |s, _| {
            let Some(found) = s.clusters.get(&cluster.id) else { return Ok(()) };
            check_owner(&found.tags, owner, "delete_cluster", &cluster.name)?;
            if let Some(svc) = s.services.values().find(|svc| svc.info.cluster_id == cluster.id) {
                let message = format!("the cluster still contains service {}", svc.info.spec.name);
                return Err(ProviderError::new(
                    "delete_cluster",
                    &cluster.name,
                    ErrorKind::DependencyViolation,
                    message,
                ));
            }
            s.clusters.remove(&cluster.id);
            Ok(())
        })
        .await
    }

    async fn find_replica_firewall(&self, owner: &Owner, name: &str) -> ProviderResult<Option<FirewallInfo>> {
        self.call("find_replica_firewall", name, false, |s, _| find_firewall(s, owner, name)).await
    }

    async fn ensure_replica_firewall(&self, desired: &DesiredFirewall) -> ProviderResult<FirewallInfo> {
        self.call("ensure_replica_firewall", &desired.spec.name, true, |s, _| ensure_firewall(s, desired)).await
    }

    async fn delete_replica_firewall(&self, owner: &Owner, group: &FirewallInfo) -> ProviderResult<()> {
        self.call("delete_replica_firewall", &group.spec.name, true, |s, _| delete_firewall(s, owner, group)).await
    }

    async fn find_revision(&self, owner: &Owner, family: &str) -> ProviderResult<Option<RevisionInfo>> {
        self.call("find_revision", family, false, |s, _| {
            let latest =
                s.revisions.iter().filter(|t| t.active && t.info.spec.family == family).max_by_key(|t| t.info.revision);
            match latest {
                Some(t) => {
                    check_owner(&t.tags, owner, "find_revision", family)?;
                    Ok(Some(t.info.clone()))
                }
                None => Ok(None),
            }
        })
        .await
    }

    async fn register_revision(&self, desired: &DesiredRevision) -> ProviderResult<RevisionInfo> {
        self.call("register_revision", &desired.spec.family, true, |s, _| {
            let revision = s
                .revisions
                .iter()
                .filter(|t| t.info.spec.family == desired.spec.family)
                .map(|t| t.info.revision)
                .max()
                .unwrap_or(0)
                + 1;
            let mut info = desired.as_registered(revision);
            // Like ECS behind a target group: where a backend pool probes, the revision carries none.
            if s.capabilities.has_step(StepId::Backend) {
                info.health_check = None;
            }
            s.revisions.push(StoredRevision { info: info.clone(), tags: desired.tags.clone(), active: true });
            Ok(info)
        })
        .await
    }

    async fn deregister_revisions(&self, owner: &Owner, family: &str) -> ProviderResult<()> {
        self.call("deregister_revisions", family, true, |s, _| {
            for def in s.revisions.iter_mut().filter(|t| t.info.spec.family == family && owner.owns(&t.tags)) {
                def.active = false;
            }
            Ok(())
        })
        .await
    }

    async fn find_service(
        &self,
        owner: &Owner,
        cluster: &ClusterInfo,
        name: &str,
    ) -> ProviderResult<Option<ServiceInfo>> {
        self.call("find_service", name, false, |s, now| {
            let in_cluster = s.services.iter().filter(|(_, svc)| svc.info.cluster_id == cluster.id);
            let key = owned_key(in_cluster, |svc| (&svc.info.spec.name, &svc.tags), owner, name, "find_service")?;
            Ok(key.and_then(|k| s.services.get(&k)).map(|svc| service_info(svc, now)))
        })
        .await
    }

    async fn ensure_service(&self, desired: &DesiredService) -> ProviderResult<ServiceInfo> {
        self.call("ensure_service", &desired.spec.name, true, |s, now| {
            check_service_inputs(s, desired)?;
            let owner = owner_of(&desired.tags);
            let in_cluster = s.services.iter().filter(|(_, svc)| svc.info.cluster_id == desired.cluster.id);
            let key = owned_key(
                in_cluster,
                |svc| (&svc.info.spec.name, &svc.tags),
                &owner,
                &desired.spec.name,
                "ensure_service",
            )?;
            let stable_after = s.latency.service_stable;
            let id = key.unwrap_or_else(|| s.id("service"));
            let previous = s.services.get(&id).map(|svc| service_info(svc, now));
            let mut info = desired.as_started(id.clone());
            // Autoscaling's count stays, as a cloud leaves the count out of the update.
            if let (true, Some(p)) = (desired.autoscaled, &previous) {
                info.spec.desired_count = p.spec.desired_count;
            }
            let rolls = desired.restart_rollout
                || previous.as_ref().is_none_or(|p| {
                    p.spec.revision_id != info.spec.revision_id || p.spec.desired_count != info.spec.desired_count
                });
            let failing = match rolls {
                true => s.failing_rollouts.clone(),
                false => s.services.get(&id).and_then(|svc| svc.failing.clone()),
            };
            let (running_before, stable_at) = match (&previous, rolls) {
                (Some(p), false) => (p.running_count, s.services.get(&id).map_or(now, |svc| svc.stable_at)),
                (p, _) => (p.as_ref().map_or(0, |p| p.running_count), now + stable_after),
            };
            let service = Service { info, tags: desired.tags.clone(), stable_at, running_before, failing };
            let result = service_info(&service, now);
            s.services.insert(id, service);
            Ok(result)
        })
        .await
    }

    async fn scale_service(
        &self,
        owner: &Owner,
        service: &ServiceInfo,
        desired_count: u32,
    ) -> ProviderResult<ServiceInfo> {
        self.call("scale_service", &service.spec.name, true, |s, now| {
            let stable_after = s.latency.service_stable;
            let found =
                s.services.get_mut(&service.id).ok_or_else(|| not_found("scale_service", &service.spec.name))?;
            check_owner(&found.tags, owner, "scale_service", &service.spec.name)?;
            found.running_before = service_info(found, now).running_count;
            found.info.spec.desired_count = desired_count;
            found.stable_at = now + stable_after;
            Ok(service_info(found, now))
        })
        .await
    }

    // The lock is not a resource of the app: its calls are logged as not mutating, so that a deploy
    // that changes nothing still makes no write (faults still reach them by operation name).

    async fn delete_service(&self, owner: &Owner, service: &ServiceInfo) -> ProviderResult<()> {
        self.call("delete_service", &service.spec.name, true, |s, _| {
            let Some(found) = s.services.get(&service.id) else { return Ok(()) };
            check_owner(&found.tags, owner, "delete_service", &service.spec.name)?;
            s.services.remove(&service.id);
            Ok(())
        })
        .await
    }
}

/// No step of its own.
impl scaling_core::providers::OwnSteps for InMemoryCloud {}

#[async_trait]
impl scaling_core::providers::Releases for InMemoryCloud {
    async fn revision_ids(&self, owner: &Owner, family: &str) -> ProviderResult<Vec<String>> {
        self.call("revision_ids", family, false, |s, _| {
            let mut active: Vec<&StoredRevision> =
                s.revisions.iter().filter(|t| t.active && t.info.spec.family == family).collect();
            if let Some(first) = active.first() {
                check_owner(&first.tags, owner, "revision_ids", family)?;
            }
            active.sort_by_key(|t| std::cmp::Reverse(t.info.revision));
            Ok(active.into_iter().map(|t| t.info.id.clone()).collect())
        })
        .await
    }

    async fn describe_revision(&self, owner: &Owner, id: &str) -> ProviderResult<Option<RevisionInfo>> {
        self.call("describe_revision", id, false, |s, _| {
            match s.revisions.iter().find(|t| t.active && t.info.id == id) {
                Some(t) => check_owner(&t.tags, owner, "describe_revision", id).map(|()| Some(t.info.clone())),
                None => Ok(None),
            }
        })
        .await
    }

    async fn deregister_revision(&self, owner: &Owner, id: &str) -> ProviderResult<()> {
        self.call("deregister_revision", id, true, |s, _| {
            if let Some(t) = s.revisions.iter_mut().find(|t| t.active && t.info.id == id) {
                check_owner(&t.tags, owner, "deregister_revision", id)?;
                t.active = false;
            }
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl scaling_core::providers::Locks for InMemoryCloud {
    async fn acquire_lock(&self, owner: &Owner, holder: &LockHolder) -> ProviderResult<Option<LockHolder>> {
        self.call("acquire_lock", &owner.app, false, |s, _| match s.locks.get(&owner.app) {
            Some(current) if current.token != holder.token && !current.expired() => Ok(Some(current.clone())),
            _ => {
                s.locks.insert(owner.app.clone(), holder.clone());
                Ok(None)
            }
        })
        .await
    }

    async fn release_lock(&self, owner: &Owner, holder: &LockHolder) -> ProviderResult<()> {
        self.call("release_lock", &owner.app, false, |s, _| {
            if s.locks.get(&owner.app).is_some_and(|current| current.token == holder.token) {
                s.locks.remove(&owner.app);
            }
            Ok(())
        })
        .await
    }

    async fn break_lock(&self, owner: &Owner) -> ProviderResult<Option<LockHolder>> {
        self.call("break_lock", &owner.app, false, |s, _| Ok(s.locks.remove(&owner.app))).await
    }

    async fn lock_holder(&self, owner: &Owner) -> ProviderResult<Option<LockHolder>> {
        self.call("lock_holder", &owner.app, false, |s, _| {
            Ok(s.locks.get(&owner.app).filter(|h| !h.expired()).cloned())
        })
        .await
    }
}

#[async_trait]
impl scaling_core::providers::Logs for InMemoryCloud {
    /// The lines [`InMemoryCloud::write_log`] wrote; the cursor is the number of lines read.
    async fn read_logs(&self, owner: &Owner, service: &str, query: &LogQuery) -> ProviderResult<LogPage> {
        self.call("read_logs", service, false, |s, _| {
            if let Some(found) = s.services.values().find(|svc| svc.info.spec.name == service) {
                check_owner(&found.tags, owner, "read_logs", service)?;
            }
            let all = s.logs.get(service).cloned().unwrap_or_default();
            let start = query.after.as_deref().and_then(|c| c.parse::<usize>().ok()).unwrap_or(0).min(all.len());
            let since = query.since.map(scaling_core::providers::epoch_millis);
            let mut lines: Vec<_> = all[start..]
                .iter()
                .filter(|l| query.replica.as_ref().is_none_or(|r| l.replica.starts_with(r.as_str())))
                .filter(|l| since.is_none_or(|since| l.at.is_none_or(|at| at >= since)))
                .cloned()
                .collect();
            if query.after.is_none() && query.limit > 0 && lines.len() > query.limit {
                lines.drain(..lines.len() - query.limit);
            }
            Ok(LogPage { lines, cursor: Some(all.len().to_string()) })
        })
        .await
    }
}

#[async_trait]
impl scaling_core::providers::SecretStore for InMemoryCloud {
    async fn check_secrets(
        &self,
        _owner: &Owner,
        secrets: &std::collections::BTreeMap<String, String>,
    ) -> ProviderResult<Vec<Problem>> {
        self.call("check_secrets", "secrets", false, |s, _| Ok(super::autoscaling::check_secrets(s, secrets))).await
    }
}

#[async_trait]
impl scaling_core::providers::Autoscaler for InMemoryCloud {
    async fn find_autoscaling(
        &self,
        owner: &Owner,
        _cluster: &str,
        service: &str,
    ) -> ProviderResult<Option<AutoscalingInfo>> {
        self.call("find_autoscaling", service, false, |s, _| super::autoscaling::find(s, owner, service)).await
    }

    async fn ensure_autoscaling(&self, desired: &DesiredAutoscaling) -> ProviderResult<AutoscalingInfo> {
        self.call("ensure_autoscaling", &desired.service, true, |s, _| super::autoscaling::ensure(s, desired)).await
    }

    async fn delete_autoscaling(&self, owner: &Owner, autoscaling: &AutoscalingInfo) -> ProviderResult<()> {
        self.call("delete_autoscaling", &autoscaling.service, true, |s, _| {
            super::autoscaling::delete(s, owner, autoscaling)
        })
        .await
    }
}
