//! The resource the ownership checks make, find and delete by hand: the cluster where the provider's
//! graph has one, else the image repository (a provider without a cluster object, as Cloud Run is).

use crate::providers::{ClusterInfo, DesiredCluster, DesiredRepository, Owner, RepositoryInfo};
use crate::{Capabilities, ProviderResult, Providers, ResourceNames, StepId};

/// Which kind the checks use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Probe {
    Cluster,
    Repository,
}

/// One probe resource as a provider returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Made {
    Cluster(ClusterInfo),
    Repository(RepositoryInfo),
}

impl Made {
    /// What tells two of them apart.
    pub fn id(&self) -> &str {
        match self {
            Made::Cluster(cluster) => &cluster.id,
            Made::Repository(repository) => &repository.uri,
        }
    }
}

impl Probe {
    /// The cluster where `capabilities` have a cluster step, else the repository.
    pub fn of(capabilities: &Capabilities) -> Self {
        match capabilities.has_step(StepId::Cluster) {
            true => Probe::Cluster,
            false => Probe::Repository,
        }
    }

    /// What the checks' messages call it.
    pub fn noun(self) -> &'static str {
        match self {
            Probe::Cluster => "cluster",
            Probe::Repository => "repository",
        }
    }

    pub async fn ensure(self, p: &Providers, names: &ResourceNames, owner: &Owner) -> ProviderResult<Made> {
        let tags = owner.tags(&Default::default());
        match self {
            Probe::Cluster => {
                let desired = DesiredCluster { name: names.cluster.clone(), tags };
                p.cluster.ensure_cluster(&desired).await.map(Made::Cluster)
            }
            Probe::Repository => {
                let desired = DesiredRepository { name: names.repository.clone(), tags };
                p.registry.ensure_repository(&desired).await.map(Made::Repository)
            }
        }
    }

    pub async fn find(self, p: &Providers, names: &ResourceNames, owner: &Owner) -> ProviderResult<Option<Made>> {
        match self {
            Probe::Cluster => Ok(p.cluster.find_cluster(owner, &names.cluster).await?.map(Made::Cluster)),
            Probe::Repository => Ok(p.registry.find_repository(owner, &names.repository).await?.map(Made::Repository)),
        }
    }

    pub async fn delete(self, p: &Providers, owner: &Owner, made: &Made) -> ProviderResult<()> {
        match made {
            Made::Cluster(cluster) => p.cluster.delete_cluster(owner, cluster).await,
            Made::Repository(repository) => p.registry.delete_repository(owner, repository, true).await,
        }
    }
}
