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

/// "AWS has not caught up yet": errors a call answers right after a change it depends on, which the
/// same call no longer answers once the change has been seen everywhere. Each is (operation, code, a
/// fragment of the message, where AWS or the tools that hit it document it). They are
/// [`ErrorKind::CatchingUp`]: retried for [`scaling_core::RetryPolicy::catching_up`] (3 minutes),
/// not the 5 attempts of throttling. A find is never in the table: "not found" must stay quick there.
pub const CATCHING_UP: &[(&str, &str, &str, &str)] = &[
    // A new account: ECS creates its service-linked role on first use.
    ("CreateCluster", "InvalidParameterException", "Unable to assume the service linked role",
        "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html"),
    ("CreateService", "InvalidParameterException", "Unable to assume the service linked role",
        "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html"),
    // The listener that attaches the target group was created a moment ago.
    ("CreateService", "InvalidParameterException", "does not have an associated load balancer",
        "https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/ecs/service.go"),
    ("UpdateService", "InvalidParameterException", "does not have an associated load balancer",
        "https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/ecs/service.go"),
    ("CreateService", "ClusterNotFoundException", "",
        "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html"),
    // EC2 is eventually consistent: a group just created may not be visible to the next call.
    ("AuthorizeSecurityGroupIngress", "InvalidGroup.NotFound", "",
        "https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html"),
    ("AuthorizeSecurityGroupEgress", "InvalidGroup.NotFound", "",
        "https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html"),
    ("RevokeSecurityGroupEgress", "InvalidGroup.NotFound", "",
        "https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html"),
    ("CreateLoadBalancer", "InvalidConfigurationRequest", "security group",
        "https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html"),
    // A certificate just issued is not yet known to ELB.
    ("CreateListener", "CertificateNotFound", "",
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateListener.html"),
    ("ModifyListener", "CertificateNotFound", "",
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_ModifyListener.html"),
    // Application Auto Scaling's service-linked role, and the service it scales, just made.
    ("RegisterScalableTarget", "ValidationException", "Unable to assume IAM role",
        "https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-service-linked-roles.html"),
    ("RegisterScalableTarget", "ValidationException", "ECS service doesn't exist",
        "https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html"),
    // IAM is eventually consistent: a role just created cannot be passed or assumed at once.
    ("RegisterTaskDefinition", "ClientException", "unable to assume the role",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency"),
    ("RegisterTaskDefinition", "ClientException", "iam:PassRole",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency"),
    ("DeleteRole", "DeleteConflict", "",
        "https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteRole.html"),
    // A service of the same name deleted a moment ago is DRAINING until its tasks have stopped.
    ("CreateService", "InvalidParameterException", "still Draining",
        "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteService.html"),
    // A service whose deployments are still stopping.
    ("DeleteService", "InvalidParameterException", "deployments are active",
        "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteService.html"),
];

/// The kind of `code` answered to `operation` with `message`: catching up when [`CATCHING_UP`] lists
/// it, else [`kind_of`] the code.
pub fn classify(operation: &str, code: &str, message: &str) -> ErrorKind {
    let lower = message.to_ascii_lowercase();
    let listed = CATCHING_UP
        .iter()
        .any(|(op, c, fragment, _)| *op == operation && *c == code && lower.contains(&fragment.to_ascii_lowercase()));
    if listed {
        ErrorKind::CatchingUp
    } else {
        kind_of(code)
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
            retried(ProviderError::new(
                operation,
                resource,
                classify(operation, code, message),
                format!("{code}: {message}"),
            ))
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
    fn every_not_caught_up_yet_class_is_retried_long_and_only_for_its_operation() {
        for (operation, code, fragment, source) in CATCHING_UP {
            let message = format!("An error occurred: {fragment} (as {source} describes)");
            assert_eq!(classify(operation, code, &message), ErrorKind::CatchingUp, "{operation} {code} {fragment}");
            assert!(source.starts_with("https://"), "{operation}: cite where AWS documents it");
            // The same code answered to a read (or with another message) is what it always was.
            assert_ne!(classify("DescribeServices", code, &message), ErrorKind::CatchingUp);
        }
        let retries = scaling_core::RetryPolicy::default();
        let error = ProviderError::new("CreateCluster", "c", ErrorKind::CatchingUp, "x");
        assert!(retries.retries(&error, 9, std::time::Duration::from_secs(120)), "long past the 5 attempts");
        assert!(!retries.retries(&error, 9, std::time::Duration::from_secs(179)), "not past about 3 minutes");
        let throttled = ProviderError::new("CreateCluster", "c", ErrorKind::InUse, "x");
        assert!(!retries.retries(&throttled, 5, std::time::Duration::from_secs(10)), "the short policy");
    }

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
