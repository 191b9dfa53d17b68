//! [`Dns`]: the zone of the domain and the records in it.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{Owner, Tags};
use crate::ProviderResult;

/// A DNS zone as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneInfo {
    /// The provider's id.
    pub id: String,
    /// The zone apex, e.g. `appdomain.com`.
    pub name: String,
    /// The name servers that serve it: the registrar must delegate to these.
    pub name_servers: Vec<String>,
    /// The app that created (and so owns) the zone; `None` for a zone made outside scaling.
    pub owner: Option<String>,
}

/// A record type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RecordKind {
    /// IPv4 address (or alias).
    A,
    /// IPv6 address (or alias).
    Aaaa,
    /// Canonical name.
    Cname,
    /// Text.
    Txt,
}

/// Where an alias record points.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AliasTarget {
    /// The target's DNS name (the load balancer's).
    pub dns_name: String,
    /// The target's zone id, where the provider needs it.
    pub zone_id: Option<String>,
}

/// A record's value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RecordValue {
    /// An alias to a provider resource (no TTL; follows the target's addresses).
    Alias(AliasTarget),
    /// Plain values with a TTL in seconds.
    Values {
        /// The values.
        values: Vec<String>,
        /// The TTL in seconds.
        ttl: u32,
    },
}

/// One record set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DnsRecord {
    /// The full name, without trailing dot.
    pub name: String,
    /// The type.
    pub kind: RecordKind,
    /// The value.
    pub value: RecordValue,
    /// The app that owns it; `None` for records someone else made.
    pub owner: Option<String>,
}

/// Whether the public DNS delegates the domain to the zone's name servers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Delegation {
    /// The registrar points at the zone's name servers.
    Delegated,
    /// The registrar points elsewhere (or nowhere).
    NotDelegated {
        /// The zone's name servers, to set at the registrar.
        expected: Vec<String>,
        /// What the parent zone currently lists.
        found: Vec<String>,
    },
    /// Could not be checked, with why.
    Unknown(String),
}

/// Hosts the domain's zone and writes the records that point at the app and validate its certificate.
///
/// Records carry their owner: implementations keep it (as a tag, or a marker record where records cannot
/// be tagged) and refuse to change or delete a record another owner holds.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Dns: Send + Sync {
    /// The zone that holds `domain`: the zone named `domain`, or the closest enclosing zone.
    async fn find_zone(&self, domain: &str) -> ProviderResult<Option<ZoneInfo>>;
    /// Creates a zone for `domain`, owned by `owner`.
    async fn create_zone(&self, owner: &Owner, domain: &str, tags: &Tags) -> ProviderResult<ZoneInfo>;
    /// Deletes an owned zone and every record left in it.
    async fn delete_zone(&self, owner: &Owner, zone: &ZoneInfo) -> ProviderResult<()>;
    /// Every record in the zone, with owners.
    async fn list_records(&self, zone: &ZoneInfo) -> ProviderResult<Vec<DnsRecord>>;
    /// Creates or replaces the records (each must carry an owner; a record of another owner is refused).
    async fn upsert_records(&self, zone: &ZoneInfo, records: &[DnsRecord]) -> ProviderResult<()>;
    /// Deletes the records; refuses records of another owner; missing ones are fine.
    async fn delete_records(&self, owner: &Owner, zone: &ZoneInfo, records: &[DnsRecord]) -> ProviderResult<()>;
    /// Whether the public DNS delegates the zone's domain to its name servers.
    async fn delegation(&self, zone: &ZoneInfo) -> ProviderResult<Delegation>;
}
