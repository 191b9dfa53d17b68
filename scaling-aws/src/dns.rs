//! [`Dns`] on Route 53. Records cannot be tagged, so ownership is kept in TXT marker records next to
//! them (`_scaling.<name>` holding `"app=<app> type=<TYPE>"`), as external-dns does; markers are hidden
//! from listings and move with their records.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_route53 as r53;
use r53::types::{
    AliasTarget as R53Alias, Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType, Tag,
    TagResourceType,
};
use scaling_core::providers::{
    Alias, Delegation, Dns, DnsRecord, Endpoint, Owner, RecordKind, RecordValue, Tags, ZoneInfo,
};
use scaling_core::{ErrorKind, ProviderError, ProviderResult};

use crate::error::{build, map, missing};
use crate::provider::AwsProvider;

const MARKER: &str = "_scaling.";

fn bare(name: &str) -> String {
    name.trim_end_matches('.').replace("\\052", "*").to_ascii_lowercase()
}

fn zone_id(id: &str) -> &str {
    id.trim_start_matches("/hostedzone/")
}

fn rr_type(kind: RecordKind) -> RrType {
    match kind {
        RecordKind::A => RrType::A,
        RecordKind::Aaaa => RrType::Aaaa,
        RecordKind::Cname => RrType::Cname,
        RecordKind::Txt => RrType::Txt,
    }
}

fn kind_of(rr: &RrType) -> Option<RecordKind> {
    match rr {
        RrType::A => Some(RecordKind::A),
        RrType::Aaaa => Some(RecordKind::Aaaa),
        RrType::Cname => Some(RecordKind::Cname),
        RrType::Txt => Some(RecordKind::Txt),
        _ => None,
    }
}

fn kind_name(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::A => "A",
        RecordKind::Aaaa => "AAAA",
        RecordKind::Cname => "CNAME",
        RecordKind::Txt => "TXT",
    }
}

/// How long a record change may stay `PENDING` before the step fails (Route 53 usually applies one
/// within 60 seconds).
const RECORDS_IN_SYNC_WITHIN: std::time::Duration = std::time::Duration::from_secs(180);

/// Route 53 takes at most this many tags in one `ChangeTagsForResource`.
/// <https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeTagsForResource.html>
pub(crate) const ZONE_TAGS_PER_CALL: usize = 10;

/// How the caller reference of a zone scaling created begins: `scaling:<app>:<nonce>`.
const REFERENCE_PREFIX: &str = "scaling:";

/// The app whose create made a zone with `reference`, if scaling made it.
pub(crate) fn created_by(reference: &str) -> Option<String> {
    let (app, nonce) = reference.strip_prefix(REFERENCE_PREFIX)?.rsplit_once(':')?;
    (!app.is_empty() && !nonce.is_empty()).then(|| app.to_string())
}

/// `"app=<app> type=<TYPE>"` markers at `_scaling.<name>`: (name, type) → owner.
fn owners(sets: &[ResourceRecordSet]) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for set in sets.iter().filter(|s| s.r#type() == &RrType::Txt) {
        let Some(name) = bare(set.name()).strip_prefix(MARKER).map(str::to_string) else { continue };
        for record in set.resource_records() {
            let text = record.value().trim_matches('"');
            let fields: BTreeMap<&str, &str> = text.split_whitespace().filter_map(|f| f.split_once('=')).collect();
            if let (Some(app), Some(kind)) = (fields.get("app"), fields.get("type")) {
                out.insert((name.clone(), kind.to_string()), app.to_string());
            }
        }
    }
    out
}

