//! [`Registry`] on ECR: `app-repository` with scan-on-push and immutable tags; images are found by digest.
//! Images are built with Docker or Podman (`scaling-image`) and pushed over the OCI distribution API
//! with ECR's authorization token, by digest; without a builder, deploy a prebuilt image with
//! `--image repo@sha256:…`.

use async_trait::async_trait;
use aws_sdk_ecr::types::{ImageIdentifier, ImageScanningConfiguration, ImageTagMutability, Tag};
use scaling_core::providers::{
    BuildRequest, DesiredRepository, ImageArtifact, ImageRef, Owner, Registry, RepositoryInfo,
};
use scaling_core::{ErrorKind, ProviderError, ProviderResult};

use crate::error::{build, code, map, missing, not_owned};
use crate::provider::AwsProvider;
use crate::tags::owned_by;

/// Where built image archives are kept: `$XDG_CACHE_HOME/scaling/images`, else `~/.cache/scaling/images`.
fn image_cache() -> std::path::PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME").map(std::path::PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("HOME").map(std::path::PathBuf::from).unwrap_or_else(std::env::temp_dir).join(".cache")
    });
    cache.join("scaling").join("images")
}

impl AwsProvider {
    async fn repository_owned(&self, owner: &Owner, arn: &str) -> ProviderResult<bool> {
        let out = self
            .ecr
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| map("ListTagsForResource", arn, e))?;
        Ok(owned_by(owner, out.tags().iter().map(|t| (t.key(), t.value()))))
    }
}

#[async_trait]
impl Registry for AwsProvider {
    /// The repository, with drift where its scanning or tag mutability differ from `[provider.aws]`.
    async fn find_repository(&self, owner: &Owner, name: &str) -> ProviderResult<Option<RepositoryInfo>> {
        let out = match self.ecr.describe_repositories().repository_names(name).send().await {
            Ok(out) => out,
            Err(e) if code(&e) == Some("RepositoryNotFoundException") => return Ok(None),
            Err(e) => return Err(map("DescribeRepositories", name, e)),
        };
        let Some(repo) = out.repositories().first() else { return Ok(None) };
        let arn = repo.repository_arn().ok_or_else(|| missing("DescribeRepositories", name, "RepositoryArn"))?;
        if !self.repository_owned(owner, arn).await? {
            return Err(not_owned("DescribeRepositories", name, owner));
        }
        let (scan_on_push, immutable_tags) = repository_settings(repo);
        let mut drift = Vec::new();
        let on_off = |on: bool| if on { "on" } else { "off" };
        if scan_on_push != self.settings.scan_on_push {
            drift.push(format!("scan on push: {} → {}", on_off(scan_on_push), on_off(self.settings.scan_on_push)));
        }
        if immutable_tags != self.settings.immutable_tags {
            let (now, wanted) = (on_off(immutable_tags), on_off(self.settings.immutable_tags));
            drift.push(format!("immutable tags: {now} → {wanted}"));
        }
        Ok(Some(RepositoryInfo {
            name: name.to_string(),
            uri: repo.repository_uri().unwrap_or_default().to_string(),
            drift,
        }))
    }

