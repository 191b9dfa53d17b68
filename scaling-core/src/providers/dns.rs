//! [`Dns`]: the zone of the domain and the records in it.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{Endpoint, Owner, Tags};
use crate::{ErrorKind, ProviderError, ProviderResult};

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

impl std::fmt::Display for RecordKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RecordKind::A => "A",
            RecordKind::Aaaa => "AAAA",
            RecordKind::Cname => "CNAME",
            RecordKind::Txt => "TXT",
        })
    }
}

/// Where an alias record points: a resource of the DNS provider's own cloud, written by the provider
/// itself in [`Dns::pointer_records`] (the core never makes one).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Alias {
    /// The target's DNS name (the load balancer's).
    pub dns_name: String,
    /// The zone the provider files the target under, where it needs one.
    pub zone_id: Option<String>,
}

/// The records any DNS provider can write to make `names` lead to `endpoint`: A and AAAA records of
/// its addresses, else a CNAME to its host name — refused at the zone apex, where a CNAME cannot be
/// (a provider with alias records handles that case in its own [`Dns::pointer_records`]).
pub fn pointer_records(
    owner: &Owner,
    zone: &ZoneInfo,
    names: &[String],
    endpoint: &Endpoint,
) -> ProviderResult<Vec<DnsRecord>> {
    const TTL: u32 = 60;
    let mut out = Vec::new();
    for name in names {
        let record = |kind, values: Vec<String>| DnsRecord {
            name: name.clone(),
            kind,
            value: RecordValue::Values { values, ttl: TTL },
            owner: Some(owner.app.clone()),
        };
        let (v4, v6): (Vec<&std::net::IpAddr>, Vec<_>) = endpoint.addresses.iter().partition(|a| a.is_ipv4());
        if !endpoint.addresses.is_empty() {
            for (kind, addresses) in [(RecordKind::A, v4), (RecordKind::Aaaa, v6)] {
                if !addresses.is_empty() {
                    out.push(record(kind, addresses.iter().map(|a| a.to_string()).collect()));
                }
            }
        } else if let Some(hostname) = &endpoint.hostname {
            if name.trim_end_matches('.') == zone.name.trim_end_matches('.') {
                return Err(ProviderError::new(
                    "pointer_records",
                    name,
                    ErrorKind::Unsupported,
                    format!(
                        "{name} is the zone apex, which cannot be a CNAME, and {hostname} has no addresses: use a \
                         DNS provider with alias records for this load balancer, or a load balancer with fixed \
                         addresses"
                    ),
                ));
            }
            out.push(record(RecordKind::Cname, vec![hostname.clone()]));
        } else {
            return Err(ProviderError::new(
                "pointer_records",
                name,
                ErrorKind::InvalidRequest,
                "the load balancer reports no endpoint yet",
            ));
        }
    }
    Ok(out)
}

/// A record's value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RecordValue {
    /// An alias to a provider resource (no TTL; follows the target's addresses).
    Alias(Alias),
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

