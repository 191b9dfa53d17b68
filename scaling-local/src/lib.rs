//! # scaling-local
//!
//! The five `scaling-core` provider traits on one machine — the default provider, needing no cloud
//! account and no Docker:
//!
//! - **Registry**: the build context becomes a content-addressed bundle with a cached Python virtualenv
//!   built from its `requirements.txt`; the start command is the Dockerfile's `CMD`.
//! - **Cluster**: a supervisor runs N replicas as processes on free loopback ports (`PORT`, `HOST`,
//!   `WEB_CONCURRENCY` set), restarts crashed ones with backoff, replaces ones failing health checks,
//!   rolls out replica by replica and scales.
//! - **LoadBalancer**: an embedded reverse proxy (hyper + rustls with ring): HTTP/1.1 keep-alive and
//!   HTTP/2, least-outstanding-requests with a bounded queue per replica, active health checks, retry
//!   of idempotent requests, optional sticky cookie, `X-Forwarded-*`, HTTP→HTTPS 301, graceful shutdown.
//! - **Dns**: `<app>.localhost` and `www.<app>.localhost`, which browsers resolve to loopback.
//! - **Certificate**: a local CA (rcgen) under the user's data directory, private key mode 0600.
//!
//! What exists and who owns it is kept in this process's own records; [`LocalSession`] adds a
//! deployment's life on this machine (the deploy lock, serving in the foreground or `--detach`, being
//! reached from other terminals) behind `scaling_core::Session`.
//!
//! ```no_run
//! # async fn run(spec: scaling_core::Spec) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use scaling_core::{Orchestrator, Providers, Silent};
//! use scaling_local::{localize, LocalCloud};
//!
//! let spec = localize(&spec);
//! let cloud = Arc::new(LocalCloud::from_env(&spec)?);
//! let report = Orchestrator::new(Providers::from_cloud(cloud.clone())).deploy(&spec, None, &Silent).await?;
//! println!("{}", report.urls.join(" "));
//! cloud.shutdown().await;
//! # Ok(()) }
//! ```

pub mod autoscaler;
mod autoscaling;
pub mod balancer;
mod build_command;
pub mod bundle;
pub mod bundle_removal;
pub mod ca;
mod certificate;
mod cloud;
mod cluster;
pub mod control;
mod crash_report;
pub mod deploy_lock;
pub mod detach;
mod dns;
pub mod dockerfile;
pub mod dockerignore;
pub mod exposure;
pub mod fd_limit;
mod group_watcher;
mod load_balancer;
mod operation_lock;
mod owned;
pub mod paths;
mod procfs;
pub mod public;
mod public_server;
pub mod reach;
mod registry;
mod renewal_timer;
mod replica_logs;
pub mod run_record;
pub mod secrets;
mod session;
mod settings;
mod store_lock;
pub mod supervisor;
mod teardown;
mod venv;
mod words;

pub use cloud::{localize, public_capabilities, LocalCloud, LOCAL_CAPABILITIES};
pub use deploy_lock::{DeployLock, Holder, LockError};
pub use paths::Paths;
pub use public::PublicSettings;
pub use run_record::RunRecord;
pub use session::LocalSession;
pub use settings::LocalSettings;
