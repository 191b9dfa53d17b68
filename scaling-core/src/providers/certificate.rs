//! [`Certificate`]: the TLS certificate for the domain, validated through DNS.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{DnsRecord, Owner, Tags};
use crate::ProviderResult;

/// The names a certificate covers: the same in what is asked ([`DesiredCertificate`]) and what is
/// found ([`CertificateInfo`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateSpec {
    /// The apex domain.
    pub domain: String,
    /// Further names (the aliases) as subject alternative names.
    pub alternative_names: Vec<String>,
}

impl CertificateSpec {
    /// Every name it covers: the domain, then the alternative names.
    pub fn names(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.domain).chain(&self.alternative_names)
    }
}

/// A certificate as it should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredCertificate {
    /// Its names.
    #[serde(flatten)]
    pub spec: CertificateSpec,
    /// A key, the same for every retry of one request within a run, that makes a retried request
    /// return the same certificate (ACM's idempotency token, a cert-manager `Certificate`'s name suffix).
    pub request_key: String,
    /// Tags, ownership included.
    pub tags: Tags,
}

/// Where a certificate stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CertificateStatus {
    /// Waiting for its DNS validation records to be seen.
    PendingValidation,
    /// Issued and usable.
    Issued,
    /// Failed or revoked, with the authority's reason.
    Failed(String),
}

impl std::fmt::Display for CertificateStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CertificateStatus::PendingValidation => f.write_str("waiting for validation"),
            CertificateStatus::Issued => f.write_str("issued"),
            CertificateStatus::Failed(reason) => write!(f, "failed: {reason}"),
        }
    }
}

/// A certificate as it is: its names as issued, and its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateInfo {
    /// The provider's id.
    pub id: String,
    /// Its names, as read back.
    #[serde(flatten)]
    pub spec: CertificateSpec,
    /// Its status.
    pub status: CertificateStatus,
    /// The DNS records that prove control of the names (written by the [`Dns`](super::Dns) provider).
    pub validation_records: Vec<DnsRecord>,
    /// True while a listener uses it.
    pub in_use: bool,
    /// Why the provider asks for a new certificate before this one ends, in words (an authority that
    /// does not renew by itself: ACME, after two thirds of the certificate's life); `None` otherwise
    /// (ACM renews its own). The next deploy replaces it, and the balancer swaps it in live.
    #[serde(default)]
    pub renewal_due: Option<String>,
}

/// An issued certificate's chain and private key, for a load balancer that serves it itself (the
/// local provider's, a Kubernetes ingress): PEM text. `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyMaterial {
    /// The leaf, then its intermediates.
    pub chain_pem: String,
    /// The leaf's private key.
    pub key_pem: String,
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyMaterial").field("chain_pem", &self.chain_pem).finish_non_exhaustive()
    }
}

/// Requests certificates, hands out the DNS records that validate them, and reports their status.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Certificate: Send + Sync {
    /// The certificates this owner owns, newest first: every one whose domain is one of `domains`, or
    /// every one it owns when `domains` is empty (destroy, a domain just removed, a domain changed).
    ///
    /// A provider that must read each certificate to learn its owner reads only those for `domains`,
    /// so that plan and status cost the same in an account with thousands of certificates; one that
    /// knows its own at once may return them all.
    async fn find_certificates(&self, owner: &Owner, domains: &[String]) -> ProviderResult<Vec<CertificateInfo>>;
    /// Requests a certificate; the same `request_key` returns the same certificate.
    async fn request_certificate(&self, desired: &DesiredCertificate) -> ProviderResult<CertificateInfo>;
    /// The certificate's current state (used to poll for issuance).
    async fn describe_certificate(&self, certificate: &CertificateInfo) -> ProviderResult<CertificateInfo>;
    /// Deletes an owned certificate; retryable while a listener still uses it.
    async fn delete_certificate(&self, owner: &Owner, certificate: &CertificateInfo) -> ProviderResult<()>;
    /// The chain and key of the issued certificate `certificate_id`, for a load balancer of another
    /// provider that serves it itself; `None` where the key never leaves the authority (ACM) or the
    /// certificate is not issued yet. The default is `None`.
    async fn key_material(&self, _certificate_id: &str) -> ProviderResult<Option<KeyMaterial>> {
        Ok(None)
    }
    /// True when it hands its certificates' chains and keys to a load balancer of another provider
    /// ([`key_material`](Certificate::key_material): an ACME authority, a local CA); false when its
    /// keys never leave it and its certificates are used by id in its own cloud (ACM). A pairing with
    /// a load balancer of the other kind is refused before any call. Makes no call; false by default.
    fn hands_out_key_material(&self) -> bool {
        false
    }
    /// The answer to the HTTP-01 challenge `token` (RFC 8555 §8.3) of an order this provider has
    /// pending, for a load balancer of another provider that serves
    /// `/.well-known/acme-challenge/<token>` on port 80; `None` for a token it does not know. The
    /// default knows none (ACM, a DNS-01 authority).
    async fn http_challenge(&self, _token: &str) -> ProviderResult<Option<String>> {
        Ok(None)
    }
}
