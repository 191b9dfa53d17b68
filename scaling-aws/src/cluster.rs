//! [`Cluster`] on ECS Fargate and EC2: the cluster, the task security group (only the container port,
//! only from the load balancer's group), the task execution role and log group, task definitions pinned
//! by digest, and the service with a deployment circuit breaker that rolls back.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ecs as ecs;
use ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, ClusterField, Compatibility, ContainerDefinition, CpuArchitecture,
    DeploymentCircuitBreaker, DeploymentConfiguration, KeyValuePair, LaunchType, LogConfiguration, LogDriver,
    NetworkConfiguration, NetworkMode, OsFamily, PortMapping, PropagateTags, RuntimePlatform, ServiceField, Tag,
    TaskDefinitionField, TaskDefinitionStatus, TransportProtocol,
};
use scaling_core::providers::{
    Cluster, ClusterInfo, DesiredCluster, DesiredFirewall, DesiredRevision, DesiredService, FirewallInfo, Owner,
    Releases, RevisionInfo, Rollout, ServiceInfo, ServiceSpec,
};
use scaling_core::{ErrorKind, Platform, ProviderError, ProviderResult};
use sha2::{Digest, Sha256};

use crate::error::{build, code, map, missing, not_owned};
use crate::provider::AwsProvider;
use crate::tags::{owned_by, owner_in};

fn tags(desired: &scaling_core::providers::Tags) -> Vec<Tag> {
    desired.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

fn owns(owner: &Owner, tags: &[Tag]) -> bool {
    owned_by(owner, tags.iter().filter_map(|t| Some((t.key()?, t.value().unwrap_or_default()))))
}

/// A client token: the same desired service gives the same token, so a retried create is one service.
fn client_token(desired: &DesiredService) -> String {
    let hash = Sha256::digest(format!("{}|{}|{}", desired.cluster.id, desired.spec.name, desired.spec.revision_id));
    hex::encode(hash)[..32].to_string()
}

impl AwsProvider {
    /// The service named `name` while it is `ACTIVE`: one `DRAINING` (deleted, its tasks stopping) or
    /// `INACTIVE` is gone for everything but [`Self::service_in_any_state`].
    async fn describe_service(&self, cluster: &ClusterInfo, name: &str) -> ProviderResult<Option<ecs::types::Service>> {
        let service = self.service_in_any_state(cluster, name).await?;
        Ok(service.filter(|s| s.status() == Some("ACTIVE")))
    }

    /// The service named `name` unless it is `INACTIVE`.
    async fn service_in_any_state(
        &self,
        cluster: &ClusterInfo,
        name: &str,
    ) -> ProviderResult<Option<ecs::types::Service>> {
        let out = self
            .ecs
            .describe_services()
            .cluster(&cluster.id)
            .services(name)
            .include(ServiceField::Tags)
            .send()
            .await
            .map_err(|e| map("DescribeServices", name, e))?;
        Ok(out.services().iter().find(|s| s.status() != Some("INACTIVE")).cloned())
    }
}

/// How this provider runs every service: what `ensure_service` sets beyond the core's fields.
struct ServiceShape<'a> {
    subnets: &'a [String],
    assign_public_ip: bool,
}

