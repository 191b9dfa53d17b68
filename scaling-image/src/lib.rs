//! # scaling-image
//!
//! Step 1 of the recipe — "create a container image and upload it to a registry" — done right:
//!
//! - [`builder`]: builds with the `docker` CLI (or `podman`) for the task's platform, exporting the
//!   result as an archive, with a clear error when no builder or engine is available;
//! - [`image`]: reads an OCI image layout or a docker-archive tarball: manifest, config, layers, and the
//!   architecture the image really has; [`blob`]: layers stay on disk and are streamed when pushed;
//! - [`push`]: pushes over the OCI distribution API (with `oci-client`), uploading only the blobs the
//!   registry lacks — a second push uploads nothing, an interrupted push resumes — and addresses the
//!   result by digest. Credentials are held in memory only and never printed.

pub mod blob;
pub mod builder;
pub mod image;
mod platform_pick;
pub mod push;

pub use blob::{Blob, Content};
pub use builder::{build, Builder};
pub use image::LocalImage;
pub use push::{Credentials, Destination, PushReport, Upload};

/// Errors of building, reading and pushing images.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The image files are not a valid OCI layout or docker archive.
    #[error("invalid image: {0}")]
    Format(String),
    /// No container builder is available.
    #[error("{0}")]
    NoBuilder(String),
    /// The build failed.
    #[error("image build failed: {0}")]
    Build(String),
    /// The registry refused or failed a request.
    #[error("registry {registry}: {message}")]
    Registry {
        /// The registry host.
        registry: String,
        /// What it said.
        message: String,
    },
}

pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> ImageError + '_ {
    move |source| ImageError::Io { path: path.to_path_buf(), source }
}

/// `sha256:<hex>` of `bytes`.
pub fn digest_of(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}
