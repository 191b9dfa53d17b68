//! DNS pointers: the core hands the DNS provider an endpoint, and the provider picks the records. A DNS
//! provider without alias records writes CNAMEs below the zone apex, and refuses the apex itself
//! (`Unsupported`, naming the fix) before any record is written, instead of writing it half-wrong;
//! once the load balancer exists, `plan` already refuses.

use std::sync::Arc;

use async_trait::async_trait;
use scaling_core::providers::{Delegation, Dns, DnsRecord, Owner, Tags, ZoneInfo};
use scaling_core::{Error, Orchestrator, ProviderResult, Providers, RecordedEvents};
use scaling_memory::InMemoryCloud;
use scaling_tests::{seed_spec, test_options};

/// The in-memory DNS without its alias records: `Dns::pointer_records` is the trait's default.
struct PlainDns(Arc<InMemoryCloud>);

#[async_trait]
impl Dns for PlainDns {
    async fn find_zone(&self, domain: &str) -> ProviderResult<Option<ZoneInfo>> {
        self.0.find_zone(domain).await
    }
    async fn create_zone(&self, owner: &Owner, domain: &str, tags: &Tags) -> ProviderResult<ZoneInfo> {
        self.0.create_zone(owner, domain, tags).await
    }
    async fn delete_zone(&self, owner: &Owner, zone: &ZoneInfo) -> ProviderResult<()> {
        self.0.delete_zone(owner, zone).await
    }
    async fn list_records(&self, zone: &ZoneInfo) -> ProviderResult<Vec<DnsRecord>> {
        self.0.list_records(zone).await
    }
    async fn upsert_records(&self, zone: &ZoneInfo, records: &[DnsRecord]) -> ProviderResult<()> {
        self.0.upsert_records(zone, records).await
    }
    async fn delete_records(&self, owner: &Owner, zone: &ZoneInfo, records: &[DnsRecord]) -> ProviderResult<()> {
        self.0.delete_records(owner, zone, records).await
    }
    async fn delegation(&self, zone: &ZoneInfo) -> ProviderResult<Delegation> {
        self.0.delegation(zone).await
    }
}

fn with_plain_dns(cloud: &Arc<InMemoryCloud>) -> Orchestrator {
    let providers = Providers { dns: Arc::new(PlainDns(cloud.clone())), ..Providers::from_cloud(cloud.clone()) };
    Orchestrator::new(providers).with_options(test_options())
}

#[tokio::test(start_paused = true)]
async fn below_the_apex_a_plain_dns_provider_writes_cnames_that_hold() {
    let cloud = InMemoryCloud::new().shared();
    // The app's names sit below a zone made outside scaling.
    cloud.create_zone(&Owner::new("someone-else"), "example.com", &Tags::new()).await.unwrap();
    let orchestrator = with_plain_dns(&cloud);
    orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
    let records: Vec<String> = cloud.inventory().into_iter().filter(|l| l.starts_with("record")).collect();
    for name in ["dashmath.example.com", "www.dashmath.example.com"] {
        let line = records.iter().find(|l| l.contains(&format!(" {name} "))).unwrap_or_else(|| panic!("{records:#?}"));
        assert!(line.contains("Cname") && line.contains("dashmath"), "{line}");
    }
    cloud.clear_calls();
    orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap();
    assert!(cloud.mutating_calls().is_empty(), "the CNAMEs read back as written: {:?}", cloud.mutating_calls());
}

#[tokio::test(start_paused = true)]
async fn an_apex_a_plain_dns_provider_cannot_point_is_refused_before_any_write() {
    let cloud = InMemoryCloud::new().shared();
    let orchestrator = with_plain_dns(&cloud);
    // The load balancer is known by a host name and the DNS has no alias records: refused by field
    // before anything is made.
    let error = orchestrator.deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap_err();
    let Error::InvalidSpec(problems) = &error else { panic!("{error:?}") };
    assert_eq!(problems.problems.iter().map(|p| p.field.as_str()).collect::<Vec<_>>(), ["domain.name"]);
    assert!(error.to_string().contains("use a name below the apex (app.dashmath.example.com)"), "{error}");
    assert!(cloud.mutating_calls().is_empty(), "refused after writing: {:?}", cloud.mutating_calls());

    // With a load balancer already there (the app deployed without a domain), its real endpoint is
    // judged, and nothing is written either.
    let mut bare = seed_spec();
    bare.domain = None;
    orchestrator.deploy(&bare, None, &RecordedEvents::new()).await.unwrap();
    cloud.clear_calls();
    let image = orchestrator.prepare_image(&seed_spec(), None).await.unwrap();
    let error = orchestrator.plan(&seed_spec(), image).await.unwrap_err();
    assert!(error.to_string().contains("domain.name: dashmath.example.com is the apex"), "{error}");
    assert!(cloud.mutating_calls().is_empty(), "{:?}", cloud.mutating_calls());
}
