//! SDK errors mapped to the core's classes: retryable (throttling, 5xx, dependencies still draining)
//! or permanent (access denied, bad input, quotas), keeping the service's code and message.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use scaling_core::{ErrorKind, ProviderError};

/// Codes the SDK's retry layer counts as throttling that, for the services scaling calls, mean a
/// quota is reached: ECS, ACM, IAM, Application Auto Scaling and Secrets Manager answer
/// `LimitExceededException` (IAM `LimitExceeded`) when an account limit is hit
/// (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/CommonErrors.html> lists throttling
/// as `ThrottlingException`). Retrying cannot help: they fail at once, naming the quota.
pub const QUOTA_ERRORS: [&str; 2] = ["LimitExceededException", "LimitExceeded"];

/// Forbids the SDK's retries of a quota error (see [`QUOTA_ERRORS`]), which its standard mode would
/// otherwise retry as throttling for up to its eight attempts. Reads the error's code from the
/// response body, as JSON (`"__type":"…LimitExceededException"`) or XML (`<Code>LimitExceeded</Code>`).
#[derive(Debug, Default, Clone, Copy)]
pub struct QuotaIsNotThrottling;

impl aws_smithy_runtime_api::client::retries::classifiers::ClassifyRetry for QuotaIsNotThrottling {
    fn classify_retry(
        &self,
        ctx: &aws_smithy_runtime_api::client::interceptors::context::InterceptorContext,
    ) -> aws_smithy_runtime_api::client::retries::classifiers::RetryAction {
        use aws_smithy_runtime_api::client::retries::classifiers::RetryAction;
        let body = ctx.response().and_then(|r| r.body().bytes()).unwrap_or_default();
        let text = String::from_utf8_lossy(body);
        let quota = QUOTA_ERRORS.iter().any(|code| {
            text.contains(&format!("<Code>{code}</Code>"))
                || text.contains(&format!("#{code}\""))
                || text.contains(&format!("\"{code}\""))
        });
        if quota {
            RetryAction::RetryForbidden
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "quota errors are not throttling"
    }
}

/// The core error kind for an AWS error code. Throttling and transient codes come from the SDK's own
/// lists (the ones its retry layer retries), so the two never disagree.
pub fn kind_of(code: &str) -> ErrorKind {
    use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
    if QUOTA_ERRORS.contains(&code) {
        return ErrorKind::LimitExceeded;
    }
    if THROTTLING_ERRORS.contains(&code) {
        return ErrorKind::Throttled;
    }
    if TRANSIENT_ERRORS.contains(&code) {
        return ErrorKind::Unavailable;
    }
    match code {
        "ServiceUnavailable"
        | "ServiceUnavailableException"
        | "InternalFailure"
        | "InternalError"
        | "ServerException"
        | "InternalServerError"
        | "ServiceException" => ErrorKind::Unavailable,
        "DependencyViolation" => ErrorKind::DependencyViolation,
        "ResourceInUse"
        | "ResourceInUseException"
        | "ClusterContainsServicesException"
        | "ClusterContainsTasksException"
        | "HostedZoneNotEmpty" => ErrorKind::InUse,
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => ErrorKind::AccessDenied,
        "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "ExpiredToken"
        | "ExpiredTokenException"
        | "AuthFailure"
        | "SignatureDoesNotMatch"
        | "MissingAuthenticationToken"
        | "InvalidSignatureException" => ErrorKind::Unauthenticated,
        "UnsupportedOperation" | "UnsupportedFeatureException" | "OperationNotPermitted" => ErrorKind::Unsupported,
        code if code.contains("AlreadyExists") || code.starts_with("Duplicate") || code.ends_with(".Duplicate") => {
            ErrorKind::Conflict
        }
        code if code.contains("NotFound") || code.starts_with("NoSuch") => ErrorKind::NotFound,
        code if code.contains("LimitExceeded") || code.starts_with("TooMany") => ErrorKind::LimitExceeded,
        code if code.starts_with("Invalid") || code.contains("Validation") || code.contains("Parameter") => {
            ErrorKind::InvalidRequest
        }
        _ => ErrorKind::Other,
    }
}

/// Maps an SDK error of `operation` on `resource`.
pub fn map<E, R>(operation: &str, resource: &str, error: SdkError<E, R>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match &error {
        SdkError::ServiceError(service) => {
            let err = service.err();
            let code = err.code().unwrap_or("Unknown");
            let message = err.message().unwrap_or("no message");
            retried(ProviderError::new(operation, resource, kind_of(code), format!("{code}: {message}")))
        }
        _ => {
            let message = format!("{}", aws_smithy_types::error::display::DisplayErrorContext(&error));
            if mentions_credentials(&message) {
                return ProviderError::new(operation, resource, ErrorKind::Unauthenticated, CREDENTIALS_HINT);
            }
            let kind = match &error {
                SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
                    ErrorKind::Unavailable
                }
                _ => ErrorKind::Other,
            };
            retried(ProviderError::new(operation, resource, kind, message).with_cause(error))
        }
    }
}

