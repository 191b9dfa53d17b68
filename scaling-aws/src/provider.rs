//! [`AwsProvider`] and its builder: one SDK client per service from aws-config's default chain.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_smithy_runtime_api::client::http::{HttpClient, SharedHttpClient};
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use scaling_core::{ErrorKind, ProviderError, ProviderResult};

use crate::settings::AwsSettings;
use tokio::sync::OnceCell;

/// The VPC and subnets the load balancer and tasks use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    /// The VPC id.
    pub vpc_id: String,
    /// Subnets in at least two availability zones.
    pub subnets: Vec<String>,
}

/// The five provider traits on AWS. Credentials come only from aws-config's default chain (environment,
/// shared profile, SSO, container or instance role); nothing here reads, stores or logs them.
pub struct AwsProvider {
    pub(crate) ecr: aws_sdk_ecr::Client,
    pub(crate) ec2: aws_sdk_ec2::Client,
    pub(crate) ecs: aws_sdk_ecs::Client,
    pub(crate) elb: aws_sdk_elasticloadbalancingv2::Client,
    pub(crate) route53: aws_sdk_route53::Client,
    pub(crate) acm: aws_sdk_acm::Client,
    pub(crate) iam: aws_sdk_iam::Client,
    pub(crate) logs: aws_sdk_cloudwatchlogs::Client,
    pub(crate) ssm: aws_sdk_ssm::Client,
    pub(crate) autoscaling: aws_sdk_applicationautoscaling::Client,
    pub(crate) secrets: aws_sdk_secretsmanager::Client,
    pub(crate) region: String,
    pub(crate) settings: AwsSettings,
    pub(crate) network: OnceCell<Network>,
    pub(crate) dns_resolver: Option<std::net::SocketAddr>,
    /// The Route 53 zone each load balancer read so far is filed under (host name → canonical hosted
    /// zone id), for the alias records that lead the app's names to it.
    pub(crate) alias_zones: std::sync::Mutex<std::collections::HashMap<String, String>>,
}

/// Builds an [`AwsProvider`].
#[derive(Default)]
pub struct AwsProviderBuilder {
    region: Option<String>,
    profile: Option<String>,
    endpoint_url: Option<String>,
    settings: AwsSettings,
    interceptors: Vec<SharedInterceptor>,
    retry: Option<RetryConfig>,
    http_client: Option<SharedHttpClient>,
    dns_resolver: Option<std::net::SocketAddr>,
}

impl AwsProviderBuilder {
    /// The region (else the spec's, else the default chain's: `AWS_REGION`, the profile).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// A named profile of the shared config files.
    pub fn profile(mut self, profile: impl Into<String>) -> Self {
        self.profile = Some(profile.into());
        self
    }

    /// Sends every call to this endpoint (an emulator in tests). `AWS_ENDPOINT_URL` works too, as in
    /// every SDK.
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }

    /// The spec's `[provider.aws]` settings: region, profile, VPC, subnets, public IPs, TLS policy.
    pub fn settings(mut self, settings: &AwsSettings) -> Self {
        if self.region.is_none() {
            self.region = settings.region.clone();
        }
        if self.profile.is_none() {
            self.profile = settings.profile.clone();
        }
        self.settings = settings.clone();
        self
    }

    /// Adds an interceptor to every client (tests use this to count calls or inject faults).
    pub fn interceptor(mut self, interceptor: impl Intercept + 'static) -> Self {
        self.interceptors.push(SharedInterceptor::new(interceptor));
        self
    }

    /// The recursive resolver asked whether the domain is delegated to its zone (else
    /// `SCALING_DNS_RESOLVER`, else the system's).
    pub fn dns_resolver(mut self, resolver: std::net::SocketAddr) -> Self {
        self.dns_resolver = Some(resolver);
        self
    }

    /// The HTTP client under every SDK client (tests put a fault-injecting one here).
    pub fn http_client(mut self, client: impl HttpClient + 'static) -> Self {
        self.http_client = Some(SharedHttpClient::new(client));
        self
    }

    /// The SDK's retry configuration ([`default_retry`] unless set).
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Loads the configuration from the default chain and makes the clients.
    pub async fn build(self) -> ProviderResult<AwsProvider> {
        let mut loader =
            aws_config::defaults(BehaviorVersion::latest()).retry_config(self.retry.unwrap_or_else(default_retry));
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &self.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(client) = self.http_client {
            loader = loader.http_client(client);
        }
        let config = loader.load().await;
        let region = config.region().map(|r| r.to_string()).ok_or_else(|| {
            ProviderError::new(
                "load_config",
                "region",
                ErrorKind::InvalidRequest,
                "no AWS region: set provider.aws.region in scaling.toml, pass --region, or set AWS_REGION",
            )
        })?;
        let interceptors = self.interceptors;
        let dns_resolver = match self.dns_resolver {
            Some(resolver) => Some(resolver),
            None => match std::env::var("SCALING_DNS_RESOLVER") {
                Ok(text) => Some(text.parse().map_err(|_| {
                    ProviderError::new(
                        "load_config",
                        "SCALING_DNS_RESOLVER",
                        ErrorKind::InvalidRequest,
                        format!("`{text}` is not an address like 127.0.0.1:53"),
                    )
                })?),
                Err(_) => None,
            },
        };
        macro_rules! client {
            ($service:ident) => {{
                let mut builder = $service::config::Builder::from(&config);
                builder.push_retry_classifier(
                    aws_smithy_runtime_api::client::retries::classifiers::SharedRetryClassifier::new(
                        crate::error::QuotaIsNotThrottling,
                    ),
                );
                for interceptor in &interceptors {
                    builder.push_interceptor(interceptor.clone());
                }
                $service::Client::from_conf(builder.build())
            }};
        }
        Ok(AwsProvider {
            ecr: client!(aws_sdk_ecr),
            ec2: client!(aws_sdk_ec2),
            ecs: client!(aws_sdk_ecs),
            elb: client!(aws_sdk_elasticloadbalancingv2),
            route53: client!(aws_sdk_route53),
            acm: client!(aws_sdk_acm),
            iam: client!(aws_sdk_iam),
            logs: client!(aws_sdk_cloudwatchlogs),
            ssm: client!(aws_sdk_ssm),
            autoscaling: client!(aws_sdk_applicationautoscaling),
            secrets: client!(aws_sdk_secretsmanager),
            region,
            settings: self.settings,
            network: OnceCell::new(),
            dns_resolver,
            alias_zones: Default::default(),
        })
    }
}

