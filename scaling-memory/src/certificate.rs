//! [`Certificate`] in memory: issued a set time after its validation records exist in a delegated zone.

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::state::{check_owner, owner_of, State};
use super::{not_found, InMemoryCloud};
use scaling_core::providers::{
    Certificate, CertificateInfo, CertificateStatus, CertificateValidation, DesiredCertificate, DnsRecord,
    ListenerInfo, Owner, RecordKind, RecordValue,
};
use scaling_core::{ErrorKind, ProviderError, ProviderResult};

/// The validation CNAME of `name`: the same for the same name, as with ACM.
fn validation_record(name: &str) -> DnsRecord {
    let hash = hex::encode(Sha256::digest(name.as_bytes()));
    DnsRecord {
        name: format!("_{}.{name}", &hash[..16]),
        kind: RecordKind::Cname,
        value: RecordValue::Values {
            values: vec![format!("_{}.acm-validations.memory.local", &hash[16..48])],
            ttl: 300,
        },
        owner: None,
    }
}

fn record_exists(s: &State, wanted: &DnsRecord) -> Option<String> {
    s.zones
        .values()
        .find(|z| z.records.iter().any(|r| r.name == wanted.name && r.kind == wanted.kind && r.value == wanted.value))
        .map(|z| z.info.id.clone())
}

/// The zone where `name` has an address or CNAME record, if one does.
fn pointing(s: &State, name: &str) -> Option<String> {
    s.zones
        .values()
        .find(|z| {
            z.records
                .iter()
                .any(|r| r.name == name && matches!(r.kind, RecordKind::A | RecordKind::Aaaa | RecordKind::Cname))
        })
        .map(|z| z.info.id.clone())
}

/// Notes the time at which each pending certificate's validation records all exist (or, for
/// certificates issued after binding, its names all lead somewhere).
pub(crate) fn mark_validated(s: &mut State, now: Instant) {
    let pending: Vec<String> =
        s.certificates.iter().filter(|(_, c)| c.validated.is_none()).map(|(id, _)| id.clone()).collect();
    let after_binding = s.capabilities.certificate_validation == CertificateValidation::AfterBinding;
    for id in pending {
        let Some(cert) = s.certificates.get(&id) else { continue };
        let zones: Option<Vec<String>> = if after_binding {
            // Bound: every name already leads somewhere through a record of its own.
            let names = cert.info.spec.names();
            names.map(|name| pointing(s, name)).collect()
        } else {
            cert.info.validation_records.iter().map(|r| record_exists(s, r)).collect()
        };
        if let Some(zone) = zones.and_then(|z| z.into_iter().next()) {
            if let Some(cert) = s.certificates.get_mut(&id) {
                cert.validated = Some((now, zone));
            }
        }
    }
}

/// The certificate as it is now: issued once validated long enough ago in a delegated zone; in use when a
/// listener holds it.
fn live(s: &mut State, id: &str, now: Instant) -> Option<CertificateInfo> {
    let wait = s.latency.certificate_issued;
    let in_use =
        s.listeners.values().any(|l: &super::state::Listener| l.info.spec.certificate_id.as_deref() == Some(id));
    let self_managed = s.capabilities.certificate_validation == CertificateValidation::SelfManaged;
    let delegated = |zone: &str| self_managed || s.zones.get(zone).is_some_and(|z| z.delegated);
    let issue = s
        .certificates
        .get(id)
        .and_then(|c| c.validated.clone())
        .is_some_and(|(at, zone)| now >= at + wait && delegated(&zone));
    let cert = s.certificates.get_mut(id)?;
    if issue {
        cert.info.status = CertificateStatus::Issued;
    }
    cert.info.in_use = in_use;
    Some(cert.info.clone())
}

#[async_trait]
impl Certificate for InMemoryCloud {
    /// Filters by domain as a cloud that reads each certificate's tags must, so that the orchestrator's
    /// tests see what such a cloud returns.
    async fn find_certificates(&self, owner: &Owner, domains: &[String]) -> ProviderResult<Vec<CertificateInfo>> {
        self.call("find_certificates", &owner.app, false, |s, now| {
            let wanted = |domain: &str| domains.is_empty() || domains.iter().any(|d| d.eq_ignore_ascii_case(domain));
            let mut ids: Vec<String> = s
                .certificates
                .iter()
                .filter(|(_, c)| owner.owns(&c.tags) && wanted(&c.info.spec.domain))
                .map(|(id, _)| id.clone())
                .collect();
            ids.reverse();
            Ok(ids.iter().filter_map(|id| live(s, id, now)).collect())
        })
        .await
    }

    async fn request_certificate(&self, desired: &DesiredCertificate) -> ProviderResult<CertificateInfo> {
        self.call("request_certificate", &desired.spec.domain, true, |s, now| {
            let owner = owner_of(&desired.tags);
            let same = s
                .certificates
                .iter()
                .find(|(_, c)| c.token == desired.request_key && owner.owns(&c.tags))
                .map(|(id, _)| id.clone());
            let id = match same {
                Some(id) => id,
                None => {
                    let id = s.id("cert");
                    let names = desired.spec.names();
                    let validation = s.capabilities.certificate_validation;
                    let self_managed = validation == CertificateValidation::SelfManaged;
                    let publishes = validation == CertificateValidation::PublishedRecords;
                    let names: Vec<&String> = if publishes { names.collect() } else { Vec::new() };
                    let info = CertificateInfo {
                        spec: desired.spec.clone(),
                        id: id.clone(),
                        status: CertificateStatus::PendingValidation,
                        validation_records: names.into_iter().map(|n| validation_record(n)).collect(),
                        in_use: false,
                        renewal_due: None,
                    };
                    let cert = super::state::Certificate {
                        info,
                        tags: desired.tags.clone(),
                        token: desired.request_key.clone(),
                        // A self-managed certificate proves control by itself, outside any zone.
                        validated: self_managed.then(|| (now, String::new())),
                    };
                    s.certificates.insert(id.clone(), cert);
                    mark_validated(s, now);
                    id
                }
            };
            live(s, &id, now).ok_or_else(|| not_found("request_certificate", &id))
        })
        .await
    }

    async fn describe_certificate(&self, certificate: &CertificateInfo) -> ProviderResult<CertificateInfo> {
        self.call("describe_certificate", &certificate.id, false, |s, now| {
            live(s, &certificate.id, now).ok_or_else(|| not_found("describe_certificate", &certificate.id))
        })
        .await
    }

    async fn delete_certificate(&self, owner: &Owner, certificate: &CertificateInfo) -> ProviderResult<()> {
        self.call("delete_certificate", &certificate.id, true, |s, _| {
            let Some(found) = s.certificates.get(&certificate.id) else { return Ok(()) };
            check_owner(&found.tags, owner, "delete_certificate", &certificate.id)?;
            let user: Option<&ListenerInfo> = s
                .listeners
                .values()
                .map(|l| &l.info)
                .find(|l| l.spec.certificate_id.as_deref() == Some(&certificate.id));
            if let Some(listener) = user {
                let message = format!("the certificate is in use by listener {}", listener.id);
                return Err(ProviderError::new("delete_certificate", &certificate.id, ErrorKind::InUse, message));
            }
            s.certificates.remove(&certificate.id);
            Ok(())
        })
        .await
    }
}
