//! Releases: every deploy that changes what a replica runs registers a revision (AWS: a task
//! definition; this machine: a bundle and its settings). The newest `app.keep_releases` are kept —
//! older ones are removed after a deploy that makes a new one, never the one running — so that
//! `scaling rollback` can go back to one without a rebuild: it deploys that release's image again.

use serde::{Deserialize, Serialize};

use super::runner::Runner;
use super::{DeployReport, Orchestrator};
use crate::events::Progress;
use crate::providers::{Owner, RevisionInfo};
use crate::spec::Spec;
use crate::{Error, Result, StepId};

/// One release of the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// Its number (the revision's), counting up.
    pub number: u32,
    /// The provider's id of its revision.
    pub id: String,
    /// The image it runs, pinned by digest.
    pub image: String,
    /// When it was made, in milliseconds since the Unix epoch, where known.
    pub registered_at: Option<u64>,
    /// True for the release the service runs.
    pub current: bool,
}

/// The part of a revision id that names it, whatever form the provider gives (`family:3`, or an
/// ARN ending in `task-definition/family:3`).
fn key(id: &str) -> &str {
    id.rsplit_once('/').map_or(id, |(_, tail)| tail)
}

impl Release {
    fn of(revision: RevisionInfo, current: Option<&str>) -> Self {
        Release {
            number: revision.revision,
            current: current.is_some_and(|c| key(c) == key(&revision.id)),
            id: revision.id,
            image: revision.spec.image,
            registered_at: revision.registered_at,
        }
    }
}

impl Orchestrator {
    /// The kept releases, newest first, the running one marked.
    pub async fn releases(&self, spec: &Spec) -> Result<Vec<Release>> {
        spec.validate()?;
        let names = self.providers.capabilities.names(&spec.app.name);
        let owner = Owner::new(&spec.app.name);
        let runner = Runner::new(&self.options, &crate::Silent);
        let (label, step) = (format!("releases of {}", spec.app.name), StepId::Revision);
        let (cluster, history) = (&self.providers.cluster, &self.providers.releases);
        let current = async {
            let found = runner.call(StepId::Cluster, &label, || self.service_cluster(&owner, &names)).await?;
            match found {
                Some(c) => {
                    runner.call(StepId::Service, &label, || cluster.find_service(&owner, &c, &names.service)).await
                }
                None => Ok(None),
            }
        };
        let ids = runner.call(step, &label, || history.revision_ids(&owner, &names.revision));
        let (current, ids) = futures::future::try_join(current, ids).await?;
        let keep = usize::try_from(spec.app.keep_releases).unwrap_or(usize::MAX);
        let described = futures::future::try_join_all(
            ids.iter().take(keep).map(|id| runner.call(step, &label, || history.describe_revision(&owner, id))),
        )
        .await?;
        let current = current.map(|s| s.spec.revision_id);
        Ok(described.into_iter().flatten().map(|r| Release::of(r, current.as_deref())).collect())
    }

    /// Deploys release `to` again (by default the one before the running one): its image as it was
    /// pushed, no rebuild, with the spec's settings. It becomes the newest release.
    pub async fn rollback(&self, spec: &Spec, to: Option<u32>, progress: &dyn Progress) -> Result<DeployReport> {
        let releases = self.releases(spec).await?;
        let refuse = |why: String| Error::RolloutFailed { reason: why };
        let current = releases.iter().position(|r| r.current);
        let target = match (to, current) {
            (Some(number), _) => releases.iter().find(|r| r.number == number).ok_or_else(|| {
                let kept: Vec<String> = releases.iter().map(|r| r.number.to_string()).collect();
                refuse(format!("release {number} is not kept; the kept ones are {}", kept.join(", ")))
            })?,
            (None, Some(index)) => releases
                .get(index + 1)
                .ok_or_else(|| refuse("there is no release before the running one to go back to".to_string()))?,
            (None, None) => return Err(Error::NotDeployed { app: spec.app.name.clone(), what: "service".into() }),
        };
        if target.current {
            return Err(refuse(format!("release {} is the one running", target.number)));
        }
        let image = target.image.clone();
        self.deploy(spec, Some(&image), progress).await
    }

    /// Removes the releases beyond the newest `keep`, never `running`; returns what it removed
    /// (nothing where the providers keep no history).
    pub(crate) async fn prune_releases(
        runner: &Runner<'_>,
        providers: &super::Providers,
        owner: &Owner,
        family: &str,
        keep: u32,
        running: &str,
    ) -> Result<Vec<String>> {
        let (step, label) = (StepId::Cleanup, format!("releases of {}", owner.app));
        let history = &providers.releases;
        let ids = match runner.call(step, &label, || history.revision_ids(owner, family)).await {
            Err(Error::Provider { source, .. }) if source.kind == crate::ErrorKind::Unsupported => {
                return Ok(Vec::new())
            }
            ids => ids?,
        };
        let keep = usize::try_from(keep).unwrap_or(usize::MAX);
        let doomed: Vec<&String> = ids.iter().skip(keep).filter(|id| key(id) != key(running)).collect();
        for id in &doomed {
            runner.call(step, &label, || history.deregister_revision(owner, id)).await?;
        }
        Ok(doomed.into_iter().cloned().collect())
    }
}
