//! [`Acme`]: the [`Certificate`] trait on an ACME authority, its state in a folder of this machine.

use std::path::PathBuf;

use async_trait::async_trait;
use scaling_core::providers::{
    Certificate, CertificateInfo, CertificateStatus, DesiredCertificate, KeyMaterial, Owner,
};
use scaling_core::{ErrorKind, Problem, ProviderError, ProviderResult, SpecErrors};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use crate::order::{self, io, Progress};
use crate::settings::AcmeSettings;
use crate::store::{Store, Stored};

/// Certificates from one ACME directory, for one state folder.
pub struct Acme {
    settings: AcmeSettings,
    store: Store,
    account: OnceCell<instant_acme::Account>,
}

/// The settings and the folder; the account (and its key) is never shown.
impl std::fmt::Debug for Acme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acme").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Acme {
    /// The provider for `settings`, refused with every problem [`AcmeSettings::problems`] finds;
    /// makes the state folder (0700). Makes no call to the authority.
    pub fn new(settings: AcmeSettings) -> Result<Self, SpecErrors> {
        let problems = settings.problems();
        if !problems.is_empty() {
            return Err(SpecErrors { problems });
        }
        let store = Store::open(&settings.state_dir).map_err(|e| SpecErrors {
            problems: vec![Problem::new(
                "state_dir",
                format!("{}: {e}", settings.state_dir.display()),
                "give a folder this user may create and write",
            )],
        })?;
        Ok(Self { settings, store, account: OnceCell::new() })
    }

    /// The chain and private key files (PEM) of an issued certificate, for the load balancer that
    /// serves it; `None` until it is issued.
    pub fn files(&self, certificate: &CertificateInfo) -> Option<(PathBuf, PathBuf)> {
        let (chain, key) = self.store.files(&certificate.id);
        (chain.is_file() && key.is_file()).then_some((chain, key))
    }

    async fn account(&self) -> ProviderResult<&instant_acme::Account> {
        self.account.get_or_try_init(|| order::account(&self.settings, &self.store)).await
    }

    /// Marks a pending order `Failed` when the authority has failed it (its answers removed); an
    /// authority out of reach leaves it pending, for the issue step to look again.
    async fn settle_if_failed(&self, stored: &mut Stored) -> ProviderResult<()> {
        let Ok(account) = self.account().await else { return Ok(()) };
        let Ok(Some(reason)) = order::failed(account, &stored.order_url).await else { return Ok(()) };
        let id = stored.info.id.clone();
        self.store.remove_challenges(&stored.challenge_tokens).map_err(|e| io("find_certificates", &id, e))?;
        stored.challenge_tokens.clear();
        stored.info.status = CertificateStatus::Failed(self.with_fix(reason));
        self.store.save(stored).map_err(|e| io("find_certificates", &id, e))
    }

    /// The authority's reason for a failed validation, with what to check for this challenge.
    fn with_fix(&self, reason: String) -> String {
        let fix = match self.settings.challenge {
            crate::ChallengeKind::Dns01 => {
                "check that the domain's zone is the one this app writes to (its registrar's name servers), that \
                 every authoritative server serves the `_acme-challenge` TXT record (list the zone's secondaries), \
                 and that no CAA record forbids the authority"
            }
            crate::ChallengeKind::Http01 => {
                "check that the names' A/AAAA records lead to this server, that port 80 is open to the internet \
                 and reaches the balancer's plain port, and that no CAA record forbids the authority"
            }
        };
        format!("{reason} — {fix}; the next deploy requests a new certificate")
    }

    fn stored(&self, operation: &str, id: &str) -> ProviderResult<Stored> {
        self.store
            .load(id)
            .map_err(|e| io(operation, id, e))?
            .ok_or_else(|| ProviderError::new(operation, id, ErrorKind::NotFound, "no such certificate"))
    }
}

/// How old an HTTP-01 answer no stored order names must be before it is removed: far longer than a
/// run takes between saving an answer and saving its order.
const UNKEPT_ANSWER_GRACE: std::time::Duration = std::time::Duration::from_secs(600);

/// `acme-<seconds>-<hash>`: sorts by age, and differs for every owner and request.
fn new_id(owner: &Owner, request_key: &str) -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs());
    let hash = hex::encode(Sha256::digest(format!("{}|{request_key}", owner.app)));
    format!("acme-{:010}-{}", secs.unwrap_or_default(), &hash[..12])
}

#[async_trait]
impl Certificate for Acme {
    /// Its chains and keys are served by a balancer of one's own ([`Acme::files`], `key_material`).
    fn hands_out_key_material(&self) -> bool {
        true
    }

