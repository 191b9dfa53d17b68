//! [`Dns`] in memory: zones with owned records; writing records may validate pending certificates.

use async_trait::async_trait;
use tokio::time::Instant;

use super::certificate::mark_validated;
use super::state::{State, Zone};
use super::{not_found, not_owned, InMemoryCloud};
use scaling_core::providers::{
    Alias, Delegation, Dns, DnsRecord, Endpoint, Owner, RecordKind, RecordValue, Tags, ZoneInfo,
};
use scaling_core::{ErrorKind, ProviderError, ProviderResult};

/// The end of every in-memory load balancer's host name.
pub(crate) const MEMORY_ELB_SUFFIX: &str = ".elb.memory.local";
/// The zone the in-memory DNS files its load balancers under, for alias records.
const MEMORY_ELB_ZONE: &str = "ZMEMORYELB";

/// The zone that holds `name`: the longest zone name equal to it or a suffix of it.
fn zone_for<'a>(s: &'a State, name: &str) -> Option<&'a Zone> {
    s.zones
        .values()
        .filter(|z| name == z.info.name || name.ends_with(&format!(".{}", z.info.name)))
        .max_by_key(|z| z.info.name.len())
}

fn zone_mut<'a>(s: &'a mut State, zone: &ZoneInfo, operation: &str) -> ProviderResult<&'a mut Zone> {
    s.zones.get_mut(&zone.id).ok_or_else(|| not_found(operation, &zone.name))
}

fn refuse_foreign(operation: &str, existing: &DnsRecord, owner: Option<&str>) -> ProviderResult<()> {
    if existing.owner.as_deref() == owner {
        return Ok(());
    }
    let holder = existing.owner.as_deref().unwrap_or("someone outside scaling");
    Err(ProviderError::new(
        operation,
        &existing.name,
        ErrorKind::NotOwned,
        format!("the {} record {} belongs to {holder}", existing.kind, existing.name),
    ))
}

#[async_trait]
impl Dns for InMemoryCloud {
    async fn find_zone(&self, domain: &str) -> ProviderResult<Option<ZoneInfo>> {
        self.call("find_zone", domain, false, |s, _| Ok(zone_for(s, domain).map(|z| z.info.clone()))).await
    }

    async fn create_zone(&self, owner: &Owner, domain: &str, _tags: &Tags) -> ProviderResult<ZoneInfo> {
        self.call("create_zone", domain, true, |s, _| {
            if let Some(zone) = s.zones.values().find(|z| z.info.name == domain) {
                return if zone.info.owner.as_ref() == Some(&owner.app) {
                    Ok(zone.info.clone())
                } else {
                    Err(not_owned("create_zone", domain, owner))
                };
            }
            let id = s.id("zone");
            let n = s.next_id;
            let name_servers = (1..=4).map(|i| format!("ns-{}.dns{i}.memory.local", n * 4 + i)).collect();
            let info = ZoneInfo { id: id.clone(), name: domain.into(), name_servers, owner: Some(owner.app.clone()) };
            s.zones.insert(id, Zone { info: info.clone(), records: Vec::new(), delegated: true });
            Ok(info)
        })
        .await
    }

    async fn delete_zone(&self, owner: &Owner, zone: &ZoneInfo) -> ProviderResult<()> {
        self.call("delete_zone", &zone.name, true, |s, _| {
            let Some(found) = s.zones.get(&zone.id) else { return Ok(()) };
            if found.info.owner.as_ref() != Some(&owner.app) {
                return Err(not_owned("delete_zone", &zone.name, owner));
            }
            s.zones.remove(&zone.id);
            Ok(())
        })
        .await
    }

    async fn list_records(&self, zone: &ZoneInfo) -> ProviderResult<Vec<DnsRecord>> {
        self.call("list_records", &zone.name, false, |s, _| Ok(zone_mut(s, zone, "list_records")?.records.clone()))
            .await
    }

    async fn upsert_records(&self, zone: &ZoneInfo, records: &[DnsRecord]) -> ProviderResult<()> {
        let names: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
        self.call("upsert_records", &names.join(","), true, |s, now: Instant| {
            let target = zone_mut(s, zone, "upsert_records")?;
            for record in records {
                if let Some(existing) = target.records.iter().find(|r| r.name == record.name && r.kind == record.kind) {
                    refuse_foreign("upsert_records", existing, record.owner.as_deref())?;
                }
            }
            for record in records {
                target.records.retain(|r| !(r.name == record.name && r.kind == record.kind));
                target.records.push(record.clone());
            }
            target.records.sort();
            mark_validated(s, now);
            Ok(())
        })
        .await
    }

    async fn delete_records(&self, owner: &Owner, zone: &ZoneInfo, records: &[DnsRecord]) -> ProviderResult<()> {
        let names: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
        self.call("delete_records", &names.join(","), true, |s, _| {
            let target = zone_mut(s, zone, "delete_records")?;
            for record in records {
                if let Some(existing) = target.records.iter().find(|r| r.name == record.name && r.kind == record.kind) {
                    refuse_foreign("delete_records", existing, Some(&owner.app))?;
                }
            }
            target.records.retain(|r| !records.iter().any(|d| d.name == r.name && d.kind == r.kind));
            Ok(())
        })
        .await
    }

    fn aliases_apex_to_host_names(&self) -> bool {
        true
    }

    /// Its own load balancers get alias records, as Route 53 gives an ALB; other endpoints get the
    /// records every DNS provider can write. Pure: no call is made or logged.
    async fn pointer_records(
        &self,
        owner: &Owner,
        zone: &ZoneInfo,
        names: &[String],
        endpoint: &Endpoint,
    ) -> ProviderResult<Vec<DnsRecord>> {
        match endpoint.hostname.as_deref().filter(|h| h.ends_with(MEMORY_ELB_SUFFIX)) {
            Some(hostname) => Ok(names
                .iter()
                .map(|name| DnsRecord {
                    name: name.clone(),
                    kind: RecordKind::A,
                    value: RecordValue::Alias(Alias {
                        dns_name: hostname.to_string(),
                        zone_id: Some(MEMORY_ELB_ZONE.to_string()),
                    }),
                    owner: Some(owner.app.clone()),
                })
                .collect()),
            None => scaling_core::providers::pointer_records(owner, zone, names, endpoint),
        }
    }

    async fn delegation(&self, zone: &ZoneInfo) -> ProviderResult<Delegation> {
        self.call("delegation", &zone.name, false, |s, _| {
            let found = s.zones.get(&zone.id).ok_or_else(|| not_found("delegation", &zone.name))?;
            Ok(if found.delegated {
                Delegation::Delegated
            } else {
                Delegation::NotDelegated {
                    expected: found.info.name_servers.clone(),
                    found: vec!["ns1.registrar.example".into()],
                }
            })
        })
        .await
    }
}