impl ServiceShape<'_> {
    /// Each setting of `s` that differs from this shape, in words.
    fn drift(&self, s: &ecs::types::Service) -> Vec<String> {
        let mut drift = Vec::new();
        let awsvpc = s.network_configuration().and_then(|n| n.awsvpc_configuration());
        let mut subnets = awsvpc.map(|a| a.subnets().to_vec()).unwrap_or_default();
        subnets.sort();
        let mut wanted = self.subnets.to_vec();
        wanted.sort();
        if subnets != wanted {
            drift.push(format!("subnets: {} → {}", subnets.join(","), wanted.join(",")));
        }
        if awsvpc.map(|a| a.security_groups().len()).unwrap_or_default() > 1 {
            drift.push("extra security groups on the tasks".to_string());
        }
        let public = awsvpc.and_then(|a| a.assign_public_ip()) == Some(&AssignPublicIp::Enabled);
        if public != self.assign_public_ip {
            drift.push(format!("public IP: {} → {}", on_off(public), on_off(self.assign_public_ip)));
        }
        let deployment = s.deployment_configuration();
        let breaker = deployment.and_then(|d| d.deployment_circuit_breaker());
        // A service that does not report its circuit breaker cannot show drift in it.
        if let Some(breaker) = breaker {
            if !(breaker.enable() && breaker.rollback()) {
                drift.push("rollback circuit breaker: off → on".to_string());
            }
        }
        if let Some(d) = deployment {
            if d.maximum_percent().is_some_and(|p| p != MAXIMUM_PERCENT) {
                drift.push(format!("maximum percent: {} → {MAXIMUM_PERCENT}", d.maximum_percent().unwrap_or(0)));
            }
            if d.minimum_healthy_percent().is_some_and(|p| p != MINIMUM_HEALTHY_PERCENT) {
                drift.push(format!(
                    "minimum healthy percent: {} → {MINIMUM_HEALTHY_PERCENT}",
                    d.minimum_healthy_percent().unwrap_or(0)
                ));
            }
        }
        if s.load_balancers().len() > 1 {
            drift.push(format!("{} load balancer attachments → 1", s.load_balancers().len()));
        }
        drift
    }
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// A rollout starts new tasks before stopping old ones: up to twice the count, never below it.
const MAXIMUM_PERCENT: i32 = 200;
const MINIMUM_HEALTHY_PERCENT: i32 = 100;

fn service_info(s: &ecs::types::Service) -> ServiceInfo {
    let count = |n: i32| u32::try_from(n).unwrap_or_default();
    let primary = s.deployments().iter().find(|d| d.status() == Some("PRIMARY"));
    let (desired, running) = (count(s.desired_count()), count(s.running_count()));
    let rollout = match primary.and_then(|d| d.rollout_state()) {
        Some(ecs::types::DeploymentRolloutState::Failed) => Rollout::Failed(
            primary.and_then(|d| d.rollout_state_reason()).unwrap_or("the deployment failed").to_string(),
        ),
        Some(ecs::types::DeploymentRolloutState::Completed) => Rollout::Completed,
        Some(_) => Rollout::InProgress,
        // Without a rollout state, one deployment running every desired task is a finished rollout.
        None if s.deployments().len() <= 1 && running == desired => Rollout::Completed,
        None => Rollout::InProgress,
    };
    let awsvpc = s.network_configuration().and_then(|n| n.awsvpc_configuration());
    ServiceInfo {
        spec: ServiceSpec {
            name: s.service_name().unwrap_or_default().to_string(),
            revision_id: s.task_definition().unwrap_or_default().to_string(),
            desired_count: desired,
            firewall_id: awsvpc.and_then(|a| a.security_groups().first()).cloned(),
        },
        id: s.service_arn().unwrap_or_default().to_string(),
        cluster_id: s.cluster_arn().unwrap_or_default().to_string(),
        running_count: running,
        pending_count: count(s.pending_count()),
        backend_id: s.load_balancers().first().and_then(|l| l.target_group_arn()).map(str::to_string),
        health_check_grace_period: s
            .health_check_grace_period_seconds()
            .and_then(|g| u64::try_from(g).ok())
            .map(Duration::from_secs),
        rollout,
        warnings: Vec::new(),
        replicas: Vec::new(),
        drift: Vec::new(),
    }
}

#[async_trait]
impl Cluster for AwsProvider {
    async fn find_cluster(&self, owner: &Owner, name: &str) -> ProviderResult<Option<ClusterInfo>> {
        let out = self
            .ecs
            .describe_clusters()
            .clusters(name)
            .include(ClusterField::Tags)
            .send()
            .await
            .map_err(|e| map("DescribeClusters", name, e))?;
        let Some(cluster) = out.clusters().iter().find(|c| c.status() == Some("ACTIVE")) else { return Ok(None) };
        if !owns(owner, cluster.tags()) {
            return Err(not_owned("DescribeClusters", name, owner));
        }
        Ok(Some(ClusterInfo { id: cluster.cluster_arn().unwrap_or(name).to_string(), name: name.to_string() }))
    }

