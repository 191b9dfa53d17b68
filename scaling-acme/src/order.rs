//! The ACME conversation: the account (made once, then restored from the state folder), an order
//! whose DNS-01 challenges become TXT records or whose HTTP-01 answers are kept for the load
//! balancer, and each later look at the order moving it on: ready
//! the challenges once the records are published, finalize with a fresh key, fetch the chain.

use instant_acme::{
    Account, AccountBuilder, AccountCredentials, AuthorizationStatus, ChallengeStatus, ChallengeType, Identifier,
    NewAccount, NewOrder, OrderStatus,
};
use scaling_core::providers::{DnsRecord, RecordKind, RecordValue};
use scaling_core::{ErrorKind, ProviderError};

use crate::settings::{AcmeSettings, ChallengeKind};
use crate::store::Store;

/// An ACME error as a provider error: a rate limit names the limit and the staging directory, a
/// connection failure is retryable, the authority's other answers keep its detail.
pub(crate) fn error(operation: &str, resource: &str, e: instant_acme::Error) -> ProviderError {
    match e {
        instant_acme::Error::Api(problem) => {
            let kind_of =
                problem.r#type.as_deref().unwrap_or_default().rsplit(':').next().unwrap_or_default().to_string();
            let detail = problem.detail.clone().unwrap_or_default();
            let (kind, hint) = match kind_of.as_str() {
                "rateLimited" => (
                    ErrorKind::LimitExceeded,
                    " — the authority's rate limit (Let's Encrypt: 50 certificates per registered domain a week, \
                     5 failed validations per name an hour): wait, and use `directory = \"staging\"` while testing",
                ),
                "badNonce" | "serverInternal" => (ErrorKind::Unavailable, ""),
                "unauthorized" | "dns" | "caa" | "incorrectResponse" | "rejectedIdentifier" => (
                    ErrorKind::InvalidRequest,
                    " — check that the domain's DNS is the one this app writes to, and that no CAA record forbids the authority",
                ),
                "accountDoesNotExist" => (ErrorKind::Unauthenticated, " — remove account.json from the state folder to register again"),
                _ => (ErrorKind::Other, ""),
            };
            ProviderError::new(operation, resource, kind, format!("{kind_of}: {detail}{hint}"))
        }
        instant_acme::Error::Http(e) => ProviderError::new(operation, resource, ErrorKind::Unavailable, e.to_string()),
        other => ProviderError::new(operation, resource, ErrorKind::Other, other.to_string()),
    }
}

/// True for the authority's answers that say a validation failed (RFC 8555 §6.7), not a call.
fn failed_validation(problem: &instant_acme::Problem) -> bool {
    let kind = problem.r#type.as_deref().unwrap_or_default().rsplit(':').next().unwrap_or_default();
    matches!(kind, "unauthorized" | "dns" | "caa" | "incorrectResponse" | "connection" | "tls")
}

/// A state-folder error as a provider error.
pub(crate) fn io(operation: &str, resource: &str, e: std::io::Error) -> ProviderError {
    ProviderError::new(operation, resource, ErrorKind::Other, format!("the ACME state folder: {e}"))
}

fn builder(settings: &AcmeSettings) -> Result<AccountBuilder, instant_acme::Error> {
    // The ACME client's TLS asks rustls for the process's provider; a build with both of rustls's
    // providers (the AWS SDK brings aws-lc-rs) has no single default, so ring is installed unless the
    // program chose one (an error here only says one was already installed).
    let _ = rustls::crypto::ring::default_provider().install_default();
    match &settings.directory_root {
        Some(root) => Account::builder_with_root(root),
        None => Account::builder(),
    }
}

/// The account: restored from the saved credentials, else registered and saved (0600) first.
pub(crate) async fn account(settings: &AcmeSettings, store: &Store) -> Result<Account, ProviderError> {
    let operation = "account";
    let directory = settings.directory_url();
    let fail = |e| error(operation, &directory, e);
    if let Some(saved) = store.account().map_err(|e| io(operation, &directory, e))? {
        let credentials: AccountCredentials = serde_json::from_slice(&saved).map_err(|e| {
            ProviderError::new(operation, &directory, ErrorKind::Other, format!("account.json is not readable: {e}"))
        })?;
        return builder(settings).map_err(fail)?.from_credentials(credentials).await.map_err(fail);
    }
    let contact = format!("mailto:{}", settings.contact);
    let new = NewAccount { contact: &[&contact], terms_of_service_agreed: true, only_return_existing: false };
    let (account, credentials) =
        builder(settings).map_err(fail)?.create(&new, directory.clone(), None).await.map_err(fail)?;
    let bytes = serde_json::to_vec(&credentials).map_err(|e| io(operation, &directory, std::io::Error::other(e)))?;
    store.save_account(&bytes).map_err(|e| io(operation, &directory, e))?;
    Ok(account)
}

/// A new order: its URL, the TXT records that answer its DNS-01 challenges, and the tokens of its
/// HTTP-01 challenges (whose answers are kept in the store for the load balancer).
pub(crate) struct Started {
    pub url: String,
    pub records: Vec<DnsRecord>,
    pub tokens: Vec<String>,
}

