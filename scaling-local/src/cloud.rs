//! [`LocalCloud`]: the five traits on one machine. The effects are real (bundles, processes, the TLS
//! balancer, certificates from the local CA); what exists and who owns it is kept in [`Owned`] records,
//! one table per kind of resource this machine has.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock};

use scaling_core::providers::{
    BackendInfo, CertificateInfo, ClusterInfo, ListenerInfo, LoadBalancerInfo, RepositoryInfo, RevisionInfo,
    ServiceInfo,
};
use scaling_core::{Capabilities, Capable, ErrorKind, ProviderError, ProviderResult, Spec, SpecErrors, StepId};

use crate::balancer::Balancer;
use crate::ca::LocalCa;
use crate::owned::Owned;
use crate::paths::Paths;
use crate::run_record::RunRecord;
use crate::secrets::SecretValues;
use crate::settings::LocalSettings;
use crate::supervisor::Supervisor;

/// The local provider. One per process; `shutdown` stops its replicas and listeners.
pub struct LocalCloud {
    pub(crate) paths: Paths,
    pub(crate) settings: LocalSettings,
    pub(crate) balancer: Balancer,
    pub(crate) supervisor: Supervisor,
    ca: OnceLock<LocalCa>,
    pub(crate) records: Records,
    pub(crate) operation_locks: crate::operation_lock::OperationLocks,
    record: Mutex<Option<(String, tokio::task::JoinHandle<()>)>>,
    /// `[secrets]` values the deploying shell set, and the env file for the others.
    pub(crate) secrets: Mutex<(SecretValues, Option<std::path::PathBuf>)>,
    /// The certificate provider whose certificates the balancer serves, when it is not the local CA
    /// (an ACME authority for a public domain).
    pub(crate) served_certificates: Option<std::sync::Arc<dyn scaling_core::Certificate>>,
}

/// What this process made, by kind.
#[derive(Default)]
pub(crate) struct Records {
    /// Bundle stores (the registry's repositories), by name.
    pub repositories: Owned<RepositoryInfo>,
    /// The supervisor under a cluster's name, by name.
    pub clusters: Owned<ClusterInfo>,
    /// The revisions of each family, oldest first, by family.
    pub revisions: Owned<Vec<RevisionInfo>>,
    /// Supervised services as they were asked for, by name.
    pub services: Owned<ServiceInfo>,
    /// The balancer under a load balancer's name, by name.
    pub load_balancers: Owned<LoadBalancerInfo>,
    /// Replica pools, by name (a pool's id is its name).
    pub backends: Owned<BackendInfo>,
    /// Autoscaling as it was asked for, by service name.
    pub autoscalers: Owned<scaling_core::providers::AutoscalingInfo>,
    /// Listeners with the load balancer they belong to, by id.
    pub listeners: Owned<(String, ListenerInfo)>,
    /// Certificate requests with the key that made them, by id.
    pub certificates: Owned<(String, CertificateInfo)>,
    /// The last certificate number handed out.
    pub certificate_serial: AtomicU64,
}

/// What this machine is: no firewall resources (replicas listen on loopback, the balancer is the only
/// entry), certificates from the local CA (no validation records), `*.localhost` names that resolve
/// here by themselves (no zone, no records), and replicas that start whether a port forwards to their
/// pool yet or not.
pub const LOCAL_CAPABILITIES: Capabilities = Capabilities::CLOUD
    .without_firewalls()
    .with_self_managed_certificates()
    .without_dns_records()
    .with_services_before_listeners()
    .with_naming(scaling_core::Naming::PLAIN)
    .with_words(crate::words::this_machine);

/// What one public server is with [`PublicSettings`](crate::PublicSettings): the same machine, its
/// names published as records in the domain's zone, and its certificate validated by `challenge`:
/// DNS-01 by records there, or HTTP-01 by the balancer's plain port once the names lead here (the
/// wait for the certificate follows the records and that port).
pub fn public_capabilities(challenge: scaling_acme::ChallengeKind) -> Capabilities {
    let public = LOCAL_CAPABILITIES
        .with_dns_records()
        .with_endpoint(scaling_core::providers::EndpointShape::Addresses)
        .with_words(crate::words::public_server);
    match challenge {
        scaling_acme::ChallengeKind::Dns01 => public.with_published_records(),
        scaling_acme::ChallengeKind::Http01 => {
            let after_binding = public.with_certificates_after_binding();
            let graph = after_binding.graph.with_edge(StepId::CertificateIssued, StepId::HttpListener);
            after_binding.with_graph(graph)
        }
    }
}

impl Capable for LocalCloud {
    fn capabilities(&self) -> Capabilities {
        match &self.settings.public {
            Some(public) => public_capabilities(public.acme.challenge),
            None => LOCAL_CAPABILITIES,
        }
    }
}

/// How often a recorded deployment's replica list is brought up to date.
const RECORD_REFRESH: std::time::Duration = std::time::Duration::from_secs(1);

impl LocalCloud {
    /// A local cloud keeping its files under `paths`, listening on the ports of `settings`.
    pub fn new(paths: Paths, settings: LocalSettings) -> Self {
        Self {
            supervisor: Supervisor::new(paths.clone()),
            paths,
            settings,
            balancer: Balancer::new(),
            ca: OnceLock::new(),
            records: Records::default(),
            operation_locks: Default::default(),
            record: Mutex::new(None),
            secrets: Mutex::new((SecretValues::default(), None)),
            served_certificates: None,
        }
    }

