//! Domain mappings (the load balancer step: names bound to a service) and their managed
//! certificates, issued once the bound names lead to the mapping.

use async_trait::async_trait;
use scaling_core::providers::{
    CertificateInfo, CertificateStatus, DesiredCertificate, DesiredLoadBalancer, Endpoint, LoadBalancerInfo,
    LoadBalancerStatus, RecordKind, RecordValue,
};
use scaling_core::{Capable, Certificate, ErrorKind, LoadBalancer, Owner, ProviderResult};

use super::{error, lacks, owned, owner_of, CloudRunShaped, Labelled, State, MAPPING_ADDRESSES};

fn endpoint() -> Endpoint {
    Endpoint::addresses(MAPPING_ADDRESSES.iter().map(|a| a.parse().expect("an address")))
}

/// True when every one of `names` has an A record in a zone here leading to the mapping.
fn names_lead_to_the_mapping(s: &State, names: &[String]) -> bool {
    names.iter().all(|name| {
        s.zones.values().flat_map(|(_, records)| records).any(|r| {
            r.name == *name
                && r.kind == RecordKind::A
                && matches!(&r.value, RecordValue::Values { values, .. } if values.iter().any(|v| v == MAPPING_ADDRESSES[0]))
        })
    })
}

#[async_trait]
impl LoadBalancer for CloudRunShaped {
    /// A new mapping is provisioning at its first look and ready at the next.
    async fn find_load_balancer(&self, owner: &Owner, name: &str) -> ProviderResult<Option<LoadBalancerInfo>> {
        let mut s = self.state();
        let found = s.mappings.get(name).map(|(_, m)| m);
        if owned(found, owner, "find_load_balancer", name)?.is_none() {
            return Ok(None);
        }
        let Some((_, mapping)) = s.mappings.get_mut(name) else { return Ok(None) };
        let seen = mapping.value.clone();
        mapping.value.status = LoadBalancerStatus::Active;
        Ok(Some(seen))
    }

    /// Binds `desired.hosts` to the app's service, which must exist already.
    async fn ensure_load_balancer(&self, desired: &DesiredLoadBalancer) -> ProviderResult<LoadBalancerInfo> {
        let op = "ensure_load_balancer";
        if desired.firewall_id.is_some() {
            return Err(lacks(op, &desired.spec.name, "firewall in front of a domain mapping"));
        }
        let owner = owner_of(&desired.tags);
        let service = self.capabilities().names(&owner.app).service;
        let mut s = self.state();
        if owned(s.services.get(&service), &owner, op, &service)?.is_none() {
            let message = format!("a domain mapping maps names to a service, and {service} does not exist yet");
            return Err(error(op, &desired.spec.name, ErrorKind::NotFound, message));
        }
        let current =
            owned(s.mappings.get(&desired.spec.name).map(|(_, m)| m), &owner, op, &desired.spec.name)?.cloned();
        let info = LoadBalancerInfo {
            spec: desired.spec.clone(),
            hosts: Some(desired.hosts.clone()),
            ..current.unwrap_or_else(|| LoadBalancerInfo {
                spec: desired.spec.clone(),
                id: format!("domainmappings/{}", desired.spec.name),
                endpoint: endpoint(),
                firewall_ids: Vec::new(),
                drop_invalid_header_fields: None,
                hosts: None,
                status: LoadBalancerStatus::Provisioning,
                drift: Vec::new(),
                connections: None,
            })
        };
        let mapping = Labelled { value: info.clone(), labels: desired.tags.clone() };
        s.mappings.insert(desired.spec.name.clone(), (service, mapping));
        Ok(info)
    }

    async fn delete_load_balancer(&self, owner: &Owner, lb: &LoadBalancerInfo) -> ProviderResult<()> {
        let mut s = self.state();
        if owned(s.mappings.get(&lb.spec.name).map(|(_, m)| m), owner, "delete_load_balancer", &lb.spec.name)?.is_some()
        {
            s.mappings.remove(&lb.spec.name);
        }
        Ok(())
    }
}

#[async_trait]
impl Certificate for CloudRunShaped {
    async fn find_certificates(&self, owner: &Owner, domains: &[String]) -> ProviderResult<Vec<CertificateInfo>> {
        let s = self.state();
        let mut found: Vec<CertificateInfo> = s
            .certificates
            .values()
            .filter(|(_, c)| owner.owns(&c.labels) && (domains.is_empty() || domains.contains(&c.value.spec.domain)))
            .map(|(_, c)| c.value.clone())
            .collect();
        found.reverse();
        Ok(found)
    }

    /// A managed certificate for names a mapping of the same app has bound; the same request key
    /// returns the same certificate.
    async fn request_certificate(&self, desired: &DesiredCertificate) -> ProviderResult<CertificateInfo> {
        let op = "request_certificate";
        let owner = owner_of(&desired.tags);
        let mut s = self.state();
        if let Some((_, same)) = s.certificates.values().find(|(key, _)| *key == desired.request_key) {
            return Ok(same.value.clone());
        }
        let names: Vec<String> = desired.spec.names().cloned().collect();
        let bound = s.mappings.values().any(|(_, m)| {
            owner.owns(&m.labels) && names.iter().all(|n| m.value.hosts.as_ref().is_some_and(|h| h.contains(n)))
        });
        if !bound {
            let message = "a managed certificate is issued for the names of a domain mapping: bind them first";
            return Err(error(op, &desired.spec.domain, ErrorKind::InvalidRequest, message));
        }
        let id = s.id("certificate");
        let info = CertificateInfo {
            spec: desired.spec.clone(),
            id: id.clone(),
            status: CertificateStatus::PendingValidation,
            validation_records: Vec::new(),
            in_use: false,
            renewal_due: None,
        };
        let labelled = Labelled { value: info.clone(), labels: desired.tags.clone() };
        s.certificates.insert(id, (desired.request_key.clone(), labelled));
        Ok(info)
    }

    /// Issued once every name leads to the mapping.
    async fn describe_certificate(&self, certificate: &CertificateInfo) -> ProviderResult<CertificateInfo> {
        let mut s = self.state();
        let names: Vec<String> = certificate.spec.names().cloned().collect();
        let leads = names_lead_to_the_mapping(&s, &names);
        let Some((_, found)) = s.certificates.get_mut(&certificate.id) else {
            return Err(error("describe_certificate", &certificate.id, ErrorKind::NotFound, "no such certificate"));
        };
        if leads {
            found.value.status = CertificateStatus::Issued;
        }
        Ok(found.value.clone())
    }

    async fn delete_certificate(&self, owner: &Owner, certificate: &CertificateInfo) -> ProviderResult<()> {
        let mut s = self.state();
        let found = s.certificates.get(&certificate.id).map(|(_, c)| c);
        if owned(found, owner, "delete_certificate", &certificate.id)?.is_some() {
            s.certificates.remove(&certificate.id);
        }
        Ok(())
    }
}