    async fn ensure_cluster(&self, desired: &DesiredCluster) -> ProviderResult<ClusterInfo> {
        let owner = owner_in(&desired.tags);
        if let Some(cluster) = self.find_cluster(&owner, &desired.name).await? {
            return Ok(cluster);
        }
        let out = self
            .ecs
            .create_cluster()
            .cluster_name(&desired.name)
            // No capacity providers: the service asks for launchType FARGATE itself, and asking for
            // them makes CreateCluster need ECS's service-linked role, which a new account lacks.
            .set_tags(Some(tags(&desired.tags)))
            .send()
            .await
            .map_err(|e| map("CreateCluster", &desired.name, e))?;
        let arn = out
            .cluster()
            .and_then(|c| c.cluster_arn())
            .ok_or_else(|| missing("CreateCluster", &desired.name, "ClusterArn"))?;
        Ok(ClusterInfo { id: arn.to_string(), name: desired.name.clone() })
    }

    async fn delete_cluster(&self, owner: &Owner, cluster: &ClusterInfo) -> ProviderResult<()> {
        if self.find_cluster(owner, &cluster.name).await?.is_none() {
            return Ok(());
        }
        self.ecs
            .delete_cluster()
            .cluster(&cluster.id)
            .send()
            .await
            .map_err(|e| map("DeleteCluster", &cluster.name, e))?;
        Ok(())
    }

    async fn find_replica_firewall(&self, owner: &Owner, name: &str) -> ProviderResult<Option<FirewallInfo>> {
        self.find_group(owner, name).await
    }

    async fn ensure_replica_firewall(&self, desired: &DesiredFirewall) -> ProviderResult<FirewallInfo> {
        self.ensure_group(desired).await
    }

    async fn delete_replica_firewall(&self, owner: &Owner, group: &FirewallInfo) -> ProviderResult<()> {
        self.delete_group(owner, group).await
    }

