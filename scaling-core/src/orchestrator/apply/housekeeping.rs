//! What a deploy removes after itself: what the spec no longer wants (the `cleanup` step), and the
//! releases beyond `app.keep_releases` once a new one runs.

use super::Apply;
use crate::orchestrator::diff::Action;
use crate::orchestrator::kinds;
use crate::orchestrator::plan::Obsolete;
use crate::orchestrator::{Orchestrator, StepId};
use crate::providers::ServiceInfo;
use crate::Result;

impl Apply<'_> {
    /// After a deploy that made a new release: the oldest beyond `app.keep_releases` go, never the
    /// one `service` runs. `; removed releases …`, or empty.
    pub(super) async fn prune_releases(&self, service: &ServiceInfo) -> Result<String> {
        let released = self.plan.change(StepId::Revision).is_some_and(|c| c.action != Action::NoChange);
        if !released {
            return Ok(String::new());
        }
        let d = &self.plan.desired;
        let (family, keep) = (&d.names.revision, d.spec.app.keep_releases);
        let pruned = Orchestrator::prune_releases(
            &self.runner,
            self.providers,
            &d.owner,
            family,
            keep,
            &service.spec.revision_id,
        )
        .await?;
        Ok(match pruned.is_empty() {
            true => String::new(),
            false => format!("; removed releases {}", pruned.join(", ")),
        })
    }

    /// Removes what the spec no longer wants: listeners on other ports, records, certificates.
    pub(super) async fn cleanup(&self, r: &str) -> Result<String> {
        let step = StepId::Cleanup;
        let (d, o) = (&self.plan.desired, &self.plan.observed);
        let mut wanted = self.out.validation_records.get().cloned().unwrap_or_default();
        if d.spec.domain.is_some() {
            wanted.extend(self.out.pointer_records.get().unwrap_or(&o.pointers).iter().cloned());
        }
        let keep_cert = self.out.made.get::<kinds::Certificate>().map(|c| c.id.as_str());
        let obsolete = Obsolete::find(d, o, keep_cert, &wanted);
        let mut done = Vec::new();
        for listener in &obsolete.listeners {
            self.runner.call(step, r, || self.providers.load_balancer.delete_listener(&d.owner, listener)).await?;
            done.push(format!("listener {}:{}", listener.spec.protocol, listener.spec.port));
        }
        if let (Some(zone), false) = (self.out.zone.get().or(o.zone.as_ref()), obsolete.records.is_empty()) {
            self.runner.call(step, r, || self.providers.dns.delete_records(&d.owner, zone, &obsolete.records)).await?;
            done.extend(obsolete.records.iter().map(|rec| format!("record {}", rec.name)));
        }
        // A replaced certificate stays "in use" for minutes after its listener moved on (AWS ACM): that
        // must never turn a deploy that serves into a failure. What is left is said, and the next deploy
        // (which finds it obsolete again) removes it. One of a domain the spec no longer names is read
        // only by destroy (plan reads certificates by the spec's domain), and the message says so.
        let mut left = Vec::new();
        for cert in &obsolete.certificates {
            match self.runner.call(step, r, || self.providers.certificate.delete_certificate(&d.owner, cert)).await {
                Ok(()) => done.push(format!("certificate {}", cert.id)),
                Err(error) if d.apex().is_some_and(|apex| !apex.eq_ignore_ascii_case(&cert.spec.domain)) => {
                    left.push(format!(
                        "certificate {} of {} ({error}); the app keeps it until `scaling destroy`, which removes it",
                        cert.id, cert.spec.domain
                    ))
                }
                Err(error) => left.push(format!("certificate {} ({error}); the next deploy removes it", cert.id)),
            }
        }
        let removed = if done.is_empty() { "nothing to remove".into() } else { format!("removed {}", done.join(", ")) };
        Ok(match left.is_empty() {
            true => removed,
            false => format!("{removed}; left {}", left.join("; ")),
        })
    }
}
