//! A local image: its manifest, config and layers, read from an OCI image layout (a folder or a tar of
//! one, as `docker save` writes since Docker 25 and `podman save --format oci-archive` writes) or a
//! classic docker archive (`manifest.json` with layer tars).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};
use scaling_core::Platform;
use serde_json::{json, Value};

use crate::blob::{Blob, Unpacked};
use crate::{digest_of, io, ImageError};

/// An image ready to push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalImage {
    /// The manifest, byte for byte (its digest is the image's).
    pub manifest: bytes::Bytes,
    /// The manifest's media type.
    pub manifest_media_type: String,
    /// The config blob.
    pub config: Blob,
    /// The layer blobs, in order.
    pub layers: Vec<Blob>,
    /// The platform the config declares.
    pub platform: Platform,
}

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

fn format(message: impl Into<String>) -> ImageError {
    ImageError::Format(message.into())
}

fn read_json(path: &Path) -> Result<Value, ImageError> {
    let text = fs::read(path).map_err(io(path))?;
    serde_json::from_slice(&text).map_err(|e| format(format!("{}: {e}", path.display())))
}

/// The platform a config declares (`architecture`, `os`).
pub fn platform_of(config: &[u8]) -> Result<Platform, ImageError> {
    let value: Value = serde_json::from_slice(config).map_err(|e| format(format!("config: {e}")))?;
    let os = value["os"].as_str().unwrap_or("linux");
    let arch = value["architecture"].as_str().ok_or_else(|| format("the config names no architecture"))?;
    if os != "linux" {
        return Err(format(format!("the image is for {os}; tasks run Linux")));
    }
    Platform::from_architecture(arch)
        .ok_or_else(|| format(format!("architecture {arch} is not supported (use amd64 or arm64)")))
}

impl LocalImage {
    /// The image's digest: the manifest's.
    pub fn digest(&self) -> String {
        digest_of(&self.manifest)
    }

    /// Reads an image from a folder or tar file, whichever format it is. Layers stay on disk (a tar is
    /// unpacked into a temporary folder that lives as long as the image's layers). Of a multi-platform
    /// image, the first platform's.
    pub fn open(path: &Path) -> Result<Self, ImageError> {
        Self::open_for(path, None)
    }

    /// Reads the image for `wanted` from a folder or tar file: of a multi-platform image, the manifest
    /// of that platform (an error naming the platforms it has when it lacks that one).
    pub fn open_for(path: &Path, wanted: Option<Platform>) -> Result<Self, ImageError> {
        if path.is_dir() {
            return Self::from_dir(path, wanted);
        }
        let dir = std::env::temp_dir().join(format!(
            "scaling-image-{}-{}",
            std::process::id(),
            digest_of(format!("{}{:?}", path.display(), std::time::SystemTime::now()).as_bytes())
                .get(7..19)
                .unwrap_or("x")
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        let unpacked = Arc::new(Unpacked(dir.clone()));
        let file = fs::File::open(path).map_err(io(path))?;
        tar::Archive::new(file).unpack(&dir).map_err(io(path))?;
        let mut image = Self::from_dir(&dir, wanted)?;
        image.layers = image.layers.into_iter().map(|layer| layer.keeping(&unpacked)).collect();
        Ok(image)
    }

    fn from_dir(dir: &Path, wanted: Option<Platform>) -> Result<Self, ImageError> {
        if dir.join("index.json").exists() {
            Self::from_oci_layout(dir, wanted)
        } else if dir.join("manifest.json").exists() {
            Self::from_docker_archive(dir)
        } else {
            Err(format(format!(
                "{} is neither an OCI layout (index.json) nor a docker archive (manifest.json)",
                dir.display()
            )))
        }
    }

    fn blob_path(dir: &Path, digest: &str) -> Result<PathBuf, ImageError> {
        let (algorithm, hex) = digest.split_once(':').ok_or_else(|| format(format!("bad digest {digest}")))?;
        Ok(dir.join("blobs").join(algorithm).join(hex))
    }

    /// The blob a descriptor names, checked against its digest; left on disk.
    fn read_blob(dir: &Path, descriptor: &Descriptor) -> Result<Blob, ImageError> {
        let digest = descriptor.digest().to_string();
        Blob::from_file(descriptor.media_type().to_string(), &Self::blob_path(dir, &digest)?, Some(&digest))
    }

    /// An OCI image layout, read through `oci-spec`'s types: `index.json` → the image manifest for
    /// `wanted` (any platform when `None`; nested indexes followed) → config and layers.
    pub fn from_oci_layout(dir: &Path, wanted: Option<Platform>) -> Result<Self, ImageError> {
        let index_path = dir.join("index.json");
        let index = ImageIndex::from_file(&index_path).map_err(|e| format(format!("{}: {e}", index_path.display())))?;
        let descriptor = crate::platform_pick::pick(&index, wanted, &|d| {
            let bytes = Self::read_blob(dir, d)?.bytes()?;
            ImageIndex::from_reader(&bytes[..]).map_err(|e| format(format!("image index {}: {e}", d.digest())))
        })?;
        let manifest = Self::read_blob(dir, &descriptor)?.bytes()?;
        let parsed = ImageManifest::from_reader(&manifest[..])
            .map_err(|e| format(format!("manifest {}: {e}", descriptor.digest())))?;
        let config = Self::read_blob(dir, parsed.config())?;
        let config = Blob::from_bytes(config.media_type.clone(), config.bytes()?);
        let layers = parsed.layers().iter().map(|l| Self::read_blob(dir, l)).collect::<Result<Vec<_>, _>>()?;
        let media_type = match parsed.media_type() {
            Some(media_type) => media_type.to_string(),
            None => descriptor.media_type().to_string(),
        };
        Ok(Self { platform: platform_of(&config.bytes()?)?, manifest, manifest_media_type: media_type, config, layers })
    }

    /// A classic docker archive: `manifest.json` naming the config and uncompressed layer tars; an OCI
    /// manifest is written for it.
    pub fn from_docker_archive(dir: &Path) -> Result<Self, ImageError> {
        let manifest = read_json(&dir.join("manifest.json"))?;
        let entry = manifest.get(0).ok_or_else(|| format("manifest.json lists no image"))?;
        let config_name = entry["Config"].as_str().ok_or_else(|| format("manifest.json names no Config"))?;
        let config_path = dir.join(config_name);
        let config = Blob::from_bytes(OCI_CONFIG, fs::read(&config_path).map_err(io(&config_path))?);
        let layers = entry["Layers"]
            .as_array()
            .ok_or_else(|| format("manifest.json lists no Layers"))?
            .iter()
            .map(|l| Blob::from_file(OCI_LAYER, &dir.join(l.as_str().unwrap_or_default()), None))
            .collect::<Result<Vec<_>, ImageError>>()?;
        Self::assemble(config, layers)
    }

    /// An image from a config and layers, with an OCI manifest written for them.
    pub fn assemble(config: Blob, layers: Vec<Blob>) -> Result<Self, ImageError> {
        let descriptor = |b: &Blob| json!({"mediaType": b.media_type, "digest": b.digest, "size": b.size});
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor(&config),
            "layers": layers.iter().map(descriptor).collect::<Vec<_>>(),
        });
        let manifest = bytes::Bytes::from(serde_json::to_vec(&manifest).map_err(|e| format(e.to_string()))?);
        Ok(Self {
            platform: platform_of(&config.bytes()?)?,
            manifest,
            manifest_media_type: OCI_MANIFEST.into(),
            config,
            layers,
        })
    }

