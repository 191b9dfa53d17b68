//! [`Cluster`] locally: services are supervised replica processes of a bundle.

use std::time::Duration;

use async_trait::async_trait;
use scaling_core::providers::{
    AutoscalingInfo, Cluster, ClusterInfo, DesiredAutoscaling, DesiredCluster, DesiredFirewall, DesiredRevision,
    DesiredService, FirewallInfo, LockHolder, LogPage, LogQuery, Owner, RevisionInfo, Rollout, ServiceInfo,
};
use scaling_core::{ErrorKind, Problem, ProviderError, ProviderResult};

use crate::bundle;
use crate::cloud::LocalCloud;
use crate::owned::owner_of;
use crate::supervisor::RunSpec;

/// The digest a task definition's image pins, if any.
fn digest_of(image: &str) -> Option<&str> {
    image.rsplit_once('@').map(|(_, digest)| digest)
}

/// One line per replica socket other machines can reach, with the fix.
pub(crate) fn exposure_warnings(groups: &[i32]) -> Vec<String> {
    crate::exposure::public_listeners(groups)
        .into_iter()
        .map(|socket| {
            format!(
                "a replica listens on {socket}, reachable from other machines around the TLS load balancer: \
                 bind to $HOST (127.0.0.1 here) instead of 0.0.0.0"
            )
        })
        .collect()
}

/// The shortest pause between two looks at a service a wait makes, however often its pool changes.
const WAKE_AT_MOST_EVERY: Duration = Duration::from_millis(50);

/// Firewall calls: this machine has none (replicas listen on loopback; the balancer is the only way in),
/// so its deploys have no firewall steps and a direct call is refused.
pub(crate) fn no_firewalls(operation: &str, name: &str) -> ProviderError {
    ProviderError::new(
        operation,
        name,
        ErrorKind::Unsupported,
        "the local provider has no firewalls: replicas listen on 127.0.0.1 and the TLS balancer is the only way in",
    )
}

impl LocalCloud {
    /// The service as the supervisor runs it: live counts, rollout and replicas over its record.
    fn live(&self, mut service: ServiceInfo) -> ServiceInfo {
        let Some(counts) = self.supervisor.counts(&service.spec.name) else { return service };
        let rollout = match (&counts.failure, counts.settled) {
            (Some(why), _) => Rollout::Failed(why.clone()),
            (None, true) => Rollout::Completed,
            (None, false) => Rollout::InProgress,
        };
        let warnings = exposure_warnings(&self.supervisor.replica_pids(&service.spec.name));
        let replicas = self.supervisor.replicas(&service.spec.name);
        service.spec.desired_count = counts.desired;
        ServiceInfo {
            running_count: counts.running,
            pending_count: counts.pending,
            rollout,
            warnings,
            replicas,
            ..service
        }
    }

    /// The revision `id` of any family, if registered here.
    fn revision(&self, id: &str) -> Option<RevisionInfo> {
        self.records.revisions.find_map(|family| family.iter().find(|r| r.id == id).cloned())
    }

    fn run_spec(&self, desired: &DesiredService) -> ProviderResult<RunSpec> {
        let fail = |kind, message: String| ProviderError::new("ensure_service", &desired.spec.name, kind, message);
        let revision = self.revision(&desired.spec.revision_id).ok_or_else(|| {
            fail(ErrorKind::NotFound, format!("revision {} is not registered", desired.spec.revision_id))
        })?;
        let bundle = digest_of(&revision.spec.image).and_then(|d| bundle::find(&self.paths, d)).ok_or_else(|| {
            fail(
                ErrorKind::InvalidRequest,
                format!(
                    "the local provider runs apps it builds from image.context; {} is not a local bundle (a prebuilt image needs a container runtime)",
                    revision.spec.image
                ),
            )
        })?;
        let owner = owner_of(&desired.tags);
        let pool = desired.traffic.backend_id.as_deref().ok_or_else(|| {
            fail(
                ErrorKind::InvalidRequest,
                "replicas on this machine run behind the local balancer's replica pool, and none was given: pair \
                 the local cluster with the local load balancer"
                    .to_string(),
            )
        })?;
        let drain = self
            .records
            .backends
            .of(&owner)
            .into_iter()
            .find(|b| b.id == pool)
            .map(|b| b.spec.drain_time)
            .ok_or_else(|| fail(ErrorKind::NotFound, format!("replica pool {pool} does not exist")))?;
        let secrets = {
            let (shell, file) = &*crate::cloud::lock(&self.secrets);
            crate::secrets::resolve(&revision.spec.secrets, shell, file.as_deref()).map_err(|problems| {
                let named: Vec<String> = problems.iter().map(ToString::to_string).collect();
                fail(ErrorKind::InvalidRequest, named.join("; "))
            })?
        };
        Ok(RunSpec {
            revision: revision.id,
            bundle,
            env: revision.spec.env,
            secrets,
            workers: revision.spec.cpu.whole_cpus_rounded_up(),
            grace: desired.health_check_grace_period,
            drain,
        })
    }
}

