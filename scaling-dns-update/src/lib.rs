//! [`Dns`](scaling_core::Dns) over RFC 2136 dynamic updates signed with TSIG (RFC 8945): the records
//! of a zone on an authoritative server you run (BIND, Knot, PowerDNS), for a domain that is not on a
//! cloud's DNS. Beside any compute provider: the local one on your own server, or AWS.
//!
//! The zone exists on the server already (RFC 2136 cannot create zones); the key may update and
//! transfer it. Ownership is kept as on Route 53: a TXT marker `_scaling.<name>` holding
//! `"app=<app> type=<TYPE>"` beside each record the app wrote; records without the app's marker are
//! never changed or deleted. A change is done once the zone's `secondaries`, if listed, serve it too.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use scaling_dns_update::{DnsUpdate, DnsUpdateSettings};
//! let mut settings =
//!     DnsUpdateSettings::new("192.0.2.53:53".parse()?, "example.com", "scaling", "/etc/scaling/tsig.key".into());
//! settings.secondaries = vec!["198.51.100.53:53".parse()?];
//! let dns = DnsUpdate::new(&settings)?;
//! # let _ = dns; Ok(()) }
//! ```
#![deny(missing_docs)]

mod markers;
mod provider;
mod records;
mod settings;
mod wire;

pub use provider::DnsUpdate;
pub use settings::DnsUpdateSettings;
