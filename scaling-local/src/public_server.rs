//! The providers of one public server ([`PublicSettings`]): this machine's compute and balancer, the
//! domain's records through RFC 2136 updates, its certificate from the ACME authority, which the
//! balancer serves.

use std::sync::Arc;

use scaling_acme::Acme;
use scaling_core::{Certificate, Providers, Spec, SpecErrors};
use scaling_dns_update::DnsUpdate;

use crate::cloud::LocalCloud;
use crate::paths::Paths;
use crate::public::PublicSettings;

/// One public server's providers for `spec`, and the certificate provider the balancer serves from.
pub(crate) struct PublicServer {
    /// The five providers of a deployment here.
    pub providers: Providers,
    /// This machine's compute and balancer.
    pub cloud: Arc<LocalCloud>,
    /// The ACME authority's certificates.
    pub certificates: Arc<dyn Certificate>,
}

impl PublicServer {
    /// The providers of `spec` served by this machine under `public`, refused (naming each field)
    /// when the table cannot work; makes no call.
    pub fn new(spec: &Spec, public: &PublicSettings) -> Result<Self, SpecErrors> {
        let paths = Paths::from_env();
        let problems = public.problems(spec, paths.root());
        if !problems.is_empty() {
            return Err(SpecErrors { problems });
        }
        let under = |key: &'static str| {
            move |e: SpecErrors| SpecErrors { problems: crate::public::prefixed(key, e.problems).collect() }
        };
        let dns = Arc::new(DnsUpdate::new(&public.dns).map_err(under("dns"))?);
        let acme: Arc<dyn Certificate> =
            Arc::new(Acme::new(public.acme_settings(paths.root())).map_err(under("acme"))?);
        let cloud = Arc::new(LocalCloud::from_env(spec)?.serving_certificates_of(acme.clone()));
        let providers = Providers { dns, certificate: acme.clone(), ..Providers::from_cloud(cloud.clone()) };
        Ok(Self { providers, cloud, certificates: acme })
    }
}
