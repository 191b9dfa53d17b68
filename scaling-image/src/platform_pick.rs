//! Which manifest of an image index to push: the one for the platform the tasks run on. A
//! multi-platform image (`docker buildx --platform a,b`, a pulled base image) lists one per platform,
//! plus attestations (platform `unknown/unknown`); taking the first would push the wrong one.

use oci_spec::image::{Descriptor, ImageIndex, MediaType};
use scaling_core::Platform;

use crate::ImageError;

/// True for a descriptor of an image index (OCI or Docker's manifest list) rather than a manifest.
fn is_index(descriptor: &Descriptor) -> bool {
    match descriptor.media_type() {
        MediaType::ImageIndex => true,
        other => other.to_string() == "application/vnd.docker.distribution.manifest.list.v2+json",
    }
}

/// `os/architecture` of a descriptor, when it names one (attestations name `unknown/unknown`).
fn platform_of(descriptor: &Descriptor) -> Option<String> {
    let platform = descriptor.platform().as_ref()?;
    let named = format!("{}/{}", platform.os(), platform.architecture());
    (named != "unknown/unknown").then_some(named)
}

/// The image manifest of `index` for `wanted` (the first image manifest when `None`); nested indexes
/// are read with `open`. An entry that names no platform counts as any (a single-image layout).
pub fn pick(
    index: &ImageIndex,
    wanted: Option<Platform>,
    open: &dyn Fn(&Descriptor) -> Result<ImageIndex, ImageError>,
) -> Result<Descriptor, ImageError> {
    let mut seen = Vec::new();
    for descriptor in index.manifests() {
        if is_index(descriptor) {
            match pick(&open(descriptor)?, wanted, open) {
                Ok(found) => return Ok(found),
                Err(ImageError::Format(message)) if message.starts_with("the image holds") => {
                    seen.push(message);
                    continue;
                }
                Err(other) => return Err(other),
            }
        }
        match (platform_of(descriptor), wanted) {
            (None, _) if descriptor.platform().is_none() => return Ok(descriptor.clone()),
            (None, _) => {} // an attestation
            (Some(_), None) => return Ok(descriptor.clone()),
            (Some(named), Some(wanted)) if named == wanted.to_string() => return Ok(descriptor.clone()),
            (Some(named), Some(_)) => seen.push(named),
        }
    }
    let wanted = wanted.map_or_else(|| "any platform".to_string(), |w| w.to_string());
    Err(ImageError::Format(format!(
        "the image holds {} but not {wanted}: build it for {wanted} (docker build --platform {wanted}), or change \
         image.platform",
        if seen.is_empty() { "no image manifest".to_string() } else { seen.join(", ") }
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(entries: serde_json::Value) -> ImageIndex {
        ImageIndex::from_reader(serde_json::json!({"schemaVersion": 2, "manifests": entries}).to_string().as_bytes())
            .unwrap()
    }

    fn entry(digest_char: char, platform: Option<(&str, &str)>) -> serde_json::Value {
        let mut value = serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{}", digest_char.to_string().repeat(64)),
            "size": 100
        });
        if let Some((os, arch)) = platform {
            value["platform"] = serde_json::json!({"os": os, "architecture": arch});
        }
        value
    }

    fn never(_: &Descriptor) -> Result<ImageIndex, ImageError> {
        unreachable!("no nested index here")
    }

    #[test]
    fn the_configured_platform_is_picked_not_the_first() {
        let multi = index(serde_json::json!([
            entry('a', Some(("linux", "amd64"))),
            entry('b', Some(("linux", "arm64"))),
            entry('c', Some(("unknown", "unknown"))),
        ]));
        let arm = pick(&multi, Some(Platform::LinuxArm64), &never).unwrap();
        assert!(arm.digest().to_string().ends_with(&"b".repeat(64)), "{}", arm.digest());
        let amd = pick(&multi, Some(Platform::LinuxAmd64), &never).unwrap();
        assert!(amd.digest().to_string().ends_with(&"a".repeat(64)));
    }

    #[test]
    fn a_missing_platform_is_named_with_those_there_and_the_fix() {
        let only_amd =
            index(serde_json::json!([entry('a', Some(("linux", "amd64"))), entry('c', Some(("unknown", "unknown")))]));
        let error = pick(&only_amd, Some(Platform::LinuxArm64), &never).unwrap_err().to_string();
        assert!(
            error.contains("holds linux/amd64 but not linux/arm64") && error.contains("--platform linux/arm64"),
            "{error}"
        );
    }

    #[test]
    fn a_single_image_without_platform_is_taken_and_nested_indexes_are_followed() {
        let single = index(serde_json::json!([entry('d', None)]));
        assert!(pick(&single, Some(Platform::LinuxArm64), &never).is_ok());
        let mut nested_entry = entry('e', None);
        nested_entry["mediaType"] = "application/vnd.oci.image.index.v1+json".into();
        let outer = index(serde_json::json!([nested_entry]));
        let inner = |_: &Descriptor| {
            Ok(index(serde_json::json!([entry('a', Some(("linux", "amd64"))), entry('b', Some(("linux", "arm64")))])))
        };
        let found = pick(&outer, Some(Platform::LinuxArm64), &inner).unwrap();
        assert!(found.digest().to_string().ends_with(&"b".repeat(64)));
    }
}
