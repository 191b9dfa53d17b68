//! A blob — a layer, a config — and where its bytes are: in memory (small ones, and images made in
//! code) or in a file (layers read from disk, streamed when pushed, never held in memory whole).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use crate::{digest_of, io, ImageError};

/// A folder an archive was unpacked into; removed when the last blob that reads from it is dropped.
#[derive(Debug)]
pub(crate) struct Unpacked(pub(crate) PathBuf);

impl Drop for Unpacked {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Where a blob's bytes are.
#[derive(Debug, Clone)]
pub enum Content {
    /// In memory.
    Bytes(Bytes),
    /// In a file.
    File(BlobFile),
}

/// A blob's file (made by [`Blob::from_file`]).
#[derive(Debug, Clone)]
pub struct BlobFile {
    path: PathBuf,
    /// Keeps an unpacked archive's folder while the blob needs it.
    unpacked: Option<Arc<Unpacked>>,
}

impl BlobFile {
    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A blob with its digest, media type and size.
#[derive(Clone)]
pub struct Blob {
    /// `sha256:…`.
    pub digest: String,
    /// The OCI media type.
    pub media_type: String,
    /// Its length in bytes.
    pub size: u64,
    /// Its bytes.
    pub content: Content,
}

impl PartialEq for Blob {
    /// Blobs are equal when their digests, media types and sizes are: the same bytes, wherever they are.
    fn eq(&self, other: &Self) -> bool {
        (&self.digest, &self.media_type, self.size) == (&other.digest, &other.media_type, other.size)
    }
}

impl Eq for Blob {}

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let place = if matches!(self.content, Content::Bytes(_)) { "in memory" } else { "on disk" };
        write!(f, "Blob({}, {}, {} bytes {place})", self.digest, self.media_type, self.size)
    }
}

impl Blob {
    /// A blob of `data` in memory.
    pub fn from_bytes(media_type: impl Into<String>, data: impl Into<Bytes>) -> Self {
        let data = data.into();
        Blob {
            digest: digest_of(&data),
            media_type: media_type.into(),
            size: data.len() as u64,
            content: Content::Bytes(data),
        }
    }

    /// A blob read from `path` as it is streamed through the hash (never whole in memory). With
    /// `expected`, a digest that does not match is an error.
    pub fn from_file(media_type: impl Into<String>, path: &Path, expected: Option<&str>) -> Result<Self, ImageError> {
        use sha2::Digest;
        let mut file = fs::File::open(path).map_err(io(path))?;
        let mut hasher = sha2::Sha256::new();
        let size = std::io::copy(&mut file, &mut hasher).map_err(io(path))?;
        let digest = format!("sha256:{}", hex::encode(hasher.finalize()));
        if let Some(expected) = expected.filter(|e| *e != digest) {
            return Err(ImageError::Format(format!("blob {expected} does not match its content")));
        }
        let content = Content::File(BlobFile { path: path.to_path_buf(), unpacked: None });
        Ok(Blob { digest, media_type: media_type.into(), size, content })
    }

    /// The whole blob in memory (for manifests and configs, which are small).
    pub fn bytes(&self) -> Result<Bytes, ImageError> {
        match &self.content {
            Content::Bytes(data) => Ok(data.clone()),
            Content::File(file) => fs::read(&file.path).map(Bytes::from).map_err(io(&file.path)),
        }
    }

    /// Writes the blob to `path`.
    pub fn write_to(&self, path: &Path) -> Result<(), ImageError> {
        match &self.content {
            Content::Bytes(data) => fs::write(path, data).map_err(io(path)),
            Content::File(file) => fs::copy(&file.path, path).map(|_| ()).map_err(io(&file.path)),
        }
    }

    /// The same blob, keeping `unpacked` alive while it reads from there.
    pub(crate) fn keeping(mut self, unpacked: &Arc<Unpacked>) -> Self {
        if let Content::File(file) = &mut self.content {
            file.unpacked = Some(unpacked.clone());
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_blob_is_hashed_as_it_is_read_and_equals_the_same_bytes_in_memory() {
        let dir = std::env::temp_dir().join(format!("scaling-blob-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("layer");
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        fs::write(&path, &data).unwrap();
        let in_memory = Blob::from_bytes("application/octet-stream", data.clone());
        let on_disk = Blob::from_file("application/octet-stream", &path, Some(&in_memory.digest)).unwrap();
        assert_eq!(on_disk, in_memory);
        assert_eq!(on_disk.size, 200_000);
        assert!(format!("{on_disk:?}").contains("on disk"));
        assert_eq!(on_disk.bytes().unwrap(), Bytes::from(data));
        let wrong = Blob::from_file("application/octet-stream", &path, Some("sha256:00")).unwrap_err();
        assert!(wrong.to_string().contains("does not match"), "{wrong}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unpacked_folder_lives_as_long_as_a_blob_reads_from_it() {
        let dir = std::env::temp_dir().join(format!("scaling-unpacked-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("layer"), "bytes").unwrap();
        let unpacked = Arc::new(Unpacked(dir.clone()));
        let blob = Blob::from_file("application/octet-stream", &dir.join("layer"), None).unwrap().keeping(&unpacked);
        drop(unpacked);
        assert_eq!(blob.bytes().unwrap(), Bytes::from_static(b"bytes"), "still there");
        drop(blob);
        assert!(!dir.exists(), "removed with the last blob");
    }
}
