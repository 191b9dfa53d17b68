//! [`Capabilities`]: what a provider is, as far as the deployment's steps care. Declared by the
//! provider ([`Capable`]), never guessed: the steps of a deploy come from it, and a pairing of
//! providers that cannot work is refused before any call.

use serde::{Deserialize, Serialize};

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

/// The words a deployment's steps are shown in: a cloud's resources, or what runs on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Vocabulary {
    /// Load balancers, target groups, task definitions, services: a cloud's resources by name.
    Cloud,
    /// Bundles, the TLS balancer, the replica pool, the supervisor, N replicas: one machine's parts.
    ThisMachine,
}

/// What the providers of one deployment are. [`Capabilities::CLOUD`] is a cloud with separate
/// firewalls, DNS-validated certificates and a DNS zone: every step of the seed's recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Capabilities {
    /// The load balancer sits behind a firewall resource of its own (a security group) that deploy makes.
    pub load_balancer_firewall: bool,
    /// The replicas sit behind a firewall resource of their own that admits only the load balancer.
    pub cluster_firewall: bool,
    /// How certificates are validated.
    pub certificate_validation: CertificateValidation,
    /// A service can attach to a backend pool only once a listener forwards to it (ECS refuses a target
    /// group without a load balancer), so the service waits for the first listener.
    pub service_needs_listener: bool,
    /// Host names reach the endpoint only through records in a DNS zone (false where names resolve by
    /// themselves, as `*.localhost` does).
    pub dns_records: bool,
    /// The words its steps are shown in.
    pub vocabulary: Vocabulary,
    /// What the provider calls the resource of a step, where it has a name of its own (AWS: a
    /// firewall is a `security group`, a backend pool a `target group`, a revision a `task
    /// definition`); every other step keeps its neutral noun ([`StepId::noun`]).
    #[serde(skip)]
    pub nouns: &'static [(StepId, &'static str)],
    /// How the provider names an app's resources ([`Naming::PLAIN`] unless it declares its own).
    #[serde(skip)]
    pub naming: Naming,
}

impl Capabilities {
    /// Every step of the seed's recipe.
    pub const CLOUD: Capabilities = Capabilities {
        load_balancer_firewall: true,
        cluster_firewall: true,
        certificate_validation: CertificateValidation::PublishedRecords,
        service_needs_listener: true,
        dns_records: true,
        vocabulary: Vocabulary::Cloud,
        nouns: &[],
        naming: Naming::PLAIN,
    };

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

    /// What these providers call `step`'s resource: their own noun, else the neutral one.
    pub fn noun(&self, step: StepId) -> &'static str {
        self.nouns.iter().find(|(s, _)| *s == step).map_or_else(|| step.noun(), |(_, noun)| noun)
    }

    /// The same, with neither the load balancer nor the replicas behind firewall resources of their own.
    pub const fn without_firewalls(self) -> Self {
        Self { load_balancer_firewall: false, cluster_firewall: false, ..self }
    }

    /// The same, with certificates that validate themselves.
    pub const fn with_self_managed_certificates(self) -> Self {
        Self { certificate_validation: CertificateValidation::SelfManaged, ..self }
    }

    /// The same, with certificates issued once the names lead to the app.
    pub const fn with_certificates_after_binding(self) -> Self {
        Self { certificate_validation: CertificateValidation::AfterBinding, ..self }
    }

    /// The same, with services that attach to a backend pool whether a listener forwards to it or not.
    pub const fn with_services_before_listeners(self) -> Self {
        Self { service_needs_listener: false, ..self }
    }

    /// The steps that must finish before `step` starts, for providers of these capabilities: the
    /// cloud's table ([`StepId::dependencies`]) with what these providers do not need left out, and a
    /// certificate issued after binding waiting for the DNS records instead of validation records.
    pub fn dependencies(&self, step: StepId) -> Vec<StepId> {
        use StepId::*;
        match step {
            Service if !self.service_needs_listener => {
                step.dependencies().iter().copied().filter(|d| *d != HttpListener).collect()
            }
            CertificateIssued if self.certificate_validation == CertificateValidation::AfterBinding => {
                vec![Certificate, DnsRecords]
            }
            _ => step.dependencies().to_vec(),
        }
    }

    /// `steps` in an order where each follows its [`dependencies`](Self::dependencies) (those outside
    /// `steps` count as done); ties keep [`StepId::ALL`]'s order.
    pub fn ordered(&self, steps: &[StepId]) -> Vec<StepId> {
        let mut left: Vec<StepId> = StepId::ALL.into_iter().filter(|s| steps.contains(s)).collect();
        let mut out = Vec::with_capacity(left.len());
        while !left.is_empty() {
            let ready = left
                .iter()
                .position(|s| self.dependencies(*s).iter().all(|d| out.contains(d) || !left.contains(d)))
                // A cycle cannot come from the table (a unit test walks it); never loop on one.
                .unwrap_or(0);
            out.push(left.remove(ready));
        }
        out
    }

    /// When destroy removes `step`'s resource: one round after the latest of the steps that depend on
    /// it (0 for a step nothing depends on) — the deploy graph of these providers reversed. `Cleanup`
    /// is left out: it depends on everything it cleans.
    pub fn teardown_round(&self, step: StepId) -> usize {
        StepId::ALL
            .into_iter()
            .filter(|other| *other != StepId::Cleanup && *other != step && self.dependencies(*other).contains(&step))
            .map(|dependent| self.teardown_round(dependent) + 1)
            .max()
            .unwrap_or(0)
    }

    /// The same, with steps shown as the parts of one machine.
    pub const fn on_this_machine(self) -> Self {
        Self { vocabulary: Vocabulary::ThisMachine, ..self }
    }

    /// The same, with host names that need no DNS records.
    pub const fn without_dns_records(self) -> Self {
        Self { dns_records: false, ..self }
    }

    /// True when a deploy through providers of these capabilities has `step`; the others are dropped,
    /// not faked: no firewall steps without firewalls, no validation records for self-managed
    /// certificates, no zone or records where names resolve by themselves.
    pub fn has_step(&self, step: StepId) -> bool {
        match step {
            StepId::LoadBalancerFirewall => self.load_balancer_firewall,
            StepId::ReplicaFirewall => self.cluster_firewall,
            StepId::ValidationRecords => {
                self.certificate_validation == CertificateValidation::PublishedRecords && self.dns_records
            }
            StepId::Zone | StepId::DnsRecords => self.dns_records,
            _ => true,
        }
    }

    /// Why these capabilities cannot work together (one line each, with the fix); empty when they can.
    pub fn conflicts(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.cluster_firewall && !self.load_balancer_firewall {
            out.push(
                "the cluster's firewall admits only the load balancer's firewall, but this load balancer has none: \
                 pair the cluster with a load balancer of the same cloud"
                    .to_string(),
            );
        }
        if self.certificate_validation == CertificateValidation::PublishedRecords && !self.dns_records {
            out.push(
                "the certificate provider needs its validation records published, but the DNS provider publishes \
                 none: use a DNS provider with zones, or a certificate provider that validates by itself"
                    .to_string(),
            );
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
