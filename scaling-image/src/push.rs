//! Pushing over the OCI distribution API: blobs the registry already has are skipped (so a second push
//! uploads nothing and an interrupted push resumes where it stopped), then the manifest is put by digest
//! and under an informational tag derived from it (safe in immutable-tag repositories).

use futures::TryStreamExt;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};

use crate::blob::{Blob, Content};
use crate::image::LocalImage;
use crate::ImageError;

/// How much of a file is read at a time when a blob is streamed.
const STREAM_BUFFER: usize = 1 << 20;

/// Registry credentials, held in memory only; `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// No authentication.
    Anonymous,
    /// HTTP basic authentication (ECR: user `AWS` and the decoded authorization token).
    Basic {
        /// The user name.
        username: String,
        /// The password; never printed.
        password: String,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
        }
    }
}

/// How blobs travel to the registry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Upload {
    /// In chunks of a few MiB (the spec's PATCH requests); a registry that strays from the spec gets
    /// the blob again in one request.
    #[default]
    Chunked,
    /// One request per blob. For ECR: its chunked upload answers 201 where the spec says 202 and drops
    /// every chunk after the first (aws/containers-roadmap#2831), so chunking there only wastes a chunk.
    Monolithic,
}

/// Where to push.
#[derive(Debug, Clone)]
pub struct Destination {
    /// The registry host (and port), e.g. `123.dkr.ecr.us-west-2.amazonaws.com` or `127.0.0.1:5000`.
    pub registry: String,
    /// The repository, e.g. `app-repository`.
    pub repository: String,
    /// How to authenticate.
    pub credentials: Credentials,
    /// Use plain HTTP (a registry on loopback in tests); HTTPS otherwise.
    pub plain_http: bool,
    /// How blobs are uploaded.
    pub upload: Upload,
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReport {
    /// The image's digest.
    pub digest: String,
    /// `registry/repository@digest`.
    pub reference: String,
    /// Blobs uploaded by this push.
    pub uploaded: Vec<String>,
    /// Blobs the registry already had.
    pub reused: Vec<String>,
}

/// A connection to one repository of one registry.
pub struct Pusher {
    client: Client,
    reference: Reference,
    registry: String,
}

impl Destination {
    fn error(&self, message: impl std::fmt::Display) -> ImageError {
        ImageError::Registry { registry: self.registry.clone(), message: message.to_string() }
    }

    /// Connects and authenticates for pushing.
    pub async fn connect(&self) -> Result<Pusher, ImageError> {
        let protocol = if self.plain_http { ClientProtocol::Http } else { ClientProtocol::Https };
        let use_monolithic_push = self.upload == Upload::Monolithic;
        let client = Client::new(ClientConfig { protocol, use_monolithic_push, ..ClientConfig::default() });
        let reference = Reference::with_tag(self.registry.clone(), self.repository.clone(), "latest".into());
        let auth = match &self.credentials {
            Credentials::Anonymous => RegistryAuth::Anonymous,
            Credentials::Basic { username, password } => RegistryAuth::Basic(username.clone(), password.clone()),
        };
        client
            .auth(&reference, &auth, RegistryOperation::Push)
            .await
            .map_err(|e| self.error(format!("authentication failed: {e}")))?;
        Ok(Pusher { client, reference, registry: self.registry.clone() })
    }
}

impl Pusher {
    fn error(&self, message: impl std::fmt::Display) -> ImageError {
        ImageError::Registry { registry: self.registry.clone(), message: message.to_string() }
    }

    /// True when the repository holds the blob.
    pub async fn has_blob(&self, digest: &str) -> Result<bool, ImageError> {
        self.client.blob_exists(&self.reference, digest).await.map_err(|e| self.error(e))
    }

