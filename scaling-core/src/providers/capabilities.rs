//! [`Capabilities`]: what a provider is, as far as the deployment's steps care. Declared by the
//! provider ([`Capable`]), never guessed: the steps of a deploy come from it, and a pairing of
//! providers that cannot work is refused before any call.

use serde::{Deserialize, Serialize};

use super::StepGraph;
use crate::{Naming, StepId};

/// How the certificate provider proves control of the names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CertificateValidation {
    /// It hands out DNS records that the [`Dns`](super::Dns) provider publishes (ACM, Certificate Manager).
    PublishedRecords,
    /// It proves control by itself: a local CA, cert-manager's own solvers.
    SelfManaged,
    /// It is issued only once the names lead to the app (a platform's bundled certificate: Cloud Run
    /// domain mappings, Fly.io): no records to publish, and the wait comes after the DNS records.
    AfterBinding,
}

/// A provider's own words for the rows of a deploy: given a step, the spec and the row's neutral
/// label (`noun name`, with the provider's [`nouns`](Capabilities::nouns)), the label shown.
/// [`neutral_words`] keeps the neutral one; the local provider speaks of one machine's parts (`TLS
/// load balancer of app`, `3 replica(s) of app`).
pub type Words = fn(StepId, &crate::Spec, String) -> String;

/// The neutral words: every row keeps its `noun name` label.
pub fn neutral_words(_step: StepId, _spec: &crate::Spec, label: String) -> String {
    label
}

/// How the replicas' firewall names the load balancer it admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BalancerSource {
    /// By the load balancer's own firewall (AWS: its security group id): the load balancer must have
    /// a firewall step.
    ItsFirewall,
    /// Symbolically ([`TrafficFrom::LoadBalancer`](super::TrafficFrom::LoadBalancer)), resolved by the
    /// provider (Kubernetes: a NetworkPolicy selecting the gateway's pods).
    Symbolic,
}

/// What the load balancer's [`Endpoint`](super::Endpoint) is, known before it exists: the DNS
/// records it needs follow from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EndpointShape {
    /// A host name (an ALB): a CNAME below a zone's apex, and at the apex only through an alias
    /// record ([`Dns::aliases_apex_to_host_names`](super::Dns::aliases_apex_to_host_names)).
    HostName,
    /// Addresses (a Gateway's IP, a server's own): A/AAAA records anywhere.
    Addresses,
}

/// What the providers of one deployment are: the [`StepGraph`] of a deploy and how its steps behave.
/// [`Capabilities::CLOUD`] is the seed's recipe (every step); a provider of another shape declares its
/// own graph with [`Capabilities::new`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Capabilities {
    /// The steps of a deploy and what each waits for.
    pub graph: StepGraph,
    /// How certificates are validated.
    pub certificate_validation: CertificateValidation,
    /// How the replicas' firewall admits the load balancer.
    pub balancer_source: BalancerSource,
    /// The words its rows are shown in.
    pub words: Words,
    /// What the load balancer's endpoint is.
    pub endpoint: EndpointShape,
    /// What the provider calls the resource of a step, where it has a name of its own (AWS: a
    /// firewall is a `security group`, a backend pool a `target group`, a revision a `task
    /// definition`; Cloud Run: the load balancer a `domain mapping`); every other step keeps its
    /// neutral noun ([`StepId::noun`]).
    pub nouns: &'static [(StepId, &'static str)],
    /// How the provider names an app's resources ([`Naming::PLAIN`] unless it declares its own).
    pub naming: Naming,
}

impl Capabilities {
    /// Every step of the seed's recipe: separate firewalls, DNS-validated certificates, a zone, and a
    /// service that attaches to its backend pool only once a listener forwards to it (ECS refuses a
    /// target group without a load balancer).
    pub const CLOUD: Capabilities =
        Capabilities::new(StepGraph::RECIPE.with_edge(StepId::Service, StepId::HttpListener))
            .with_published_records()
            .with_balancer_source(BalancerSource::ItsFirewall);

    /// A provider of `graph`'s steps; certificates it validates itself, a symbolic load balancer
    /// source, neutral words and plain names until declared otherwise.
    pub const fn new(graph: StepGraph) -> Self {
        Capabilities {
            graph,
            certificate_validation: CertificateValidation::SelfManaged,
            balancer_source: BalancerSource::Symbolic,
            words: neutral_words,
            endpoint: EndpointShape::HostName,
            nouns: &[],
            naming: Naming::PLAIN,
        }
    }