#[async_trait]
impl Cluster for LocalCloud {
    async fn find_cluster(&self, owner: &Owner, name: &str) -> ProviderResult<Option<ClusterInfo>> {
        self.records.clusters.find(owner, name, "find_cluster")
    }

    async fn ensure_cluster(&self, desired: &DesiredCluster) -> ProviderResult<ClusterInfo> {
        let owner = owner_of(&desired.tags);
        self.records.clusters.put(&owner, &desired.name, "ensure_cluster", |current| {
            Ok(current.cloned().unwrap_or_else(|| ClusterInfo { id: desired.name.clone(), name: desired.name.clone() }))
        })
    }

    async fn delete_cluster(&self, owner: &Owner, cluster: &ClusterInfo) -> ProviderResult<()> {
        if let Some(service) =
            self.records.services.find_map(|s| (s.cluster_id == cluster.id).then(|| s.spec.name.clone()))
        {
            let message = format!("the cluster still runs service {service}");
            return Err(ProviderError::new("delete_cluster", &cluster.name, ErrorKind::DependencyViolation, message));
        }
        self.records.clusters.remove(owner, &cluster.name, "delete_cluster").map(drop)
    }

    async fn find_replica_firewall(&self, _owner: &Owner, name: &str) -> ProviderResult<Option<FirewallInfo>> {
        Err(no_firewalls("find_replica_firewall", name))
    }

    async fn ensure_replica_firewall(&self, desired: &DesiredFirewall) -> ProviderResult<FirewallInfo> {
        Err(no_firewalls("ensure_replica_firewall", &desired.spec.name))
    }

    async fn delete_replica_firewall(&self, _owner: &Owner, group: &FirewallInfo) -> ProviderResult<()> {
        Err(no_firewalls("delete_replica_firewall", &group.spec.name))
    }

    async fn find_revision(&self, owner: &Owner, family: &str) -> ProviderResult<Option<RevisionInfo>> {
        Ok(self.records.revisions.find(owner, family, "find_revision")?.and_then(|revisions| revisions.last().cloned()))
    }

    async fn register_revision(&self, desired: &DesiredRevision) -> ProviderResult<RevisionInfo> {
        let owner = owner_of(&desired.tags);
        let revisions = self.records.revisions.put(&owner, &desired.spec.family, "register_revision", |current| {
            let mut revisions = current.cloned().unwrap_or_default();
            let number = revisions.last().map_or(1, |r| r.revision + 1);
            // The balancer's replica pool probes the replicas: a probe change is the pool's, never a
            // new revision (which would restart every replica).
            revisions.push(RevisionInfo { health_check: None, ..desired.as_registered(number) });
            Ok(revisions)
        })?;
        Ok(revisions.last().cloned().expect("a revision was just added"))
    }

    async fn deregister_revisions(&self, owner: &Owner, family: &str) -> ProviderResult<()> {
        self.records.revisions.remove(owner, family, "deregister_revisions").map(drop)
    }

    async fn find_service(
        &self,
        owner: &Owner,
        cluster: &ClusterInfo,
        name: &str,
    ) -> ProviderResult<Option<ServiceInfo>> {
        let found = self.records.services.find(owner, name, "find_service")?;
        Ok(found.filter(|s| s.cluster_id == cluster.id).map(|s| self.live(s)))
    }

