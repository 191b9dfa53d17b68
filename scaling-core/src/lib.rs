//! # scaling-core
//!
//! The provider-neutral heart of **scaling**: the app [`Spec`] (loaded from `scaling.toml`), the five
//! provider traits ([`Registry`], [`Cluster`], [`LoadBalancer`], [`Dns`], [`Certificate`]), and the
//! [`Orchestrator`] that plans and applies a deployment through them — concurrently, idempotently and
//! resumably. Providers live in crates of their own, built against this crate's public API only:
//! `scaling-aws`, `scaling-local`, and `scaling-memory`, whose `InMemoryCloud` implements every trait
//! in memory for tests.
//!
//! ```
//! use scaling_core::{Orchestrator, Providers, RecordedEvents, Spec};
//!
//! /// Plans, shows the plan and applies it, with whichever providers the caller chose.
//! async fn deploy(providers: Providers, spec: &Spec) -> scaling_core::Result<Vec<String>> {
//!     let orchestrator = Orchestrator::new(providers);
//!     let source = orchestrator.prepare_image(spec, None).await?;
//!     let plan = orchestrator.plan(spec, source).await?;
//!     for change in &plan.changes {
//!         println!("{:?} {}: {}", change.action, change.resource, change.reason);
//!     }
//!     let report = orchestrator.apply(&plan, &RecordedEvents::new()).await?;
//!     Ok(report.urls)
//! }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "conformance")]
pub mod conformance;
mod error;
mod events;
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
