//! The plan: one row per resource with its action and the reason, plus what apply needs.

use std::time::Duration;

use serde::Serialize;

use super::desired::{Desired, ImageSource, HTTPS_PORT};
use super::diff::{self, Action, Diff};
use super::graph::critical_path;
use super::kinds::{self, EachKind};
use super::observe::Observed;
use super::resource::{owned_label, Ids, Planned, Resource, NEW};
use super::StepId;
use crate::providers::{
    canonical_name, CertificateInfo, CertificateStatus, DnsRecord, EndpointShape, ListenerAction, ListenerInfo,
    LoadBalancerStatus, Protocol, RecordKind, Rollout,
};

/// One planned change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Change {
    /// The step that carries it out.
    pub step: StepId,
    /// The resource, e.g. `load balancer dashmath-alb`.
    pub resource: String,
    /// What happens to it.
    pub action: Action,
    /// Why, in words.
    pub reason: String,
}

/// A deployment plan: what each resource needs, and the steps that will run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The app.
    pub app: String,
    /// One row per resource, in step order.
    pub changes: Vec<Change>,
    pub(crate) steps: Vec<StepId>,
    pub(crate) desired: Desired,
    pub(crate) observed: Observed,
}

impl Plan {
    /// True when applying would change something (waits do not count).
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action.mutates())
    }

    /// The row of `step`'s resource, if it has one.
    pub fn change(&self, step: StepId) -> Option<&Change> {
        self.changes.iter().find(|c| c.step == step)
    }

    /// The steps apply will run, each after its dependencies.
    pub fn steps(&self) -> &[StepId] {
        &self.steps
    }

    /// The image the plan deploys.
    pub fn image(&self) -> &ImageSource {
        &self.desired.image
    }

    /// Every observed resource the app owns, e.g. `load balancer dashmath-alb` (what destroy deletes).
    pub fn owned_resources(&self) -> Vec<String> {
        let o = &self.observed;
        let caps = &self.desired.capabilities;
        let mut out: Vec<String> =
            o.autoscaling.iter().map(|a| format!("autoscaling of service {}", a.service)).collect();
        out.extend(o.listeners.iter().map(|l| format!("listener {}:{}", l.spec.protocol, l.spec.port)));
        let mut owned = Owned { observed: o, capabilities: caps, labels: Vec::new() };
        kinds::each_kind(&mut owned);
        out.extend(owned.labels);
        out.extend(o.owned_records(&self.app).map(|r| format!("record {} {}", r.name, r.kind)));
        out.extend(o.own.iter().flat_map(|s| &s.found).map(super::own_steps::label));
        let own_zone = o.zone.as_ref().filter(|z| z.owner.as_deref() == Some(self.app.as_str()));
        out.extend(own_zone.map(|z| format!("zone {}", z.name)));
        out
    }

    /// The longest chain of steps when each takes `cost(step)`: the least time apply can take.
    pub fn critical_path(&self, cost: impl Fn(StepId) -> Duration) -> (Duration, Vec<StepId>) {
        critical_path(&self.steps, &self.desired.capabilities, cost)
    }
}

/// The labels of every owned resource of each kind.
struct Owned<'a> {
    observed: &'a Observed,
    capabilities: &'a crate::Capabilities,
    labels: Vec<String>,
}

impl EachKind for Owned<'_> {
    fn kind<K: Resource>(&mut self) {
        let labels = K::owned(self.observed).into_iter().map(|info| owned_label::<K>(self.capabilities, info));
        self.labels.extend(labels);
    }
}

/// What the spec no longer wants, found by comparing owned resources with the desired ones.
#[derive(Debug, Default)]
pub(crate) struct Obsolete {
    /// Listeners on a port the spec does not serve (HTTPS:443 without HTTPS, or any other port).
    pub listeners: Vec<ListenerInfo>,
    pub certificates: Vec<CertificateInfo>,
    pub records: Vec<DnsRecord>,
}

