//! # scaling-core
//!
//! The provider-neutral heart of **scaling**: the app [`Spec`] (loaded from `scaling.toml`), the five
//! provider traits ([`Registry`], [`Cluster`], [`LoadBalancer`], [`Dns`], [`Certificate`]), and the
//! [`Orchestrator`] that plans and applies a deployment through them — concurrently, idempotently and
//! resumably. [`memory::InMemoryCloud`] implements all five traits in memory for tests.
//!
//! ```
//! use scaling_core::memory::InMemoryCloud;
//! use scaling_core::{ImageSpec, Orchestrator, Providers, RecordedEvents, Spec};
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() {
//!     let image = "registry.example/dashmath@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
//!     let spec = Spec::new("dashmath", 8050, ImageSpec::prebuilt(image)).with_domain("dashmath.example.com").with_desired_count(3);
//!
//!     let cloud = InMemoryCloud::new().shared();
//!     let orchestrator = Orchestrator::new(Providers::from_cloud(cloud.clone()));
//!
//!     let source = orchestrator.prepare_image(&spec, None).await.unwrap();
//!     let plan = orchestrator.plan(&spec, source).await.unwrap();
//!     for change in &plan.changes {
//!         println!("{:?} {}: {}", change.action, change.resource, change.reason);
//!     }
//!     let events = RecordedEvents::new();
//!     let report = orchestrator.apply(&plan, &events).await.unwrap();
//!     assert_eq!(report.urls, ["https://dashmath.example.com", "https://www.dashmath.example.com"]);
//!
//!     // A second deploy changes nothing.
//!     cloud.clear_calls();
//!     orchestrator.deploy(&spec, None, &events).await.unwrap();
//!     assert!(cloud.mutating_calls().is_empty());
//! }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "conformance")]
pub mod conformance;
mod error;
mod events;
pub mod memory;
mod names;
mod orchestrator;
pub mod providers;
pub mod session;
mod spec;

pub use error::{Error, ErrorKind, ProviderError, ProviderResult, Result, Retry};
pub use events::{Event, EventKind, Progress, RecordedEvents, Silent};
pub use names::{Naming, ResourceNames};
pub use orchestrator::{
    Action, Change, DeployOptions, DeployReport, DestroyOptions, DestroyReport, ImageSource, Orchestrator, Plan,
    Providers, Release, RetryPolicy, StatusReport, StepId, Timeouts,
};
pub use providers::{
    Capabilities, Capable, Certificate, CertificateValidation, Cluster, Dns, ImageArtifact, LoadBalancer, Owner,
    Registry,
};
pub use session::{CloudSession, Session, SessionError, SessionResult};
pub use spec::{
    secret_references, Algorithm, AppSpec, AutoscalingSpec, DomainSpec, HealthCheckSpec, ImageReference, ImageSpec,
    LoadBalancerSpec, Platform, Problem, ProviderSettings, ProviderSpec, SecretReference, Spec, SpecErrors, TlsVersion,
    Vcpu, ENVIRONMENT_TAG,
};
