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
    /// The records the DNS provider writes to lead the host names to the load balancer's endpoint
    /// (empty until both exist).
    pub pointers: Vec<DnsRecord>,
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

/// Observes everything `desired` touches in as few rounds as the dependencies allow: every
/// independent read at once, a dependent one (listeners of the load balancer, the service in its
/// cluster, the records of the zone) as soon as its parent answers.
pub(crate) async fn observe(providers: &Providers, desired: &Desired) -> Result<Observed, Error> {
    use futures::future::{try_join, try_join3};
    let (owner, names) = (&desired.owner, &desired.names);
    let has = |step| desired.capabilities.has_step(step);
    let (lb, c) = (&providers.load_balancer, &providers.cluster);
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
    let balancer_group = async {
        if !has(StepId::LoadBalancerSecurityGroup) {
            return Ok(None);
        }
        let group = lb.find_security_group(owner, &names.load_balancer_security_group).await;
        group.map_err(tag(StepId::LoadBalancerSecurityGroup))
    };
    let balancer = async {
        let balancer = lb.find_load_balancer(owner, &names.load_balancer).await.map_err(tag(StepId::LoadBalancer))?;
        let listeners = match &balancer {
            Some(b) => lb.list_listeners(b).await.map_err(tag(StepId::HttpListener))?,
            None => Vec::new(),
        };
        Ok::<_, Error>((balancer, listeners))
    };
    let target_group =
        async { lb.find_target_group(owner, &names.target_group).await.map_err(tag(StepId::TargetGroup)) };
    let cluster = async {
        let cluster = c.find_cluster(owner, &names.cluster).await.map_err(tag(StepId::Cluster))?;
        let service = match &cluster {
            Some(cl) => c.find_service(owner, cl, &names.service).await.map_err(tag(StepId::Service))?,
            None => None,
        };
        Ok::<_, Error>((cluster, service))
    };
    let task_group = async {
        if !has(StepId::TaskSecurityGroup) {
            return Ok(None);
        }
        c.find_task_security_group(owner, &names.task_security_group).await.map_err(tag(StepId::TaskSecurityGroup))
    };
    let task_definition =
        async { c.find_task_definition(owner, &names.task_definition).await.map_err(tag(StepId::TaskDefinition)) };
    let certificates = async { providers.certificate.find_certificates(owner).await.map_err(tag(StepId::Certificate)) };
    // The zone of the spec's domain is read at once; without a domain, the zone of an owned certificate
    // (a domain just removed) is read once the certificates are known.
    let certificates_and_zone = async {
        let spec_zone = async {
            match desired.apex().filter(|_| has(StepId::Zone)) {
                Some(apex) => observe_zone(providers, apex).await.map(Some).map_err(tag(StepId::Zone)),
                None => Ok(None),
            }
        };
        let (certificates, zone) = try_join(certificates, spec_zone).await?;
        let zone = match zone {
            Some(zone) => zone,
            None => match certificates.first().filter(|_| has(StepId::Zone) && desired.apex().is_none()) {
                Some(cert) => observe_zone(providers, &cert.domain).await.map_err(tag(StepId::Zone))?,
                None => (None, Vec::new()),
            },
        };
        Ok::<_, Error>((certificates, zone))
    };
    let ((registry, balancer_group, balancer), (target_group, cluster, task_group), (task_definition, certs)) =
        try_join3(
            try_join3(registry, balancer_group, balancer),
            try_join3(target_group, cluster, task_group),
            try_join(task_definition, certificates_and_zone),
        )
        .await?;
    let (certificates, (zone, records)) = certs;
    let hostnames = desired.spec.hostnames();
    let pointers = match (&balancer.0, &zone) {
        (Some(balancer), Some(zone)) if has(StepId::AliasRecords) && !hostnames.is_empty() => providers
            .dns
            .pointer_records(owner, zone, &hostnames, &balancer.endpoint)
            .await
            .map_err(tag(StepId::AliasRecords))?,
        _ => Vec::new(),
    };
    Ok(Observed {
        repository: registry.0,
        image: registry.1,
        load_balancer_security_group: balancer_group,
        load_balancer: balancer.0,
        target_group,
        listeners: balancer.1,
        cluster: cluster.0,
        task_security_group: task_group,
        task_definition,
        service: cluster.1,
        zone,
        records,
        pointers,
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