impl AwsProvider {
    /// A builder.
    pub fn builder() -> AwsProviderBuilder {
        AwsProviderBuilder::default()
    }

    /// A provider from the default chain alone (`AWS_REGION`, `AWS_PROFILE`, `AWS_ENDPOINT_URL`, …).
    pub async fn from_env() -> ProviderResult<Self> {
        Self::builder().build().await
    }

    /// The region in use.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The AWS partition of the region (`aws`, `aws-cn`, `aws-us-gov`), for managed policy ARNs.
    pub(crate) fn partition(&self) -> &'static str {
        if self.region.starts_with("cn-") {
            "aws-cn"
        } else if self.region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        }
    }
}

/// The one retry layer for throttling and transient errors: the SDK's standard mode (exponential
/// backoff with jitter), with room for a throttling storm. The orchestrator does not retry what it retried.
pub fn default_retry() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(8)
        .with_initial_backoff(std::time::Duration::from_millis(500))
        .with_max_backoff(std::time::Duration::from_secs(20))
}

/// The seed recipe's names: `<app>-repository`, `<app>-alb-sg`, `<app>-from-alb-sg`, `<app>-cluster`,
/// `<app>-taskdef`, `<app>-container`, `<app>-service`, `<app>-alb`, `<app>-tg`.
pub const AWS_NAMING: scaling_core::Naming = scaling_core::Naming {
    repository: "-repository",
    load_balancer_firewall: "-alb-sg",
    replica_firewall: "-from-alb-sg",
    cluster: "-cluster",
    revision: "-taskdef",
    container: "-container",
    service: "-service",
    load_balancer: "-alb",
    backend: "-tg",
};

/// AWS's own step: the execution role and the log group every task definition names.
pub const SUPPORT_RESOURCES: scaling_core::StepId = scaling_core::StepId::Own("support_resources");

/// AWS has every step of the seed's recipe (security groups, DNS-validated certificates, a zone) and
/// one of its own before the task definition ([`SUPPORT_RESOURCES`]), names its resources as the seed
/// does, and calls some of them by their own names.
pub const AWS_CAPABILITIES: scaling_core::Capabilities = scaling_core::Capabilities::CLOUD
    .with_graph(
        scaling_core::Capabilities::CLOUD
            .graph
            .with_step(SUPPORT_RESOURCES)
            .with_edge(scaling_core::StepId::Revision, SUPPORT_RESOURCES),
    )
    .with_nouns(&[
        (SUPPORT_RESOURCES, "support resources"),
        (scaling_core::StepId::LoadBalancerFirewall, "security group"),
        (scaling_core::StepId::ReplicaFirewall, "security group"),
        (scaling_core::StepId::Backend, "target group"),
        (scaling_core::StepId::Revision, "task definition"),
    ])
    .with_naming(AWS_NAMING);

impl scaling_core::Capable for AwsProvider {
    fn capabilities(&self) -> scaling_core::Capabilities {
        AWS_CAPABILITIES
    }
}