    async fn find_revision(&self, owner: &Owner, family: &str) -> ProviderResult<Option<RevisionInfo>> {
        let out = match self
            .ecs
            .describe_task_definition()
            .task_definition(family)
            .include(TaskDefinitionField::Tags)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if code(&e) == Some("ClientException") => return Ok(None),
            Err(e) => return Err(map("DescribeTaskDefinition", family, e)),
        };
        let Some(definition) = out.task_definition().filter(|d| d.status() == Some(&TaskDefinitionStatus::Active))
        else {
            return Ok(None);
        };
        if !owns(owner, out.tags()) {
            return Err(not_owned("DescribeTaskDefinition", family, owner));
        }
        let mut info = crate::task_definition::info(definition, out.tags())
            .ok_or_else(|| missing("DescribeTaskDefinition", family, "container definition"))?;
        let role = crate::support_resources::role_name(&owner.app, &self.region);
        let arns = crate::task_definition::secret_arns(definition);
        info.drift.extend(self.secrets_grant_drift(&role, &arns).await?);
        Ok(Some(info))
    }

    async fn register_revision(&self, desired: &DesiredRevision) -> ProviderResult<RevisionInfo> {
        let spec = &desired.spec;
        let family = &spec.family;
        let owner = owner_in(&desired.tags);
        let cpu_units = crate::sizes::cpu_units(spec.cpu).ok_or_else(|| {
            ProviderError::new(
                "RegisterTaskDefinition",
                family,
                ErrorKind::InvalidRequest,
                format!("{} is not a Fargate size: use one of {} vCPU", spec.cpu, crate::sizes::fargate_sizes()),
            )
        })?;
        let role = self.execution_role_arn(&owner).await?;
        let secret_arns = self.secret_arns(&role, &spec.secrets).await?;
        let arns: Vec<String> = secret_arns.values().cloned().collect();
        self.grant_secrets(&crate::support_resources::role_name(&owner.app, &self.region), &arns).await?;
        let log_group = crate::support_resources::log_group_name(&owner.app);
        let logging = LogConfiguration::builder()
            .log_driver(LogDriver::Awslogs)
            .options("awslogs-group", &log_group)
            .options("awslogs-region", &self.region)
            .options("awslogs-stream-prefix", &owner.app)
            .build()
            .map_err(|e| build("RegisterTaskDefinition", family, e))?;
        let container = ContainerDefinition::builder()
            .name(&spec.container)
            .image(&spec.image)
            .essential(true)
            .port_mappings(
                PortMapping::builder().container_port(i32::from(spec.port)).protocol(TransportProtocol::Tcp).build(),
            )
            .set_environment(Some(
                spec.env.iter().map(|(k, v)| KeyValuePair::builder().name(k).value(v).build()).collect(),
            ))
            .set_secrets(
                crate::task_definition::secrets(&secret_arns)
                    .map_err(|e| build("RegisterTaskDefinition", family, e))?,
            )
            .log_configuration(logging)
            .build();
        let architecture = match spec.platform {
            Platform::LinuxArm64 => CpuArchitecture::Arm64,
            Platform::LinuxAmd64 => CpuArchitecture::X8664,
        };
        let out = self
            .ecs
            .register_task_definition()
            .family(family)
            .network_mode(NetworkMode::Awsvpc)
            .requires_compatibilities(Compatibility::Fargate)
            .cpu(cpu_units.to_string())
            .memory(spec.memory.to_string())
            .execution_role_arn(role)
            .runtime_platform(
                RuntimePlatform::builder()
                    .cpu_architecture(architecture)
                    .operating_system_family(OsFamily::Linux)
                    .build(),
            )
            .container_definitions(container)
            .set_tags(Some(crate::task_definition::with_secret_tags(tags(&desired.tags), &spec.secrets)))
            .send()
            .await
            .map_err(|e| map("RegisterTaskDefinition", family, e))?;
        out.task_definition()
            .and_then(|d| crate::task_definition::info(d, out.tags()))
            .ok_or_else(|| missing("RegisterTaskDefinition", family, "TaskDefinition"))
    }

    /// Every active revision of the family the owner owns; another owner's are left alone.
    async fn deregister_revisions(&self, owner: &Owner, family: &str) -> ProviderResult<()> {
        for id in self.revision_ids(owner, family).await? {
            match self.deregister_revision(owner, &id).await {
                Err(e) if e.kind == scaling_core::ErrorKind::NotOwned => {}
                other => other?,
            }
        }
        Ok(())
    }

    async fn find_service(
        &self,
        owner: &Owner,
        cluster: &ClusterInfo,
        name: &str,
    ) -> ProviderResult<Option<ServiceInfo>> {
        let Some(service) = self.describe_service(cluster, name).await? else { return Ok(None) };
        if !owns(owner, service.tags()) {
            return Err(not_owned("DescribeServices", name, owner));
        }
        let network = self.network().await?;
        let shape = ServiceShape { subnets: &network.subnets, assign_public_ip: self.settings.assign_public_ip };
        let mut info = ServiceInfo { drift: shape.drift(&service), ..service_info(&service) };
        if let Rollout::Failed(reason) = &info.rollout {
            info.rollout = Rollout::Failed(format!("{reason}{}", self.last_lines(owner).await));
        }
        Ok(Some(info))
    }

    async fn ensure_service(&self, desired: &DesiredService) -> ProviderResult<ServiceInfo> {
        let name = &desired.spec.name;
        let owner = owner_in(&desired.tags);
        let grace = i32::try_from(desired.health_check_grace_period.as_secs()).unwrap_or(i32::MAX);
        let count = i32::try_from(desired.spec.desired_count).unwrap_or(i32::MAX);
        let network = self.network().await?;
        let awsvpc = AwsVpcConfiguration::builder()
            .set_subnets(Some(network.subnets.clone()))
            .set_security_groups(desired.spec.firewall_id.clone().map(|g| vec![g]))
            .assign_public_ip(if self.settings.assign_public_ip {
                AssignPublicIp::Enabled
            } else {
                AssignPublicIp::Disabled
            })
            .build()
            .map_err(|e| build("CreateService", name, e))?;
        let network_configuration = NetworkConfiguration::builder().awsvpc_configuration(awsvpc).build();
        let breaker = DeploymentCircuitBreaker::builder().enable(true).rollback(true).build();
        let deployment = DeploymentConfiguration::builder()
            .deployment_circuit_breaker(breaker)
            .maximum_percent(MAXIMUM_PERCENT)
            .minimum_healthy_percent(MINIMUM_HEALTHY_PERCENT)
            .build();
        let target_group = desired.traffic.backend_id.as_deref().ok_or_else(|| {
            ProviderError::new(
                "CreateService",
                name,
                ErrorKind::InvalidRequest,
                "an ECS service behind a load balancer needs its target group: pair the ECS cluster with the AWS \
                 load balancer",
            )
        })?;
        let target = ecs::types::LoadBalancer::builder()
            .target_group_arn(target_group)
            .container_name(&desired.container)
            .container_port(i32::from(desired.traffic.container_port))
            .build();
        let service = match self.find_service(&owner, &desired.cluster, name).await? {
            // With autoscaling the count is left out (a decision taken since the plan read it stands),
            // unless the service's count is outside the bounds: then the clamped count is sent.
            Some(current) => self
                .ecs
                .update_service()
                .cluster(&desired.cluster.id)
                .service(name)
                .task_definition(&desired.spec.revision_id)
                // A rollout the circuit breaker failed is started again only when asked to be.
                .force_new_deployment(desired.restart_rollout)
                .set_desired_count(
                    (!desired.autoscaled || current.spec.desired_count != desired.spec.desired_count).then_some(count),
                )
                .health_check_grace_period_seconds(grace)
                .network_configuration(network_configuration)
                .deployment_configuration(deployment)
                .load_balancers(target)
                .send()
                .await
                .map_err(|e| map("UpdateService", name, e))?
                .service()
                .cloned(),
            None => self
                .ecs
                .create_service()
                .cluster(&desired.cluster.id)
                .service_name(name)
                .task_definition(&desired.spec.revision_id)
                .desired_count(count)
                .launch_type(LaunchType::Fargate)
                .health_check_grace_period_seconds(grace)
                .network_configuration(network_configuration)
                .deployment_configuration(deployment)
                .load_balancers(target)
                .client_token(client_token(desired))
                .propagate_tags(PropagateTags::Service)
                .enable_ecs_managed_tags(true)
                .set_tags(Some(tags(&desired.tags)))
                .send()
                .await
                .map_err(|e| map("CreateService", name, e))?
                .service()
                .cloned(),
        };
        service.map(|s| service_info(&s)).ok_or_else(|| missing("CreateService", name, "Service"))
    }

    async fn scale_service(
        &self,
        owner: &Owner,
        service: &ServiceInfo,
        desired_count: u32,
    ) -> ProviderResult<ServiceInfo> {
        let cluster = ClusterInfo { id: service.cluster_id.clone(), name: service.cluster_id.clone() };
        if self.find_service(owner, &cluster, &service.spec.name).await?.is_none() {
            return Err(ProviderError::new(
                "UpdateService",
                &service.spec.name,
                ErrorKind::NotFound,
                "the service does not exist",
            ));
        }
        let count = i32::try_from(desired_count).unwrap_or(i32::MAX);
        let out = self
            .ecs
            .update_service()
            .cluster(&service.cluster_id)
            .service(&service.spec.name)
            .desired_count(count)
            .send()
            .await
            .map_err(|e| map("UpdateService", &service.spec.name, e))?;
        out.service().map(service_info).ok_or_else(|| missing("UpdateService", &service.spec.name, "Service"))
    }

    /// Deletes the service (`force`: no scaling to 0 first) and answers [`ErrorKind::InUse`] until it is
    /// `INACTIVE`: a deleted service is `DRAINING` while its tasks stop
    /// (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteService.html>), and neither
    /// its cluster nor a new service of the same name can be made before. Destroy retries it so.
    async fn delete_service(&self, owner: &Owner, service: &ServiceInfo) -> ProviderResult<()> {
        let cluster = ClusterInfo { id: service.cluster_id.clone(), name: service.cluster_id.clone() };
        let draining = || {
            ProviderError::new(
                "DeleteService",
                &service.spec.name,
                ErrorKind::InUse,
                "the service is DRAINING: its tasks are stopping",
            )
        };
        match self.service_in_any_state(&cluster, &service.spec.name).await? {
            None => return Ok(()),
            Some(s) if s.status() == Some("DRAINING") => return Err(draining()),
            Some(s) if !owns(owner, s.tags()) => return Err(not_owned("DeleteService", &service.spec.name, owner)),
            Some(_) => {}
        }
        match self
            .ecs
            .delete_service()
            .cluster(&service.cluster_id)
            .service(&service.spec.name)
            .force(true)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if code(&e) == Some("ServiceNotFoundException") => return Ok(()),
            Err(e) if code(&e) == Some("ServiceNotActiveException") => return Err(draining()),
            Err(e) => return Err(map("DeleteService", &service.spec.name, e)),
        }
        match self.service_in_any_state(&cluster, &service.spec.name).await? {
            None => Ok(()),
            Some(_) => Err(draining()),
        }
    }
}

