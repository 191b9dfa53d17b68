//! Cloud DNS: zones and record sets, each record set labelled with its owner.

use async_trait::async_trait;
use scaling_core::providers::{Delegation, DnsRecord, Tags, ZoneInfo};
use scaling_core::{Dns, ErrorKind, Owner, ProviderResult};

use super::{error, CloudRunShaped};

#[async_trait]
impl Dns for CloudRunShaped {
    /// The zone named `domain`, or the closest one enclosing it.
    async fn find_zone(&self, domain: &str) -> ProviderResult<Option<ZoneInfo>> {
        let s = self.state();
        let mut name = domain;
        loop {
            if let Some((zone, _)) = s.zones.get(name) {
                return Ok(Some(zone.clone()));
            }
            match name.split_once('.') {
                Some((_, parent)) if parent.contains('.') => name = parent,
                _ => return Ok(None),
            }
        }
    }

    async fn create_zone(&self, owner: &Owner, domain: &str, _: &Tags) -> ProviderResult<ZoneInfo> {
        let mut s = self.state();
        if let Some((zone, _)) = s.zones.get(domain) {
            return Err(error("create_zone", domain, ErrorKind::Conflict, format!("{} exists", zone.name)));
        }
        let zone = ZoneInfo {
            id: s.id("zone"),
            name: domain.into(),
            name_servers: vec!["ns-cloud-a1.googledomains.com".into()],
            owner: Some(owner.app.clone()),
        };
        s.zones.insert(domain.into(), (zone.clone(), Vec::new()));
        Ok(zone)
    }

    async fn delete_zone(&self, owner: &Owner, zone: &ZoneInfo) -> ProviderResult<()> {
        let mut s = self.state();
        match s.zones.get(&zone.name) {
            None => Ok(()),
            Some((found, _)) if found.owner.as_deref() != Some(owner.app.as_str()) => {
                Err(error("delete_zone", &zone.name, ErrorKind::NotOwned, "the zone belongs to another app"))
            }
            Some(_) => {
                s.zones.remove(&zone.name);
                Ok(())
            }
        }
    }

    async fn list_records(&self, zone: &ZoneInfo) -> ProviderResult<Vec<DnsRecord>> {
        let s = self.state();
        Ok(s.zones.get(&zone.name).map(|(_, records)| records.clone()).unwrap_or_default())
    }

    /// Each record replaces the set of its name and type, unless another owner holds that set.
    async fn upsert_records(&self, zone: &ZoneInfo, records: &[DnsRecord]) -> ProviderResult<()> {
        let mut s = self.state();
        let Some((_, existing)) = s.zones.get_mut(&zone.name) else {
            return Err(error("upsert_records", &zone.name, ErrorKind::NotFound, "no such zone"));
        };
        for record in records {
            let same = |r: &DnsRecord| r.name == record.name && r.kind == record.kind;
            if record.owner.is_none() || existing.iter().any(|r| same(r) && r.owner != record.owner) {
                let message = format!("{} {} is not this app's to change", record.name, record.kind);
                return Err(error("upsert_records", &record.name, ErrorKind::NotOwned, message));
            }
        }
        for record in records {
            existing.retain(|r| !(r.name == record.name && r.kind == record.kind));
            existing.push(record.clone());
        }
        existing.sort();
        Ok(())
    }

    async fn delete_records(&self, owner: &Owner, zone: &ZoneInfo, records: &[DnsRecord]) -> ProviderResult<()> {
        let mut s = self.state();
        let Some((_, existing)) = s.zones.get_mut(&zone.name) else { return Ok(()) };
        let same = |a: &DnsRecord, b: &DnsRecord| a.name == b.name && a.kind == b.kind;
        if let Some(theirs) =
            existing.iter().find(|r| records.iter().any(|d| same(r, d)) && r.owner.as_deref() != Some(&owner.app))
        {
            let message = format!("{} {} is not this app's to delete", theirs.name, theirs.kind);
            return Err(error("delete_records", &theirs.name, ErrorKind::NotOwned, message));
        }
        existing.retain(|r| !records.iter().any(|d| same(r, d)));
        Ok(())
    }

    async fn delegation(&self, _: &ZoneInfo) -> ProviderResult<Delegation> {
        Ok(Delegation::Delegated)
    }
}
