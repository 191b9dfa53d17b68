//! What the spec asks of each provider, derived once from the spec and the image.

use sha2::{Digest, Sha256};

use super::kinds;
use super::resource::{Ids, Resource};
use super::StepId;
use crate::names::ResourceNames;
use crate::providers::{
    Capabilities, CertificateSpec, ClusterInfo, DesiredAutoscaling, DesiredCertificate, DesiredListener,
    DesiredRevision, DesiredService, ListenerAction, ListenerSpec, Owner, Protocol, RevisionSpec, ScalingPolicy,
    ScalingTarget, ServiceSpec, Tags, TrafficSource,
};
use crate::spec::{ImageReference, Spec};
use crate::ImageArtifact;

/// Where the image of a deployment comes from, resolved before planning.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum ImageSource {
    /// A prebuilt image used as is (pinned when it has a digest).
    Prebuilt(ImageReference),
    /// An image built locally, to push to the app's repository.
    Built(ImageArtifact),
}

impl ImageSource {
    /// True when `image` (a task definition's image) is this image.
    pub fn matches(&self, image: &str) -> bool {
        match self {
            ImageSource::Prebuilt(reference) => image == reference.to_string(),
            ImageSource::Built(artifact) => image.ends_with(&format!("@{}", artifact.digest)),
        }
    }

    /// A short description: the digest or the reference.
    pub fn describe(&self) -> String {
        match self {
            ImageSource::Prebuilt(reference) => reference.to_string(),
            ImageSource::Built(artifact) => artifact.digest.clone(),
        }
    }
}

/// The desired state of every resource, as far as it can be known before apply.
#[derive(Debug, Clone)]
pub(crate) struct Desired {
    pub spec: Spec,
    pub owner: Owner,
    pub names: ResourceNames,
    pub tags: Tags,
    pub image: ImageSource,
    /// What the providers are: which steps exist.
    pub capabilities: Capabilities,
    /// Tells this run from others (the clock and the process at planning time).
    pub run: String,
}

fn run_id() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{}-{nanos}", std::process::id())
}

/// The HTTPS port the redirect points at.
pub(crate) const HTTPS_PORT: u16 = 443;
/// The plain HTTP port.
pub(crate) const HTTP_PORT: u16 = 80;

impl Desired {
    pub fn new(spec: &Spec, image: ImageSource, capabilities: Capabilities) -> Self {
        let owner = Owner::new(&spec.app.name);
        Self {
            tags: owner.tags(&spec.tags),
            names: capabilities.names(&spec.app.name),
            owner,
            spec: spec.clone(),
            image,
            capabilities,
            run: run_id(),
        }
    }

    /// What HTTP:80 must end up doing.
    pub fn final_http_action(&self, backend_id: &str) -> ListenerAction {
        match &self.spec.domain {
            Some(domain) if domain.https && domain.redirect_http => {
                ListenerAction::RedirectToHttps { port: HTTPS_PORT }
            }
            _ => ListenerAction::Forward { backend_id: backend_id.into() },
        }
    }

    pub fn http_listener(&self, action: ListenerAction) -> DesiredListener {
        DesiredListener {
            spec: ListenerSpec {
                port: HTTP_PORT,
                protocol: Protocol::Http,
                action,
                certificate_id: None,
                min_tls_version: None,
            },
            hosts: self.hosts(),
            tags: self.tags.clone(),
        }
    }

    pub fn https_listener(&self, backend_id: &str, certificate_id: &str) -> Option<DesiredListener> {
        let domain = self.spec.domain.as_ref().filter(|d| d.https)?;
        Some(DesiredListener {
            spec: ListenerSpec {
                port: HTTPS_PORT,
                protocol: Protocol::Https,
                action: ListenerAction::Forward { backend_id: backend_id.into() },
                certificate_id: Some(certificate_id.into()),
                min_tls_version: Some(domain.min_tls_version),
            },
            hosts: self.hosts(),
            tags: self.tags.clone(),
        })
    }

    pub fn certificate(&self) -> Option<DesiredCertificate> {
        let domain = self.spec.domain.as_ref().filter(|d| d.https)?;
        let mut alternative_names: Vec<String> = domain.hostnames().into_iter().skip(1).collect();
        alternative_names.sort();
        let mut hash = Sha256::new();
        // The run is part of the key: retries within one run return the same certificate, while a
        // deploy after a destroy gets a new one (a key outlives the certificate it was used for).
        hash.update(format!("{}|{}|{}|{}", self.names.app, domain.name, alternative_names.join(","), self.run));
        let request_key = hex::encode(hash.finalize())[..32].to_string();
        Some(DesiredCertificate {
            spec: CertificateSpec { domain: domain.name.clone(), alternative_names },
            request_key,
            tags: self.tags.clone(),
        })
    }

    pub fn revision(&self, image: &str) -> DesiredRevision {
        let app = &self.spec.app;
        DesiredRevision {
            spec: RevisionSpec {
                family: self.names.revision.clone(),
                container: self.names.container.clone(),
                image: image.into(),
                platform: self.platform(),
                cpu: app.cpu,
                memory: app.memory,
                port: app.port,
                env: self.spec.env.clone(),
                secrets: self.spec.secrets.clone(),
            },
            health_check: self.spec.health_check.clone(),
            tags: self.tags.clone(),
        }
    }

