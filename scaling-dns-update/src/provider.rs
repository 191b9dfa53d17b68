//! [`DnsUpdate`]: the [`Dns`] trait on a zone of an authoritative server, read by zone transfer (AXFR)
//! and changed by RFC 2136 updates, every message signed with the TSIG key.

use std::time::Duration;

use async_trait::async_trait;
use hickory_proto::op::{Message, MessageType, OpCode, Query, UpdateMessage};
use hickory_proto::rr::{DNSClass, RData, Record, RecordType};
use scaling_core::providers::{canonical_name, Delegation, Dns, DnsRecord, Owner, RecordKind, Tags, ZoneInfo};
use scaling_core::{ErrorKind, Problem, ProviderError, ProviderResult, SpecErrors};

use crate::markers::{self, Owners};
use crate::records::{bare, fqdn, record_type, sets, wire_records};
use crate::settings::DnsUpdateSettings;
use crate::wire::{message_id, query, serial, soa_serial, Server, WireError};

/// The [`Dns`] provider of one zone on one server.
#[derive(Debug)]
pub struct DnsUpdate {
    server: Server,
    zone: String,
    secondaries: Vec<std::net::SocketAddr>,
    propagation_timeout: Duration,
}

fn error(operation: &str, resource: &str, e: WireError) -> ProviderError {
    use hickory_proto::op::ResponseCode;
    let kind = match &e {
        WireError::Unreachable { .. } => ErrorKind::Unavailable,
        WireError::Refused { code: ResponseCode::NotAuth | ResponseCode::Refused } => ErrorKind::AccessDenied,
        WireError::Refused { code: ResponseCode::ServFail } => ErrorKind::Unavailable,
        WireError::Refused { .. } | WireError::Invalid(_) => ErrorKind::Other,
    };
    let hint = match kind {
        ErrorKind::AccessDenied => {
            ": check key_name and key_file against the server's key, and that its update-policy (or \
             allow-update) and allow-transfer admit the key for this zone"
        }
        _ => "",
    };
    ProviderError::new(operation, resource, kind, format!("{e}{hint}"))
}

impl DnsUpdate {
    /// The provider for `settings`, refused with every problem [`DnsUpdateSettings::problems`]
    /// finds. Makes no call.
    pub fn new(settings: &DnsUpdateSettings) -> Result<Self, SpecErrors> {
        let problems = settings.problems();
        if !problems.is_empty() {
            return Err(SpecErrors { problems });
        }
        let one = |problem| SpecErrors { problems: vec![problem] };
        let server = Server::new(settings.server, settings.key().map_err(one)?).map_err(|message| {
            one(Problem::new("key_name", message, "give the key's name as the server's config names it"))
        })?;
        Ok(Self {
            server,
            zone: settings.zone_name().map_err(one)?,
            secondaries: settings.secondaries.clone(),
            propagation_timeout: settings.propagation_timeout,
        })
    }

    /// Every record of the zone, by a signed transfer.
    async fn transfer(&self) -> ProviderResult<Vec<Record>> {
        let zone =
            fqdn(&self.zone).map_err(|e| ProviderError::new("AXFR", &self.zone, ErrorKind::InvalidRequest, e))?;
        let answers =
            self.server.exchange(query(zone, RecordType::AXFR)).await.map_err(|e| error("AXFR", &self.zone, e))?;
        Ok(answers.into_iter().flat_map(|m| m.answers().to_vec()).collect())
    }

