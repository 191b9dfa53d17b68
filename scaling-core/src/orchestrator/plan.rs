//! The plan: one row per resource with its action and the reason, plus what apply needs.

use std::time::Duration;

use serde::Serialize;

use super::desired::{Desired, ImageSource, HTTPS_PORT};
use super::diff::{self, Action, Diff};
use super::graph::critical_path;
use super::observe::Observed;
use super::StepId;
use crate::providers::{
    canonical_name, CertificateInfo, CertificateStatus, ClusterInfo, DnsRecord, EndpointShape, ListenerAction,
    ListenerInfo, LoadBalancerStatus, Protocol, RecordKind, Rollout, TrafficSource,
};

/// The placeholder for an id that does not exist yet.
const NEW: &str = "(new)";
/// The placeholder for the id of a revision not registered yet.
pub(crate) const NEW_REVISION: &str = "(new revision)";

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
        let named = |kind: &str, name: Option<&str>| name.map(|n| format!("{kind} {n}"));
        let noun = |step| self.desired.capabilities.noun(step);
        let mut out: Vec<String> =
            named("autoscaling of service", o.autoscaling.as_ref().map(|a| a.service.as_str())).into_iter().collect();
        out.extend(named(noun(StepId::Service), o.service.as_ref().map(|s| s.name.as_str())));
        out.extend(o.listeners.iter().map(|l| format!("listener {}:{}", l.protocol, l.port)));
        out.extend(
            [
                named(noun(StepId::LoadBalancer), o.load_balancer.as_ref().map(|l| l.name.as_str())),
                named(noun(StepId::Backend), o.backend.as_ref().map(|t| t.spec.name.as_str())),
                named(noun(StepId::Revision), o.revision.as_ref().map(|t| t.spec.family.as_str())),
                named(noun(StepId::Cluster), o.cluster.as_ref().map(|c| c.name.as_str())),
                named(noun(StepId::ReplicaFirewall), o.replica_firewall.as_ref().map(|g| g.name.as_str())),
                named(noun(StepId::LoadBalancerFirewall), o.load_balancer_firewall.as_ref().map(|g| g.name.as_str())),
            ]
            .into_iter()
            .flatten(),
        );
        out.extend(o.certificates.iter().map(|c| format!("certificate {} ({})", c.domain, c.id)));
        out.extend(o.owned_records(&self.app).map(|r| format!("record {} {}", r.name, r.kind)));
        out.extend(o.support.iter().map(|s| format!("{} {}", s.kind, s.name)));
        out.extend(named("repository", o.repository.as_ref().map(|r| r.name.as_str())));
        let own_zone = o.zone.as_ref().filter(|z| z.owner.as_deref() == Some(self.app.as_str()));
        out.extend(named("zone", own_zone.map(|z| z.name.as_str())));
        out
    }

    /// The longest chain of steps when each takes `cost(step)`: the least time apply can take.
    pub fn critical_path(&self, cost: impl Fn(StepId) -> Duration) -> (Duration, Vec<StepId>) {
        critical_path(&self.steps, &self.desired.capabilities, cost)
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
        let listeners = observed.listeners.iter().filter(|l| !desired.wants_listener(l.port)).cloned().collect();
        let certificates =
            observed.certificates.iter().filter(|c| Some(c.id.as_str()) != keep_certificate).cloned().collect();
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
    let shape = match &o.load_balancer {
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

impl Planner<'_> {
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

fn id<T>(value: Option<&T>, get: impl Fn(&T) -> &str) -> String {
    value.map_or(NEW.to_string(), |v| get(v).to_string())
}

/// Plans every step: which run, and what each does to its resource.
pub(crate) fn plan(desired: Desired, observed: Observed) -> Plan {
    let mut p = Planner { desired: &desired, observed: &observed, changes: Vec::new(), steps: Vec::new() };
    registry(&mut p);
    domain(&mut p);
    balancer(&mut p);
    cluster(&mut p);
    cleanup(&mut p);
    let (changes, mut steps) = (p.changes, p.steps);
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
    if observed.needed_support.is_empty() {
        steps.retain(|s| *s != StepId::SupportResources);
    }
    steps.sort();
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
    p.add(
        StepId::Repository,
        format!("repository {}", d.names.repository),
        diff::repository(&d.repository(), o.repository.as_ref()),
    );
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
    if let Some(cert) = d.certificate() {
        let label = format!("certificate {}", d.spec.hostnames().join(", "));
        p.add(StepId::Certificate, &label, diff::certificate(&cert, &o.certificates));
        let current = diff::matching_certificate(&cert, &o.certificates);
        let records = match current {
            Some(c) if !c.validation_records.is_empty() => diff::records(&validation_records(d, c), &o.records),
            _ => Diff { action: Action::Create, reason: "once the certificate request names them".into() },
        };
        p.add(StepId::ValidationRecords, "certificate validation records", records);
        let issued = current.is_some_and(|c| c.status == CertificateStatus::Issued);
        p.wait(StepId::CertificateIssued, &label, issued, "the certificate is issued");
    }
    let records = match (&o.load_balancer, &o.zone) {
        (Some(_), Some(_)) => diff::records(&o.pointers, &o.records),
        (None, _) => Diff { action: Action::Create, reason: "once the load balancer exists".into() },
        (Some(_), None) => Diff { action: Action::Create, reason: "once the zone exists".into() },
    };
    p.add(StepId::DnsRecords, format!("DNS records {}", d.spec.hostnames().join(", ")), records);
}

fn balancer(p: &mut Planner) {
    let (d, o) = (p.desired, p.observed);
    let names = &d.names;
    let sg = o.load_balancer_firewall.as_ref();
    p.add(
        StepId::LoadBalancerFirewall,
        format!("{} {}", d.capabilities.noun(StepId::LoadBalancerFirewall), names.load_balancer_firewall),
        diff::security_group(&d.load_balancer_firewall(), sg),
    );
    let lb_label = format!("{} {}", d.capabilities.noun(StepId::LoadBalancer), names.load_balancer);
    let sg_id = d.capabilities.has_step(StepId::LoadBalancerFirewall).then(|| id(sg, |g| &g.id));
    let desired_lb = d.load_balancer(sg_id.as_deref());
    p.add(StepId::LoadBalancer, &lb_label, diff::load_balancer(&desired_lb, o.load_balancer.as_ref()));
    let active = o.load_balancer.as_ref().is_some_and(|lb| lb.status == LoadBalancerStatus::Active);
    p.wait(StepId::LoadBalancerActive, &lb_label, active, "the load balancer is active");
    p.add(
        StepId::Backend,
        format!("{} {}", d.capabilities.noun(StepId::Backend), names.backend),
        diff::backend(&d.backend(), o.backend.as_ref()),
    );

    let tg_id = id(o.backend.as_ref(), |t| &t.id);
    let http = o.listener(Protocol::Http);
    let final_action = d.final_http_action(&tg_id);
    let mut http_diff = diff::listener(&d.http_listener(final_action.clone()), http);
    if http.is_none() && matches!(final_action, ListenerAction::RedirectToHttps { .. }) {
        http_diff.reason =
            "does not exist; forwards to the replicas until HTTPS is ready, then redirects to HTTPS".into();
    }
    p.add(StepId::HttpListener, "listener HTTP:80", http_diff);
    if let Some(cert) = d.certificate() {
        let cert_id = id(diff::matching_certificate(&cert, &o.certificates), |c| &c.id);
        if let Some(https) = d.https_listener(&tg_id, &cert_id) {
            p.add(StepId::HttpsListener, "listener HTTPS:443", diff::listener(&https, o.listener(Protocol::Https)));
        }
    }
}

fn cluster(p: &mut Planner) {
    let (d, o) = (p.desired, p.observed);
    let names = &d.names;
    let cluster = o.cluster.as_ref();
    let cluster_diff = if cluster.is_some() { Diff::same() } else { Diff::create() };
    p.add(StepId::Cluster, format!("{} {}", d.capabilities.noun(StepId::Cluster), names.cluster), cluster_diff);
    for (label, diff) in super::support::rows(o) {
        p.add(StepId::SupportResources, label, diff);
    }
    let has = |step| d.capabilities.has_step(step);
    let lb_sg = has(StepId::LoadBalancerFirewall).then(|| id(o.load_balancer_firewall.as_ref(), |g| &g.id));
    let task_sg = o.replica_firewall.as_ref();
    p.add(
        StepId::ReplicaFirewall,
        format!("{} {}", d.capabilities.noun(StepId::ReplicaFirewall), names.replica_firewall),
        diff::security_group(&d.replica_firewall(lb_sg.as_deref()), task_sg),
    );

    let image = match (&d.image, &o.repository) {
        (ImageSource::Built(a), Some(repo)) => format!("{}@{}", repo.uri, a.digest),
        (ImageSource::Built(a), None) => format!("{}@{}", names.repository, a.digest),
        (ImageSource::Prebuilt(r), _) => r.to_string(),
    };
    let task_def = o.revision.as_ref();
    let (revision, td_diff) = d.revision_against(&image, task_def);
    let td_id = if td_diff.action == Action::NoChange { id(task_def, |t| &t.id) } else { NEW_REVISION.into() };
    // Without a revision step, the service rolls out the revision itself: its row says why.
    let through_service = (!has(StepId::Revision)).then(|| (revision, td_diff.clone()));
    p.add(StepId::Revision, format!("{} {}", d.capabilities.noun(StepId::Revision), names.revision), td_diff);

    let placeholder = ClusterInfo { id: NEW.into(), name: names.cluster.clone() };
    let traffic = TrafficSource {
        backend_id: has(StepId::Backend).then(|| id(o.backend.as_ref(), |t| &t.id)),
        firewall_id: lb_sg,
        container_port: d.spec.app.port,
    };
    let task_sg_id = has(StepId::ReplicaFirewall).then(|| id(task_sg, |g| &g.id));
    let current = o.service.as_ref().map(|s| s.desired_count);
    let cluster = d.cluster_or_implicit(cluster).unwrap_or(placeholder);
    let template = through_service.as_ref().map(|(revision, _)| revision.clone());
    let service = d.service(&cluster, &td_id, traffic, task_sg_id.as_deref(), current, template);
    let mut service_diff = diff::service(&service, o.service.as_ref());
    if let Some((_, revision_diff)) = through_service.filter(|(_, r)| r.action.mutates() && o.service.is_some()) {
        service_diff = Diff { action: Action::Update, reason: format!("new revision: {}", revision_diff.reason) };
    }
    let stable =
        service_diff.action == Action::NoChange && o.service.as_ref().is_some_and(|s| s.rollout == Rollout::Completed);
    let label = format!("{} {}", d.capabilities.noun(StepId::Service), names.service);
    p.add(StepId::Service, &label, service_diff);
    p.wait(
        StepId::ServiceStable,
        &label,
        stable,
        &format!("{} replicas run and pass health checks", d.desired_count(current)),
    );
    autoscaling(p);
}

fn autoscaling(p: &mut Planner) {
    let (d, o) = (p.desired, p.observed);
    let has = |step| d.capabilities.has_step(step);
    let load_balancer = has(StepId::LoadBalancer).then(|| id(o.load_balancer.as_ref(), |l| &l.id));
    let backend = has(StepId::Backend).then(|| id(o.backend.as_ref(), |t| &t.id));
    let wanted = d.autoscaling(load_balancer.as_deref(), backend.as_deref());
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
    if let Some(current) = d.certificate().and_then(|c| diff::matching_certificate(&c, &o.certificates).cloned()) {
        wanted.extend(validation_records(d, &current));
    }
    wanted
}

fn cleanup(p: &mut Planner) {
    let (d, o) = (p.desired, p.observed);
    let keep = d.certificate().and_then(|c| diff::matching_certificate(&c, &o.certificates).map(|c| c.id.clone()));
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
        let reason = if listener.port == HTTPS_PORT {
            "the spec does not serve HTTPS".to_string()
        } else {
            format!("the spec serves no port {}", listener.port)
        };
        p.add(
            StepId::Cleanup,
            format!("listener {}:{}", listener.protocol, listener.port),
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