impl Obsolete {
    /// `keep_certificate` is the certificate in use; `wanted` the records the spec wants.
    pub fn find(desired: &Desired, observed: &Observed, keep_certificate: Option<&str>, wanted: &[DnsRecord]) -> Self {
        let listeners = observed.listeners.iter().filter(|l| !desired.wants_listener(l.spec.port)).cloned().collect();
        let certificates = observed
            .all::<kinds::Certificate>()
            .iter()
            .filter(|c| Some(c.id.as_str()) != keep_certificate)
            .cloned()
            .collect();
        let records = observed
            .owned_records(&desired.owner.app)
            .filter(|r| !wanted.iter().any(|w| w.name == r.name && w.kind == r.kind))
            .cloned()
            .collect();
        Self { listeners, certificates, records }
    }

    pub fn is_empty(&self) -> bool {
        self.listeners.is_empty() && self.certificates.is_empty() && self.records.is_empty()
    }
}

/// A record someone else made at a name and type the spec's hostnames need: refused at plan time,
/// before any write, never overwritten.
pub(crate) fn refuse_foreign_records(d: &Desired, o: &Observed) -> crate::Result<()> {
    if !d.capabilities.has_step(StepId::DnsRecords) || d.spec.domain.is_none() {
        return Ok(());
    }
    let foreign: Vec<String> = d
        .spec
        .hostnames()
        .into_iter()
        .filter_map(|name| {
            let theirs = o.records.iter().find(|r| {
                r.name == name
                    && matches!(r.kind, RecordKind::A | RecordKind::Aaaa | RecordKind::Cname)
                    && r.owner.as_deref() != Some(d.owner.app.as_str())
            })?;
            Some(format!("{} {}", theirs.name, theirs.kind))
        })
        .collect();
    if foreign.is_empty() {
        return Ok(());
    }
    let zone = o.zone.as_ref().map_or("the zone", |z| z.name.as_str());
    let message = format!(
        "{} already exist(s) in {zone} and {} not made by {}: delete them yourself if they should go, or leave \
         those names out of domain.aliases; nothing was changed",
        foreign.join(", "),
        if foreign.len() == 1 { "was" } else { "were" },
        d.owner.app
    );
    Err(crate::Error::Provider {
        step: StepId::DnsRecords,
        source: crate::ProviderError::new("plan", foreign.join(", "), crate::ErrorKind::NotOwned, message),
    })
}

/// What the spec asks for that the providers' graph has no step for (a certificate, autoscaling): each
/// a problem naming the field, refused before any write rather than silently left out.
pub(crate) fn beyond_the_graph(d: &Desired) -> Vec<crate::Problem> {
    let lacks = |step| !d.capabilities.has_step(step);
    let mut problems = Vec::new();
    if d.spec.https() && lacks(StepId::Certificate) {
        problems.push(crate::Problem::new(
            "domain.https",
            "these providers issue no certificate",
            "set domain.https = false, or deploy with a certificate provider",
        ));
    }
    if d.spec.domain.is_some() && lacks(StepId::LoadBalancer) {
        problems.push(crate::Problem::new(
            "domain",
            "these providers have nothing that answers for host names",
            "remove [domain], or deploy with a load balancer provider",
        ));
    }
    if d.spec.scaling.is_some() && lacks(StepId::Autoscaling) {
        problems.push(crate::Problem::new(
            "scaling",
            "these providers have no autoscaling step",
            "remove [scaling] and set app.desired_count, or deploy with a provider that autoscales",
        ));
    }
    problems
}

/// An apex domain that the DNS cannot lead to the load balancer: its endpoint is a host name, the
/// domain is its zone's apex, and the DNS has no alias records (a CNAME cannot sit at an apex).
/// Refused before any write.
pub(crate) fn apex_behind_a_host_name(d: &Desired, o: &Observed, dns_aliases_apex: bool) -> Option<crate::Problem> {
    let domain = d.spec.domain.as_ref()?;
    // Without a zone yet, the one a deploy creates is named after the domain.
    let zone = canonical_name(o.zone.as_ref().map_or(&domain.name, |z| &z.name));
    // The load balancer's endpoint as it is where it exists, else as the provider declares it.
    let shape = match o.one::<kinds::LoadBalancer>() {
        Some(lb) if lb.endpoint.hostname.is_some() && lb.endpoint.addresses.is_empty() => EndpointShape::HostName,
        Some(_) => EndpointShape::Addresses,
        None => d.capabilities.endpoint,
    };
    let wanted = d.capabilities.has_step(StepId::DnsRecords);
    let stuck = shape == EndpointShape::HostName && !dns_aliases_apex;
    (wanted && stuck && zone == canonical_name(&domain.name)).then(|| {
        crate::Problem::new(
            "domain.name",
            format!(
                "{} is the apex of its zone, and the load balancer is known by a host name, which this DNS cannot \
                 lead an apex to (a CNAME cannot sit at the apex; only alias records can)",
                domain.name
            ),
            format!(
                "use a name below the apex (app.{}), or keep the zone on a DNS with alias records (Route 53)",
                domain.name
            ),
        )
    })
}