    /// The same, naming resources the provider's way.
    pub const fn with_naming(self, naming: Naming) -> Self {
        Self { naming, ..self }
    }

    /// The names of `app`'s resources with these providers.
    pub fn names(&self, app: &str) -> crate::ResourceNames {
        self.naming.names(app)
    }

    /// The same, with the provider's own names for some steps' resources.
    pub const fn with_nouns(self, nouns: &'static [(StepId, &'static str)]) -> Self {
        Self { nouns, ..self }
    }

    /// The same, with another graph.
    pub const fn with_graph(self, graph: StepGraph) -> Self {
        Self { graph, ..self }
    }

    /// The same, with a load balancer whose endpoint is `shape`.
    pub const fn with_endpoint(self, shape: EndpointShape) -> Self {
        Self { endpoint: shape, ..self }
    }

    /// The same, with the replicas' firewall admitting the load balancer as `source` says.
    pub const fn with_balancer_source(self, source: BalancerSource) -> Self {
        Self { balancer_source: source, ..self }
    }

    /// The provider's own steps ([`StepId::Own`]) in the graph.
    pub fn own_steps(&self) -> impl Iterator<Item = StepId> {
        self.graph.own_steps().into_iter()
    }

    /// What these providers call `step`'s resource: their own noun, else the neutral one.
    pub fn noun(&self, step: StepId) -> &'static str {
        self.nouns.iter().find(|(s, _)| *s == step).map_or_else(|| step.noun(), |(_, noun)| noun)
    }

    /// The same, with neither the load balancer nor the replicas behind firewall resources of their own.
    pub const fn without_firewalls(self) -> Self {
        self.with_graph(self.graph.without_step(StepId::LoadBalancerFirewall).without_step(StepId::ReplicaFirewall))
    }

    /// The same, with certificates validated by records the [`Dns`](super::Dns) provider publishes.
    pub const fn with_published_records(self) -> Self {
        let graph = self
            .graph
            .with_step(StepId::ValidationRecords)
            .without_edge(StepId::CertificateIssued, StepId::DnsRecords)
            .with_edge(StepId::CertificateIssued, StepId::ValidationRecords);
        Self { certificate_validation: CertificateValidation::PublishedRecords, graph, ..self }
    }

    /// The same, with certificates that validate themselves.
    pub const fn with_self_managed_certificates(self) -> Self {
        let graph = self.graph.without_step(StepId::ValidationRecords);
        Self { certificate_validation: CertificateValidation::SelfManaged, graph, ..self }
    }

    /// The same, with certificates issued once the names lead to the app: the wait follows the DNS
    /// records instead of validation records.
    pub const fn with_certificates_after_binding(self) -> Self {
        let graph = self
            .graph
            .without_step(StepId::ValidationRecords)
            .without_edge(StepId::CertificateIssued, StepId::ValidationRecords)
            .with_edge(StepId::CertificateIssued, StepId::Certificate)
            .with_edge(StepId::CertificateIssued, StepId::DnsRecords);
        Self { certificate_validation: CertificateValidation::AfterBinding, graph, ..self }
    }

    /// The same, with services that attach to a backend pool whether a listener forwards to it or not.
    pub const fn with_services_before_listeners(self) -> Self {
        self.with_graph(self.graph.without_edge(StepId::Service, StepId::HttpListener))
    }

    /// True when a service attaches to its backend pool only once a listener forwards to it.
    pub const fn service_needs_listener(&self) -> bool {
        self.graph.has_edge(StepId::Service, StepId::HttpListener)
    }

    /// The same, with rows shown in the provider's own `words`.
    pub const fn with_words(self, words: Words) -> Self {
        Self { words, ..self }
    }

    /// The same, with host names that need no DNS records (no zone, no records, no validation
    /// records).
    pub const fn without_dns_records(self) -> Self {
        self.with_graph(
            self.graph
                .without_step(StepId::Zone)
                .without_step(StepId::DnsRecords)
                .without_step(StepId::ValidationRecords),
        )
    }

    /// The same, with the zone and the records that lead the names to the endpoint.
    pub const fn with_dns_records(self) -> Self {
        self.with_graph(self.graph.with_step(StepId::Zone).with_step(StepId::DnsRecords))
    }

    /// The steps that must finish before `step` starts (those outside the graph count as done).
    pub fn dependencies(&self, step: StepId) -> Vec<StepId> {
        self.graph.dependencies(step)
    }

    /// `steps` in an order where each follows its [`dependencies`](Self::dependencies) (those outside
    /// `steps` count as done); ties keep [`StepGraph::known`]'s order.
    pub fn ordered(&self, steps: &[StepId]) -> Vec<StepId> {
        let mut left: Vec<(StepId, Vec<StepId>)> =
            (self.graph.known().into_iter()).filter(|s| steps.contains(s)).map(|s| (s, self.dependencies(s))).collect();
        let mut out = Vec::with_capacity(left.len());
        while !left.is_empty() {
            let waits = |d: &StepId| left.iter().any(|(s, _)| s == d);
            // A cycle is refused before any call (`conflicts`); never loop on one.
            let ready = left.iter().position(|(_, deps)| !deps.iter().any(waits)).unwrap_or(0);
            out.push(left.remove(ready).0);
        }
        out
    }

    /// When destroy removes `step`'s resource: one round after the latest of the steps that depend on
    /// it (0 for a step nothing depends on) — the deploy graph of these providers reversed. `Cleanup`
    /// is left out: it depends on everything it cleans.
    pub fn teardown_round(&self, step: StepId) -> usize {
        self.teardown_rounds().get(&step).copied().unwrap_or(0)
    }

    /// [`teardown_round`](Self::teardown_round) of every step that has one above 0, worked out once.
    pub fn teardown_rounds(&self) -> std::collections::HashMap<StepId, usize> {
        let mut rounds = std::collections::HashMap::new();
        // Longest path to a step from the steps that depend on it, walked from the last in deploy order.
        for later in self.ordered(&self.graph.known()).into_iter().rev() {
            if later == StepId::Cleanup {
                continue;
            }
            let after = rounds.get(&later).copied().unwrap_or(0) + 1;
            for dependency in self.dependencies(later) {
                let round = rounds.entry(dependency).or_insert(0);
                *round = (*round).max(after);
            }
        }
        rounds
    }

    /// True when a deploy through providers of these capabilities has `step`; the others are dropped,
    /// not faked. Validation records exist only for certificates validated by published records.
    pub fn has_step(&self, step: StepId) -> bool {
        match step {
            StepId::ValidationRecords => {
                self.certificate_validation == CertificateValidation::PublishedRecords && self.graph.has(step)
            }
            _ => self.graph.has(step),
        }
    }

    /// Why these capabilities cannot work together (one line each, with the fix); empty when they can.
    pub fn conflicts(&self) -> Vec<String> {
        let mut out = Vec::new();
        let has = |step| self.graph.has(step);
        if has(StepId::ReplicaFirewall)
            && !has(StepId::LoadBalancerFirewall)
            && self.balancer_source == BalancerSource::ItsFirewall
        {
            out.push(
                "the cluster's firewall admits only the load balancer's firewall, but this load balancer has none: \
                 pair the cluster with a load balancer of the same cloud"
                    .to_string(),
            );
        }
        if self.certificate_validation == CertificateValidation::PublishedRecords
            && !(has(StepId::ValidationRecords) && has(StepId::Zone))
        {
            out.push(
                "the certificate provider needs its validation records published, but the DNS provider publishes \
                 none: use a DNS provider with zones, or a certificate provider that validates by itself"
                    .to_string(),
            );
        }
        if !has(StepId::Service) {
            out.push("the providers declare no service step, so nothing would run the app: declare `service`".into());
        }
        out.extend(self.graph.own_steps().into_iter().filter_map(StepId::own_name_problem));
        if let Some(cycle) = self.graph.cycle() {
            let path: Vec<&str> = cycle.iter().map(|s| s.name()).collect();
            out.push(format!(
                "the provider's steps wait for each other in a circle ({}): drop one of those edges",
                path.join(" → ")
            ));
        }
        out
    }
}

/// A provider that declares its [`Capabilities`]. There is no default: the steps of a deploy come
/// from what the provider says it is, never from a guess (a provider shaped like none of
/// [`Capabilities::CLOUD`]'s steps must not inherit them).
pub trait Capable {
    /// What this provider is.
    fn capabilities(&self) -> Capabilities;
}