#[async_trait]
impl Releases for AwsProvider {
    async fn revision_ids(&self, _owner: &Owner, family: &str) -> ProviderResult<Vec<String>> {
        let mut ids = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .ecs
                .list_task_definitions()
                .family_prefix(family)
                .status(TaskDefinitionStatus::Active)
                .sort(ecs::types::SortOrder::Desc)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| map("ListTaskDefinitions", family, e))?;
            // A prefix: `app-taskdef` also lists `app-taskdef-other:1`, which is not this family.
            let of_family = |arn: &&String| {
                arn.rsplit_once('/').and_then(|(_, r)| r.rsplit_once(':')).map(|(f, _)| f) == Some(family)
            };
            ids.extend(out.task_definition_arns().iter().filter(of_family).cloned());
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                // Newest first, whatever order the service listed them in.
                let number = |arn: &String| arn.rsplit_once(':').and_then(|(_, n)| n.parse::<u32>().ok()).unwrap_or(0);
                ids.sort_by_key(|arn| std::cmp::Reverse(number(arn)));
                return Ok(ids);
            }
        }
    }

    async fn describe_revision(&self, owner: &Owner, id: &str) -> ProviderResult<Option<RevisionInfo>> {
        let described = match self
            .ecs
            .describe_task_definition()
            .task_definition(id)
            .include(TaskDefinitionField::Tags)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if code(&e) == Some("ClientException") => return Ok(None),
            Err(e) => return Err(map("DescribeTaskDefinition", id, e)),
        };
        let Some(definition) = described.task_definition() else { return Ok(None) };
        if definition.status() != Some(&TaskDefinitionStatus::Active) {
            return Ok(None);
        }
        if !owns(owner, described.tags()) {
            return Err(not_owned("DescribeTaskDefinition", id, owner));
        }
        Ok(crate::task_definition::info(definition, described.tags()))
    }

    async fn deregister_revision(&self, owner: &Owner, id: &str) -> ProviderResult<()> {
        if self.describe_revision(owner, id).await?.is_none() {
            return Ok(());
        }
        self.ecs
            .deregister_task_definition()
            .task_definition(id)
            .send()
            .await
            .map(drop)
            .map_err(|e| map("DeregisterTaskDefinition", id, e))
    }
}
