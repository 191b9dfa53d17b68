//! Carries out a plan as a dependency graph: a kind's step through its descriptor
//! ([`super::kinds`]), every other step by a function of its own. Each step compares desired and
//! observed state with the same diff the planner used and calls a provider only when they differ.

use std::future::Future;
use std::sync::OnceLock;

use futures::future::BoxFuture;
use futures::FutureExt;

mod autoscaling;
mod housekeeping;
mod service;

use super::desired::{ImageSource, HTTPS_PORT};
use super::diff::{self, Action, Diff};
use super::graph::run_graph;
use super::kind_store::MadeKinds;
use super::kinds::{self, EachKind};
use super::plan::{validation_records, Plan};
use super::resource::{Made, Resource};
use super::runner::{Poll, Runner};
use super::{Providers, StepId};
use crate::events::EventKind;
use crate::providers::{
    CertificateInfo, CertificateStatus, Delegation, DnsRecord, ListenerAction, ListenerInfo, LoadBalancerInfo,
    LoadBalancerStatus, Protocol, ZoneInfo,
};
use crate::{Error, ProviderResult, Result};

/// What finished steps hand to later ones.
#[derive(Default)]
pub(crate) struct Outputs {
    /// What each resource kind's step made ([`super::kinds`]).
    pub made: MadeKinds,
    pub image: OnceLock<String>,
    pub zone: OnceLock<ZoneInfo>,
    pub new_zone: OnceLock<ZoneInfo>,
    pub validation_records: OnceLock<Vec<DnsRecord>>,
    pub pointer_records: OnceLock<Vec<DnsRecord>>,
    pub http_listener: OnceLock<ListenerInfo>,
    pub https_listener: OnceLock<ListenerInfo>,
}

/// What a kind's step made, for the step `step` that needs it: a missing one is a bug in the graph.
fn made<K: Resource>(out: &Outputs, step: StepId) -> Result<&K::Info> {
    out.made.get::<K>().ok_or(Error::Internal { step, missing: K::STEP.noun() })
}

fn need<'a, T>(slot: &'a OnceLock<T>, step: StepId, missing: &'static str) -> Result<&'a T> {
    slot.get().ok_or(Error::Internal { step, missing })
}

fn keep<T>(slot: &OnceLock<T>, value: T) {
    // Each step sets its own slot once; a second set would be a graph bug and is ignored.
    let _ = slot.set(value);
}

fn detail(diff: &Diff) -> String {
    match diff.action {
        Action::NoChange => "no change".into(),
        Action::Create => "created".into(),
        Action::Replace => format!("replaced: {}", diff.reason),
        _ => format!("updated: {}", diff.reason),
    }
}

/// One run of apply over a plan.
pub(crate) struct Apply<'a> {
    pub providers: &'a Providers,
    pub plan: &'a Plan,
    pub runner: Runner<'a>,
    pub out: Outputs,
}

impl<'a> Apply<'a> {
    pub async fn run(&self) -> Vec<Error> {
        run_graph(
            &self.plan.steps,
            &self.plan.desired.capabilities,
            |step| self.step(step).boxed(),
            |step, root| self.runner.emit(step, &self.label(step), EventKind::Skipped { because: root }),
        )
        .await
    }

    /// The plan row a step carries out (the redirect finishes the HTTP listener's row).
    fn row(&self, step: StepId) -> Option<&super::Change> {
        let step = if step == StepId::HttpRedirect { StepId::HttpListener } else { step };
        self.plan.change(step)
    }

    fn label(&self, step: StepId) -> String {
        self.row(step).map_or_else(|| step.to_string(), |c| c.resource.clone())
    }

    async fn step(&self, step: StepId) -> Result<()> {
        let resource = self.label(step);
        let action = self.row(step).map_or(Action::NoChange, |c| c.action);
        self.runner.emit(step, &resource, EventKind::Started { action });
        let result = match self.kind_step(step, &resource) {
            Some(converge) => converge.await,
            None => self.own_step(step, &resource).await,
        };
        match result {
            Ok(detail) => {
                self.runner.emit(step, &resource, EventKind::Done { detail });
                Ok(())
            }
            Err(error) => {
                self.runner.emit(step, &resource, EventKind::Failed { error: error.to_string() });
                Err(error)
            }
        }
    }

