//! [`Registry`] locally: images are bundles in a content-addressed store on disk; a repository is the
//! app's name for its bundles there.

use async_trait::async_trait;
use scaling_core::providers::{
    BuildRequest, DesiredRepository, ImageArtifact, ImageRef, Owner, Registry, RepositoryInfo,
};
use scaling_core::{ErrorKind, ProviderError, ProviderResult};

use crate::bundle;
use crate::cloud::LocalCloud;
use crate::owned::owner_of;

#[async_trait]
impl Registry for LocalCloud {
    async fn find_repository(&self, owner: &Owner, name: &str) -> ProviderResult<Option<RepositoryInfo>> {
        self.records.repositories.find(owner, name, "find_repository")
    }

    async fn ensure_repository(&self, desired: &DesiredRepository) -> ProviderResult<RepositoryInfo> {
        let owner = owner_of(&desired.tags);
        self.records.repositories.put(&owner, &desired.name, "ensure_repository", |_| {
            Ok(RepositoryInfo {
                name: desired.name.clone(),
                uri: format!("bundle://{}", desired.name),
                drift: Vec::new(),
            })
        })
    }

    async fn build_image(&self, request: &BuildRequest) -> ProviderResult<ImageArtifact> {
        if let Some(archive) = &request.archive {
            let message = "the local provider runs apps it builds from image.context; a built image archive needs a container runtime";
            return Err(ProviderError::new(
                "build_image",
                archive.display().to_string(),
                ErrorKind::InvalidRequest,
                message,
            ));
        }
        let (paths, context, dockerfile) = (self.paths.clone(), request.context.clone(), request.dockerfile.clone());
        let (app, command) = (request.app.clone(), self.settings.build.clone());
        let resource = context.display().to_string();
        // Dropping this future (an interrupted deploy) stops the build's child processes at once.
        let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let _stop_on_drop = crate::build_command::CancelOnDrop(cancel.clone());
        let built = tokio::task::spawn_blocking(move || {
            let input =
                bundle::BuildInput { app: &app, context: &context, dockerfile: &dockerfile, build: command.as_deref() };
            bundle::build(&paths, input, &cancel)
        })
        .await
        .map_err(|e| ProviderError::new("build_image", &resource, ErrorKind::Other, e.to_string()))?
        .map_err(|e| ProviderError::new("build_image", &resource, ErrorKind::InvalidRequest, e.to_string()))?;
        // Bundles run natively, so they suit whatever platform the spec names.
        Ok(ImageArtifact { digest: built.manifest.digest, platform: request.platform, path: built.dir })
    }

    /// The bundle `digest`, when the store has it.
    async fn find_image(&self, repository: &RepositoryInfo, digest: &str) -> ProviderResult<Option<ImageRef>> {
        Ok(bundle::find(&self.paths, digest).map(|_| reference(repository, digest)))
    }

    async fn push_image(&self, repository: &RepositoryInfo, artifact: &ImageArtifact) -> ProviderResult<ImageRef> {
        if bundle::find(&self.paths, &artifact.digest).is_none() {
            return Err(ProviderError::new(
                "push_image",
                &artifact.digest,
                ErrorKind::NotFound,
                "the bundle is not in the local store; build it first",
            ));
        }
        Ok(reference(repository, &artifact.digest))
    }

    /// Forgets the repository. The bundles stay in the store, which other deployments of the same
    /// app may share; `destroy --delete-images` removes them through [`crate::bundle_removal`].
    async fn delete_repository(
        &self,
        owner: &Owner,
        repository: &RepositoryInfo,
        _delete_images: bool,
    ) -> ProviderResult<()> {
        self.records.repositories.remove(owner, &repository.name, "delete_repository").map(drop)
    }
}

/// `bundle://<repository>@<digest>`: the form a revision's image takes here.
fn reference(repository: &RepositoryInfo, digest: &str) -> ImageRef {
    ImageRef { reference: format!("{}@{digest}", repository.uri), digest: digest.to_string() }
}