    /// The spec's host names, sorted (none without a domain).
    pub fn hosts(&self) -> Vec<String> {
        let mut hosts = self.spec.hostnames();
        hosts.sort();
        hosts
    }

    /// The cluster a service runs in: the observed one, or where the providers have no cluster step
    /// (Cloud Run, a Kubernetes namespace made elsewhere), the app's by name alone.
    pub fn cluster_or_implicit(&self, observed: Option<&ClusterInfo>) -> Option<ClusterInfo> {
        match observed {
            Some(cluster) => Some(cluster.clone()),
            None if !self.capabilities.has_step(crate::StepId::Cluster) => {
                Some(ClusterInfo::implicit(&self.names.cluster))
            }
            None => None,
        }
    }

    pub fn platform(&self) -> crate::spec::Platform {
        match &self.image {
            ImageSource::Built(artifact) => artifact.platform,
            ImageSource::Prebuilt(_) => self.spec.image.platform,
        }
    }

    /// The service, given the ids of what it refers to; the count it runs now (as observed) is kept
    /// (within the bounds) when autoscaling owns the count.
    pub fn service(&self, ids: &dyn Ids) -> crate::Result<DesiredService> {
        let o = ids.observed();
        let (revision_id, template) = self.service_revision(ids)?;
        Ok(DesiredService {
            spec: ServiceSpec {
                name: self.names.service.clone(),
                revision_id,
                desired_count: self.desired_count(o.one::<kinds::Service>().map(|s| s.spec.desired_count)),
                firewall_id: ids.id(StepId::ReplicaFirewall)?,
            },
            cluster: ids.cluster()?,
            template,
            container: self.names.container.clone(),
            traffic: TrafficSource {
                backend_id: ids.id(StepId::Backend)?,
                firewall_id: ids.id(StepId::LoadBalancerFirewall)?,
                container_port: self.spec.app.port,
            },
            health_check_grace_period: self.spec.health_check.grace_period,
            autoscaled: self.spec.scaling.is_some(),
            restart_rollout: false,
            tags: self.tags.clone(),
        })
    }

    /// The revision the service runs: the revision step's, or where the providers make revisions
    /// through the service, the running one's id (unchanged) or a placeholder, with the template.
    fn service_revision(&self, ids: &dyn Ids) -> crate::Result<(String, Option<DesiredRevision>)> {
        if let Some(id) = ids.id(StepId::Revision)? {
            return Ok((id, None));
        }
        let template = kinds::Revision::desired(self, ids)?;
        let running = super::resource::kept::<kinds::Revision>(self, ids.observed(), &template);
        let id = running.map_or_else(|| kinds::Revision::PLACEHOLDER.to_string(), |r| r.id.clone());
        Ok((id, Some(template)))
    }

    /// The count the service should have: the spec's, or with autoscaling the one it has now (a
    /// deploy never resets what autoscaling set), kept within the bounds.
    pub fn desired_count(&self, current: Option<u32>) -> u32 {
        match (&self.spec.scaling, current) {
            (Some(scaling), Some(current)) => scaling.clamp(current),
            _ => self.spec.initial_count(),
        }
    }

    /// Autoscaling of the service, when the spec asks for it; the request counts are read on the
    /// load balancer's backend pool.
    pub fn autoscaling(&self, ids: &dyn Ids) -> crate::Result<Option<DesiredAutoscaling>> {
        let Some(scaling) = self.spec.scaling.as_ref() else { return Ok(None) };
        let mut targets: Vec<ScalingTarget> = [
            scaling.cpu_percent.map(ScalingTarget::CpuPercent),
            scaling.requests_per_second.map(ScalingTarget::RequestsPerSecond),
        ]
        .into_iter()
        .flatten()
        .collect();
        targets.sort();
        Ok(Some(DesiredAutoscaling {
            spec: ScalingPolicy {
                min: scaling.min,
                max: scaling.max,
                targets,
                scale_out_cooldown: scaling.scale_out_cooldown,
                scale_in_cooldown: scaling.scale_in_cooldown,
            },
            cluster: self.names.cluster.clone(),
            service: self.names.service.clone(),
            load_balancer_id: ids.id(StepId::LoadBalancer)?,
            backend_id: ids.id(StepId::Backend)?,
            tags: self.tags.clone(),
        }))
    }

    /// The row label of `step`: `neutral` (`noun name`) in the providers' own words.
    pub fn label(&self, step: crate::StepId, neutral: String) -> String {
        (self.capabilities.words)(step, &self.spec, neutral)
    }

    /// True when the spec serves a listener on `port`: HTTP always, HTTPS when the domain has it.
    pub fn wants_listener(&self, port: u16) -> bool {
        port == HTTP_PORT || (port == HTTPS_PORT && self.spec.https())
    }

    /// The apex domain, when there is one.
    pub fn apex(&self) -> Option<&str> {
        self.spec.domain.as_ref().map(|d| d.name.as_str())
    }
}
