//! [`Certificate`] on ACM: a public certificate for the apex with the aliases as SANs, validated through
//! DNS; the validation CNAMEs go to Route 53 through the [`Dns`](scaling_core::Dns) provider.

use async_trait::async_trait;
use aws_sdk_acm::types::{CertificateStatus as AcmStatus, Tag, ValidationMethod};
use futures::{StreamExt, TryStreamExt};
use scaling_core::providers::{
    Certificate, CertificateInfo, CertificateSpec, CertificateStatus, DesiredCertificate, DnsRecord, Owner, RecordKind,
    RecordValue,
};
use scaling_core::{ErrorKind, ProviderResult};

use crate::error::{build, map, missing, not_owned};
use crate::provider::AwsProvider;
use crate::tags::owned_by;

/// The largest `ListCertificates` page ACM returns.
const LIST_PAGE: i32 = 1000;

/// Certificates read at once (two calls each): ACM's read quotas are per second and per account, so a
/// full read of a large account goes a few at a time rather than all together.
const CONCURRENT_READS: usize = 8;

fn info(c: &aws_sdk_acm::types::CertificateDetail) -> Option<CertificateInfo> {
    let status = match c.status()? {
        AcmStatus::Issued => CertificateStatus::Issued,
        AcmStatus::PendingValidation => CertificateStatus::PendingValidation,
        other => CertificateStatus::Failed(format!(
            "{}: {}",
            other.as_str(),
            c.failure_reason().map(|r| r.as_str()).unwrap_or("no reason given")
        )),
    };
    let domain = c.domain_name()?.to_string();
    let mut records: Vec<DnsRecord> = c
        .domain_validation_options()
        .iter()
        .filter_map(|o| o.resource_record())
        .map(|r| DnsRecord {
            name: r.name().trim_end_matches('.').to_string(),
            kind: RecordKind::Cname,
            value: RecordValue::Values { values: vec![r.value().to_string()], ttl: 300 },
            owner: None,
        })
        .collect();
    records.sort();
    records.dedup();
    Some(CertificateInfo {
        id: c.certificate_arn()?.to_string(),
        spec: CertificateSpec {
            alternative_names: c.subject_alternative_names().iter().filter(|n| **n != domain).cloned().collect(),
            domain,
        },
        status,
        validation_records: records,
        in_use: !c.in_use_by().is_empty(),
        // ACM renews a DNS-validated certificate by itself while its records stay.
        renewal_due: None,
    })
}

impl AwsProvider {
    async fn certificate_owned(&self, owner: &Owner, arn: &str) -> ProviderResult<bool> {
        let out = self
            .acm
            .list_tags_for_certificate()
            .certificate_arn(arn)
            .send()
            .await
            .map_err(|e| map("ListTagsForCertificate", arn, e))?;
        Ok(owned_by(owner, out.tags().iter().map(|t| (t.key(), t.value().unwrap_or_default()))))
    }

    async fn describe(&self, arn: &str) -> ProviderResult<CertificateInfo> {
        let out = self
            .acm
            .describe_certificate()
            .certificate_arn(arn)
            .send()
            .await
            .map_err(|e| map("DescribeCertificate", arn, e))?;
        out.certificate().and_then(info).ok_or_else(|| missing("DescribeCertificate", arn, "Certificate"))
    }
}

#[async_trait]
impl Certificate for AwsProvider {
    /// One `ListCertificates` page per 1,000 certificates in the region, then tags and description of only
    /// those for `domains` (of all of them when `domains` is empty), a few at a time.
    async fn find_certificates(&self, owner: &Owner, domains: &[String]) -> ProviderResult<Vec<CertificateInfo>> {
        let wanted = |domain: Option<&str>| {
            let domain = domain.unwrap_or_default().trim_end_matches('.');
            domains.is_empty() || domains.iter().any(|d| d.trim_end_matches('.').eq_ignore_ascii_case(domain))
        };
        let mut arns = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .acm
                .list_certificates()
                .max_items(LIST_PAGE)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| map("ListCertificates", &owner.app, e))?;
            arns.extend(
                out.certificate_summary_list()
                    .iter()
                    .filter(|s| wanted(s.domain_name()))
                    .filter_map(|s| Some((s.certificate_arn()?.to_string(), s.created_at().map(|t| t.secs())))),
            );
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        arns.sort_by_key(|(_, created)| std::cmp::Reverse(*created));
        // Each candidate's tags and description together, newest first as listed.
        let checks = arns.into_iter().map(|(arn, _)| async move {
            let (owned, info) = tokio::join!(self.certificate_owned(owner, &arn), self.describe(&arn));
            Ok::<_, scaling_core::ProviderError>(if owned? { Some(info?) } else { None })
        });
        let found: Vec<_> = futures::stream::iter(checks).buffered(CONCURRENT_READS).try_collect().await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn request_certificate(&self, desired: &DesiredCertificate) -> ProviderResult<CertificateInfo> {
        let tags = desired
            .tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| build("RequestCertificate", &desired.spec.domain, e))?;
        let out = self
            .acm
            .request_certificate()
            .domain_name(&desired.spec.domain)
            .set_subject_alternative_names(
                (!desired.spec.alternative_names.is_empty()).then(|| desired.spec.alternative_names.clone()),
            )
            .validation_method(ValidationMethod::Dns)
            .idempotency_token(&desired.request_key)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| map("RequestCertificate", &desired.spec.domain, e))?;
        let arn = out
            .certificate_arn()
            .ok_or_else(|| missing("RequestCertificate", &desired.spec.domain, "CertificateArn"))?;
        self.describe(arn).await
    }

    async fn describe_certificate(&self, certificate: &CertificateInfo) -> ProviderResult<CertificateInfo> {
        self.describe(&certificate.id).await
    }

    async fn delete_certificate(&self, owner: &Owner, certificate: &CertificateInfo) -> ProviderResult<()> {
        match self.certificate_owned(owner, &certificate.id).await {
            Ok(true) => {}
            Ok(false) => return Err(not_owned("DeleteCertificate", &certificate.id, owner)),
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        }
        self.acm
            .delete_certificate()
            .certificate_arn(&certificate.id)
            .send()
            .await
            .map_err(|e| map("DeleteCertificate", &certificate.id, e))?;
        Ok(())
    }
}