    /// The step of a kind's resource ([`kinds::each_kind`]), converged by its descriptor.
    fn kind_step<'s>(&'s self, step: StepId, resource: &'s str) -> Option<BoxFuture<'s, Result<String>>> {
        struct Dispatch<'s, 'a> {
            apply: &'s Apply<'a>,
            step: StepId,
            resource: &'s str,
            run: Option<BoxFuture<'s, Result<String>>>,
        }
        impl<'s> EachKind for Dispatch<'s, '_> {
            fn kind<K: Resource>(&mut self) {
                if K::STEP == self.step {
                    self.run = Some(self.apply.converge_kind::<K>(self.resource).boxed());
                }
            }
        }
        let mut dispatch = Dispatch { apply: self, step, resource, run: None };
        kinds::each_kind(&mut dispatch);
        dispatch.run
    }

    /// A step of its own logic.
    async fn own_step(&self, step: StepId, resource: &str) -> Result<String> {
        match step {
            StepId::Image => self.image(resource).await,
            StepId::Zone => self.zone(resource).await,
            StepId::ValidationRecords => self.validation_records(resource).await,
            StepId::CertificateIssued => self.certificate_issued(resource).await,
            StepId::LoadBalancerActive => self.load_balancer_active(resource).await,
            StepId::HttpListener => self.http_listener(resource).await,
            StepId::HttpsListener => self.https_listener(resource).await,
            StepId::HttpRedirect => self.http_redirect(resource).await,
            StepId::DnsRecords => self.dns_records(resource).await,
            StepId::Own(_) => self.provider_step(step, resource).await,
            StepId::ServiceStable => self.service_stable(resource).await,
            StepId::Autoscaling => self.autoscaling(resource).await,
            StepId::Cleanup => self.cleanup(resource).await,
            kind => Err(Error::Internal { step: kind, missing: "a descriptor" }),
        }
    }

    /// The observed value when the diff says it matches; otherwise the result of `ensure`.
    async fn converge<T, F, Fut>(
        &self,
        step: StepId,
        resource: &str,
        diff: &Diff,
        observed: Option<&T>,
        ensure: F,
    ) -> Result<T>
    where
        T: Clone,
        F: Fn() -> Fut,
        Fut: Future<Output = ProviderResult<T>>,
    {
        match observed {
            Some(value) if diff.action == Action::NoChange => Ok(value.clone()),
            _ => self.runner.call(step, resource, ensure).await,
        }
    }

    async fn image(&self, r: &str) -> Result<String> {
        let ImageSource::Built(artifact) = &self.plan.desired.image else { return Ok("prebuilt image".into()) };
        let repo = made::<kinds::Repository>(&self.out, StepId::Image)?;
        let (image, text) = match &self.plan.observed.image {
            Some(image) => (image.clone(), "already in the repository".to_string()),
            None => {
                let image =
                    self.runner.call(StepId::Image, r, || self.providers.registry.push_image(repo, artifact)).await?;
                (image, "pushed".to_string())
            }
        };
        keep(&self.out.image, image.reference);
        Ok(text)
    }

    async fn zone(&self, r: &str) -> Result<String> {
        let d = &self.plan.desired;
        let apex = d.apex().ok_or(Error::Internal { step: StepId::Zone, missing: "domain" })?;
        if let Some(zone) = &self.plan.observed.zone {
            keep(&self.out.zone, zone.clone());
            return Ok(format!("using {} ({})", zone.name, zone.id));
        }
        let zone =
            self.runner.call(StepId::Zone, r, || self.providers.dns.create_zone(&d.owner, apex, &d.tags)).await?;
        let text = if zone.name_servers.is_empty() {
            "created".to_string()
        } else {
            format!("created; set these name servers at your registrar: {}", zone.name_servers.join(", "))
        };
        keep(&self.out.new_zone, zone.clone());
        keep(&self.out.zone, zone);
        Ok(text)
    }

    async fn describe(&self, step: StepId, r: &str, cert: &CertificateInfo) -> Result<CertificateInfo> {
        self.runner.call(step, r, || self.providers.certificate.describe_certificate(cert)).await
    }

    async fn validation_records(&self, r: &str) -> Result<String> {
        let step = StepId::ValidationRecords;
        let zone = need(&self.out.zone, step, "zone")?;
        let mut cert = made::<kinds::Certificate>(&self.out, step)?.clone();
        if cert.validation_records.is_empty() && cert.status != CertificateStatus::Issued {
            let timeout = self.runner.options.timeouts.certificate_issued;
            cert = self
                .runner
                .wait(step, r, timeout, || async {
                    // An authority that still holds a recent validation of the names (Let's Encrypt
                    // keeps one 30 days) names no records and may issue at once.
                    let cert = self.describe(step, r, &cert).await?;
                    match &cert.status {
                        CertificateStatus::Failed(reason) => {
                            Err(Error::CertificateFailed { domain: cert.spec.domain.clone(), reason: reason.clone() })
                        }
                        CertificateStatus::Issued => Ok(Poll::Ready(cert)),
                        CertificateStatus::PendingValidation if cert.validation_records.is_empty() => {
                            Ok(Poll::Pending(
                                "waiting for the certificate authority to name the validation records".into(),
                            ))
                        }
                        CertificateStatus::PendingValidation => Ok(Poll::Ready(cert)),
                    }
                })
                .await?;
        }
        let records = validation_records(&self.plan.desired, &cert);
        let missing = diff::missing_records(&records, &self.plan.observed.records);
        if !missing.is_empty() {
            self.runner.call(step, r, || self.providers.dns.upsert_records(zone, &missing)).await?;
        }
        keep(&self.out.validation_records, records);
        Ok(if missing.is_empty() { "no change".into() } else { format!("wrote {} record(s)", missing.len()) })
    }

    async fn certificate_issued(&self, r: &str) -> Result<String> {
        let step = StepId::CertificateIssued;
        let cert = made::<kinds::Certificate>(&self.out, step)?;
        if cert.status == CertificateStatus::Issued {
            return Ok("issued".into());
        }
        // Published validation records prove nothing until the public DNS delegates to their zone.
        if self.plan.desired.capabilities.has_step(StepId::ValidationRecords) {
            let zone = need(&self.out.zone, step, "zone")?;
            if let Delegation::NotDelegated { expected, .. } =
                self.runner.call(step, r, || self.providers.dns.delegation(zone)).await?
            {
                return Err(Error::ZoneNotDelegated { domain: zone.name.clone(), name_servers: expected });
            }
        }
        let timeout = self.runner.options.timeouts.certificate_issued;
        // Validated by records, or (after binding) by reaching the app at its names.
        let proof = match self.plan.desired.capabilities.certificate_validation {
            crate::CertificateValidation::AfterBinding => "reach the app at",
            _ => "see the DNS validation records of",
        };
        self.runner
            .wait(step, r, timeout, || async {
                let now = self.describe(step, r, cert).await?;
                match now.status {
                    CertificateStatus::Issued => Ok(Poll::Ready(())),
                    CertificateStatus::Failed(reason) => {
                        Err(Error::CertificateFailed { domain: now.spec.domain, reason })
                    }
                    CertificateStatus::PendingValidation => Ok(Poll::Pending(format!(
                        "waiting for the certificate authority to {proof} {}",
                        now.spec.names().cloned().collect::<Vec<_>>().join(", ")
                    ))),
                }
            })
            .await?;
        Ok("issued".into())
    }

    async fn load_balancer_active(&self, r: &str) -> Result<String> {
        let step = StepId::LoadBalancerActive;
        let lb = made::<kinds::LoadBalancer>(&self.out, step)?;
        if lb.status == LoadBalancerStatus::Active {
            return Ok("active".into());
        }
        if !self.runner.options.wait {
            return Ok("not waiting (--no-wait)".into());
        }
        let owner = &self.plan.desired.owner;
        let timeout = self.runner.options.timeouts.load_balancer_active;
        self.runner
            .wait(step, r, timeout, || async {
                let now = self
                    .runner
                    .call(step, r, || self.providers.load_balancer.find_load_balancer(owner, &lb.spec.name))
                    .await?;
                match now.map(|lb| lb.status) {
                    Some(LoadBalancerStatus::Active) => Ok(Poll::Ready(())),
                    Some(LoadBalancerStatus::Failed(reason)) => Err(Error::Provider {
                        step,
                        source: crate::ProviderError::new(
                            "wait_load_balancer_active",
                            &lb.spec.name,
                            crate::ErrorKind::Other,
                            reason,
                        ),
                    }),
                    Some(LoadBalancerStatus::Provisioning) => Ok(Poll::Pending("provisioning".into())),
                    None => Ok(Poll::Pending("not visible yet".into())),
                }
            })
            .await?;
        Ok("active".into())
    }

    async fn ensure_listener(
        &self,
        step: StepId,
        r: &str,
        lb: &LoadBalancerInfo,
        action: ListenerAction,
    ) -> Result<ListenerInfo> {
        let desired = self.plan.desired.http_listener(action);
        self.runner.call(step, r, || self.providers.load_balancer.ensure_listener(lb, &desired)).await
    }

    async fn http_listener(&self, r: &str) -> Result<String> {
        let step = StepId::HttpListener;
        let (d, o) = (&self.plan.desired, &self.plan.observed);
        let lb = made::<kinds::LoadBalancer>(&self.out, step)?;
        let tg = made::<kinds::Backend>(&self.out, step)?;
        let forward = ListenerAction::Forward { backend_id: tg.id.clone() };
        let final_action = d.final_http_action(&tg.id);
        let observed = o.listener(Protocol::Http);
        let diff = diff::listener(&d.http_listener(final_action.clone()), observed);
        // Tasks can attach only to a target group that some listener forwards to: forward until HTTPS is up.
        let https_forwards = o.listener(Protocol::Https).is_some_and(|l| l.spec.action == forward);
        let (listener, text) = match observed {
            Some(l) if diff.action == Action::NoChange => (l.clone(), "no change".to_string()),
            Some(l) if final_action != forward && (https_forwards || l.spec.action == forward) => {
                (l.clone(), "redirect follows once HTTPS is ready".to_string())
            }
            _ => {
                let action = if https_forwards { final_action } else { forward };
                let l = self.ensure_listener(step, r, lb, action).await?;
                (l, detail(&diff))
            }
        };
        keep(&self.out.http_listener, listener);
        Ok(text)
    }

    async fn https_listener(&self, r: &str) -> Result<String> {
        let step = StepId::HttpsListener;
        let (d, o) = (&self.plan.desired, &self.plan.observed);
        let lb = made::<kinds::LoadBalancer>(&self.out, step)?;
        let tg = made::<kinds::Backend>(&self.out, step)?;
        let cert = made::<kinds::Certificate>(&self.out, step)?;
        let desired = d.https_listener(&tg.id, &cert.id).ok_or(Error::Internal { step, missing: "https domain" })?;
        let observed = o.listener(Protocol::Https);
        let diff = diff::listener(&desired, observed);
        let listener = self
            .converge(step, r, &diff, observed, || self.providers.load_balancer.ensure_listener(lb, &desired))
            .await?;
        keep(&self.out.https_listener, listener);
        Ok(detail(&diff))
    }

    async fn http_redirect(&self, r: &str) -> Result<String> {
        let step = StepId::HttpRedirect;
        let d = &self.plan.desired;
        let lb = made::<kinds::LoadBalancer>(&self.out, step)?;
        let http = need(&self.out.http_listener, step, "http listener")?;
        let redirect = ListenerAction::RedirectToHttps { port: HTTPS_PORT };
        let wanted = d.http_listener(redirect.clone());
        // The same diff as the plan's row for HTTP:80, drift included.
        let same = diff::listener(&wanted, Some(http)).action == Action::NoChange;
        if d.spec.domain.as_ref().is_some_and(|dom| !dom.redirect_http) || same {
            return Ok("no change".into());
        }
        self.ensure_listener(step, r, lb, redirect).await?;
        Ok("HTTP now redirects to HTTPS".into())
    }

    async fn dns_records(&self, r: &str) -> Result<String> {
        let step = StepId::DnsRecords;
        let zone = need(&self.out.zone, step, "zone")?;
        let lb = made::<kinds::LoadBalancer>(&self.out, step)?;
        let (d, names) = (&self.plan.desired, self.plan.desired.spec.hostnames());
        let records = self
            .runner
            .call(step, r, || self.providers.dns.pointer_records(&d.owner, zone, &names, &lb.endpoint))
            .await?;
        let missing = diff::missing_records(&records, &self.plan.observed.records);
        keep(&self.out.pointer_records, records);
        if missing.is_empty() {
            return Ok("no change".into());
        }
        self.runner.call(step, r, || self.providers.dns.upsert_records(zone, &missing)).await?;
        Ok(format!("wrote {}", missing.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(", ")))
    }

    /// Kind `K`'s step: the observed one when the diff says it matches, else `ensure`; kept for later
    /// steps.
    async fn converge_kind<K: Resource>(&self, r: &str) -> Result<String> {
        let (d, o) = (&self.plan.desired, &self.plan.observed);
        let wanted = K::desired(d, &self.made(K::STEP))?;
        let observed = K::observed(d, o);
        let diff = K::diff(o, d, &wanted, observed);
        let info = self.converge(K::STEP, r, &diff, observed, || K::ensure(self.providers, &wanted)).await?;
        let text = match K::shown(&info) {
            Some(shown) => format!("{} ({shown})", detail(&diff)),
            None => detail(&diff),
        };
        self.out.made.keep::<K>(info);
        Ok(text)
    }

    /// The ids earlier steps made, as `step` sees them.
    fn made(&self, step: StepId) -> Made<'_> {
        Made { desired: &self.plan.desired, observed: &self.plan.observed, out: &self.out, step }
    }
}
