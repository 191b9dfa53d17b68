//! Artifact Registry and Cloud Run services: repositories, and services whose updates make revisions.

use async_trait::async_trait;
use scaling_core::providers::{
    BuildRequest, ClusterInfo, DesiredRepository, DesiredRevision, DesiredService, ImageArtifact, ImageRef,
    RepositoryInfo, RevisionInfo, Rollout, ServiceInfo,
};
use scaling_core::{Cluster, ErrorKind, Owner, ProviderResult, Registry};

use super::{error, lacks, owned, owner_of, CloudRunShaped, Labelled, State};

#[async_trait]
impl Registry for CloudRunShaped {
    async fn find_repository(&self, owner: &Owner, name: &str) -> ProviderResult<Option<RepositoryInfo>> {
        Ok(owned(self.state().repositories.get(name), owner, "find_repository", name)?.cloned())
    }

    async fn ensure_repository(&self, desired: &DesiredRepository) -> ProviderResult<RepositoryInfo> {
        let mut s = self.state();
        let owner = owner_of(&desired.tags);
        if let Some(found) = owned(s.repositories.get(&desired.name), &owner, "ensure_repository", &desired.name)? {
            return Ok(found.clone());
        }
        let info = RepositoryInfo {
            name: desired.name.clone(),
            uri: format!("europe-docker.pkg.dev/project/{}", desired.name),
            drift: Vec::new(),
        };
        s.repositories.insert(desired.name.clone(), Labelled { value: info.clone(), labels: desired.tags.clone() });
        Ok(info)
    }

    async fn build_image(&self, request: &BuildRequest) -> ProviderResult<ImageArtifact> {
        Err(error("build_image", &request.app, ErrorKind::Unsupported, "give a prebuilt image"))
    }

    async fn find_image(&self, _: &RepositoryInfo, _: &str) -> ProviderResult<Option<ImageRef>> {
        Ok(None)
    }

    async fn push_image(&self, repository: &RepositoryInfo, _: &ImageArtifact) -> ProviderResult<ImageRef> {
        Err(error("push_image", &repository.name, ErrorKind::Unsupported, "give a prebuilt image"))
    }

    async fn delete_repository(&self, owner: &Owner, repository: &RepositoryInfo, _: bool) -> ProviderResult<()> {
        let mut s = self.state();
        if owned(s.repositories.get(&repository.name), owner, "delete_repository", &repository.name)?.is_some() {
            s.repositories.remove(&repository.name);
        }
        Ok(())
    }
}

/// Rolls a new revision of `template` for `service`: its number follows the family's last.
fn new_revision(s: &mut State, service: &str, template: &DesiredRevision) -> RevisionInfo {
    let number = s.revisions.iter().filter(|(_, r)| r.value.spec.family == template.spec.family).count() as u32 + 1;
    let revision =
        RevisionInfo { id: format!("{}-{number:05}", template.spec.family), ..template.as_registered(number) };
    let labelled = Labelled { value: revision.clone(), labels: template.tags.clone() };
    s.revisions.push((service.to_string(), labelled));
    revision
}

fn serving(s: &State, revision_id: &str) -> bool {
    s.services.values().any(|svc| svc.value.spec.revision_id == revision_id)
}

#[async_trait]
impl Cluster for CloudRunShaped {
    /// The revision the family's service serves, else its newest.
    async fn find_revision(&self, owner: &Owner, family: &str) -> ProviderResult<Option<RevisionInfo>> {
        let s = self.state();
        let mine = s.revisions.iter().rev().filter(|(_, r)| r.value.spec.family == family && owner.owns(&r.labels));
        let mut newest = None;
        for (_, revision) in mine {
            if serving(&s, &revision.value.id) {
                return Ok(Some(revision.value.clone()));
            }
            newest = newest.or(Some(revision.value.clone()));
        }
        Ok(newest)
    }

    async fn register_revision(&self, desired: &DesiredRevision) -> ProviderResult<RevisionInfo> {
        Err(error(
            "register_revision",
            &desired.spec.family,
            ErrorKind::Unsupported,
            "Cloud Run makes revisions only by updating the service",
        ))
    }

    async fn deregister_revisions(&self, owner: &Owner, family: &str) -> ProviderResult<()> {
        let mut s = self.state();
        let serving_ids: Vec<String> = s.services.values().map(|svc| svc.value.spec.revision_id.clone()).collect();
        s.revisions.retain(|(_, r)| {
            r.value.spec.family != family || !owner.owns(&r.labels) || serving_ids.contains(&r.value.id)
        });
        Ok(())
    }