    /// The same cloud serving, on its HTTPS listener, certificates of `provider` (which must hand
    /// out their [key material](scaling_core::Certificate::key_material)), e.g. an ACME authority's
    /// for a public domain; the local CA's otherwise.
    pub fn serving_certificates_of(mut self, provider: std::sync::Arc<dyn scaling_core::Certificate>) -> Self {
        self.served_certificates = Some(provider);
        self
    }

    /// The same cloud giving replicas the `[secrets]` values in `shell` (the deploying shell's),
    /// else those of `file`.
    pub fn with_secrets(self, shell: SecretValues, file: Option<std::path::PathBuf>) -> Self {
        *lock(&self.secrets) = (shell, file);
        self
    }

    /// A local cloud for `spec`: files under `$SCALING_HOME` (or the user's data directory), ports from
    /// the spec's `[provider.local]` table (refused, naming the key, when it does not parse).
    pub fn from_env(spec: &Spec) -> Result<Self, SpecErrors> {
        let settings = spec.settings::<LocalSettings>()?;
        let file = settings.secrets_file.as_deref().map(|f| crate::secrets::file_path(f, spec.config_dir.as_deref()));
        let shell = SecretValues::from_shell(spec.secrets.keys());
        Ok(Self::new(Paths::from_env(), settings).with_secrets(shell, file))
    }

    /// The local CA, created on first use.
    pub fn ca(&self) -> ProviderResult<&LocalCa> {
        if let Some(ca) = self.ca.get() {
            return Ok(ca);
        }
        let ca = LocalCa::open(&self.paths.ca())
            .map_err(|e| ProviderError::new("open_ca", "local CA", ErrorKind::Other, e.to_string()))?;
        Ok(self.ca.get_or_init(|| ca))
    }

    /// The folders this cloud uses.
    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    /// The supervisor, e.g. to list replica processes.
    pub fn supervisor(&self) -> &Supervisor {
        &self.supervisor
    }

    /// The port the listener known as `port` (80 or 443) is bound to, if it runs.
    pub fn listener_port(&self, port: u16) -> Option<u16> {
        self.balancer.listener_addr(port).map(|a| a.port())
    }

    /// Writes `record` to its state file and keeps its replica list current until [`Self::shutdown`],
    /// which removes the file.
    pub fn record(self: &Arc<Self>, mut record: RunRecord) -> std::io::Result<()> {
        record.replicas = self.supervisor.replica_pids(&record.service);
        record.save(&self.paths)?;
        let cloud = Arc::downgrade(self);
        let app = record.app.clone();
        let keeper = tokio::spawn(async move {
            loop {
                tokio::time::sleep(RECORD_REFRESH).await;
                let Some(cloud) = cloud.upgrade() else { return };
                let replicas = cloud.supervisor.replica_pids(&record.service);
                if replicas != record.replicas {
                    record.replicas = replicas;
                    if let Err(error) = record.save(&cloud.paths) {
                        tracing::warn!(%error, "could not update the state file");
                    }
                }
            }
        });
        if let Some((_, previous)) = lock(&self.record).replace((app, keeper)) {
            previous.abort();
        }
        Ok(())
    }

    /// Stops every replica (draining it first) and every listener, and removes the state file.
    pub async fn shutdown(&self) {
        self.supervisor.shutdown().await;
        self.balancer.shutdown().await;
        if let Some((app, keeper)) = lock(&self.record).take() {
            keeper.abort();
            if let Err(error) = RunRecord::remove(&self.paths, &app) {
                tracing::warn!(%error, "could not remove the state file");
            }
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The spec as the local provider serves it: the domain becomes `<app>.localhost` (aliases follow it,
/// `www` → `www.<app>.localhost`), names browsers resolve to this machine without touching system files.
/// An app with no domain is served on `https://<app>.localhost` all the same: HTTPS is never optional here.
pub fn localize(spec: &Spec) -> Spec {
    let mut local = spec.clone();
    if local.domain.is_none() {
        let mut domain = scaling_core::DomainSpec::new(format!("{}.localhost", spec.app.name));
        domain.aliases.clear();
        local.domain = Some(domain);
        return local;
    }
    if let Some(domain) = &mut local.domain {
        domain.name = format!("{}.localhost", spec.app.name);
        let apex = spec.domain.as_ref().map(|d| d.name.clone()).unwrap_or_default();
        domain.aliases = domain
            .aliases
            .iter()
            .map(|alias| alias.strip_suffix(&format!(".{apex}")).unwrap_or(alias).to_string())
            .collect();
    }
    local
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_domain_becomes_localhost_names() {
        let spec = Spec::new("dashmath", 8050, scaling_core::ImageSpec::build(".")).with_domain("dashmath.example.com");
        let mut with_full_alias = spec.clone();
        with_full_alias.domain.as_mut().unwrap().aliases = vec!["www".into(), "app.dashmath.example.com".into()];
        assert_eq!(localize(&spec).hostnames(), ["dashmath.localhost", "www.dashmath.localhost"]);
        assert_eq!(
            localize(&with_full_alias).hostnames(),
            ["dashmath.localhost", "www.dashmath.localhost", "app.dashmath.localhost"]
        );
        localize(&with_full_alias).validate().unwrap();
    }

    #[test]
    fn an_app_without_a_domain_is_served_over_https_on_its_localhost_name() {
        let spec = Spec::new("calc", 8080, scaling_core::ImageSpec::build("."));
        let local = localize(&spec);
        assert_eq!(local.hostnames(), ["calc.localhost"]);
        assert!(local.https());
        local.validate().unwrap();
    }
}
