//! [`Certificate`] locally: the local CA proves nothing to anyone and needs no validation records, so a
//! request is issued at once; the certificate itself is signed by the CA when a listener needs it (see
//! the load balancer).

use std::sync::atomic::Ordering;

use async_trait::async_trait;
use scaling_core::providers::{Certificate, CertificateInfo, CertificateStatus, DesiredCertificate, Owner};
use scaling_core::{ErrorKind, ProviderError, ProviderResult};

use crate::cloud::LocalCloud;
use crate::owned::owner_of;

impl LocalCloud {
    /// `certificate` with whether a listener holds it.
    fn in_use(&self, certificate: CertificateInfo) -> CertificateInfo {
        let held = self
            .records
            .listeners
            .find_map(|(_, l)| (l.spec.certificate_id.as_ref() == Some(&certificate.id)).then_some(()));
        CertificateInfo { in_use: held.is_some(), ..certificate }
    }
}

#[async_trait]
impl Certificate for LocalCloud {
    /// The local CA's certificates are made for this machine's balancer, key included.
    fn hands_out_key_material(&self) -> bool {
        true
    }

    /// Every one the owner has, whatever `domains` says: the records are local and cost nothing to read.
    async fn find_certificates(&self, owner: &Owner, _domains: &[String]) -> ProviderResult<Vec<CertificateInfo>> {
        Ok(self.records.certificates.of(owner).into_iter().map(|(_, c)| self.in_use(c)).collect())
    }

    /// The request made with `desired.request_key`, or a new one: issued at once by the local CA.
    async fn request_certificate(&self, desired: &DesiredCertificate) -> ProviderResult<CertificateInfo> {
        self.ca()?;
        let owner = owner_of(&desired.tags);
        let same = self.records.certificates.of(&owner).into_iter().find(|(key, _)| *key == desired.request_key);
        if let Some((_, certificate)) = same {
            return Ok(self.in_use(certificate));
        }
        let serial = self.records.certificate_serial.fetch_add(1, Ordering::Relaxed) + 1;
        let info = CertificateInfo {
            spec: desired.spec.clone(),
            id: format!("local-ca-{serial}"),
            status: CertificateStatus::Issued,
            validation_records: Vec::new(),
            in_use: false,
            renewal_due: None,
        };
        let made = self
            .records
            .certificates
            .put(&owner, &info.id, "request_certificate", |_| Ok((desired.request_key.clone(), info.clone())))?;
        Ok(made.1)
    }

    async fn describe_certificate(&self, certificate: &CertificateInfo) -> ProviderResult<CertificateInfo> {
        let found = self.records.certificates.find_map(|(_, c)| (c.id == certificate.id).then(|| c.clone()));
        let missing = || {
            ProviderError::new("describe_certificate", &certificate.id, ErrorKind::NotFound, "no such certificate here")
        };
        found.map(|c| self.in_use(c)).ok_or_else(missing)
    }

    /// Refused (retryable) while a listener holds it.
    async fn delete_certificate(&self, owner: &Owner, certificate: &CertificateInfo) -> ProviderResult<()> {
        let holder = self
            .records
            .listeners
            .find_map(|(_, l)| (l.spec.certificate_id.as_ref() == Some(&certificate.id)).then(|| l.id.clone()));
        if let Some(listener) = holder {
            let message = format!("the certificate is in use by listener {listener}");
            return Err(ProviderError::new("delete_certificate", &certificate.id, ErrorKind::InUse, message));
        }
        self.records.certificates.remove(owner, &certificate.id, "delete_certificate").map(drop)
    }
}
