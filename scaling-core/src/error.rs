//! Errors: what a provider reports ([`ProviderError`]) and what the orchestrator reports ([`Error`]).

use std::fmt;
use std::time::Duration;

use crate::orchestrator::StepId;
use crate::spec::SpecErrors;

/// Whether retrying the same call may succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Retry {
    /// A passing condition (throttling, a dependency still draining, a 5xx): the same call may succeed later.
    Retryable,
    /// The call will fail again until something changes (bad input, access denied, quota reached).
    Permanent,
}

/// What kind of failure a provider reported, independent of the cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The provider asked us to slow down.
    Throttled,
    /// The provider or the network was unavailable.
    Unavailable,
    /// Another resource still depends on this one (e.g. network interfaces on a security group).
    DependencyViolation,
    /// The resource is in use and cannot be deleted (e.g. a certificate on a listener).
    InUse,
    /// The resource does not exist.
    NotFound,
    /// The resource exists but belongs to someone else.
    NotOwned,
    /// The resource already exists in a state that conflicts with the request (a name taken, a
    /// concurrent change), and is not someone else's (that is [`ErrorKind::NotOwned`]).
    Conflict,
    /// No credentials, or credentials the provider does not accept (expired, unknown, malformed).
    Unauthenticated,
    /// The credentials are valid but lack a permission.
    AccessDenied,
    /// The provider cannot do what the spec asks (a feature, a setting, a pairing it does not support).
    Unsupported,
    /// The request was invalid for the provider.
    InvalidRequest,
    /// A quota or limit was reached.
    LimitExceeded,
    /// The provider has not caught up yet with a change just made (eventual consistency: a new role not
    /// yet usable, a new group not yet visible); the same call succeeds once it has. Retried for
    /// [`crate::RetryPolicy::catching_up`], apart from the short policy for throttling.
    CatchingUp,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// The retry class a kind usually has.
    pub fn default_retry(self) -> Retry {
        match self {
            ErrorKind::Throttled
            | ErrorKind::Unavailable
            | ErrorKind::DependencyViolation
            | ErrorKind::InUse
            | ErrorKind::CatchingUp => Retry::Retryable,
            _ => Retry::Permanent,
        }
    }
}

/// An error reported by a provider call, naming the resource and carrying the provider's own message
/// and, where there is one, the underlying error as its [`source`](std::error::Error::source).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation} on {resource} failed: {message}")]
#[non_exhaustive]
pub struct ProviderError {
    /// The operation that failed, e.g. `create_load_balancer`.
    pub operation: String,
    /// The resource the call was about, e.g. `dashmath-alb`.
    pub resource: String,
    /// The failure class.
    pub kind: ErrorKind,
    /// Whether the same call may succeed later.
    pub retry: Retry,
    /// The provider's message, verbatim (never contains credentials).
    pub message: String,
    /// The error underneath (an SDK error, an I/O error), kept for the source chain.
    #[source]
    pub cause: Option<std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>>,
    /// The provider's own client already retried this call, with backoff and jitter, until its budget ran
    /// out: the orchestrator does not retry it again (one retry layer, not one inside another).
    pub retried_by_client: bool,
}

impl PartialEq for ProviderError {
    /// Two errors are equal when everything but the underlying error is.
    fn eq(&self, other: &Self) -> bool {
        (&self.operation, &self.resource, self.kind, self.retry, &self.message)
            == (&other.operation, &other.resource, other.kind, other.retry, &other.message)
    }
}

impl Eq for ProviderError {}

impl ProviderError {
    /// A new error with the retry class that `kind` usually has.
    pub fn new(
        operation: impl Into<String>,
        resource: impl Into<String>,
        kind: ErrorKind,
        message: impl Into<String>,
    ) -> Self {
        Self {
            operation: operation.into(),
            resource: resource.into(),
            retry: kind.default_retry(),
            kind,
            message: message.into(),
            cause: None,
            retried_by_client: false,
        }
    }

    /// The same error, marked as already retried by the provider's client.
    pub fn retried_by_client(mut self) -> Self {
        self.retried_by_client = true;
        self
    }

    /// The same error with an explicit retry class.
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// The same error keeping `cause` as its source.
    pub fn with_cause(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.cause = Some(std::sync::Arc::new(cause));
        self
    }

    /// True when retrying the same call may succeed.
    pub fn is_retryable(&self) -> bool {
        self.retry == Retry::Retryable
    }
}

