//! [`Certificate`] locally: requests are tracked like a cloud's; the certificate itself is issued by
//! the local CA when a listener needs it (see the load balancer).

use async_trait::async_trait;
use scaling_core::providers::{Certificate, CertificateInfo, DesiredCertificate, Owner};
use scaling_core::ProviderResult;

use crate::cloud::LocalCloud;

#[async_trait]
impl Certificate for LocalCloud {
    async fn find_certificates(&self, owner: &Owner) -> ProviderResult<Vec<CertificateInfo>> {
        self.memory.find_certificates(owner).await
    }

    async fn request_certificate(&self, desired: &DesiredCertificate) -> ProviderResult<CertificateInfo> {
        self.ca()?;
        self.memory.request_certificate(desired).await
    }

    async fn describe_certificate(&self, certificate: &CertificateInfo) -> ProviderResult<CertificateInfo> {
        self.memory.describe_certificate(certificate).await
    }

    async fn delete_certificate(&self, owner: &Owner, certificate: &CertificateInfo) -> ProviderResult<()> {
        self.memory.delete_certificate(owner, certificate).await
    }
}
