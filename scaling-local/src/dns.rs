//! [`Dns`] locally: `*.localhost` names resolve to this machine by themselves, so the zone is
//! bookkeeping only and has no name servers to set anywhere.

use async_trait::async_trait;
use scaling_core::providers::{Delegation, Dns, DnsRecord, Endpoint, Owner, Tags, ZoneInfo};
use scaling_core::ProviderResult;

use crate::cloud::LocalCloud;

fn local(zone: ZoneInfo) -> ZoneInfo {
    ZoneInfo { name_servers: Vec::new(), ..zone }
}

#[async_trait]
impl Dns for LocalCloud {
    async fn find_zone(&self, domain: &str) -> ProviderResult<Option<ZoneInfo>> {
        Ok(self.memory.find_zone(domain).await?.map(local))
    }

    async fn create_zone(&self, owner: &Owner, domain: &str, tags: &Tags) -> ProviderResult<ZoneInfo> {
        self.memory.create_zone(owner, domain, tags).await.map(local)
    }

    async fn delete_zone(&self, owner: &Owner, zone: &ZoneInfo) -> ProviderResult<()> {
        self.memory.delete_zone(owner, zone).await
    }

    async fn list_records(&self, zone: &ZoneInfo) -> ProviderResult<Vec<DnsRecord>> {
        self.memory.list_records(zone).await
    }

    async fn upsert_records(&self, zone: &ZoneInfo, records: &[DnsRecord]) -> ProviderResult<()> {
        self.memory.upsert_records(zone, records).await
    }

    async fn delete_records(&self, owner: &Owner, zone: &ZoneInfo, records: &[DnsRecord]) -> ProviderResult<()> {
        self.memory.delete_records(owner, zone, records).await
    }

    async fn delegation(&self, _zone: &ZoneInfo) -> ProviderResult<Delegation> {
        Ok(Delegation::Delegated)
    }

    /// None: `<app>.localhost` leads to this machine's balancer without a record.
    async fn pointer_records(
        &self,
        _owner: &Owner,
        _zone: &ZoneInfo,
        _names: &[String],
        _endpoint: &Endpoint,
    ) -> ProviderResult<Vec<DnsRecord>> {
        Ok(Vec::new())
    }
}