/// HTTPS through a load balancer and a certificate provider that cannot work together: one serves
/// certificates from their keys and the other keeps its keys (ACM), or one takes only its own cloud's
/// certificates (an ALB) and the other hands out another authority's (ACME). Refused before any write.
pub(crate) fn certificate_pairing(d: &Desired, serves_keys: bool, hands_out_keys: bool) -> Option<crate::Problem> {
    let wanted = d.spec.https() && d.capabilities.has_step(StepId::Certificate);
    let message = match (serves_keys, hands_out_keys) {
        (true, false) => {
            "the load balancer serves certificates from their keys, but the certificate provider keeps its keys \
             (ACM)"
        }
        (false, true) => {
            "the load balancer takes only its own cloud's certificates (an ALB takes ACM's), but the certificate \
             provider hands out another authority's (ACME)"
        }
        _ => return None,
    };
    wanted.then(|| {
        crate::Problem::new(
            "domain.https",
            message,
            "pair the load balancer with a certificate provider of its kind (an ALB with ACM; a balancer of your \
             own with ACME or the local CA), or set domain.https = false",
        )
    })
}

/// Validation records of `certificate`, marked as owned by the app.
pub(crate) fn validation_records(desired: &Desired, certificate: &CertificateInfo) -> Vec<DnsRecord> {
    let mut records: Vec<DnsRecord> = certificate
        .validation_records
        .iter()
        .map(|r| DnsRecord { owner: Some(desired.owner.app.clone()), ..r.clone() })
        .collect();
    records.sort();
    records.dedup();
    records
}

struct Planner<'a> {
    desired: &'a Desired,
    observed: &'a Observed,
    changes: Vec<Change>,
    steps: Vec<StepId>,
}

impl<'a> Planner<'a> {
    fn ids(&self) -> Planned<'a> {
        Planned { desired: self.desired, observed: self.observed }
    }

    /// A row for `step`'s resource, unless the providers have no such step.
    fn add(&mut self, step: StepId, resource: impl Into<String>, diff: Diff) {
        if !self.desired.capabilities.has_step(step) {
            return;
        }
        // Cleanup rows name the very resource they remove; every other row speaks the providers' words.
        let resource = match step {
            StepId::Cleanup => resource.into(),
            _ => self.desired.label(step, resource.into()),
        };
        self.changes.push(Change { step, resource, action: diff.action, reason: diff.reason });
    }

    fn wait(&mut self, step: StepId, resource: &str, ready: bool, what: &str) {
        let diff =
            if ready { Diff::same() } else { Diff { action: Action::Wait, reason: format!("wait until {what}") } };
        self.add(step, resource, diff);
    }
}

impl EachKind for Planner<'_> {
    /// The row of kind `K`'s resource, when the spec wants one.
    fn kind<K: Resource>(&mut self) {
        let (d, o) = (self.desired, self.observed);
        if !K::wanted(d) {
            return;
        }
        // Planned ids never fail: a missing one is a placeholder.
        let Ok(wanted) = K::desired(d, &self.ids()) else { return };
        let diff = K::diff(o, d, &wanted, K::observed(d, o));
        self.add(K::STEP, format!("{} {}", d.capabilities.noun(K::STEP), K::name(d, &wanted)), diff);
    }
}