/// Throttling and transient failures reach us only after the SDK's standard retry mode has retried them
/// with backoff and jitter: marked so, the orchestrator does not retry them a second time.
fn retried(error: ProviderError) -> ProviderError {
    match error.kind {
        ErrorKind::Throttled | ErrorKind::Unavailable => error.retried_by_client(),
        _ => error,
    }
}

/// What to do when the default credential chain found nothing usable.
pub const CREDENTIALS_HINT: &str = "no usable AWS credentials were found. Provide them the usual way: \
    `aws configure` or `aws sso login` (then --profile NAME or AWS_PROFILE), or AWS_ACCESS_KEY_ID and \
    AWS_SECRET_ACCESS_KEY in the environment";

/// True when an SDK failure before any answer was about loading credentials.
fn mentions_credentials(message: &str) -> bool {
    message.to_ascii_lowercase().contains("credential")
}

/// The AWS error code of an SDK error, if the service answered.
pub fn code<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> Option<&str> {
    match error {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}

/// A resource with the expected name that another owner holds: never adopted, never changed.
pub fn not_owned(operation: &str, name: &str, owner: &scaling_core::providers::Owner) -> ProviderError {
    ProviderError::new(
        operation,
        name,
        ErrorKind::NotOwned,
        format!("{name} exists but is not tagged as owned by {}", owner.app),
    )
}

/// An error for a response that lacks a field the API documents.
pub fn missing(operation: &str, resource: &str, field: &str) -> ProviderError {
    ProviderError::new(operation, resource, ErrorKind::Other, format!("the response has no {field}"))
}

/// An error for a request the SDK builder refused (a missing required field: a bug here).
pub fn build(operation: &str, resource: &str, error: impl std::fmt::Display) -> ProviderError {
    ProviderError::new(operation, resource, ErrorKind::InvalidRequest, error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_retryable_or_permanent_classes() {
        for (code, kind, retryable) in [
            ("Throttling", ErrorKind::Throttled, true),
            ("ThrottledException", ErrorKind::Throttled, true),
            ("EC2ThrottledException", ErrorKind::Throttled, true),
            ("RequestTimeout", ErrorKind::Unavailable, true),
            ("RequestTimeoutException", ErrorKind::Unavailable, true),
            ("ThrottlingException", ErrorKind::Throttled, true),
            ("DependencyViolation", ErrorKind::DependencyViolation, true),
            ("ResourceInUseException", ErrorKind::InUse, true),
            ("AccessDeniedException", ErrorKind::AccessDenied, false),
            ("UnauthorizedOperation", ErrorKind::AccessDenied, false),
            ("ExpiredToken", ErrorKind::Unauthenticated, false),
            ("InvalidClientTokenId", ErrorKind::Unauthenticated, false),
            ("InvalidPermission.Duplicate", ErrorKind::Conflict, false),
            ("DuplicateLoadBalancerName", ErrorKind::Conflict, false),
            ("ResourceAlreadyExistsException", ErrorKind::Conflict, false),
            ("RepositoryNotFoundException", ErrorKind::NotFound, false),
            ("LoadBalancerNotFound", ErrorKind::NotFound, false),
            ("TooManyLoadBalancers", ErrorKind::LimitExceeded, false),
            ("LimitExceededException", ErrorKind::LimitExceeded, false),
            ("LimitExceeded", ErrorKind::LimitExceeded, false),
            ("RequestLimitExceeded", ErrorKind::Throttled, true),
            ("InvalidParameterException", ErrorKind::InvalidRequest, false),
            ("ServiceUnavailable", ErrorKind::Unavailable, true),
        ] {
            assert_eq!(kind_of(code), kind, "{code}");
            assert_eq!(kind.default_retry() == scaling_core::Retry::Retryable, retryable, "{code}");
        }
    }
}
