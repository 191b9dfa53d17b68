//! Destroy: delete what the app owns, in reverse dependency order, never anything else.

use futures::future::{join_all, BoxFuture};

use super::kinds::{self, EachKind};
use super::resource::{owned_label, Resource};
use super::runner::{Poll, Runner};
use super::{Action, Change, Observed, Providers, StepId};
use crate::events::EventKind;
use crate::names::ResourceNames;
use crate::providers::Owner;
use crate::{DestroyOptions, Error, ErrorKind, ProviderResult, Result};

/// What destroy removed and what it kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DestroyReport {
    /// The resources deleted, e.g. `load balancer dashmath-alb`.
    pub deleted: Vec<String>,
    /// Resources kept on purpose, with why.
    pub kept: Vec<String>,
}

/// A deletion call that can be made again while the resource is still in use.
type DeleteCall<'a> = Box<dyn Fn() -> BoxFuture<'a, ProviderResult<()>> + Send + Sync + 'a>;

/// One deletion: a step (for events), a label, and the call.
type Deletion<'a> = (StepId, String, DeleteCall<'a>);

pub(crate) struct Destroy<'a> {
    pub providers: &'a Providers,
    pub owner: Owner,
    pub names: ResourceNames,
    pub observed: Observed,
    pub options: DestroyOptions,
    pub runner: Runner<'a>,
}

