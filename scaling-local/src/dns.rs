//! [`Dns`] locally: `*.localhost` names resolve to this machine by themselves, so there is no zone and
//! no record to keep (the deploy has no DNS steps); a zone or a record asked for directly is refused.

use async_trait::async_trait;
use scaling_core::providers::{Delegation, Dns, DnsRecord, Endpoint, Owner, Tags, ZoneInfo};
use scaling_core::{ErrorKind, ProviderError, ProviderResult};

use crate::cloud::LocalCloud;

fn no_zones(operation: &str, name: &str) -> ProviderError {
    ProviderError::new(
        operation,
        name,
        ErrorKind::Unsupported,
        "the local provider has no DNS zones: <app>.localhost names resolve to this machine by themselves",
    )
}

#[async_trait]
impl Dns for LocalCloud {
    async fn find_zone(&self, _domain: &str) -> ProviderResult<Option<ZoneInfo>> {
        Ok(None)
    }

    async fn create_zone(&self, _owner: &Owner, domain: &str, _tags: &Tags) -> ProviderResult<ZoneInfo> {
        Err(no_zones("create_zone", domain))
    }

    async fn delete_zone(&self, _owner: &Owner, _zone: &ZoneInfo) -> ProviderResult<()> {
        Ok(())
    }

    async fn list_records(&self, _zone: &ZoneInfo) -> ProviderResult<Vec<DnsRecord>> {
        Ok(Vec::new())
    }

    async fn upsert_records(&self, zone: &ZoneInfo, _records: &[DnsRecord]) -> ProviderResult<()> {
        Err(no_zones("upsert_records", &zone.name))
    }

    async fn delete_records(&self, _owner: &Owner, _zone: &ZoneInfo, _records: &[DnsRecord]) -> ProviderResult<()> {
        Ok(())
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