    async fn ensure_service(&self, desired: &DesiredService) -> ProviderResult<ServiceInfo> {
        let invalid = |message: &str| {
            ProviderError::new("ensure_service", &desired.spec.name, ErrorKind::InvalidRequest, message)
        };
        if desired.spec.firewall_id.is_some() {
            return Err(invalid("the local provider has no firewalls to attach replicas to"));
        }
        let owner = owner_of(&desired.tags);
        if self.records.clusters.find(&owner, &desired.cluster.name, "ensure_service")?.is_none() {
            return Err(invalid("its cluster does not exist"));
        }
        let spec = self.run_spec(desired)?;
        let service = self
            .records
            .services
            .put(&owner, &desired.spec.name, "ensure_service", |_| Ok(desired.as_started(&desired.spec.name)))?;
        let pool = self.balancer.pool(desired.traffic.backend_id.as_deref().unwrap_or_default());
        // Autoscaling's count stays when the service rolls (a cloud leaves it out of the update).
        let running = self.supervisor.counts(&service.spec.name).map(|c| c.desired);
        let count = running.filter(|_| desired.autoscaled).unwrap_or(desired.spec.desired_count);
        self.supervisor.apply(&service.spec.name, pool, spec, count);
        Ok(self.live(service))
    }

    async fn scale_service(
        &self,
        owner: &Owner,
        service: &ServiceInfo,
        desired_count: u32,
    ) -> ProviderResult<ServiceInfo> {
        let scaled =
            self.records.services.put(owner, &service.spec.name, "scale_service", |current| match current {
                Some(current) => {
                    let mut scaled = current.clone();
                    scaled.spec.desired_count = desired_count;
                    Ok(scaled)
                }
                None => Err(ProviderError::new(
                    "scale_service",
                    &service.spec.name,
                    ErrorKind::NotFound,
                    format!("{} does not run here", service.spec.name),
                )),
            })?;
        self.supervisor.scale(&service.spec.name, desired_count);
        Ok(self.live(scaled))
    }

    /// Wakes at the service's pool's next change (a replica healthy, unhealthy, added, retired or
    /// failing), or after `within`.
    async fn service_changed(&self, service: &ServiceInfo, within: Duration) {
        let pool = self.balancer.pool(service.backend_id.as_deref().unwrap_or_default());
        let started = tokio::time::Instant::now();
        tokio::select! {
            _ = pool.changed() => {}
            _ = tokio::time::sleep(within) => return,
        }
        // Requests finishing under load change the pool too: look at most every 50 ms.
        tokio::time::sleep_until((started + WAKE_AT_MOST_EVERY).min(started + within)).await;
    }

    async fn delete_service(&self, owner: &Owner, service: &ServiceInfo) -> ProviderResult<()> {
        if self.records.services.find(owner, &service.spec.name, "delete_service")?.is_some() {
            self.supervisor.stop(&service.spec.name).await;
        }
        self.records.services.remove(owner, &service.spec.name, "delete_service").map(drop)
    }
}

/// No step of its own: this machine needs nothing beside the replicas' bundles.
impl scaling_core::providers::OwnSteps for LocalCloud {}

#[async_trait]
impl scaling_core::providers::Releases for LocalCloud {
    async fn revision_ids(&self, owner: &Owner, family: &str) -> ProviderResult<Vec<String>> {
        let revisions = self.records.revisions.find(owner, family, "revision_ids")?.unwrap_or_default();
        Ok(revisions.iter().rev().map(|r| r.id.clone()).collect())
    }

    async fn describe_revision(&self, owner: &Owner, id: &str) -> ProviderResult<Option<RevisionInfo>> {
        let family = id.rsplit_once(':').map_or(id, |(family, _)| family);
        let revisions = self.records.revisions.find(owner, family, "describe_revision")?.unwrap_or_default();
        Ok(revisions.into_iter().find(|r| r.id == id))
    }

    async fn deregister_revision(&self, owner: &Owner, id: &str) -> ProviderResult<()> {
        let family = id.rsplit_once(':').map_or(id, |(family, _)| family);
        if self.records.revisions.find(owner, family, "deregister_revision")?.is_none() {
            return Ok(());
        }
        self.records.revisions.put(owner, family, "deregister_revision", |current| {
            Ok(current.into_iter().flatten().filter(|r| r.id != id).cloned().collect())
        })?;
        Ok(())
    }
}

