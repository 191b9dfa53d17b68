//! Reads the current state of every resource through the traits (no mutating call).

use futures::future::BoxFuture;

use super::desired::{Desired, ImageSource};
use super::kind_store::Found;
use super::kinds::{self, EachKind};
use super::resource::Resource;
use super::{Providers, StepId};
use crate::providers::{
    AutoscalingInfo, DnsRecord, ImageRef, ListenerInfo, OwnResource, Protocol, TargetHealth, ZoneInfo,
};
use crate::{Error, ProviderResult};

/// The current state of every resource the app owns (and the zone it uses).
#[derive(Debug, Clone, Default)]
pub(crate) struct Observed {
    /// How far observation looked.
    pub reach: Reach,
    /// What the app owns of each resource kind ([`super::kinds`]).
    pub found: Found,
    pub image: Option<ImageRef>,
    pub listeners: Vec<ListenerInfo>,
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
    /// The one of kind `K` the app has, as observed.
    pub fn one<K: Resource>(&self) -> Option<&K::Info> {
        self.found.all::<K>().first()
    }

    /// Every observed one of kind `K`.
    pub fn all<K: Resource>(&self) -> &[K::Info] {
        self.found.all::<K>()
    }

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Reach {
    /// What the spec names, and what the app's resources still point at (plan, deploy).
    #[default]
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
    let owner = &desired.owner;
    let has = |step| desired.capabilities.has_step(step);
    let lb = &providers.load_balancer;
    let start = Observed { reach, ..Observed::default() };
    let before = &start;
    let registry = async {
        let repository = read::<kinds::Repository>(providers, desired, before).await?;
        let image = match (repository.first(), &desired.image) {
            (Some(repo), ImageSource::Built(artifact)) => {
                providers.registry.find_image(repo, &artifact.digest).await.map_err(tag(StepId::Image))?
            }
            _ => None,
        };
        Ok::<_, Error>((repository, image))
    };
    let balancer = async {
        let balancer = read::<kinds::LoadBalancer>(providers, desired, before).await?;
        let listeners = match balancer.first() {
            Some(b) if has(StepId::HttpListener) || has(StepId::HttpsListener) => {
                lb.list_listeners(b).await.map_err(tag(StepId::HttpListener))?
            }
            _ => Vec::new(),
        };
        Ok::<_, Error>((balancer, listeners))
    };
    let backend = async {
        let backend = read::<kinds::Backend>(providers, desired, before).await?;
        let targets = match backend.first() {
            Some(pool) if reach == Reach::Status => lb.target_health(pool).await.map_err(tag(StepId::Backend))?,
            _ => Vec::new(),
        };
        Ok((backend, targets))
    };
    let cluster = async {
        let mut cluster = Observed { reach, ..Observed::default() };
        cluster.found.put::<kinds::Cluster>(read::<kinds::Cluster>(providers, desired, before).await?);
        let service = kinds::Service::find(providers, desired, &cluster).await.map_err(tag(StepId::Service))?;
        cluster.found.put::<kinds::Service>(service);
        Ok::<_, Error>(cluster.found)
    };
    // Every other kind, and the provider's own steps, at once.
    let others = async {
        let own = futures::future::try_join_all(providers.capabilities.own_steps().map(|step| async move {
            let found = providers.own_steps.find_resources(step, owner).await.map_err(tag(step))?;
            Ok::<_, Error>(OwnStepState { step, needed: providers.own_steps.needed_resources(step, owner), found })
        }));
        try_join(read_unchained_kinds(providers, desired, before), own).await
    };
    // By names, so that it is read with everything else rather than after the service.
    let autoscaling = async {
        if !has(StepId::Autoscaling) {
            return Ok(None);
        }
        providers
            .autoscaler
            .find_autoscaling(owner, &desired.names.cluster, &desired.names.service)
            .await
            .map_err(tag(StepId::Autoscaling))
    };
    let secrets = async {
        if desired.spec.secrets.is_empty() {
            return Ok(Vec::new());
        }
        providers.secrets.check_secrets(owner, &desired.spec.secrets).await.map_err(tag(StepId::Revision))
    };
    let certificates = read::<kinds::Certificate>(providers, desired, before);
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
        (registry, balancer, backend),
        (cluster, (kinds_found, own), (autoscaling, secret_problems)),
        (mut certificates, (zone, records)),
    ) = try_join3(
        try_join3(registry, balancer, backend),
        try_join3(cluster, others, try_join(autoscaling, secrets)),
        certificates_and_zone,
    )
    .await?;
    // A listener holding a certificate of another domain: the domain changed, and the old one's
    // certificates are the app's too (removed once nothing serves them).
    let held_elsewhere = balancer
        .1
        .iter()
        .filter_map(|l| l.spec.certificate_id.as_ref())
        .any(|id| !certificates.iter().any(|c| &c.id == id));
    if held_elsewhere && reach != Reach::Everything && desired.apex().is_some() {
        certificates = providers.certificate.find_certificates(owner, &[]).await.map_err(tag(StepId::Certificate))?;
    }
    let hostnames = desired.spec.hostnames();
    let pointers = match (balancer.0.first(), &zone) {
        (Some(balancer), Some(zone)) if has(StepId::DnsRecords) && !hostnames.is_empty() => providers
            .dns
            .pointer_records(owner, zone, &hostnames, &balancer.endpoint)
            .await
            .map_err(tag(StepId::DnsRecords))?,
        _ => Vec::new(),
    };
    let mut found = kinds_found;
    found.extend(cluster);
    found.put::<kinds::Repository>(registry.0);
    found.put::<kinds::LoadBalancer>(balancer.0);
    found.put::<kinds::Backend>(backend.0);
    found.put::<kinds::Certificate>(certificates);
    Ok(Observed {
        reach,
        found,
        image: registry.1,
        targets: backend.1,
        listeners: balancer.1,
        autoscaling,
        secret_problems,
        zone,
        records,
        pointers,
        own,
    })
}

/// Reads every kind that no other read waits for and that waits for none, at once, each through its
/// descriptor: a kind added to [`kinds::each_kind`] is read here with nothing more to write.
async fn read_unchained_kinds(p: &Providers, d: &Desired, before: &Observed) -> Result<Found, Error> {
    struct Reads<'a> {
        p: &'a Providers,
        d: &'a Desired,
        before: &'a Observed,
        reads: Vec<BoxFuture<'a, Result<Found, Error>>>,
    }
    impl<'a> EachKind for Reads<'a> {
        fn kind<K: Resource>(&mut self) {
            if K::READ_IN_A_CHAIN {
                return;
            }
            let (p, d, before) = (self.p, self.d, self.before);
            self.reads.push(Box::pin(async move {
                let mut found = Found::default();
                found.put::<K>(read::<K>(p, d, before).await?);
                Ok(found)
            }));
        }
    }
    let mut reads = Reads { p, d, before, reads: Vec::new() };
    kinds::each_kind(&mut reads);
    let mut found = Found::default();
    for part in futures::future::try_join_all(reads.reads).await? {
        found.extend(part);
    }
    Ok(found)
}

/// What the app owns of kind `K`, read by its descriptor where these providers read it at all (none
/// otherwise); a failure names the kind's step.
async fn read<K: Resource>(p: &Providers, d: &Desired, before: &Observed) -> Result<Vec<K::Info>, Error> {
    if !K::read_with(&d.capabilities) {
        return Ok(Vec::new());
    }
    K::find(p, d, before).await.map_err(tag(K::STEP))
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