/// Result of a provider call.
pub type ProviderResult<T> = std::result::Result<T, ProviderError>;

/// An error of the orchestrator: invalid input, a failed provider call, or a wait that ran out.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The spec is invalid; nothing was created.
    #[error("{0}")]
    InvalidSpec(#[from] SpecErrors),
    /// A provider call failed during a step.
    #[error("step `{step}` failed: {source}")]
    Provider {
        /// The step that failed.
        step: StepId,
        /// The provider's error.
        source: ProviderError,
    },
    /// A bounded wait ran out.
    #[error("step `{step}` timed out after {}: {pending}", humantime::format_duration(*.waited))]
    Timeout {
        /// The step that waited.
        step: StepId,
        /// How long it waited.
        waited: Duration,
        /// What was still pending and why.
        pending: String,
    },
    /// The certificate cannot validate because the zone is not delegated to the provider's name servers.
    #[error(
        "certificate for {domain} cannot be validated: the zone is not delegated. \
         Set these name servers at your registrar, then run deploy again: {}",
        .name_servers.join(", ")
    )]
    ZoneNotDelegated {
        /// The apex domain.
        domain: String,
        /// The name servers the registrar must use.
        name_servers: Vec<String>,
    },
    /// The certificate authority refused or failed the certificate.
    #[error("certificate for {domain} failed: {reason}")]
    CertificateFailed {
        /// The apex domain.
        domain: String,
        /// The reason the provider gave.
        reason: String,
    },
    /// The service rolled back or failed to deploy.
    #[error("service rollout failed: {reason}")]
    RolloutFailed {
        /// The reason the provider gave.
        reason: String,
    },
    /// The app has not been deployed (e.g. `scale` before `deploy`).
    #[error("{app} is not deployed: {what} does not exist. Run `scaling deploy` first")]
    NotDeployed {
        /// The app name.
        app: String,
        /// The missing resource.
        what: String,
    },
    /// The image was built for another platform than the tasks run on ("exec format error" on start).
    #[error(
        "the image was built for {built} but the tasks run on {expected}: it would crash with `exec format error`. \
         Build it with `--platform {expected}`, or set image.platform = \"{built}\""
    )]
    PlatformMismatch {
        /// The image's platform.
        built: crate::spec::Platform,
        /// The platform the spec asks for.
        expected: crate::spec::Platform,
    },
    /// The providers cannot work together (e.g. a certificate whose validation records no DNS provider
    /// publishes); nothing was called.
    #[error("these providers cannot work together: {}", .conflicts.join("; "))]
    Incompatible {
        /// Each conflict, with its fix.
        conflicts: Vec<String>,
    },
    /// Another run holds the app's deploy lock; nothing was changed.
    #[error("{app} is locked: {holder}. Wait until it finishes; if that run was killed, run again with --break-lock")]
    Locked {
        /// The app.
        app: String,
        /// Who holds the lock, for what, and for how long.
        holder: String,
    },
    /// The deploy lock could not be taken or released.
    #[error("the deploy lock: {source}")]
    LockFailed {
        /// The provider's error.
        source: ProviderError,
    },
    /// Several independent steps failed; the first is the headline.
    #[error("{} steps failed; first: {}", .0.len(), .0.first().map(ToString::to_string).unwrap_or_default())]
    Several(Vec<Error>),
    /// A step's input was missing: a bug in the orchestrator's dependency table.
    #[error("internal error: step `{step}` ran before its input `{missing}` was produced")]
    Internal {
        /// The step that ran too early.
        step: StepId,
        /// The missing input.
        missing: &'static str,
    },
}

impl Error {
    /// True when re-running the same command may succeed without changing anything.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Provider { source, .. } => source.is_retryable(),
            Error::Timeout { .. } | Error::ZoneNotDelegated { .. } => true,
            Error::Several(errors) => errors.iter().all(Error::is_retryable),
            _ => false,
        }
    }

    /// The first provider error in this error, if any.
    pub fn provider_error(&self) -> Option<&ProviderError> {
        match self {
            Error::Provider { source, .. } => Some(source),
            Error::Several(errors) => errors.iter().find_map(Error::provider_error),
            _ => None,
        }
    }
}

/// Result of an orchestrator operation.
pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Retry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Retry::Retryable => "retryable",
            Retry::Permanent => "permanent",
        })
    }
}