/// A DNS name as DNS compares it: without case or a trailing dot (`Example.com.` is `example.com`).
pub fn canonical_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl DnsRecord {
    /// True when `other` is the same record as DNS sees it: names compared without case or a
    /// trailing dot (`acm-validations.aws.` and `acm-validations.aws` are one name, whichever form a
    /// provider reads back), the same kind, owner, TTL and values; text values compared exactly.
    pub fn same_as(&self, other: &DnsRecord) -> bool {
        let name = canonical_name;
        let values_are_names = matches!(self.kind, RecordKind::Cname);
        let value = |v: &String| if values_are_names { name(v) } else { v.clone() };
        let same_value = match (&self.value, &other.value) {
            (RecordValue::Alias(a), RecordValue::Alias(b)) => {
                name(&a.dns_name) == name(&b.dns_name) && a.zone_id == b.zone_id
            }
            (RecordValue::Values { values: a, ttl: x }, RecordValue::Values { values: b, ttl: y }) => {
                let mut a: Vec<String> = a.iter().map(value).collect();
                let mut b: Vec<String> = b.iter().map(value).collect();
                a.sort();
                b.sort();
                x == y && a == b
            }
            _ => false,
        };
        name(&self.name) == name(&other.name) && self.kind == other.kind && self.owner == other.owner && same_value
    }
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
    /// Returns once the zone's authoritative servers serve them, where the provider can tell (Route 53:
    /// the change is `INSYNC`; RFC 2136: the listed secondaries serve the new serial): a certificate
    /// authority may ask any of them.
    async fn upsert_records(&self, zone: &ZoneInfo, records: &[DnsRecord]) -> ProviderResult<()>;
    /// Deletes the records; refuses records of another owner; missing ones are fine.
    async fn delete_records(&self, owner: &Owner, zone: &ZoneInfo, records: &[DnsRecord]) -> ProviderResult<()>;
    /// Whether the public DNS delegates the zone's domain to its name servers.
    async fn delegation(&self, zone: &ZoneInfo) -> ProviderResult<Delegation>;
    /// True when the provider can lead a zone's apex to a host name (Route 53's alias records); false
    /// for DNS that has only the standard types, where a CNAME cannot sit at the apex. An apex domain
    /// behind a host-name endpoint is refused by `plan` then, before any write. Makes no call.
    fn aliases_apex_to_host_names(&self) -> bool {
        false
    }
    /// The records this provider writes to make each of `names` (in `zone`) lead to `endpoint`, owned
    /// by `owner`: it picks alias, CNAME or A/AAAA records. Makes no change; the default is
    /// [`pointer_records`], for providers without alias records.
    async fn pointer_records(
        &self,
        owner: &Owner,
        zone: &ZoneInfo,
        names: &[String],
        endpoint: &Endpoint,
    ) -> ProviderResult<Vec<DnsRecord>> {
        pointer_records(owner, zone, names, endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> ZoneInfo {
        ZoneInfo { id: "z".into(), name: name.into(), name_servers: Vec::new(), owner: None }
    }

    fn names() -> Vec<String> {
        vec!["app.example.com".into(), "www.app.example.com".into()]
    }

    #[test]
    fn addresses_become_a_and_aaaa_records_for_every_name() {
        let endpoint = Endpoint::addresses(["192.0.2.7".parse().unwrap(), "2001:db8::7".parse().unwrap()]);
        let records = pointer_records(&Owner::new("app"), &zone("app.example.com"), &names(), &endpoint).unwrap();
        let kinds: Vec<(&str, RecordKind)> = records.iter().map(|r| (r.name.as_str(), r.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("app.example.com", RecordKind::A),
                ("app.example.com", RecordKind::Aaaa),
                ("www.app.example.com", RecordKind::A),
                ("www.app.example.com", RecordKind::Aaaa)
            ]
        );
        assert!(records.iter().all(|r| r.owner.as_deref() == Some("app")));
    }

    #[test]
    fn a_name_read_back_without_its_trailing_dot_or_case_is_the_same_record() {
        let cname = |name: &str, value: &str| DnsRecord {
            name: name.into(),
            kind: RecordKind::Cname,
            value: RecordValue::Values { values: vec![value.into()], ttl: 300 },
            owner: Some("app".into()),
        };
        let asked = cname("_x.app.example.com", "_y.abc.acm-validations.aws.");
        assert!(asked.same_as(&cname("_x.app.example.com.", "_Y.abc.acm-validations.aws")));
        assert!(!asked.same_as(&cname("_x.app.example.com", "_z.abc.acm-validations.aws")));
        let txt = |value: &str| DnsRecord { kind: RecordKind::Txt, ..cname("_acme-challenge.app.example.com", value) };
        assert!(!txt("\"Token\"").same_as(&txt("\"token\"")), "text is compared exactly");
    }

    #[test]
    fn a_host_name_is_a_cname_below_the_apex_and_refused_at_it() {
        let endpoint = Endpoint::hostname("lb.cloud.example");
        let below = pointer_records(&Owner::new("app"), &zone("example.com"), &names(), &endpoint).unwrap();
        assert!(below.iter().all(|r| r.kind == RecordKind::Cname));
        let at_apex = pointer_records(&Owner::new("app"), &zone("app.example.com"), &names(), &endpoint).unwrap_err();
        assert_eq!(at_apex.kind, ErrorKind::Unsupported);
        assert!(at_apex.message.contains("zone apex"), "{at_apex}");
    }
}