impl Destroy<'_> {
    /// Deletes in rounds taken from the deploy graph reversed (`Capabilities::teardown_round`): a resource
    /// goes once everything that depends on it has gone; the deletions of one round run concurrently.
    /// Resources still in use (network interfaces draining, a listener going away) are retried until
    /// the drain timeout.
    pub async fn run(self) -> Result<DestroyReport> {
        let mut report = DestroyReport::default();
        let mut pending = self.deletions(&mut report);
        let rounds = self.providers.capabilities.teardown_rounds();
        let round_of = |step| rounds.get(&step).copied().unwrap_or(0);
        let last = pending.iter().map(|(step, _, _)| round_of(*step)).max().unwrap_or(0);
        for round in 0..=last {
            let (now, later): (Vec<_>, Vec<_>) = pending.into_iter().partition(|(step, _, _)| round_of(*step) == round);
            pending = later;
            let results = join_all(now.into_iter().map(|(step, label, call)| self.delete(step, label, call))).await;
            let mut errors = Vec::new();
            for result in results {
                match result {
                    Ok(label) => report.deleted.push(label),
                    Err(error) => errors.push(error),
                }
            }
            match errors.len() {
                0 => {}
                1 => return Err(errors.remove(0)),
                _ => return Err(Error::Several(errors)),
            }
        }
        Ok(report)
    }

    /// The plan of this destroy, made without a call: a `delete` row per deletion, in the order they
    /// run, then a `no_change` row per resource kept, with why.
    pub fn rows(&self) -> Vec<Change> {
        let mut report = DestroyReport::default();
        let mut deletions = self.deletions(&mut report);
        let rounds = self.providers.capabilities.teardown_rounds();
        deletions.sort_by_key(|(step, _, _)| rounds.get(step).copied().unwrap_or(0));
        let mut rows: Vec<Change> = deletions
            .into_iter()
            .map(|(step, resource, _)| Change {
                step,
                resource,
                action: Action::Delete,
                reason: "owned by the app".into(),
            })
            .collect();
        rows.extend(report.kept.into_iter().map(|kept| {
            let (resource, reason) = match kept.split_once(" (") {
                Some((resource, why)) => (resource.to_string(), format!("kept: {}", why.trim_end_matches(')'))),
                None => (kept.clone(), "kept".to_string()),
            };
            Change { step: StepId::Cleanup, resource, action: Action::NoChange, reason }
        }));
        rows
    }

    async fn delete(&self, step: StepId, label: String, call: DeleteCall<'_>) -> Result<String> {
        self.runner.emit(step, &label, EventKind::Started { action: Action::Delete });
        let timeout = self.runner.options.timeouts.dependency_drain;
        let result = self
            .runner
            .wait(step, &label, timeout, || async {
                match call().await {
                    Ok(()) => Ok(Poll::Ready(())),
                    Err(e) if e.kind == ErrorKind::NotFound => Ok(Poll::Ready(())),
                    Err(e) if e.is_retryable() => {
                        Ok(Poll::Pending(format!("still in use or throttled: {}", e.message)))
                    }
                    Err(source) => Err(Error::Provider { step, source }),
                }
            })
            .await;
        match &result {
            Ok(()) => self.runner.emit(step, &label, EventKind::Done { detail: "deleted".into() }),
            Err(e) => self.runner.emit(step, &label, EventKind::Failed { error: e.to_string() }),
        }
        result.map(|()| label)
    }

    /// Every deletion destroy makes, each under the step whose resource it removes; what is kept goes
    /// into `report`.
    fn deletions(&self, report: &mut DestroyReport) -> Vec<Deletion<'_>> {
        let (p, o, owner) = (self.providers, &self.observed, &self.owner);
        let mut out: Vec<Deletion<'_>> = Vec::new();
        if let Some(autoscaling) = &o.autoscaling {
            out.push((
                StepId::Autoscaling,
                format!("autoscaling of service {}", autoscaling.service),
                Box::new(move || p.autoscaler.delete_autoscaling(owner, autoscaling)),
            ));
        }
        if let Some(zone) = &o.zone {
            let records: Vec<_> = o.owned_records(&owner.app).cloned().collect();
            if !records.is_empty() {
                let label =
                    format!("records {}", records.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", "));
                out.push((
                    StepId::DnsRecords,
                    label,
                    Box::new(move || {
                        let records = records.clone();
                        Box::pin(async move { p.dns.delete_records(owner, zone, &records).await })
                    }),
                ));
            }
        }
        for listener in &o.listeners {
            let label = format!("listener {}:{}", listener.spec.protocol, listener.spec.port);
            let step = if listener.spec.port == super::desired::HTTPS_PORT {
                StepId::HttpsListener
            } else {
                StepId::HttpListener
            };
            out.push((step, label, Box::new(move || p.load_balancer.delete_listener(owner, listener))));
        }
        let mut every = DeleteEvery { destroy: self, out: Vec::new(), kept: Vec::new() };
        kinds::each_kind(&mut every);
        out.extend(every.out);
        report.kept.extend(every.kept);
        for (step, resource) in o.own.iter().flat_map(|s| s.found.iter().map(move |f| (s.step, f))) {
            let label = super::own_steps::label(resource);
            if resource.holds_logs && !self.options.delete_logs {
                report.kept.push(format!("{label} (the app's logs; pass --delete-logs to delete it)"));
                continue;
            }
            out.push((step, label, Box::new(move || p.own_steps.delete_resource(step, owner, resource))));
        }
        match &o.zone {
            Some(zone) if zone.owner.as_ref() == Some(&owner.app) && self.options.delete_zone => {
                out.push((
                    StepId::Zone,
                    format!("zone {}", zone.name),
                    Box::new(move || p.dns.delete_zone(owner, zone)),
                ));
            }
            Some(zone) if zone.owner.as_ref() == Some(&owner.app) => {
                report.kept.push(format!("zone {} (pass --delete-zone to delete it)", zone.name))
            }
            Some(zone) => report.kept.push(format!("zone {} (not created by {})", zone.name, self.names.app)),
            None => {}
        }
        out
    }
}

/// A deletion of every owned resource of each kind, unless the options keep its kind (the repository
/// without `--delete-images`).
struct DeleteEvery<'d, 'p> {
    destroy: &'d Destroy<'p>,
    out: Vec<Deletion<'d>>,
    kept: Vec<String>,
}

impl<'d> EachKind for DeleteEvery<'d, '_> {
    fn kind<K: Resource>(&mut self) {
        let destroy = self.destroy;
        let (p, owner, capabilities) = (destroy.providers, &destroy.owner, &destroy.providers.capabilities);
        for info in K::owned(&destroy.observed) {
            let label = owned_label::<K>(capabilities, info);
            if let Some(why) = K::kept_by(&destroy.options) {
                self.kept.push(format!("{label} ({why})"));
                continue;
            }
            let call: DeleteCall<'d> = Box::new(move || K::delete(p, owner, info));
            self.out.push((K::teardown_step(capabilities), label, call));
        }
    }
}