    /// Services live in a project and region: only the implicit cluster has them. A rollout
    /// finishes by the next look.
    async fn find_service(
        &self,
        owner: &Owner,
        cluster: &ClusterInfo,
        name: &str,
    ) -> ProviderResult<Option<ServiceInfo>> {
        if !cluster.id.is_empty() {
            return Err(lacks("find_service", &cluster.name, "cluster object"));
        }
        let mut s = self.state();
        if owned(s.services.get(name), owner, "find_service", name)?.is_none() {
            return Ok(None);
        }
        let Some(service) = s.services.get_mut(name) else { return Ok(None) };
        let info = &mut service.value;
        info.running_count = info.spec.desired_count;
        info.pending_count = 0;
        info.rollout = Rollout::Completed;
        Ok(Some(info.clone()))
    }

    async fn ensure_service(&self, desired: &DesiredService) -> ProviderResult<ServiceInfo> {
        let op = "ensure_service";
        let Some(template) = &desired.template else {
            return Err(error(
                op,
                &desired.spec.name,
                ErrorKind::InvalidRequest,
                "a Cloud Run service needs its template",
            ));
        };
        if desired.spec.firewall_id.is_some() || desired.traffic.backend_id.is_some() {
            return Err(lacks(op, &desired.spec.name, "firewall or backend pool in front of a service"));
        }
        let mut s = self.state();
        let owner = owner_of(&desired.tags);
        let current = owned(s.services.get(&desired.spec.name), &owner, op, &desired.spec.name)?.cloned();
        let revision_id = match &current {
            Some(svc) if svc.spec.revision_id == desired.spec.revision_id && !desired.restart_rollout => {
                svc.spec.revision_id.clone()
            }
            _ => new_revision(&mut s, &desired.spec.name, template).id,
        };
        let count = match &current {
            Some(svc) if desired.autoscaled => svc.spec.desired_count,
            _ => desired.spec.desired_count,
        };
        let mut info = desired.as_started(format!("projects/project/services/{}", desired.spec.name));
        (info.spec.revision_id, info.spec.desired_count) = (revision_id, count);
        s.services.insert(desired.spec.name.clone(), Labelled { value: info.clone(), labels: desired.tags.clone() });
        Ok(info)
    }

    async fn scale_service(&self, owner: &Owner, service: &ServiceInfo, count: u32) -> ProviderResult<ServiceInfo> {
        let mut s = self.state();
        owned(s.services.get(&service.spec.name), owner, "scale_service", &service.spec.name)?
            .ok_or_else(|| error("scale_service", &service.spec.name, ErrorKind::NotFound, "no such service"))?;
        let Some(found) = s.services.get_mut(&service.spec.name) else { unreachable!("found above") };
        found.value.spec.desired_count = count;
        found.value.rollout = Rollout::InProgress;
        Ok(found.value.clone())
    }

    /// Its revisions go with it; refused while a domain mapping still maps to it.
    async fn delete_service(&self, owner: &Owner, service: &ServiceInfo) -> ProviderResult<()> {
        let mut s = self.state();
        if owned(s.services.get(&service.spec.name), owner, "delete_service", &service.spec.name)?.is_none() {
            return Ok(());
        }
        if let Some(mapping) = s.mappings.values().find(|(target, _)| *target == service.spec.name) {
            let message = format!("domain mapping {} still maps to it", mapping.1.value.spec.name);
            return Err(error("delete_service", &service.spec.name, ErrorKind::InUse, message));
        }
        s.services.remove(&service.spec.name);
        s.revisions.retain(|(of, _)| *of != service.spec.name);
        Ok(())
    }
}

/// No step of its own.
impl scaling_core::providers::OwnSteps for CloudRunShaped {}

#[async_trait]
impl scaling_core::providers::Releases for CloudRunShaped {
    async fn revision_ids(&self, owner: &Owner, family: &str) -> ProviderResult<Vec<String>> {
        let s = self.state();
        let mine = s.revisions.iter().rev().filter(|(_, r)| r.value.spec.family == family && owner.owns(&r.labels));
        Ok(mine.map(|(_, r)| r.value.id.clone()).collect())
    }

    async fn describe_revision(&self, owner: &Owner, id: &str) -> ProviderResult<Option<RevisionInfo>> {
        let s = self.state();
        owned(s.revisions.iter().find(|(_, r)| r.value.id == id).map(|(_, r)| r), owner, "describe_revision", id)
            .map(|found| found.cloned())
    }

    async fn deregister_revision(&self, owner: &Owner, id: &str) -> ProviderResult<()> {
        let mut s = self.state();
        let found = s.revisions.iter().find(|(_, r)| r.value.id == id).map(|(_, r)| r);
        if owned(found, owner, "deregister_revision", id)?.is_none() {
            return Ok(());
        }
        if serving(&s, id) {
            return Err(error("deregister_revision", id, ErrorKind::InUse, "the service serves this revision"));
        }
        s.revisions.retain(|(_, r)| r.value.id != id);
        Ok(())
    }
}