    /// Uploads one blob unless the repository has it; true when it was uploaded. A blob on disk is
    /// streamed from its file, a chunk at a time.
    pub async fn push_blob(&self, blob: &Blob) -> Result<bool, ImageError> {
        if self.has_blob(&blob.digest).await? {
            return Ok(false);
        }
        let pushed = match &blob.content {
            Content::Bytes(data) => self.client.push_blob(&self.reference, data.clone(), &blob.digest).await,
            Content::File(file) => match self.stream(file.path(), &blob.digest, blob.size).await {
                // A stream cannot be sent twice, so a registry that strays from the chunked protocol
                // gets the blob from memory, which `push_blob` retries in one request.
                Err(OciDistributionError::SpecViolationError(why)) => {
                    tracing::debug!("chunked upload refused ({why}); sending {} in one request", blob.digest);
                    self.client.push_blob(&self.reference, blob.bytes()?, &blob.digest).await
                }
                other => other,
            },
        };
        pushed.map_err(|e| self.error(format!("uploading {}: {e}", blob.digest)))?;
        Ok(true)
    }

    async fn stream(&self, path: &std::path::Path, digest: &str, size: u64) -> oci_client::errors::Result<String> {
        let file = tokio::fs::File::open(path).await?;
        let chunks =
            tokio_util::io::ReaderStream::with_capacity(file, STREAM_BUFFER).map_err(OciDistributionError::from);
        self.client.push_blob_stream(&self.reference, chunks, digest, Some(size)).await
    }

    /// Pushes the image: missing blobs, then the manifest by digest and under the tag `sha-<12 hex>`.
    pub async fn push(&self, image: &LocalImage) -> Result<PushReport, ImageError> {
        let (mut uploaded, mut reused) = (Vec::new(), Vec::new());
        for blob in image.layers.iter().chain([&image.config]) {
            if self.push_blob(blob).await? {
                uploaded.push(blob.digest.clone());
            } else {
                reused.push(blob.digest.clone());
            }
        }
        let digest = image.digest();
        let media_type = http_header(&image.manifest_media_type).map_err(|e| self.error(e))?;
        let by_digest = self.reference.clone_with_digest(digest.clone());
        let by_digest = Reference::with_digest(
            by_digest.registry().to_string(),
            by_digest.repository().to_string(),
            digest.clone(),
        );
        self.client
            .push_manifest_raw(&by_digest, image.manifest.clone(), media_type.clone())
            .await
            .map_err(|e| self.error(format!("manifest: {e}")))?;
        let tag = format!("sha-{}", &digest.trim_start_matches("sha256:")[..12]);
        let by_tag =
            Reference::with_tag(self.reference.registry().to_string(), self.reference.repository().to_string(), tag);
        if let Err(e) = self.client.push_manifest_raw(&by_tag, image.manifest.clone(), media_type).await {
            // An immutable repository refuses a tag that exists; the same digest under it is fine.
            tracing::debug!("tag not moved: {e}");
        }
        let reference = format!("{}/{}@{digest}", self.registry, self.reference.repository());
        Ok(PushReport { digest, reference, uploaded, reused })
    }

    /// The manifest stored under `digest`, byte for byte.
    pub async fn manifest(&self, digest: &str) -> Result<bytes::Bytes, ImageError> {
        let reference = Reference::with_digest(
            self.reference.registry().to_string(),
            self.reference.repository().to_string(),
            digest.to_string(),
        );
        let accepted =
            ["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"];
        let (bytes, _) = self
            .client
            .pull_manifest_raw(&reference, &RegistryAuth::Anonymous, &accepted)
            .await
            .map_err(|e| self.error(e))?;
        Ok(bytes)
    }
}

fn http_header(value: &str) -> Result<http::HeaderValue, String> {
    http::HeaderValue::from_str(value).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_print_the_password() {
        let credentials = Credentials::Basic { username: "AWS".into(), password: "not-printed-ever".into() };
        assert_eq!(format!("{credentials:?}"), "Basic(AWS, ***)");
    }
}