    async fn ensure_repository(&self, desired: &DesiredRepository) -> ProviderResult<RepositoryInfo> {
        let owner = crate::tags::owner_in(&desired.tags);
        let name = &desired.name;
        let (scan_on_push, immutable_tags) = (self.settings.scan_on_push, self.settings.immutable_tags);
        let mutability = if immutable_tags { ImageTagMutability::Immutable } else { ImageTagMutability::Mutable };
        let scanning = ImageScanningConfiguration::builder().scan_on_push(scan_on_push).build();
        match self.find_repository(&owner, name).await? {
            Some(repo) => {
                if repo.drift.iter().any(|d| d.starts_with("scan on push")) {
                    self.ecr
                        .put_image_scanning_configuration()
                        .repository_name(name)
                        .image_scanning_configuration(scanning)
                        .send()
                        .await
                        .map_err(|e| map("PutImageScanningConfiguration", name, e))?;
                }
                if repo.drift.iter().any(|d| d.starts_with("immutable tags")) {
                    self.ecr
                        .put_image_tag_mutability()
                        .repository_name(name)
                        .image_tag_mutability(mutability)
                        .send()
                        .await
                        .map_err(|e| map("PutImageTagMutability", name, e))?;
                }
            }
            None => {
                let tags = desired
                    .tags
                    .iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| build("CreateRepository", name, e))?;
                let created = self
                    .ecr
                    .create_repository()
                    .repository_name(name)
                    .image_scanning_configuration(scanning)
                    .image_tag_mutability(mutability)
                    .set_tags(Some(tags))
                    .send()
                    .await;
                match created {
                    Ok(_) => {}
                    Err(e) if code(&e) == Some("RepositoryAlreadyExistsException") => {}
                    Err(e) => return Err(map("CreateRepository", name, e)),
                }
            }
        }
        self.find_repository(&owner, name)
            .await?
            .ok_or_else(|| missing("DescribeRepositories", name, "the new repository"))
    }

    async fn build_image(&self, request: &BuildRequest) -> ProviderResult<ImageArtifact> {
        if let Some(archive) = &request.archive {
            // An image built elsewhere: of a multi-platform one, the manifest for the spec's platform (a
            // single-platform image is read as it is: its platform is its own, checked by the core).
            let (path, platform) = (archive.clone(), request.platform);
            let image = tokio::task::spawn_blocking(move || scaling_image::LocalImage::open_for(&path, Some(platform)))
                .await
                .map_err(|e| {
                    ProviderError::new("build_image", archive.display().to_string(), ErrorKind::Other, e.to_string())
                })?
                .map_err(|e| {
                    ProviderError::new(
                        "build_image",
                        archive.display().to_string(),
                        ErrorKind::InvalidRequest,
                        e.to_string(),
                    )
                })?;
            return Ok(ImageArtifact { digest: image.digest(), platform: image.platform, path: archive.clone() });
        }
        let resource = request.context.display().to_string();
        let (image, archive) =
            scaling_image::build(&request.app, &request.context, &request.dockerfile, request.platform, &image_cache())
                .await
                .map_err(|e| ProviderError::new("build_image", &resource, ErrorKind::InvalidRequest, e.to_string()))?;
        // The platform is the image's own; the orchestrator refuses one that differs from the spec's.
        Ok(ImageArtifact { digest: image.digest(), platform: image.platform, path: archive })
    }

    async fn find_image(&self, repository: &RepositoryInfo, digest: &str) -> ProviderResult<Option<ImageRef>> {
        let id = ImageIdentifier::builder().image_digest(digest).build();
        match self.ecr.describe_images().repository_name(&repository.name).image_ids(id).send().await {
            Ok(out) if !out.image_details().is_empty() => {
                Ok(Some(ImageRef { reference: format!("{}@{digest}", repository.uri), digest: digest.to_string() }))
            }
            Ok(_) => Ok(None),
            Err(e) if code(&e) == Some("ImageNotFoundException") => Ok(None),
            Err(e) => Err(map("DescribeImages", &repository.name, e)),
        }
    }

    async fn push_image(&self, repository: &RepositoryInfo, artifact: &ImageArtifact) -> ProviderResult<ImageRef> {
        let fail = |e: scaling_image::ImageError| {
            ProviderError::new("push_image", &repository.name, ErrorKind::Unavailable, e.to_string())
        };
        let image = scaling_image::LocalImage::open_for(&artifact.path, Some(artifact.platform)).map_err(fail)?;
        if image.digest() != artifact.digest {
            let message = format!("{} changed since it was built ({} now)", artifact.path.display(), image.digest());
            return Err(ProviderError::new("push_image", &repository.name, ErrorKind::InvalidRequest, message));
        }
        let registry = repository.uri.split('/').next().unwrap_or_default().to_string();
        let destination = scaling_image::Destination {
            registry,
            repository: repository.name.clone(),
            credentials: self.registry_credentials().await?,
            plain_http: false,
            upload: scaling_image::Upload::Monolithic,
        };
        let report = destination.connect().await.map_err(fail)?.push(&image).await.map_err(fail)?;
        tracing::info!(uploaded = report.uploaded.len(), reused = report.reused.len(), "pushed {}", report.digest);
        Ok(ImageRef { reference: format!("{}@{}", repository.uri, report.digest), digest: report.digest })
    }

    async fn delete_repository(
        &self,
        owner: &Owner,
        repository: &RepositoryInfo,
        delete_images: bool,
    ) -> ProviderResult<()> {
        if self.find_repository(owner, &repository.name).await?.is_none() {
            return Ok(());
        }
        match self.ecr.delete_repository().repository_name(&repository.name).force(delete_images).send().await {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == Some("RepositoryNotFoundException") => Ok(()),
            Err(e) => Err(map("DeleteRepository", &repository.name, e)),
        }
    }
}

/// (scan on push, immutable tags) as ECR describes `repo`.
fn repository_settings(repo: &aws_sdk_ecr::types::Repository) -> (bool, bool) {
    (
        repo.image_scanning_configuration().is_some_and(|c| c.scan_on_push()),
        repo.image_tag_mutability() == Some(&ImageTagMutability::Immutable),
    )
}
