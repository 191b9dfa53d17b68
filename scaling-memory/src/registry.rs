//! [`Registry`] in memory: repositories holding digests; builds hash the context folder.

use std::path::Path;

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use super::state::{check_owner, owned_key, owner_of, Repository};
use super::{not_found, InMemoryCloud};
use scaling_core::providers::{
    BuildRequest, DesiredRepository, ImageArtifact, ImageRef, Owner, Registry, RepositoryInfo,
};
use scaling_core::{ErrorKind, ProviderError, ProviderResult};

/// The digest of a folder's content: every file's relative path and bytes, in sorted order.
fn hash_folder(hash: &mut Sha256, root: &Path, dir: &Path) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let relative = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            hash_folder(hash, root, &path)?;
        } else if kind.is_file() {
            hash.update(relative.as_bytes());
            hash.update([0]);
            hash.update(std::fs::read(&path)?);
            hash.update([0]);
        }
    }
    Ok(())
}

#[async_trait]
impl Registry for InMemoryCloud {
    async fn find_repository(&self, owner: &Owner, name: &str) -> ProviderResult<Option<RepositoryInfo>> {
        self.call("find_repository", name, false, |s, _| {
            let key = owned_key(&s.repositories, |r| (&r.info.name, &r.tags), owner, name, "find_repository")?;
            Ok(key.and_then(|k| s.repositories.get(&k)).map(|r| r.info.clone()))
        })
        .await
    }

    async fn ensure_repository(&self, desired: &DesiredRepository) -> ProviderResult<RepositoryInfo> {
        self.call("ensure_repository", &desired.name, true, |s, _| {
            let owner = owner_of(&desired.tags);
            let info = RepositoryInfo {
                name: desired.name.clone(),
                uri: format!("memory.local/{}", desired.name),
                drift: Vec::new(),
            };
            match s.repositories.get_mut(&desired.name) {
                Some(repo) => {
                    check_owner(&repo.tags, &owner, "ensure_repository", &desired.name)?;
                    repo.info = info.clone();
                }
                None => {
                    let repo =
                        Repository { info: info.clone(), tags: desired.tags.clone(), images: Default::default() };
                    s.repositories.insert(desired.name.clone(), repo);
                }
            }
            Ok(info)
        })
        .await
    }

    async fn build_image(&self, request: &BuildRequest) -> ProviderResult<ImageArtifact> {
        let context = request.context.display().to_string();
        self.call("build_image", &context, false, |s, _| {
            let mut hash = Sha256::new();
            hash.update(format!("{}|{}|{}", request.dockerfile, request.platform, request.app));
            let source = request.archive.as_ref().unwrap_or(&request.context);
            if source.is_file() {
                hash.update(std::fs::read(source).map_err(|e| {
                    ProviderError::new("build_image", &context, ErrorKind::InvalidRequest, e.to_string())
                })?);
            } else if source.is_dir() {
                hash_folder(&mut hash, source, source).map_err(|e| {
                    ProviderError::new("build_image", &context, ErrorKind::InvalidRequest, e.to_string())
                })?;
            }
            Ok(ImageArtifact {
                digest: format!("sha256:{}", hex::encode(hash.finalize())),
                platform: s.build_platform.unwrap_or(request.platform),
                path: request.archive.clone().unwrap_or_else(|| request.context.clone()),
            })
        })
        .await
    }

    async fn find_image(&self, repository: &RepositoryInfo, digest: &str) -> ProviderResult<Option<ImageRef>> {
        self.call("find_image", digest, false, |s, _| {
            let repo = s.repositories.get(&repository.name).ok_or_else(|| not_found("find_image", &repository.name))?;
            Ok(repo
                .images
                .contains(digest)
                .then(|| ImageRef { reference: format!("{}@{digest}", repo.info.uri), digest: digest.into() }))
        })
        .await
    }

    async fn push_image(&self, repository: &RepositoryInfo, artifact: &ImageArtifact) -> ProviderResult<ImageRef> {
        self.call("push_image", &artifact.digest, true, |s, _| {
            let repo =
                s.repositories.get_mut(&repository.name).ok_or_else(|| not_found("push_image", &repository.name))?;
            repo.images.insert(artifact.digest.clone());
            Ok(ImageRef {
                reference: format!("{}@{}", repo.info.uri, artifact.digest),
                digest: artifact.digest.clone(),
            })
        })
        .await
    }

    async fn delete_repository(
        &self,
        owner: &Owner,
        repository: &RepositoryInfo,
        delete_images: bool,
    ) -> ProviderResult<()> {
        self.call("delete_repository", &repository.name, true, |s, _| {
            let Some(repo) = s.repositories.get(&repository.name) else { return Ok(()) };
            check_owner(&repo.tags, owner, "delete_repository", &repository.name)?;
            if !repo.images.is_empty() && !delete_images {
                return Err(ProviderError::new(
                    "delete_repository",
                    &repository.name,
                    ErrorKind::InvalidRequest,
                    format!("{} images remain; delete them too to delete the repository", repo.images.len()),
                ));
            }
            s.repositories.remove(&repository.name);
            Ok(())
        })
        .await
    }
}