    /// Every one the owner has, whatever `domains` says: the state folder costs nothing to read. An
    /// order still pending (a run stopped while it was validated) is looked at once, without moving
    /// it on: one the authority failed meanwhile is `Failed`, so the plan replaces it at once.
    async fn find_certificates(&self, owner: &Owner, _domains: &[String]) -> ProviderResult<Vec<CertificateInfo>> {
        let all = self.store.list().map_err(|e| io("find_certificates", &owner.app, e))?;
        let kept: Vec<String> = all.iter().flat_map(|s| s.challenge_tokens.iter().cloned()).collect();
        self.store
            .remove_unkept_challenges(&kept, UNKEPT_ANSWER_GRACE)
            .map_err(|e| io("find_certificates", &owner.app, e))?;
        let mut out = Vec::new();
        for mut stored in all.into_iter().filter(|s| owner.owns(&s.tags)) {
            if stored.info.status == CertificateStatus::PendingValidation {
                self.settle_if_failed(&mut stored).await?;
            }
            out.push(crate::renewal::with_renewal(stored));
        }
        Ok(out)
    }

    /// The order made with `desired.request_key`, or a new one whose DNS-01 records are returned as
    /// the validation records.
    async fn request_certificate(&self, desired: &DesiredCertificate) -> ProviderResult<CertificateInfo> {
        let owner_app = desired.tags.get(Owner::TAG).cloned().unwrap_or_default();
        let owner = Owner::new(owner_app);
        let all = self.store.list().map_err(|e| io("request_certificate", &desired.spec.domain, e))?;
        if let Some(same) = all.into_iter().find(|s| s.request_key == desired.request_key && owner.owns(&s.tags)) {
            return Ok(same.info);
        }
        let names: Vec<String> = desired.spec.names().cloned().collect();
        let started = order::start(self.account().await?, &self.store, &names, self.settings.challenge).await?;
        let stored = Stored {
            info: CertificateInfo {
                spec: desired.spec.clone(),
                id: new_id(&owner, &desired.request_key),
                status: CertificateStatus::PendingValidation,
                validation_records: started.records,
                in_use: false,
                renewal_due: None,
            },
            tags: desired.tags.clone(),
            request_key: desired.request_key.clone(),
            order_url: started.url,
            validity: None,
            challenge_tokens: started.tokens,
        };
        self.store.save(&stored).map_err(|e| io("request_certificate", &desired.spec.domain, e))?;
        Ok(stored.info)
    }

    /// Moves a pending order on by one step: the records are out, so the challenges are readied;
    /// then the order is finalized with a fresh key and the chain saved.
    async fn describe_certificate(&self, certificate: &CertificateInfo) -> ProviderResult<CertificateInfo> {
        let mut stored = self.stored("describe_certificate", &certificate.id)?;
        if stored.info.status != CertificateStatus::PendingValidation {
            return Ok(crate::renewal::with_renewal(stored));
        }
        let account = self.account().await?;
        let progress =
            order::advance(account, &self.store, &stored.info.id, &stored.order_url, self.settings.challenge).await?;
        stored.info.status = match progress {
            Progress::Pending => return Ok(stored.info),
            Progress::Issued(chain) => {
                stored.validity = crate::renewal::validity(&chain);
                CertificateStatus::Issued
            }
            Progress::Failed(reason) => CertificateStatus::Failed(self.with_fix(reason)),
            Progress::KeyLost => CertificateStatus::Failed(
                "its key was lost (the run stopped between finalizing and saving it): the next deploy requests a \
                 new one"
                    .into(),
            ),
        };
        // Settled: the answers are no longer served.
        self.store
            .remove_challenges(&stored.challenge_tokens)
            .map_err(|e| io("describe_certificate", &stored.info.id, e))?;
        stored.challenge_tokens.clear();
        self.store.save(&stored).map_err(|e| io("describe_certificate", &stored.info.id, e))?;
        Ok(crate::renewal::with_renewal(stored))
    }

    async fn delete_certificate(&self, owner: &Owner, certificate: &CertificateInfo) -> ProviderResult<()> {
        let Some(stored) =
            self.store.load(&certificate.id).map_err(|e| io("delete_certificate", &certificate.id, e))?
        else {
            return Ok(());
        };
        if !owner.owns(&stored.tags) {
            return Err(ProviderError::new(
                "delete_certificate",
                &certificate.id,
                ErrorKind::Conflict,
                format!("{} is not {}'s", certificate.id, owner.app),
            ));
        }
        self.store.remove(&certificate.id).map_err(|e| io("delete_certificate", &certificate.id, e))
    }

    /// The saved chain and key once issued, for the balancer that serves them (the local provider's).
    async fn key_material(&self, certificate_id: &str) -> ProviderResult<Option<KeyMaterial>> {
        let (chain, key) = self.store.files(certificate_id);
        let read = |path: &std::path::Path| match std::fs::read_to_string(path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("key_material", certificate_id, e)),
        };
        Ok(match (read(&chain)?, read(&key)?) {
            (Some(chain_pem), Some(key_pem)) => Some(KeyMaterial { chain_pem, key_pem }),
            _ => None,
        })
    }

    /// The kept answer to an HTTP-01 token of a pending order; `None` for any other request path
    /// (a token that is not base64url never reaches the folder).
    async fn http_challenge(&self, token: &str) -> ProviderResult<Option<String>> {
        self.store.challenge(token).map_err(|e| io("http_challenge", token, e))
    }
}
