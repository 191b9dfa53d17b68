//! [`ThroughTheProvider`]: drift made through the provider's own trait methods.

use async_trait::async_trait;

use super::{Drift, Tamper};
use crate::providers::{DesiredFirewall, FirewallSpec, IngressRule, Owner, RecordKind, TrafficFrom};
use crate::{Orchestrator, Providers, Silent, Spec, StepId};

/// Tampering through the provider's own trait methods, behind the orchestrator's back: right for
/// providers whose state only they can reach (in memory, this machine).
pub struct ThroughTheProvider(pub Providers);

#[async_trait]
impl Tamper for ThroughTheProvider {
    async fn tamper(&self, spec: &Spec, drift: Drift) -> bool {
        let p = &self.0;
        let (owner, names, has) =
            (Owner::new(&spec.app.name), p.capabilities.names(&spec.app.name), |step| p.capabilities.has_step(step));
        match drift {
            Drift::ReplicaCount => {
                let cluster = super::deployed_cluster(p, &owner, &names).await;
                let service = p.cluster.find_service(&owner, &cluster, &names.service).await.expect("find_service");
                p.cluster.scale_service(&owner, &service.expect("deployed"), 1).await.expect("scale_service");
            }
            Drift::HealthCheckPath if has(StepId::Backend) => {
                let mut desired = crate::orchestrator::desired_backend(spec, &names, owner.tags(&spec.tags));
                desired.spec.health_check.path = "/tampered".into();
                p.load_balancer.ensure_backend(&desired).await.expect("ensure_backend");
            }
            // The probe lives on the revision: someone rolls out one probing elsewhere.
            Drift::HealthCheckPath => {
                let mut tampered = spec.clone();
                tampered.health_check.path = "/tampered".into();
                Orchestrator::new(p.clone()).deploy(&tampered, None, &Silent).await.expect("an out-of-band rollout");
            }
            Drift::ExtraIngressRule => {
                if !has(StepId::ReplicaFirewall) {
                    return false;
                }
                let found = p.cluster.find_replica_firewall(&owner, &names.replica_firewall).await;
                let Some(group) = found.expect("find_replica_firewall") else { return false };
                let mut ingress = group.spec.ingress.clone();
                ingress.push(IngressRule { port: 22, from: TrafficFrom::Anywhere });
                let desired = DesiredFirewall {
                    spec: FirewallSpec { name: group.spec.name.clone(), ingress },
                    description: "tampered".into(),
                    tags: owner.tags(&spec.tags),
                };
                p.cluster.ensure_replica_firewall(&desired).await.expect("ensure_replica_firewall");
            }
            Drift::RecordValue => return point_a_record_elsewhere(p, spec, &owner).await,
            // `OwnSteps` has no method that changes a resource's settings: a provider with own
            // steps tampers with them in its own test.
            Drift::OwnResource => return false,
        }
        true
    }
}

/// One of the app's records that lead a host name to the endpoint, pointed elsewhere.
async fn point_a_record_elsewhere(p: &Providers, spec: &Spec, owner: &Owner) -> bool {
    use crate::providers::{Alias, DnsRecord, RecordValue};
    let Some(domain) = spec.domain.as_ref().filter(|_| p.capabilities.has_step(StepId::DnsRecords)) else {
        return false;
    };
    let zone = p.dns.find_zone(&domain.name).await.expect("find_zone").expect("deployed");
    let records = p.dns.list_records(&zone).await.expect("list_records");
    let hostnames = spec.hostnames();
    let Some(record) = records.iter().find(|r| {
        r.owner.as_deref() == Some(owner.app.as_str())
            && hostnames.contains(&r.name)
            && matches!(r.kind, RecordKind::A | RecordKind::Cname)
    }) else {
        return false;
    };
    let value = match (&record.value, record.kind) {
        (RecordValue::Alias(_), _) => {
            RecordValue::Alias(Alias { dns_name: "elsewhere.example.net".into(), zone_id: None })
        }
        (RecordValue::Values { ttl, .. }, RecordKind::A) => {
            RecordValue::Values { values: vec!["192.0.2.1".into()], ttl: *ttl }
        }
        (RecordValue::Values { ttl, .. }, _) => {
            RecordValue::Values { values: vec!["elsewhere.example.net".into()], ttl: *ttl }
        }
    };
    p.dns.upsert_records(&zone, &[DnsRecord { value, ..record.clone() }]).await.expect("upsert_records");
    true
}
