//! [`Cluster`] locally: services are supervised replica processes of a bundle.

use async_trait::async_trait;
use scaling_core::providers::{
    Cluster, ClusterInfo, DesiredCluster, DesiredFirewall, DesiredRevision, DesiredService, FirewallInfo, Owner,
    RevisionInfo, Rollout, ServiceInfo,
};
use scaling_core::{ErrorKind, ProviderError, ProviderResult};

use crate::bundle;
use crate::cloud::{lock, LocalCloud};
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

impl LocalCloud {
    /// The service as the supervisor runs it: live counts and rollout.
    fn live(&self, service: ServiceInfo) -> ServiceInfo {
        let Some(counts) = self.supervisor.counts(&service.name) else { return service };
        let rollout = match (&counts.failure, counts.settled) {
            (Some(why), _) => Rollout::Failed(why.clone()),
            (None, true) => Rollout::Completed,
            (None, false) => Rollout::InProgress,
        };
        let warnings = exposure_warnings(&self.supervisor.replica_pids(&service.name));
        let replicas = self.supervisor.replicas(&service.name);
        ServiceInfo {
            running_count: counts.running,
            pending_count: counts.pending,
            rollout,
            warnings,
            replicas,
            ..service
        }
    }

    fn run_spec(&self, desired: &DesiredService) -> ProviderResult<RunSpec> {
        let fail =
            |message: String| ProviderError::new("ensure_service", &desired.name, ErrorKind::InvalidRequest, message);
        let definition = lock(&self.task_definitions)
            .get(&desired.revision_id)
            .cloned()
            .ok_or_else(|| fail(format!("task definition {} is not known", desired.revision_id)))?;
        let bundle = digest_of(&definition.image).and_then(|d| bundle::find(&self.paths, d)).ok_or_else(|| {
            fail(format!(
                "the local provider runs apps it builds from image.context; {} is not a local bundle (a prebuilt image needs a container runtime)",
                definition.image
            ))
        })?;
        let drain = lock(&self.target_groups)
            .get(&desired.traffic.backend_id)
            .map(|t| t.deregistration_delay)
            .unwrap_or_default();
        Ok(RunSpec {
            revision: definition.id,
            bundle,
            env: definition.env,
            workers: definition.cpu.whole_cpus_rounded_up(),
            grace: desired.health_check_grace_period,
            drain,
        })
    }
}

#[async_trait]
impl Cluster for LocalCloud {
    async fn find_cluster(&self, owner: &Owner, name: &str) -> ProviderResult<Option<ClusterInfo>> {
        self.memory.find_cluster(owner, name).await
    }

    async fn ensure_cluster(&self, desired: &DesiredCluster) -> ProviderResult<ClusterInfo> {
        self.memory.ensure_cluster(desired).await
    }

    async fn delete_cluster(&self, owner: &Owner, cluster: &ClusterInfo) -> ProviderResult<()> {
        self.memory.delete_cluster(owner, cluster).await
    }

    async fn find_replica_firewall(&self, owner: &Owner, name: &str) -> ProviderResult<Option<FirewallInfo>> {
        self.memory.find_replica_firewall(owner, name).await
    }

    async fn ensure_replica_firewall(&self, desired: &DesiredFirewall) -> ProviderResult<FirewallInfo> {
        // Replicas bind 127.0.0.1 only, so the load balancer on this machine is the only way in.
        self.memory.ensure_replica_firewall(desired).await
    }

    async fn delete_replica_firewall(&self, owner: &Owner, group: &FirewallInfo) -> ProviderResult<()> {
        self.memory.delete_replica_firewall(owner, group).await
    }

    async fn find_revision(&self, owner: &Owner, family: &str) -> ProviderResult<Option<RevisionInfo>> {
        let found = self.memory.find_revision(owner, family).await?;
        if let Some(definition) = &found {
            lock(&self.task_definitions).insert(definition.id.clone(), definition.clone());
        }
        Ok(found)
    }

    async fn register_revision(&self, desired: &DesiredRevision) -> ProviderResult<RevisionInfo> {
        let definition = self.memory.register_revision(desired).await?;
        lock(&self.task_definitions).insert(definition.id.clone(), definition.clone());
        Ok(definition)
    }

    async fn deregister_revisions(&self, owner: &Owner, family: &str) -> ProviderResult<()> {
        self.memory.deregister_revisions(owner, family).await
    }

    async fn find_service(
        &self,
        owner: &Owner,
        cluster: &ClusterInfo,
        name: &str,
    ) -> ProviderResult<Option<ServiceInfo>> {
        Ok(self.memory.find_service(owner, cluster, name).await?.map(|s| self.live(s)))
    }

    async fn ensure_service(&self, desired: &DesiredService) -> ProviderResult<ServiceInfo> {
        let spec = self.run_spec(desired)?;
        let service = self.memory.ensure_service(desired).await?;
        let pool = self.balancer.pool(&desired.traffic.backend_id);
        self.supervisor.apply(&service.name, pool, spec, desired.desired_count);
        Ok(self.live(service))
    }

    async fn scale_service(
        &self,
        owner: &Owner,
        service: &ServiceInfo,
        desired_count: u32,
    ) -> ProviderResult<ServiceInfo> {
        let scaled = self.memory.scale_service(owner, service, desired_count).await?;
        self.supervisor.scale(&service.name, desired_count);
        Ok(self.live(scaled))
    }

    async fn delete_service(&self, owner: &Owner, service: &ServiceInfo) -> ProviderResult<()> {
        self.supervisor.stop(&service.name).await;
        self.memory.delete_service(owner, service).await
    }
}
