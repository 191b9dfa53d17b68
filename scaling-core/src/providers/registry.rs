//! [`Registry`]: where images are built and stored.

use std::path::PathBuf;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{Owner, Tags};
use crate::spec::Platform;
use crate::ProviderResult;

/// An image repository as it should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredRepository {
    /// Its name, e.g. `app-repository`.
    pub name: String,
    /// Tags, ownership included.
    pub tags: Tags,
}

/// An image repository as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryInfo {
    /// Its name.
    pub name: String,
    /// Where images are pushed, e.g. `123.dkr.ecr.us-west-2.amazonaws.com/app-repository`.
    pub uri: String,
    /// Settings the provider gives the repository itself (AWS: scan on push and immutable tags, from
    /// `[provider.aws]`) found changed out of band, in words; the next deploy puts them back.
    #[serde(default)]
    pub drift: Vec<String>,
}

/// What to build an image from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildRequest {
    /// The app name (for naming the local image).
    pub app: String,
    /// The build context folder.
    pub context: PathBuf,
    /// The Dockerfile inside it.
    pub dockerfile: String,
    /// The platform the image must run on.
    pub platform: Platform,
    /// An image already built (an OCI layout or a saved tar) to read instead of building `context`.
    pub archive: Option<PathBuf>,
}

/// A built image, not yet pushed: content-addressed by its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageArtifact {
    /// The manifest digest, `sha256:…`.
    pub digest: String,
    /// The platform it was built for (read back from the image, not assumed).
    pub platform: Platform,
    /// Where the provider keeps it locally (an OCI layout, a bundle folder, …).
    pub path: PathBuf,
}

/// An image in a repository, addressable by digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    /// The full reference the cluster pulls, `repository@sha256:…`.
    pub reference: String,
    /// The digest.
    pub digest: String,
}

/// Builds images and stores them where the cluster can pull them.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Registry: Send + Sync {
    /// The repository `name` when this owner owns it.
    async fn find_repository(&self, owner: &Owner, name: &str) -> ProviderResult<Option<RepositoryInfo>>;
    /// Creates the repository or brings its settings to `desired`.
    async fn ensure_repository(&self, desired: &DesiredRepository) -> ProviderResult<RepositoryInfo>;
    /// Builds an image locally (no remote change); the digest identifies its content.
    async fn build_image(&self, request: &BuildRequest) -> ProviderResult<ImageArtifact>;
    /// The image `digest` when the repository already holds it.
    async fn find_image(&self, repository: &RepositoryInfo, digest: &str) -> ProviderResult<Option<ImageRef>>;
    /// Uploads what the repository lacks of `artifact`; resumable, and a no-op for what is there.
    async fn push_image(&self, repository: &RepositoryInfo, artifact: &ImageArtifact) -> ProviderResult<ImageRef>;
    /// Deletes the repository; with `delete_images` false it refuses when images remain.
    async fn delete_repository(
        &self,
        owner: &Owner,
        repository: &RepositoryInfo,
        delete_images: bool,
    ) -> ProviderResult<()>;
}