    /// Writes the image as an OCI image layout folder (what a build exports).
    pub fn write_oci_layout(&self, dir: &Path) -> Result<(), ImageError> {
        let blobs = dir.join("blobs/sha256");
        fs::create_dir_all(&blobs).map_err(io(&blobs))?;
        let manifest_digest = self.digest();
        let manifest_blob = Blob::from_bytes(self.manifest_media_type.clone(), self.manifest.clone());
        for blob in self.layers.iter().chain([&self.config, &manifest_blob]) {
            blob.write_to(&Self::blob_path(dir, &blob.digest)?)?;
        }
        let index = json!({"schemaVersion": 2, "manifests": [{"mediaType": self.manifest_media_type, "digest": manifest_digest, "size": self.manifest.len()}]});
        fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).map_err(io(dir))?;
        fs::write(dir.join("index.json"), index.to_string()).map_err(io(dir))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn tiny_image(arch: &str, content: &str) -> LocalImage {
        let mut layer = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        layer.append_data(&mut header, "app/hello.txt", content.as_bytes()).unwrap();
        let layer = Blob::from_bytes(OCI_LAYER, layer.into_inner().unwrap());
        let config = json!({"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": [layer.digest]}, "config": {"Cmd": ["cat", "/app/hello.txt"]}});
        LocalImage::assemble(Blob::from_bytes(OCI_CONFIG, serde_json::to_vec(&config).unwrap()), vec![layer]).unwrap()
    }

    #[test]
    fn an_oci_layout_round_trips_with_its_platform() {
        let image = tiny_image("arm64", "hello");
        let dir = std::env::temp_dir().join(format!("scaling-layout-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        image.write_oci_layout(&dir).unwrap();
        let read = LocalImage::open(&dir).unwrap();
        assert_eq!(read, image);
        assert_eq!(read.platform, Platform::LinuxArm64, "an arm64 image is seen as arm64, whatever the spec says");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn of_a_multi_platform_layout_the_configured_platform_is_read() {
        let (amd, arm) = (tiny_image("amd64", "x86"), tiny_image("arm64", "arm"));
        let dir = std::env::temp_dir().join(format!("scaling-layout-multi-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        arm.write_oci_layout(&dir).unwrap();
        amd.write_oci_layout(&dir).unwrap();
        let entry = |image: &LocalImage, arch: &str| {
            json!({"mediaType": OCI_MANIFEST, "digest": image.digest(), "size": image.manifest.len(),
                   "platform": {"os": "linux", "architecture": arch}})
        };
        // amd64 first, as `docker save` of a multi-platform build lists it.
        let index = json!({"schemaVersion": 2, "manifests": [entry(&amd, "amd64"), entry(&arm, "arm64")]});
        fs::write(dir.join("index.json"), index.to_string()).unwrap();
        assert_eq!(LocalImage::open_for(&dir, Some(Platform::LinuxArm64)).unwrap(), arm);
        assert_eq!(LocalImage::open_for(&dir, Some(Platform::LinuxAmd64)).unwrap(), amd);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_blob_that_does_not_match_its_digest_is_refused() {
        let image = tiny_image("amd64", "hello");
        let dir = std::env::temp_dir().join(format!("scaling-layout-bad-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        image.write_oci_layout(&dir).unwrap();
        let layer = LocalImage::blob_path(&dir, &image.layers[0].digest).unwrap();
        fs::write(&layer, "tampered").unwrap();
        assert!(LocalImage::open(&dir).unwrap_err().to_string().contains("does not match"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn windows_and_unknown_architectures_are_refused() {
        assert!(platform_of(br#"{"architecture":"amd64","os":"windows"}"#).is_err());
        assert!(platform_of(br#"{"architecture":"s390x","os":"linux"}"#)
            .unwrap_err()
            .to_string()
            .contains("amd64 or arm64"));
    }
}