/// Plans every step: which run, and what each does to its resource.
pub(crate) fn plan(desired: Desired, observed: Observed) -> Plan {
    let mut p = Planner { desired: &desired, observed: &observed, changes: Vec::new(), steps: Vec::new() };
    super::kinds::each_kind(&mut p);
    registry(&mut p);
    domain(&mut p);
    balancer(&mut p);
    cluster(&mut p);
    cleanup(&mut p);
    let (mut changes, mut steps) = (p.changes, p.steps);
    let caps = &desired.capabilities;
    // In step order (the provider's own steps where its graph places them); a step's rows keep the
    // order they were added in.
    let order = caps.ordered(&caps.graph.known());
    let position = |step: &StepId| order.iter().position(|s| s == step);
    changes.sort_by_key(|c| position(&c.step));
    steps.extend(caps.own_steps());
    steps.extend(
        StepId::ALL
            .into_iter()
            .filter(|s| !matches!(s, StepId::Image | StepId::Cleanup | StepId::Autoscaling) && !is_domain_step(*s)),
    );
    if desired.spec.domain.is_some() {
        steps.extend([StepId::Zone, StepId::DnsRecords]);
    }
    if desired.spec.https() {
        steps.extend([
            StepId::Certificate,
            StepId::ValidationRecords,
            StepId::CertificateIssued,
            StepId::HttpsListener,
            StepId::HttpRedirect,
        ]);
    }
    steps.retain(|s| desired.capabilities.has_step(*s));
    // An own step with nothing to keep or remove does not run.
    steps.retain(|s| !matches!(s, StepId::Own(_)) || observed.own.iter().any(|o| o.step == *s && !o.is_empty()));
    steps.sort_by_key(position);
    steps.dedup();
    Plan { app: desired.owner.app.clone(), changes, steps, desired, observed }
}

fn is_domain_step(step: StepId) -> bool {
    use StepId::*;
    matches!(
        step,
        Zone | Certificate | ValidationRecords | CertificateIssued | HttpsListener | HttpRedirect | DnsRecords
    )
}

fn registry(p: &mut Planner) {
    let (d, o) = (p.desired, p.observed);
    if let ImageSource::Built(artifact) = &d.image {
        p.steps.push(StepId::Image);
        let diff = match &o.image {
            Some(_) => Diff { action: Action::NoChange, reason: "already in the repository".into() },
            None => Diff { action: Action::Create, reason: format!("push the {} image", artifact.platform) },
        };
        p.add(StepId::Image, format!("image {}", artifact.digest), diff);
    }
}

fn domain(p: &mut Planner) {
    let (d, o) = (p.desired, p.observed);
    let Some(apex) = d.apex() else { return };
    let zone_diff = match &o.zone {
        Some(zone) => Diff { action: Action::NoChange, reason: format!("using zone {} ({})", zone.name, zone.id) },
        None => Diff {
            action: Action::Create,
            reason: "does not exist; its name servers must then be set at the registrar".into(),
        },
    };
    p.add(StepId::Zone, format!("zone {apex}"), zone_diff);
    if d.spec.https() {
        let label = format!("certificate {}", d.spec.hostnames().join(", "));
        let current = kinds::Certificate::observed(d, o);
        let records = match current {
            Some(c) if !c.validation_records.is_empty() => diff::records(&validation_records(d, c), &o.records),
            _ => Diff { action: Action::Create, reason: "once the certificate request names them".into() },
        };
        p.add(StepId::ValidationRecords, "certificate validation records", records);
        let issued = current.is_some_and(|c| c.status == CertificateStatus::Issued);
        p.wait(StepId::CertificateIssued, &label, issued, "the certificate is issued");
    }
    let records = match (o.one::<kinds::LoadBalancer>(), &o.zone) {
        (Some(_), Some(_)) => diff::records(&o.pointers, &o.records),
        (None, _) => Diff { action: Action::Create, reason: "once the load balancer exists".into() },
        (Some(_), None) => Diff { action: Action::Create, reason: "once the zone exists".into() },
    };
    p.add(StepId::DnsRecords, format!("DNS records {}", d.spec.hostnames().join(", ")), records);
}