fn record_of(set: &ResourceRecordSet, owners: &BTreeMap<(String, String), String>) -> Option<DnsRecord> {
    let name = bare(set.name());
    if name.starts_with(MARKER) {
        return None;
    }
    let kind = kind_of(set.r#type())?;
    let value = match set.alias_target() {
        Some(alias) => RecordValue::Alias(Alias {
            dns_name: bare(alias.dns_name()),
            zone_id: Some(alias.hosted_zone_id().to_string()),
        }),
        None => RecordValue::Values {
            values: set.resource_records().iter().map(|r| r.value().to_string()).collect(),
            ttl: set.ttl().and_then(|t| u32::try_from(t).ok()).unwrap_or(300),
        },
    };
    let owner = owners.get(&(name.clone(), kind_name(kind).to_string())).cloned();
    Some(DnsRecord { name, kind, value, owner })
}

fn record_set(record: &DnsRecord) -> ProviderResult<ResourceRecordSet> {
    let builder = ResourceRecordSet::builder().name(&record.name).r#type(rr_type(record.kind));
    let builder = match &record.value {
        RecordValue::Alias(target) => {
            // An alias needs the target's hosted zone: a load balancer of another provider gives none, and
            // an empty one would be written half-wrong.
            let Some(target_zone) = &target.zone_id else {
                return Err(ProviderError::new(
                    "ChangeResourceRecordSets",
                    &record.name,
                    ErrorKind::Unsupported,
                    format!(
                        "Route 53 can alias {} only to a target with a hosted zone id, and {} has none: \
                         use a load balancer of the same cloud, or a DNS provider that writes CNAME or A records",
                        record.name, target.dns_name
                    ),
                ));
            };
            let alias = R53Alias::builder()
                .dns_name(&target.dns_name)
                .hosted_zone_id(target_zone)
                .evaluate_target_health(true)
                .build()
                .map_err(|e| build("ChangeResourceRecordSets", &record.name, e))?;
            builder.alias_target(alias)
        }
        RecordValue::Values { values, ttl } => {
            let records = values
                .iter()
                .map(|v| ResourceRecord::builder().value(v).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| build("ChangeResourceRecordSets", &record.name, e))?;
            builder.ttl(i64::from(*ttl)).set_resource_records(Some(records))
        }
    };
    builder.build().map_err(|e| build("ChangeResourceRecordSets", &record.name, e))
}

/// The marker TXT set at `_scaling.<name>` for the owned types there (none → `None`).
fn marker_set(name: &str, owned: &BTreeMap<String, String>) -> ProviderResult<Option<ResourceRecordSet>> {
    if owned.is_empty() {
        return Ok(None);
    }
    let values = owned
        .iter()
        .map(|(kind, app)| ResourceRecord::builder().value(format!("\"app={app} type={kind}\"")).build())
        .collect::<Result<Vec<_>, _>>();
    let values = values.map_err(|e| build("ChangeResourceRecordSets", name, e))?;
    let set = ResourceRecordSet::builder()
        .name(format!("{MARKER}{name}"))
        .r#type(RrType::Txt)
        .ttl(300)
        .set_resource_records(Some(values))
        .build();
    set.map(Some).map_err(|e| build("ChangeResourceRecordSets", name, e))
}

fn change(action: ChangeAction, set: ResourceRecordSet) -> ProviderResult<Change> {
    let name = set.name().to_string();
    Change::builder()
        .action(action)
        .resource_record_set(set)
        .build()
        .map_err(|e| build("ChangeResourceRecordSets", &name, e))
}

impl AwsProvider {
    async fn record_sets(&self, zone: &ZoneInfo) -> ProviderResult<Vec<ResourceRecordSet>> {
        let mut sets = Vec::new();
        let mut next: Option<(String, RrType)> = None;
        loop {
            let mut call = self.route53.list_resource_record_sets().hosted_zone_id(zone_id(&zone.id));
            if let Some((name, kind)) = next.take() {
                call = call.start_record_name(name).start_record_type(kind);
            }
            let out = call.send().await.map_err(|e| map("ListResourceRecordSets", &zone.name, e))?;
            sets.extend(out.resource_record_sets().iter().cloned());
            match (out.is_truncated(), out.next_record_name(), out.next_record_type()) {
                (true, Some(name), Some(kind)) => next = Some((name.to_string(), kind.clone())),
                _ => return Ok(sets),
            }
        }
    }

    async fn zone_owner(&self, id: &str) -> ProviderResult<Option<String>> {
        let out = self
            .route53
            .list_tags_for_resource()
            .resource_type(TagResourceType::Hostedzone)
            .resource_id(zone_id(id))
            .send()
            .await
            .map_err(|e| map("ListTagsForResource", id, e))?;
        let tags = out.resource_tag_set().map(|s| s.tags()).unwrap_or_default();
        Ok(crate::tags::owner_of(tags.iter().filter_map(|t| Some((t.key()?, t.value().unwrap_or_default())))))
    }

    /// The zone, owned by the app its tags name, else by the app its caller reference says created it
    /// (a create whose tagging failed).
    async fn zone_info(&self, id: &str) -> ProviderResult<ZoneInfo> {
        let (out, owner) = tokio::join!(self.route53.get_hosted_zone().id(zone_id(id)).send(), self.zone_owner(id));
        let out = out.map_err(|e| map("GetHostedZone", id, e))?;
        let zone = out.hosted_zone().ok_or_else(|| missing("GetHostedZone", id, "HostedZone"))?;
        let name_servers = out.delegation_set().map(|d| d.name_servers().to_vec()).unwrap_or_default();
        let owner = owner?.or_else(|| created_by(zone.caller_reference()));
        Ok(ZoneInfo { id: zone_id(zone.id()).to_string(), name: bare(zone.name()), name_servers, owner })
    }

    /// Applies `changes` to the zone's records, keeping each name's ownership marker in step.
    async fn change_records(
        &self,
        zone: &ZoneInfo,
        owner: Option<&str>,
        records: &[DnsRecord],
        delete: bool,
    ) -> ProviderResult<()> {
        let sets = self.record_sets(zone).await?;
        let current = owners(&sets);
        let mut changes = Vec::new();
        let mut markers: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for record in records {
            let key = (record.name.clone(), kind_name(record.kind).to_string());
            let existing =
                sets.iter().find(|s| bare(s.name()) == record.name && kind_of(s.r#type()) == Some(record.kind));
            let holder = current.get(&key).map(String::as_str);
            if existing.is_some() && holder != owner {
                let who = holder.unwrap_or("someone outside scaling");
                let kind = kind_name(record.kind);
                return Err(ProviderError::new(
                    "ChangeResourceRecordSets",
                    &record.name,
                    ErrorKind::NotOwned,
                    format!("the {kind} record {} belongs to {who}", record.name),
                ));
            }
            let at_name = markers.entry(record.name.clone()).or_insert_with(|| {
                current
                    .iter()
                    .filter(|((n, _), _)| *n == record.name)
                    .map(|((_, k), app)| (k.clone(), app.clone()))
                    .collect()
            });
            match (delete, existing) {
                (true, Some(set)) => {
                    changes.push(change(ChangeAction::Delete, set.clone())?);
                    at_name.remove(&key.1);
                }
                (true, None) => {}
                (false, _) => {
                    changes.push(change(ChangeAction::Upsert, record_set(record)?)?);
                    if let Some(app) = &record.owner {
                        at_name.insert(key.1.clone(), app.clone());
                    }
                }
            }
        }
        for (name, owned) in &markers {
            let old = sets.iter().find(|s| bare(s.name()) == format!("{MARKER}{name}") && s.r#type() == &RrType::Txt);
            match (marker_set(name, owned)?, old) {
                (Some(new), _) => changes.push(change(ChangeAction::Upsert, new)?),
                (None, Some(old)) => changes.push(change(ChangeAction::Delete, old.clone())?),
                (None, None) => {}
            }
        }
        if changes.is_empty() {
            return Ok(());
        }
        self.submit(zone, changes).await
    }

    /// Sends one change batch to the zone.
    async fn submit(&self, zone: &ZoneInfo, changes: Vec<Change>) -> ProviderResult<()> {
        let batch = ChangeBatch::builder()
            .set_changes(Some(changes))
            .comment("scaling")
            .build()
            .map_err(|e| build("ChangeResourceRecordSets", &zone.name, e))?;
        let out = self
            .route53
            .change_resource_record_sets()
            .hosted_zone_id(zone_id(&zone.id))
            .change_batch(batch)
            .send()
            .await
            .map_err(|e| map("ChangeResourceRecordSets", &zone.name, e))?;
        match out.change_info() {
            Some(change) => self.await_in_sync(zone, change.id()).await,
            None => Ok(()),
        }
    }

    /// Waits until Route 53 has applied change `id` on all its name servers (`INSYNC`), polling
    /// `GetChange` soon and then every few seconds, for at most [`RECORDS_IN_SYNC_WITHIN`]: the records
    /// are done only when every name server answers with them
    /// (<https://docs.aws.amazon.com/Route53/latest/APIReference/API_GetChange.html>).
    async fn await_in_sync(&self, zone: &ZoneInfo, id: &str) -> ProviderResult<()> {
        let started = tokio::time::Instant::now();
        let mut pause = std::time::Duration::from_millis(100);
        loop {
            let out = self.route53.get_change().id(id).send().await.map_err(|e| map("GetChange", &zone.name, e))?;
            if out.change_info().is_none_or(|c| *c.status() == aws_sdk_route53::types::ChangeStatus::Insync) {
                return Ok(());
            }
            if started.elapsed() >= RECORDS_IN_SYNC_WITHIN {
                return Err(ProviderError::new(
                    "GetChange",
                    &zone.name,
                    ErrorKind::Unavailable,
                    format!("the record change {id} is still PENDING after {} s", RECORDS_IN_SYNC_WITHIN.as_secs()),
                ));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(std::time::Duration::from_secs(5));
        }
    }
}

#[async_trait]
impl Dns for AwsProvider {
    /// The public zone of `domain` (or of its closest parent that has one). Every zone of a name is
    /// read, not the first: a private zone of the same name must not hide the public one, and of
    /// several public ones the one an app owns is picked.
    async fn find_zone(&self, domain: &str) -> ProviderResult<Option<ZoneInfo>> {
        let labels: Vec<&str> = domain.split('.').collect();
        for start in 0..labels.len().saturating_sub(1) {
            let candidate = labels[start..].join(".");
            let out = self
                .route53
                .list_hosted_zones_by_name()
                .dns_name(&candidate)
                .max_items(100)
                .send()
                .await
                .map_err(|e| map("ListHostedZonesByName", &candidate, e))?;
            let public: Vec<&str> = out
                .hosted_zones()
                .iter()
                .filter(|z| bare(z.name()) == candidate && !z.config().is_some_and(|c| c.private_zone()))
                .map(|z| z.id())
                .collect();
            let zones = futures::future::try_join_all(public.iter().map(|id| self.zone_info(id))).await?;
            let owned_first = zones.iter().position(|z| z.owner.is_some()).unwrap_or(0);
            if let Some(zone) = zones.into_iter().nth(owned_first) {
                return Ok(Some(zone));
            }
        }
        Ok(None)
    }

    /// Creates the zone with a caller reference of its own (`scaling:<app>:<nonce>`: Route 53 remembers
    /// a reference after its zone is deleted, so a reused one would refuse every later create), then tags
    /// it in batches of [`ZONE_TAGS_PER_CALL`]. A zone whose tagging failed is still the app's: its
    /// caller reference proves who created it (see [`created_by`]).
    async fn create_zone(&self, owner: &Owner, domain: &str, tags: &Tags) -> ProviderResult<ZoneInfo> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let reference = format!("{REFERENCE_PREFIX}{}:{nanos:x}", owner.app);
        let id = match self.route53.create_hosted_zone().name(domain).caller_reference(reference).send().await {
            Ok(out) => out
                .hosted_zone()
                .map(|z| z.id().to_string())
                .ok_or_else(|| missing("CreateHostedZone", domain, "HostedZone"))?,
            Err(e) => return Err(map("CreateHostedZone", domain, e)),
        };
        let tags: Vec<Tag> = tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        for batch in tags.chunks(ZONE_TAGS_PER_CALL) {
            self.route53
                .change_tags_for_resource()
                .resource_type(TagResourceType::Hostedzone)
                .resource_id(zone_id(&id))
                .set_add_tags(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| map("ChangeTagsForResource", domain, e))?;
        }
        self.zone_info(&id).await
    }

    async fn delete_zone(&self, owner: &Owner, zone: &ZoneInfo) -> ProviderResult<()> {
        if self.zone_info(&zone.id).await?.owner.as_deref() != Some(owner.app.as_str()) {
            return Err(ProviderError::new(
                "DeleteHostedZone",
                &zone.name,
                ErrorKind::NotOwned,
                format!("{} was not created by {}", zone.name, owner.app),
            ));
        }
        let sets = self.record_sets(zone).await?;
        let removable: Vec<Change> = sets
            .into_iter()
            .filter(|s| !(matches!(s.r#type(), RrType::Ns | RrType::Soa) && bare(s.name()) == zone.name))
            .map(|s| change(ChangeAction::Delete, s))
            .collect::<Result<_, _>>()?;
        if !removable.is_empty() {
            self.submit(zone, removable).await?;
        }
        self.route53
            .delete_hosted_zone()
            .id(zone_id(&zone.id))
            .send()
            .await
            .map_err(|e| map("DeleteHostedZone", &zone.name, e))?;
        Ok(())
    }

    async fn list_records(&self, zone: &ZoneInfo) -> ProviderResult<Vec<DnsRecord>> {
        let sets = self.record_sets(zone).await?;
        let owners = owners(&sets);
        Ok(sets.iter().filter_map(|s| record_of(s, &owners)).collect())
    }

    async fn upsert_records(&self, zone: &ZoneInfo, records: &[DnsRecord]) -> ProviderResult<()> {
        let owner = records.iter().find_map(|r| r.owner.clone());
        self.change_records(zone, owner.as_deref(), records, false).await
    }

    async fn delete_records(&self, owner: &Owner, zone: &ZoneInfo, records: &[DnsRecord]) -> ProviderResult<()> {
        self.change_records(zone, Some(&owner.app), records, true).await
    }

    async fn delegation(&self, zone: &ZoneInfo) -> ProviderResult<Delegation> {
        Ok(crate::delegation::check(self.dns_resolver, zone).await)
    }

    /// An alias A record to a load balancer of this account (apex included, no TTL, following its
    /// addresses); for any other endpoint, the CNAME or A/AAAA records every DNS provider writes.
    /// Alias A records lead any name, the apex included, to an ALB.
    fn aliases_apex_to_host_names(&self) -> bool {
        true
    }

    async fn pointer_records(
        &self,
        owner: &Owner,
        zone: &ZoneInfo,
        names: &[String],
        endpoint: &Endpoint,
    ) -> ProviderResult<Vec<DnsRecord>> {
        let target = match endpoint.hostname.as_deref() {
            Some(hostname) => self.alias_zone(hostname).await?.map(|zone_id| Alias {
                dns_name: scaling_core::providers::canonical_name(hostname),
                zone_id: Some(zone_id),
            }),
            None => None,
        };
        let Some(target) = target else {
            return scaling_core::providers::pointer_records(owner, zone, names, endpoint);
        };
        Ok(names
            .iter()
            .map(|name| DnsRecord {
                name: name.clone(),
                kind: RecordKind::A,
                value: RecordValue::Alias(target.clone()),
                owner: Some(owner.app.clone()),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_name_owners_and_are_hidden() {
        let marker = marker_set("www.example.com", &BTreeMap::from([("A".to_string(), "dashmath".to_string())]))
            .unwrap()
            .unwrap();
        let record = record_set(&DnsRecord {
            name: "www.example.com".into(),
            kind: RecordKind::A,
            value: RecordValue::Alias(Alias { dns_name: "alb.example".into(), zone_id: Some("Z1".into()) }),
            owner: Some("dashmath".into()),
        })
        .unwrap();
        let sets = [marker, record];
        let owners = owners(&sets);
        let listed: Vec<DnsRecord> = sets.iter().filter_map(|s| record_of(s, &owners)).collect();
        assert_eq!(listed.len(), 1, "the marker is hidden");
        assert_eq!(listed[0].owner.as_deref(), Some("dashmath"));
        assert_eq!(
            listed[0].value,
            RecordValue::Alias(Alias { dns_name: "alb.example".into(), zone_id: Some("Z1".into()) })
        );
    }

    #[test]
    fn an_alias_to_a_target_without_a_hosted_zone_is_refused_before_any_write() {
        let record = DnsRecord {
            name: "example.com".into(),
            kind: RecordKind::A,
            value: RecordValue::Alias(Alias { dns_name: "dashmath.localhost".into(), zone_id: None }),
            owner: Some("dashmath".into()),
        };
        let error = record_set(&record).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Unsupported);
        assert!(error.message.contains("hosted zone id"), "{}", error.message);
    }
}
