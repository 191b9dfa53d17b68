//! Reads the current state of every resource through the traits (no mutating call).

use super::desired::{Desired, ImageSource};
use super::{Providers, StepId};
use crate::providers::{
    AutoscalingInfo, BackendInfo, CertificateInfo, ClusterInfo, DnsRecord, FirewallInfo, ImageRef, ListenerInfo,
    LoadBalancerInfo, OwnResource, Protocol, RepositoryInfo, RevisionInfo, ServiceInfo, TargetHealth, ZoneInfo,
};
use crate::{Error, ProviderResult};

/// The current state of every resource the app owns (and the zone it uses).
#[derive(Debug, Clone, Default)]
pub(crate) struct Observed {
    pub repository: Option<RepositoryInfo>,
    pub image: Option<ImageRef>,
    pub load_balancer_firewall: Option<FirewallInfo>,
    pub load_balancer: Option<LoadBalancerInfo>,
    pub backend: Option<BackendInfo>,
    pub listeners: Vec<ListenerInfo>,
    pub cluster: Option<ClusterInfo>,
    pub replica_firewall: Option<FirewallInfo>,
    pub revision: Option<RevisionInfo>,
    pub service: Option<ServiceInfo>,
    pub autoscaling: Option<AutoscalingInfo>,
    /// The health of the backend pool's targets, read beside the pool for `status` only.
    pub targets: Vec<TargetHealth>,
    /// What the cluster provider found wrong with the spec's secrets (none exist, a store it does
    /// not know): refused by `plan` before any write.
    pub secret_problems: Vec<crate::Problem>,
    pub zone: Option<ZoneInfo>,
    pub records: Vec<DnsRecord>,
    /// The records the DNS provider writes to lead the host names to the load balancer's endpoint
    /// (empty until both exist).
    pub pointers: Vec<DnsRecord>,
    pub certificates: Vec<CertificateInfo>,
    /// Each of the provider's own steps in the graph, with what it needs and what it owns.
    pub own: Vec<OwnStepState>,
}

/// One of the provider's own steps ([`StepId::Own`]) as observed.
#[derive(Debug, Clone)]
pub(crate) struct OwnStepState {
    pub step: StepId,
    /// What the step needs (by kind and name).
    pub needed: Vec<OwnResource>,
    /// What the app owns of it, as it is.
    pub found: Vec<OwnResource>,
}

impl OwnStepState {
    /// True when the step needs nothing and owns nothing.
    pub fn is_empty(&self) -> bool {
        self.needed.is_empty() && self.found.is_empty()
    }
}

impl Observed {
    /// The listener on the port the spec uses for `protocol` (80 or 443), whatever protocol it speaks.
    pub fn listener(&self, protocol: Protocol) -> Option<&ListenerInfo> {
        let port = match protocol {
            Protocol::Http => super::desired::HTTP_PORT,
            Protocol::Https => super::desired::HTTPS_PORT,
        };
        self.listeners.iter().find(|l| l.spec.port == port)
    }

    /// Owned records in the zone.
    pub fn owned_records<'a>(&'a self, app: &'a str) -> impl Iterator<Item = &'a DnsRecord> + 'a {
        self.records.iter().filter(move |r| r.owner.as_deref() == Some(app))
    }
}

/// How far observation looks beyond what the spec names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// What the spec names, and what the app's resources still point at (plan, deploy).
    Spec,
    /// The same, and the health of the backend pool's targets as soon as the pool is found (status).
    Status,
    /// Everything the app owns, whatever it was once named (destroy).
    Everything,
}

fn tag(step: StepId) -> impl Fn(crate::ProviderError) -> Error {
    move |source| Error::Provider { step, source }
}

