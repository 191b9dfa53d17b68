//! # scaling-aws
//!
//! The five `scaling-core` provider traits on AWS, following the seed recipe — and fixing what it gets
//! wrong: ECR (`app-repository`, scan on push, immutable tags), EC2 security groups (`app-alb-sg` admits
//! 80/443 from anywhere; `app-from-alb-sg` admits only the container port, only from `app-alb-sg`), ECS
//! Fargate (`app-cluster`, `app-taskdef`, `app-container`, `app-service` with a circuit breaker), an
//! internet-facing ALB (`app-alb`, really carrying `app-alb-sg`) with target group `app-tg`, Route 53 alias
//! records for the apex and aliases, and an ACM certificate validated through DNS behind a TLS 1.3
//! listener, with HTTP redirected to HTTPS.
//!
//! Credentials come only from aws-config's default chain; every resource is tagged `scaling:app=<app>`
//! and only such resources are ever changed or deleted.
//!
//! ```no_run
//! # async fn run(spec: scaling_core::Spec) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use scaling_aws::{AwsProvider, AwsSettings};
//! use scaling_core::{Orchestrator, Providers, Silent};
//!
//! // Every problem at once, the core's and AWS's own (Fargate sizes, name limits, ids), before any call.
//! let settings: AwsSettings = spec.check_for()?;
//! let aws = Arc::new(AwsProvider::builder().settings(&settings).build().await?);
//! let report = Orchestrator::new(Providers::from_cloud(aws)).deploy(&spec, None, &Silent).await?;
//! println!("{}", report.urls.join(" "));
//! # Ok(()) }
//! ```

mod autoscaling;
mod certificate;
mod cluster;
mod cluster_features;
mod delegation;
mod dns;
mod ecr_auth;
pub mod error;
mod load_balancer;
mod lock;
mod logs;
mod network;
mod provider;
mod registry;
mod secrets;
mod security_groups;
mod settings;
mod sizes;
mod support_resources;
mod tags;
mod task_definition;
mod tls_policy;

#[cfg(test)]
mod mock_tests;

pub use ecr_auth::decode_token;
pub use provider::{
    default_retry, AwsProvider, AwsProviderBuilder, Network, AWS_CAPABILITIES, AWS_NAMING, SUPPORT_RESOURCES,
};
pub use settings::AwsSettings;
pub use sizes::{fargate_memory_options, FARGATE_VCPU_MILLIS};
pub use tls_policy::{TLS12_POLICY, TLS13_POLICY};