/// A new order for `names`, validated by `kind` challenges.
pub(crate) async fn start(
    account: &Account,
    store: &Store,
    names: &[String],
    kind: ChallengeKind,
) -> Result<Started, ProviderError> {
    let resource = names.first().map(String::as_str).unwrap_or_default();
    let fail = |e| error("new-order", resource, e);
    let identifiers: Vec<Identifier> = names.iter().cloned().map(Identifier::Dns).collect();
    let mut order = account.new_order(&NewOrder::new(&identifiers)).await.map_err(fail)?;
    let (mut records, mut tokens) = (Vec::new(), Vec::new());
    let mut authorizations = order.authorizations();
    while let Some(authorization) = authorizations.next().await {
        let mut authorization = authorization.map_err(fail)?;
        if authorization.status != AuthorizationStatus::Pending {
            continue;
        }
        let name = authorization.identifier().to_string();
        let challenge = authorization.challenge(challenge_type(kind)).ok_or_else(|| {
            ProviderError::new(
                "new-order",
                &name,
                ErrorKind::Unsupported,
                format!("the authority offers no {} challenge for it: choose the other `challenge`", label(kind)),
            )
        })?;
        let key_authorization = challenge.key_authorization();
        match kind {
            ChallengeKind::Dns01 => records.push(DnsRecord {
                name: format!("_acme-challenge.{}", name.trim_start_matches("*.")),
                kind: RecordKind::Txt,
                value: RecordValue::Values { values: vec![format!("\"{}\"", key_authorization.dns_value())], ttl: 60 },
                owner: None,
            }),
            ChallengeKind::Http01 => {
                store
                    .save_challenge(&challenge.token, key_authorization.as_str())
                    .map_err(|e| io("new-order", &name, e))?;
                tokens.push(challenge.token.clone());
            }
        }
    }
    records.sort();
    records.dedup();
    Ok(Started { url: order.url().to_string(), records, tokens })
}

fn challenge_type(kind: ChallengeKind) -> ChallengeType {
    match kind {
        ChallengeKind::Dns01 => ChallengeType::Dns01,
        ChallengeKind::Http01 => ChallengeType::Http01,
    }
}

fn label(kind: ChallengeKind) -> &'static str {
    match kind {
        ChallengeKind::Dns01 => "DNS-01",
        ChallengeKind::Http01 => "HTTP-01",
    }
}

/// Where an order stands after one look.
pub(crate) enum Progress {
    /// The authority is still validating or issuing.
    Pending,
    /// Issued: the chain (PEM), saved with its key.
    Issued(String),
    /// Failed, with the authority's reason.
    Failed(String),
    /// Issued, but its key was lost: the run stopped between finalizing and saving it.
    KeyLost,
}

/// Moves the order of certificate `id` on by one step (the validation records are published, or
/// the names lead to the load balancer that answers the HTTP-01 tokens).
pub(crate) async fn advance(
    account: &Account,
    store: &Store,
    id: &str,
    url: &str,
    kind: ChallengeKind,
) -> Result<Progress, ProviderError> {
    let fail = |e| error("order", id, e);
    let mut order = account.order(url.to_string()).await.map_err(fail)?;
    match order.state().status {
        OrderStatus::Pending => match ready_challenges(&mut order, kind).await {
            Ok(()) => Ok(Progress::Pending),
            // A validation that failed between the look and the call: the authority answers with its
            // reason (which names the record it looked for), the order's failure rather than a call's.
            Err(instant_acme::Error::Api(problem)) if failed_validation(&problem) => {
                Ok(Progress::Failed(problem.detail.unwrap_or_else(|| "the validation failed".into())))
            }
            Err(e) => Err(fail(e)),
        },
        OrderStatus::Ready => {
            let key = order.finalize().await.map_err(fail)?;
            store.save_key(id, &key).map_err(|e| io("finalize", id, e))?;
            chain(&mut order, store, id).await
        }
        OrderStatus::Processing | OrderStatus::Valid if store.has_key(id) => chain(&mut order, store, id).await,
        OrderStatus::Processing | OrderStatus::Valid => Ok(Progress::KeyLost),
        OrderStatus::Invalid => Ok(Progress::Failed(failure(&mut order).await)),
    }
}

/// Why the order at `url` failed, if the authority has marked it invalid (a look, nothing moved on):
/// how a run finds that an order a killed run left pending failed meanwhile.
pub(crate) async fn failed(account: &Account, url: &str) -> Result<Option<String>, instant_acme::Error> {
    let mut order = account.order(url.to_string()).await?;
    Ok(match order.state().status {
        OrderStatus::Invalid => Some(failure(&mut order).await),
        _ => None,
    })
}

/// The authority's reason per name for an invalid order.
async fn failure(order: &mut instant_acme::Order) -> String {
    let mut reasons = Vec::new();
    let mut authorizations = order.authorizations();
    while let Some(Ok(authorization)) = authorizations.next().await {
        let name = authorization.identifier().to_string();
        for challenge in &authorization.challenges {
            if let Some(problem) = &challenge.error {
                reasons.push(format!("{name}: {}", problem.detail.as_deref().unwrap_or("invalid")));
            }
        }
    }
    if reasons.is_empty() {
        reasons.push("the authority marked the order invalid".into());
    }
    reasons.join("; ")
}

/// Tells the authority that each pending challenge of `kind` can be checked.
async fn ready_challenges(order: &mut instant_acme::Order, kind: ChallengeKind) -> Result<(), instant_acme::Error> {
    let mut authorizations = order.authorizations();
    while let Some(authorization) = authorizations.next().await {
        let mut authorization = authorization?;
        if authorization.status != AuthorizationStatus::Pending {
            continue;
        }
        if let Some(mut challenge) = authorization.challenge(challenge_type(kind)) {
            if challenge.status == ChallengeStatus::Pending {
                challenge.set_ready().await?;
            }
        }
    }
    Ok(())
}

async fn chain(order: &mut instant_acme::Order, store: &Store, id: &str) -> Result<Progress, ProviderError> {
    match order.certificate().await.map_err(|e| error("certificate", id, e))? {
        Some(chain) => {
            store.save_chain(id, &chain).map_err(|e| io("certificate", id, e))?;
            Ok(Progress::Issued(chain))
        }
        None => Ok(Progress::Pending),
    }
}