#[async_trait]
impl scaling_core::providers::Locks for LocalCloud {
    async fn acquire_lock(&self, owner: &Owner, holder: &LockHolder) -> ProviderResult<Option<LockHolder>> {
        self.operation_locks.acquire(&self.paths, &owner.app, holder)
    }

    async fn release_lock(&self, owner: &Owner, holder: &LockHolder) -> ProviderResult<()> {
        self.operation_locks.release(&owner.app, holder);
        Ok(())
    }

    async fn break_lock(&self, owner: &Owner) -> ProviderResult<Option<LockHolder>> {
        self.operation_locks.break_lock(&self.paths, &owner.app)
    }

    async fn lock_holder(&self, owner: &Owner) -> ProviderResult<Option<LockHolder>> {
        self.operation_locks.holder(&self.paths, &owner.app)
    }
}

#[async_trait]
impl scaling_core::providers::Logs for LocalCloud {
    /// The replicas' log files, read from disk: from any process, running or not.
    async fn read_logs(&self, _owner: &Owner, service: &str, query: &LogQuery) -> ProviderResult<LogPage> {
        let (logs, service, query) = (self.paths.logs(), service.to_string(), query.clone());
        let read = tokio::task::spawn_blocking(move || crate::replica_logs::read(&logs, &service, &query)).await;
        let fail = |message: String| ProviderError::new("read_logs", "replica logs", ErrorKind::Other, message);
        read.map_err(|e| fail(e.to_string()))?.map_err(|e| fail(format!("cannot read the replica logs: {e}")))
    }
}

#[async_trait]
impl scaling_core::providers::SecretStore for LocalCloud {
    /// Values come from the deploying shell or the secrets file; every reference (whatever its store)
    /// names the variable to take.
    async fn check_secrets(
        &self,
        _owner: &Owner,
        secrets: &std::collections::BTreeMap<String, String>,
    ) -> ProviderResult<Vec<Problem>> {
        let (shell, file) = &*crate::cloud::lock(&self.secrets);
        Ok(crate::secrets::resolve(secrets, shell, file.as_deref()).err().unwrap_or_default())
    }
}

#[async_trait]
impl scaling_core::providers::Autoscaler for LocalCloud {
    async fn find_autoscaling(
        &self,
        owner: &Owner,
        _cluster: &str,
        service: &str,
    ) -> ProviderResult<Option<AutoscalingInfo>> {
        self.autoscaling_of(owner, service)
    }

    async fn ensure_autoscaling(&self, desired: &DesiredAutoscaling) -> ProviderResult<AutoscalingInfo> {
        self.autoscale(desired)
    }

    async fn delete_autoscaling(&self, owner: &Owner, autoscaling: &AutoscalingInfo) -> ProviderResult<()> {
        self.stop_autoscaling(owner, autoscaling)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(backend_id: &str) -> ServiceInfo {
        ServiceInfo {
            spec: scaling_core::providers::ServiceSpec {
                name: "app".into(),
                revision_id: "app:1".into(),
                desired_count: 1,
                firewall_id: None,
            },
            id: "app".into(),
            cluster_id: "app".into(),
            running_count: 0,
            pending_count: 1,
            backend_id: Some(backend_id.into()),
            health_check_grace_period: None,
            rollout: Rollout::InProgress,
            warnings: Vec::new(),
            replicas: Vec::new(),
            drift: Vec::new(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_for_the_service_wakes_when_its_pool_changes_not_at_the_next_poll() {
        let dir = tempfile::tempdir().unwrap();
        let cloud = LocalCloud::new(crate::Paths::at(dir.path()), crate::LocalSettings::default());
        let pool = cloud.balancer.pool("app");
        let started = tokio::time::Instant::now();
        let app = service("app");
        tokio::join!(cloud.service_changed(&app, Duration::from_secs(60)), async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            pool.note_change();
        });
        let waited = started.elapsed();
        assert!(waited < Duration::from_secs(2), "woke after {waited:?}, not at the change");
        assert!(waited >= Duration::from_secs(1), "woke before anything changed: {waited:?}");

        let started = tokio::time::Instant::now();
        cloud.service_changed(&app, Duration::from_secs(5)).await;
        assert_eq!(started.elapsed(), Duration::from_secs(5), "with no change, the pause is the longest asked");
    }
}