fn balancer(p: &mut Planner) {
    let (d, o) = (p.desired, p.observed);
    let lb_label = format!("{} {}", d.capabilities.noun(StepId::LoadBalancer), d.names.load_balancer);
    let active = o.one::<kinds::LoadBalancer>().is_some_and(|lb| lb.status == LoadBalancerStatus::Active);
    p.wait(StepId::LoadBalancerActive, &lb_label, active, "the load balancer is active");

    let ids = p.ids();
    let known = |step| ids.id(step).ok().flatten().unwrap_or_else(|| NEW.into());
    let tg_id = known(StepId::Backend);
    let http = o.listener(Protocol::Http);
    let final_action = d.final_http_action(&tg_id);
    let mut http_diff = diff::listener(&d.http_listener(final_action.clone()), http);
    if http.is_none() && matches!(final_action, ListenerAction::RedirectToHttps { .. }) {
        http_diff.reason =
            "does not exist; forwards to the replicas until HTTPS is ready, then redirects to HTTPS".into();
    }
    p.add(StepId::HttpListener, "listener HTTP:80", http_diff);
    if let Some(https) = d.https_listener(&tg_id, &known(StepId::Certificate)) {
        p.add(StepId::HttpsListener, "listener HTTPS:443", diff::listener(&https, o.listener(Protocol::Https)));
    }
}

fn cluster(p: &mut Planner) {
    let (d, o) = (p.desired, p.observed);
    for state in &o.own {
        for (label, diff) in super::own_steps::rows(state) {
            p.add(state.step, label, diff);
        }
    }

    // The service's own row comes from its descriptor; the wait follows it.
    let unchanged = p.changes.iter().any(|c| c.step == StepId::Service && c.action == Action::NoChange);
    let stable = unchanged && o.one::<kinds::Service>().is_some_and(|s| s.rollout == Rollout::Completed);
    let label = format!("{} {}", d.capabilities.noun(StepId::Service), d.names.service);
    let count = d.desired_count(o.one::<kinds::Service>().map(|s| s.spec.desired_count));
    p.wait(StepId::ServiceStable, &label, stable, &format!("{count} replicas run and pass health checks"));
    autoscaling(p);
}

fn autoscaling(p: &mut Planner) {
    let (d, o) = (p.desired, p.observed);
    let Ok(wanted) = d.autoscaling(&p.ids()) else { return };
    if wanted.is_none() && o.autoscaling.is_none() {
        return;
    }
    p.steps.push(StepId::Autoscaling);
    let mut diff = diff::autoscaling(wanted.as_ref(), o.autoscaling.as_ref());
    if let (Action::Create, Some(wanted)) = (diff.action, &wanted) {
        diff.reason = format!("does not exist; {}", wanted.as_registered("").describe());
    }
    p.add(StepId::Autoscaling, format!("autoscaling of service {}", d.names.service), diff);
}

/// The records the spec wants that are known at plan time.
fn wanted_records(d: &Desired, o: &Observed) -> Vec<DnsRecord> {
    let mut wanted = Vec::new();
    if d.spec.domain.is_some() {
        wanted.extend(o.pointers.iter().cloned());
    }
    if let Some(current) = kinds::Certificate::observed(d, o) {
        wanted.extend(validation_records(d, current));
    }
    wanted
}

fn cleanup(p: &mut Planner) {
    let (d, o) = (p.desired, p.observed);
    let keep = kinds::Certificate::observed(d, o).map(|c| c.id.clone());
    let wanted = wanted_records(d, o);
    // Until a new certificate's records are known, keep records that may validate it too.
    let wanted: Vec<DnsRecord> = if keep.is_none() && d.spec.https() {
        wanted.into_iter().chain(o.records.iter().filter(|r| r.kind == RecordKind::Cname).cloned()).collect()
    } else {
        wanted
    };
    let obsolete = Obsolete::find(d, o, keep.as_deref(), &wanted);
    if obsolete.is_empty() {
        return;
    }
    p.steps.push(StepId::Cleanup);
    for listener in &obsolete.listeners {
        let reason = if listener.spec.port == HTTPS_PORT {
            "the spec does not serve HTTPS".to_string()
        } else {
            format!("the spec serves no port {}", listener.spec.port)
        };
        p.add(
            StepId::Cleanup,
            format!("listener {}:{}", listener.spec.protocol, listener.spec.port),
            Diff { action: Action::Delete, reason },
        );
    }
    for cert in &obsolete.certificates {
        p.add(
            StepId::Cleanup,
            format!("certificate {}", cert.id),
            Diff { action: Action::Delete, reason: "replaced or no longer wanted".into() },
        );
    }
    for record in &obsolete.records {
        p.add(
            StepId::Cleanup,
            format!("record {} {}", record.name, record.kind),
            Diff { action: Action::Delete, reason: "no longer wanted".into() },
        );
    }
}
