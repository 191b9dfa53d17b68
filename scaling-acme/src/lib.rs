//! [`Certificate`](scaling_core::Certificate) over ACME (RFC 8555): a publicly trusted certificate
//! for the app's names from Let's Encrypt (or its staging directory, or any ACME server), validated by
//! DNS-01 — the `_acme-challenge` TXT records go through the [`Dns`](scaling_core::Dns) provider, as
//! ACM's validation CNAMEs do — or by HTTP-01, answered by the load balancer on port 80 through
//! [`Certificate::http_challenge`](scaling_core::Certificate::http_challenge).
//!
//! The account key and every certificate's private key stay in the state folder, mode 0600, and are
//! never printed. Each step is saved before the next call, so a run killed at any point resumes the
//! same order.
//!
//! ```no_run
//! # fn run() -> Result<(), scaling_core::SpecErrors> {
//! use scaling_acme::{Acme, AcmeSettings};
//! let settings = AcmeSettings {
//!     directory: AcmeSettings::LETS_ENCRYPT_STAGING.into(),
//!     contact: "ops@example.com".into(),
//!     state_dir: "/var/lib/scaling/acme".into(),
//!     directory_root: None,
//!     challenge: scaling_acme::ChallengeKind::Dns01,
//! };
//! let acme = Acme::new(settings)?;
//! # let _ = acme; Ok(()) }
//! ```
#![deny(missing_docs)]

mod order;
mod provider;
mod renewal;
mod settings;
mod store;

pub use provider::Acme;
pub use settings::{AcmeSettings, ChallengeKind};