/// Observes everything `desired` touches in as few rounds as the dependencies allow: every
/// independent read at once, a dependent one (listeners of the load balancer, the service in its
/// cluster, the records of the zone) as soon as its parent answers.
pub(crate) async fn observe(providers: &Providers, desired: &Desired, reach: Reach) -> Result<Observed, Error> {
    use futures::future::{try_join, try_join3};
    let (owner, names) = (&desired.owner, &desired.names);
    let has = |step| desired.capabilities.has_step(step);
    let (lb, c) = (&providers.load_balancer, &providers.cluster);
    let registry = async {
        if !has(StepId::Repository) {
            return Ok((None, None));
        }
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
        if !has(StepId::LoadBalancerFirewall) {
            return Ok(None);
        }
        let group = lb.find_firewall(owner, &names.load_balancer_firewall).await;
        group.map_err(tag(StepId::LoadBalancerFirewall))
    };
    let balancer = async {
        if !has(StepId::LoadBalancer) {
            return Ok((None, Vec::new()));
        }
        let balancer = lb.find_load_balancer(owner, &names.load_balancer).await.map_err(tag(StepId::LoadBalancer))?;
        let listeners = match &balancer {
            Some(b) if has(StepId::HttpListener) || has(StepId::HttpsListener) => {
                lb.list_listeners(b).await.map_err(tag(StepId::HttpListener))?
            }
            _ => Vec::new(),
        };
        Ok::<_, Error>((balancer, listeners))
    };
    let backend = async {
        if !has(StepId::Backend) {
            return Ok((None, Vec::new()));
        }
        let backend = lb.find_backend(owner, &names.backend).await.map_err(tag(StepId::Backend))?;
        let targets = match &backend {
            Some(pool) if reach == Reach::Status => lb.target_health(pool).await.map_err(tag(StepId::Backend))?,
            _ => Vec::new(),
        };
        Ok((backend, targets))
    };
    let cluster = async {
        let cluster = match has(StepId::Cluster) {
            true => c.find_cluster(owner, &names.cluster).await.map_err(tag(StepId::Cluster))?,
            false => None,
        };
        let service = match desired.cluster_or_implicit(cluster.as_ref()) {
            Some(cl) => c.find_service(owner, &cl, &names.service).await.map_err(tag(StepId::Service))?,
            None => None,
        };
        Ok::<_, Error>((cluster, service))
    };
    let task_group = async {
        if !has(StepId::ReplicaFirewall) {
            return Ok(None);
        }
        c.find_replica_firewall(owner, &names.replica_firewall).await.map_err(tag(StepId::ReplicaFirewall))
    };
    let revision = async {
        let own = futures::future::try_join_all(providers.capabilities.own_steps().map(|step| async move {
            let found = providers.own_steps.find_resources(step, owner).await.map_err(tag(step))?;
            Ok::<_, Error>(OwnStepState { step, needed: providers.own_steps.needed_resources(step, owner), found })
        }));
        let (revision, own) = futures::future::join(c.find_revision(owner, &names.revision), own).await;
        Ok::<_, Error>((revision.map_err(tag(StepId::Revision))?, own?))
    };
    // By names, so that it is read with everything else rather than after the service.
    let autoscaling = async {
        if !has(StepId::Autoscaling) {
            return Ok(None);
        }
        providers
            .autoscaler
            .find_autoscaling(owner, &names.cluster, &names.service)
            .await
            .map_err(tag(StepId::Autoscaling))
    };
    let secrets = async {
        if desired.spec.secrets.is_empty() {
            return Ok(Vec::new());
        }
        providers.secrets.check_secrets(owner, &desired.spec.secrets).await.map_err(tag(StepId::Revision))
    };
    // The spec's domain bounds the read; without one (removed), or for destroy, every owned one is read.
    let domains: Vec<String> = match reach {
        Reach::Spec | Reach::Status => desired.apex().map(str::to_string).into_iter().collect(),
        Reach::Everything => Vec::new(),
    };
    let certificates = async {
        match has(StepId::Certificate) {
            true => providers.certificate.find_certificates(owner, &domains).await.map_err(tag(StepId::Certificate)),
            false => Ok(Vec::new()),
        }
    };
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
                Some(cert) => observe_zone(providers, &cert.spec.domain).await.map_err(tag(StepId::Zone))?,
                None => (None, Vec::new()),
            },
        };
        Ok::<_, Error>((certificates, zone))
    };
    let (
        (registry, balancer_group, balancer),
        (backend, cluster, task_group),
        (revision, certs, (autoscaling, secret_problems)),
    ) = try_join3(
        try_join3(registry, balancer_group, balancer),
        try_join3(backend, cluster, task_group),
        try_join3(revision, certificates_and_zone, try_join(autoscaling, secrets)),
    )
    .await?;
    let (mut certificates, (zone, records)) = certs;
    // A listener holding a certificate of another domain: the domain changed, and the old one's
    // certificates are the app's too (removed once nothing serves them).
    let held_elsewhere = balancer
        .1
        .iter()
        .filter_map(|l| l.spec.certificate_id.as_ref())
        .any(|id| !certificates.iter().any(|c| &c.id == id));
    if held_elsewhere && !domains.is_empty() {
        certificates = providers.certificate.find_certificates(owner, &[]).await.map_err(tag(StepId::Certificate))?;
    }
    let hostnames = desired.spec.hostnames();
    let pointers = match (&balancer.0, &zone) {
        (Some(balancer), Some(zone)) if has(StepId::DnsRecords) && !hostnames.is_empty() => providers
            .dns
            .pointer_records(owner, zone, &hostnames, &balancer.endpoint)
            .await
            .map_err(tag(StepId::DnsRecords))?,
        _ => Vec::new(),
    };
    Ok(Observed {
        repository: registry.0,
        image: registry.1,
        load_balancer_firewall: balancer_group,
        load_balancer: balancer.0,
        backend: backend.0,
        targets: backend.1,
        listeners: balancer.1,
        cluster: cluster.0,
        replica_firewall: task_group,
        revision: revision.0,
        service: cluster.1,
        autoscaling,
        secret_problems,
        zone,
        records,
        pointers,
        certificates,
        own: revision.1,
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
