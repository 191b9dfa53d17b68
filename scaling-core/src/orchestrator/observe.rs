//! Reads the current state of every resource through the traits (no mutating call).

use super::desired::{Desired, ImageSource};
use super::{Providers, StepId};
use crate::providers::{
    CertificateInfo, ClusterInfo, DnsRecord, ImageRef, ListenerInfo, LoadBalancerInfo, Protocol, RepositoryInfo,
    SecurityGroupInfo, ServiceInfo, SupportResource, TargetGroupInfo, TaskDefinitionInfo, ZoneInfo,
};
use crate::{Error, ProviderResult};

/// The current state of every resource the app owns (and the zone it uses).
#[derive(Debug, Clone, Default)]
pub(crate) struct Observed {
    pub repository: Option<RepositoryInfo>,
    pub image: Option<ImageRef>,
    pub load_balancer_security_group: Option<SecurityGroupInfo>,
    pub load_balancer: Option<LoadBalancerInfo>,
    pub target_group: Option<TargetGroupInfo>,
    pub listeners: Vec<ListenerInfo>,
    pub cluster: Option<ClusterInfo>,
    pub task_security_group: Option<SecurityGroupInfo>,
    pub task_definition: Option<TaskDefinitionInfo>,
    pub service: Option<ServiceInfo>,
    pub zone: Option<ZoneInfo>,
    pub records: Vec<DnsRecord>,
    pub certificates: Vec<CertificateInfo>,
    /// What the cluster provider made on its own behalf; read for destroy and status only.
    pub support: Vec<SupportResource>,
}

impl Observed {
    /// The listener on the port the spec uses for `protocol` (80 or 443), whatever protocol it speaks.
    pub fn listener(&self, protocol: Protocol) -> Option<&ListenerInfo> {
        let port = match protocol {
            Protocol::Http => super::desired::HTTP_PORT,
            Protocol::Https => super::desired::HTTPS_PORT,
        };
        self.listeners.iter().find(|l| l.port == port)
    }

    /// Owned records in the zone.
    pub fn owned_records<'a>(&'a self, app: &'a str) -> impl Iterator<Item = &'a DnsRecord> + 'a {
        self.records.iter().filter(move |r| r.owner.as_deref() == Some(app))
    }
}

fn tag(step: StepId) -> impl Fn(crate::ProviderError) -> Error {
    move |source| Error::Provider { step, source }
}

/// Observes everything `desired` touches, concurrently per provider.
pub(crate) async fn observe(providers: &Providers, desired: &Desired) -> Result<Observed, Error> {
    let (owner, names) = (&desired.owner, &desired.names);
    let has = |step| desired.capabilities.has_step(step);
    let registry = async {
        let repository =
            providers.registry.find_repository(owner, &names.repository).await.map_err(tag(StepId::Repository))?;
        let image = match (&repository, &desired.image) {
            (Some(repo), ImageSource::Built(artifact)) => {
                providers.registry.find_image(repo, &artifact.digest).await.map_err(tag(StepId::Image))?
            }
            _ => None,
        };
        Ok::<_, Error>((repository, image))
    };
    let balancer = async {
        let lb = &providers.load_balancer;
        let group = match has(StepId::LoadBalancerSecurityGroup) {
            true => lb
                .find_security_group(owner, &names.load_balancer_security_group)
                .await
                .map_err(tag(StepId::LoadBalancerSecurityGroup))?,
            false => None,
        };
        let balancer = lb.find_load_balancer(owner, &names.load_balancer).await.map_err(tag(StepId::LoadBalancer))?;
        let target_group = lb.find_target_group(owner, &names.target_group).await.map_err(tag(StepId::TargetGroup))?;
        let listeners = match &balancer {
            Some(b) => lb.list_listeners(b).await.map_err(tag(StepId::HttpListener))?,
            None => Vec::new(),
        };
        Ok::<_, Error>((group, balancer, target_group, listeners))
    };
    let cluster = async {
        let c = &providers.cluster;
        let cluster = c.find_cluster(owner, &names.cluster).await.map_err(tag(StepId::Cluster))?;
        let group = match has(StepId::TaskSecurityGroup) {
            true => c
                .find_task_security_group(owner, &names.task_security_group)
                .await
                .map_err(tag(StepId::TaskSecurityGroup))?,
            false => None,
        };
        let task_definition =
            c.find_task_definition(owner, &names.task_definition).await.map_err(tag(StepId::TaskDefinition))?;
        let service = match &cluster {
            Some(cl) => c.find_service(owner, cl, &names.service).await.map_err(tag(StepId::Service))?,
            None => None,
        };
        Ok::<_, Error>((cluster, group, task_definition, service))
    };
    let certificates = async { providers.certificate.find_certificates(owner).await.map_err(tag(StepId::Certificate)) };
    let (registry, balancer, cluster, certificates) =
        futures::future::try_join4(registry, balancer, cluster, certificates).await?;
    // The zone: the spec's domain, or (when the domain was removed) the domain of a certificate we own.
    let domain = desired.apex().map(str::to_string).or_else(|| certificates.first().map(|c| c.domain.clone()));
    let (zone, records) = match domain.filter(|_| has(StepId::Zone)) {
        Some(domain) => observe_zone(providers, &domain).await.map_err(tag(StepId::Zone))?,
        None => (None, Vec::new()),
    };
    Ok(Observed {
        repository: registry.0,
        image: registry.1,
        load_balancer_security_group: balancer.0,
        load_balancer: balancer.1,
        target_group: balancer.2,
        listeners: balancer.3,
        cluster: cluster.0,
        task_security_group: cluster.1,
        task_definition: cluster.2,
        service: cluster.3,
        zone,
        records,
        certificates,
        support: Vec::new(),
    })
}

async fn observe_zone(providers: &Providers, domain: &str) -> ProviderResult<(Option<ZoneInfo>, Vec<DnsRecord>)> {
    match providers.dns.find_zone(domain).await? {
        Some(zone) => {
            let records = providers.dns.list_records(&zone).await?;
            Ok((Some(zone), records))
        }
        None => Ok((None, Vec::new())),
    }
}