    /// Waits until every secondary serves the zone at the primary's serial or later (RFC 1982 serial
    /// arithmetic), so that whichever authoritative server a certificate authority asks has the
    /// change; `Unavailable` (retried) naming the ones behind once `propagation_timeout` has passed.
    async fn await_secondaries(&self) -> ProviderResult<()> {
        if self.secondaries.is_empty() {
            return Ok(());
        }
        let zone = fqdn(&self.zone).map_err(|e| ProviderError::new("SOA", &self.zone, ErrorKind::InvalidRequest, e))?;
        let answers = self
            .server
            .exchange(query(zone.clone(), RecordType::SOA))
            .await
            .map_err(|e| error("SOA", &self.zone, e))?;
        let primary = soa_serial(&answers)
            .ok_or_else(|| ProviderError::new("SOA", &self.zone, ErrorKind::Other, "the server answered no SOA"))?;
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(50);
        loop {
            let mut behind = Vec::new();
            for secondary in &self.secondaries {
                match serial(*secondary, zone.clone()).await {
                    Ok(theirs) if (theirs.wrapping_sub(primary) as i32) >= 0 => {}
                    Ok(theirs) => behind.push(format!("{secondary} serves serial {theirs}")),
                    Err(e) => behind.push(e.to_string()),
                }
            }
            if behind.is_empty() {
                return Ok(());
            }
            if started.elapsed() >= self.propagation_timeout {
                let message = format!(
                    "the zone's secondaries do not serve serial {primary} after {}: {}; check that the primary \
                     notifies them (also-notify) and lets them transfer the zone, or raise propagation_timeout",
                    humantime::format_duration(self.propagation_timeout),
                    behind.join("; ")
                );
                return Err(ProviderError::new("SOA", &self.zone, ErrorKind::Unavailable, message));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }

    /// The zone's sets with their owners; the markers themselves are hidden.
    async fn read(&self) -> ProviderResult<(Vec<DnsRecord>, Owners)> {
        let all = sets(&self.transfer().await?);
        let owners = markers::owners(&all);
        let records = all
            .into_iter()
            .filter(|r| !r.name.starts_with(markers::PREFIX))
            .map(|mut r| {
                r.owner = owners.get(&(r.name.clone(), r.kind)).cloned();
                r
            })
            .collect();
        Ok((records, owners))
    }

    fn in_zone(&self, name: &str) -> bool {
        let name = canonical_name(name);
        name == self.zone || name.ends_with(&format!(".{}", self.zone))
    }

    /// Sends one update: every set in `replace` replaced (deleted first, then added), every set in
    /// `remove` deleted, and the marker sets of the names touched rewritten from `owners`.
    async fn update(&self, replace: &[DnsRecord], remove: &[DnsRecord], owners: &Owners) -> ProviderResult<()> {
        let operation = "UPDATE";
        let invalid = |resource: &str, e: String| ProviderError::new(operation, resource, ErrorKind::InvalidRequest, e);
        let origin = fqdn(&self.zone).map_err(|e| invalid(&self.zone, e))?;
        let mut zone = Query::new();
        zone.set_name(origin).set_query_class(DNSClass::IN).set_query_type(RecordType::SOA);
        let mut message = Message::new();
        message.set_id(message_id()).set_message_type(MessageType::Query).set_op_code(OpCode::Update);
        message.add_zone(zone);
        let delete_set = |name: &str, record_type: RecordType| -> ProviderResult<Record> {
            let mut record = Record::update0(fqdn(name).map_err(|e| invalid(name, e))?, 0, record_type);
            record.set_dns_class(DNSClass::ANY);
            record.set_data(RData::Update0(record_type));
            Ok(record.into_record_of_rdata())
        };
        let mut names = std::collections::BTreeSet::new();
        for record in replace.iter().chain(remove) {
            message.add_update(delete_set(&record.name, record_type(record.kind))?);
            names.insert(record.name.clone());
        }
        for record in replace {
            for wire in wire_records(record).map_err(|e| invalid(&record.name, e))? {
                message.add_update(wire);
            }
        }
        for name in &names {
            let marker_name = format!("{}{name}", markers::PREFIX);
            message.add_update(delete_set(&marker_name, RecordType::TXT)?);
            if let Some(marker) = markers::marker_at(name, owners) {
                for wire in wire_records(&marker).map_err(|e| invalid(name, e))? {
                    message.add_update(wire);
                }
            }
        }
        let resource = names.into_iter().collect::<Vec<_>>().join(", ");
        self.server.exchange(message).await.map_err(|e| error(operation, &resource, e))?;
        self.await_secondaries().await
    }
}

fn refuse_foreign(operation: &str, record: &DnsRecord, holder: Option<&String>) -> ProviderError {
    let holder = holder.map_or("someone outside scaling".to_string(), |app| format!("the app {app}"));
    ProviderError::new(
        operation,
        &record.name,
        ErrorKind::Conflict,
        format!("{} {} belongs to {holder}: remove it yourself, or choose another name", record.name, record.kind),
    )
}

#[async_trait]
impl Dns for DnsUpdate {
    /// This provider's zone when it holds `domain`, read from the server (which proves the key too).
    async fn find_zone(&self, domain: &str) -> ProviderResult<Option<ZoneInfo>> {
        if !self.in_zone(domain) {
            return Ok(None);
        }
        let records = self.transfer().await?;
        let apex =
            fqdn(&self.zone).map_err(|e| ProviderError::new("AXFR", &self.zone, ErrorKind::InvalidRequest, e))?;
        let mut name_servers: Vec<String> = records
            .iter()
            .filter(|r| r.name() == &apex && r.record_type() == RecordType::NS)
            .filter_map(|r| match r.data() {
                RData::NS(ns) => Some(bare(&ns.0)),
                _ => None,
            })
            .collect();
        name_servers.sort();
        name_servers.dedup();
        Ok(Some(ZoneInfo { id: self.zone.clone(), name: self.zone.clone(), name_servers, owner: None }))
    }

    async fn create_zone(&self, _owner: &Owner, domain: &str, _tags: &Tags) -> ProviderResult<ZoneInfo> {
        Err(ProviderError::new(
            "create_zone",
            domain,
            ErrorKind::Unsupported,
            format!(
                "dynamic updates cannot create a zone: this provider serves {} on {}; set `zone` to the zone \
                 that holds {domain}, or add that zone to the server",
                self.zone, self.server.address
            ),
        ))
    }

    async fn delete_zone(&self, _owner: &Owner, zone: &ZoneInfo) -> ProviderResult<()> {
        Err(ProviderError::new(
            "delete_zone",
            &zone.name,
            ErrorKind::Unsupported,
            "the zone is the server's, made outside scaling: only the app's records are removed",
        ))
    }

    async fn list_records(&self, _zone: &ZoneInfo) -> ProviderResult<Vec<DnsRecord>> {
        Ok(self.read().await?.0)
    }

    async fn upsert_records(&self, zone: &ZoneInfo, records: &[DnsRecord]) -> ProviderResult<()> {
        let (current, mut owners) = self.read().await?;
        for record in records {
            let Some(app) = &record.owner else {
                return Err(ProviderError::new(
                    "upsert_records",
                    &record.name,
                    ErrorKind::InvalidRequest,
                    "a record must carry its owner",
                ));
            };
            if !self.in_zone(&record.name) {
                return Err(ProviderError::new(
                    "upsert_records",
                    &record.name,
                    ErrorKind::InvalidRequest,
                    format!("{} is outside the zone {}", record.name, zone.name),
                ));
            }
            // The same set, or any set where a CNAME would sit beside other data (RFC 1034 §3.6.2;
            // a server drops such an update silently, RFC 2136 §3.4.2.2).
            let clashes = |c: &&DnsRecord| {
                c.name == record.name
                    && (c.kind == record.kind || c.kind == RecordKind::Cname || record.kind == RecordKind::Cname)
            };
            if let Some(there) = current.iter().filter(clashes).find(|t| t.owner.as_ref() != Some(app)) {
                return Err(refuse_foreign("upsert_records", there, there.owner.as_ref()));
            }
            owners.insert((record.name.clone(), record.kind), app.clone());
        }
        let changed: Vec<DnsRecord> = records
            .iter()
            .filter(|r| !current.iter().any(|c| c.name == r.name && c.kind == r.kind && c.value == r.value))
            .cloned()
            .collect();
        if changed.is_empty() {
            // Written before (a retried call): done once the secondaries serve it too.
            return self.await_secondaries().await;
        }
        self.update(&changed, &[], &owners).await
    }

    async fn delete_records(&self, owner: &Owner, _zone: &ZoneInfo, records: &[DnsRecord]) -> ProviderResult<()> {
        let (current, mut owners) = self.read().await?;
        let mut gone = Vec::new();
        for record in records {
            let Some(there) = current.iter().find(|c| c.name == record.name && c.kind == record.kind) else { continue };
            if there.owner.as_deref() != Some(owner.app.as_str()) {
                return Err(refuse_foreign("delete_records", record, there.owner.as_ref()));
            }
            owners.remove(&(record.name.clone(), record.kind));
            gone.push(there.clone());
        }
        if gone.is_empty() {
            return Ok(());
        }
        self.update(&[], &gone, &owners).await
    }

    /// Unknown: the registrar's delegation is checked by public resolvers, which this provider does
    /// not ask; the zone's name servers are in [`ZoneInfo::name_servers`].
    async fn delegation(&self, zone: &ZoneInfo) -> ProviderResult<Delegation> {
        Ok(Delegation::Unknown(format!(
            "{} is served by {}; its parent must list {}",
            zone.name,
            self.server.address,
            zone.name_servers.join(", ")
        )))
    }
}
