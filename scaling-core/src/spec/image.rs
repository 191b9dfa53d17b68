//! Where the app image comes from: a build context or a prebuilt reference, and its platform.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The `[image]` table: exactly one of `context` (build), `archive` (already built) or `reference`
/// (already pushed).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageSpec {
    /// The build context folder (relative to `scaling.toml`).
    #[serde(default)]
    pub context: Option<PathBuf>,
    /// The Dockerfile inside the context.
    #[serde(default = "default_dockerfile")]
    pub dockerfile: String,
    /// A prebuilt image, ideally pinned by digest (`repo@sha256:…`).
    #[serde(default)]
    pub reference: Option<String>,
    /// A built image on disk to push: an OCI image layout folder, or a tar from `docker save` /
    /// `podman save` (relative to `scaling.toml`).
    #[serde(default)]
    pub archive: Option<PathBuf>,
    /// The platform the tasks run on; the image must match it.
    #[serde(default)]
    pub platform: Platform,
}

impl ImageSpec {
    /// The files this image needs that are not there (a build context or its Dockerfile, an archive),
    /// each as a problem with the fix. Reads the file system; paths as the spec holds them.
    pub fn missing_files(&self) -> Vec<super::Problem> {
        let mut out = Vec::new();
        if let Some(context) = &self.context {
            if !context.is_dir() {
                out.push(super::Problem::new(
                    "image.context",
                    format!("the build context {} is not a folder", context.display()),
                    "point it at the folder with your app and its Dockerfile (relative to scaling.toml)",
                ));
            } else if !context.join(&self.dockerfile).is_file() {
                out.push(super::Problem::new(
                    "image.dockerfile",
                    format!("there is no {} in {}", self.dockerfile, context.display()),
                    "add a Dockerfile there (`scaling init` explains what it needs), or set image.dockerfile",
                ));
            }
        }
        if let Some(archive) = self.archive.as_ref().filter(|a| !a.exists()) {
            out.push(super::Problem::new(
                "image.archive",
                format!("{} does not exist", archive.display()),
                "save the image there first (`docker save -o FILE IMAGE`), or point at an OCI layout folder",
            ));
        }
        out
    }

    /// Build from a context folder with its `Dockerfile`.
    pub fn build(context: impl Into<PathBuf>) -> Self {
        Self {
            context: Some(context.into()),
            dockerfile: default_dockerfile(),
            reference: None,
            archive: None,
            platform: Platform::default(),
        }
    }

    /// Use a prebuilt image.
    pub fn prebuilt(reference: impl Into<String>) -> Self {
        Self {
            context: None,
            dockerfile: default_dockerfile(),
            reference: Some(reference.into()),
            archive: None,
            platform: Platform::default(),
        }
    }

    /// Push an image already built to an OCI layout folder or a `docker save` tar.
    pub fn archive(path: impl Into<PathBuf>) -> Self {
        Self {
            context: None,
            dockerfile: default_dockerfile(),
            reference: None,
            archive: Some(path.into()),
            platform: Platform::default(),
        }
    }
}

fn default_dockerfile() -> String {
    "Dockerfile".into()
}

/// The CPU architecture of the image and of the tasks that run it.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Platform {
    /// x86-64: Fargate's default.
    #[default]
    #[serde(rename = "linux/amd64")]
    LinuxAmd64,
    /// 64-bit ARM (Graviton, Apple silicon).
    #[serde(rename = "linux/arm64")]
    LinuxArm64,
}

impl Platform {
    /// The OCI architecture name (`amd64`, `arm64`).
    pub fn architecture(self) -> &'static str {
        match self {
            Platform::LinuxAmd64 => "amd64",
            Platform::LinuxArm64 => "arm64",
        }
    }

    /// The platform of an OCI architecture name, if supported.
    pub fn from_architecture(arch: &str) -> Option<Self> {
        match arch {
            "amd64" | "x86_64" => Some(Platform::LinuxAmd64),
            "arm64" | "aarch64" => Some(Platform::LinuxArm64),
            _ => None,
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "linux/{}", self.architecture())
    }
}

/// A parsed image reference: `[registry/]repository[:tag][@sha256:<64 hex>]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImageReference {
    /// Everything before the tag and digest, e.g. `123.dkr.ecr.us-west-2.amazonaws.com/app-repository`.
    pub repository: String,
    /// The tag, if any.
    pub tag: Option<String>,
    /// The digest, if any (`sha256:…`).
    pub digest: Option<String>,
}

impl ImageReference {
    /// True when the reference names an exact image by digest.
    pub fn is_pinned(&self) -> bool {
        self.digest.is_some()
    }
}

impl FromStr for ImageReference {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || s.chars().any(char::is_whitespace) {
            return Err("an image reference has no spaces and is not empty".into());
        }
        let (rest, digest) = match s.split_once('@') {
            Some((rest, digest)) => {
                let hex = digest
                    .strip_prefix("sha256:")
                    .ok_or_else(|| format!("digest `{digest}` must start with `sha256:`"))?;
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
                    return Err(format!("digest `{digest}` must be `sha256:` and 64 lowercase hex digits"));
                }
                (rest, Some(digest.to_string()))
            }
            None => (s, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(rest[last_slash + i + 1..].to_string())),
            None => (rest, None),
        };
        if repository.is_empty() || repository.ends_with('/') || repository.starts_with('/') {
            return Err(format!("`{s}` has no repository name"));
        }
        if let Some(tag) = &tag {
            let valid = !tag.is_empty()
                && tag.len() <= 128
                && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !valid {
                return Err(format!("tag `{tag}` must be 1–128 of letters, digits, `.`, `_`, `-`"));
            }
        }
        Ok(Self { repository: repository.to_string(), tag, digest })
    }
}

impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_registry_port_tag_and_digest() {
        let r: ImageReference = format!("localhost:5000/team/app:1.0@{DIGEST}").parse().unwrap();
        assert_eq!(r.repository, "localhost:5000/team/app");
        assert_eq!(r.tag.as_deref(), Some("1.0"));
        assert_eq!(r.digest.as_deref(), Some(DIGEST));
        assert_eq!(r.to_string(), format!("localhost:5000/team/app:1.0@{DIGEST}"));
    }

    #[test]
    fn a_registry_port_is_not_a_tag() {
        let r: ImageReference = "localhost:5000/app".parse().unwrap();
        assert_eq!((r.repository.as_str(), r.tag.as_deref()), ("localhost:5000/app", None));
        assert!(!r.is_pinned());
    }

    #[test]
    fn rejects_bad_digests_and_tags() {
        assert!("app@sha256:abc".parse::<ImageReference>().unwrap_err().contains("64"));
        assert!("app@md5:abc".parse::<ImageReference>().unwrap_err().contains("sha256"));
        assert!("app:bad tag".parse::<ImageReference>().is_err());
        assert!("app:".parse::<ImageReference>().unwrap_err().contains("tag"));
    }
}
