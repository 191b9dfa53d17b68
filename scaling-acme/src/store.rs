//! The state folder: the account's credentials and, per certificate, what the order is at, its
//! private key and its chain. Every file is written whole (a temporary file renamed over it), keys
//! with mode 0600 in a 0700 folder, so a kill leaves the last saved step.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use scaling_core::providers::{CertificateInfo, Tags};
use serde::{Deserialize, Serialize};

/// One certificate as this provider keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Stored {
    /// What the core sees.
    pub info: CertificateInfo,
    /// Its tags, ownership included.
    pub tags: Tags,
    /// The request's key: the same key returns this certificate.
    pub request_key: String,
    /// The ACME order's URL.
    pub order_url: String,
    /// The issued certificate's validity, seconds since the epoch: (not before, not after).
    #[serde(default)]
    pub validity: Option<(i64, i64)>,
    /// The tokens of the order's HTTP-01 challenges, whose answers are kept until it is settled.
    #[serde(default)]
    pub challenge_tokens: Vec<String>,
}

/// The folder.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    dir: PathBuf,
}

fn private_folder(path: &Path) -> std::io::Result<()> {
    fs::DirBuilder::new().recursive(true).mode(0o700).create(path)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o700))
}

/// Writes `bytes` to `path` whole, mode 0600.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    let mut file = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&partial)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&partial, path)
}

impl Store {
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        private_folder(&dir.join("certificates"))?;
        private_folder(&dir.join("challenges"))?;
        private_folder(dir)?;
        Ok(Self { dir: dir.to_path_buf() })
    }

    fn account_path(&self) -> PathBuf {
        self.dir.join("account.json")
    }

    fn certificate_path(&self, id: &str, suffix: &str) -> PathBuf {
        self.dir.join("certificates").join(format!("{id}{suffix}"))
    }

    /// The account's credentials (its private key among them), as saved.
    pub fn account(&self) -> std::io::Result<Option<Vec<u8>>> {
        match fs::read(self.account_path()) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn save_account(&self, credentials: &[u8]) -> std::io::Result<()> {
        write_private(&self.account_path(), credentials)
    }

    /// Every stored certificate, newest first (ids grow with time).
    pub fn list(&self) -> std::io::Result<Vec<Stored>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(self.dir.join("certificates"))? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "json") {
                let stored: Option<Stored> = fs::read(&path).ok().and_then(|b| serde_json::from_slice(&b).ok());
                out.extend(stored);
            }
        }
        out.sort_by(|a, b| b.info.id.cmp(&a.info.id));
        Ok(out)
    }

    pub fn load(&self, id: &str) -> std::io::Result<Option<Stored>> {
        match fs::read(self.certificate_path(id, ".json")) {
            Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn save(&self, stored: &Stored) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(stored).map_err(std::io::Error::other)?;
        write_private(&self.certificate_path(&stored.info.id, ".json"), &bytes)
    }

    pub fn save_key(&self, id: &str, pem: &str) -> std::io::Result<()> {
        write_private(&self.certificate_path(id, ".key.pem"), pem.as_bytes())
    }

    pub fn has_key(&self, id: &str) -> bool {
        self.certificate_path(id, ".key.pem").is_file()
    }

    pub fn save_chain(&self, id: &str, pem: &str) -> std::io::Result<()> {
        write_private(&self.certificate_path(id, ".pem"), pem.as_bytes())
    }

    /// The chain and key files of an issued certificate, for the load balancer that serves it.
    pub fn files(&self, id: &str) -> (PathBuf, PathBuf) {
        (self.certificate_path(id, ".pem"), self.certificate_path(id, ".key.pem"))
    }

    /// The file of HTTP-01 token `token`; `None` for a token that is not one (RFC 8555 §8.3: base64url
    /// characters only), so that no request path reaches outside the folder.
    fn challenge_path(&self, token: &str) -> Option<PathBuf> {
        let base64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        (!token.is_empty() && token.len() <= 256 && token.chars().all(base64url))
            .then(|| self.dir.join("challenges").join(token))
    }

    /// Keeps the answer to HTTP-01 token `token` until [`Store::remove_challenges`].
    pub fn save_challenge(&self, token: &str, key_authorization: &str) -> std::io::Result<()> {
        let path = self
            .challenge_path(token)
            .ok_or_else(|| std::io::Error::other("the authority's token is not base64url"))?;
        write_private(&path, key_authorization.as_bytes())
    }

    /// The answer to HTTP-01 token `token`, if an order of this folder has it pending.
    pub fn challenge(&self, token: &str) -> std::io::Result<Option<String>> {
        let Some(path) = self.challenge_path(token) else { return Ok(None) };
        match fs::read_to_string(path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Removes the answers of `tokens`; missing ones are fine.
    pub fn remove_challenges(&self, tokens: &[String]) -> std::io::Result<()> {
        for path in tokens.iter().filter_map(|t| self.challenge_path(t)) {
            match fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// Removes the answers no order keeps (`kept`: the tokens of every stored order) that are older
    /// than `grace`: a run stopped between saving an answer and saving its order leaves one behind,
    /// and the grace spares the answers of an order a run is saving right now.
    pub fn remove_unkept_challenges(&self, kept: &[String], grace: std::time::Duration) -> std::io::Result<()> {
        for entry in fs::read_dir(self.dir.join("challenges"))? {
            let entry = entry?;
            let token = entry.file_name().to_string_lossy().into_owned();
            let age = entry.metadata()?.modified()?.elapsed().unwrap_or_default();
            if !kept.contains(&token) && age > grace {
                self.remove_challenges(&[token])?;
            }
        }
        Ok(())
    }

    /// Removes the certificate's files; missing ones are fine.
    pub fn remove(&self, id: &str) -> std::io::Result<()> {
        if let Some(stored) = self.load(id)? {
            self.remove_challenges(&stored.challenge_tokens)?;
        }
        for suffix in [".pem", ".key.pem", ".json"] {
            match fs::remove_file(self.certificate_path(id, suffix)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_http_01_answer_is_kept_until_removed_and_no_path_reaches_outside_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.save_challenge("tok-EN_1", "tok-EN_1.thumbprint").unwrap();
        assert_eq!(store.challenge("tok-EN_1").unwrap().as_deref(), Some("tok-EN_1.thumbprint"));
        let mode = fs::metadata(dir.path().join("challenges/tok-EN_1")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        fs::write(dir.path().join("account.json"), "secret").unwrap();
        for hostile in ["../account.json", "..", "", "a/b", "%2e%2e", &"a".repeat(300)] {
            assert_eq!(store.challenge(hostile).unwrap(), None, "{hostile:?}");
            assert!(store.save_challenge(hostile, "x").is_err(), "{hostile:?}");
        }
        store.remove_challenges(&["tok-EN_1".into(), "gone".into()]).unwrap();
        assert_eq!(store.challenge("tok-EN_1").unwrap(), None);
    }

    #[test]
    fn an_answer_no_order_keeps_is_removed_once_it_is_old() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for token in ["left-by-a-killed-run", "kept-by-an-order", "being-saved-now"] {
            store.save_challenge(token, "answer").unwrap();
        }
        for token in ["left-by-a-killed-run", "kept-by-an-order"] {
            let file = fs::File::options().write(true).open(dir.path().join("challenges").join(token)).unwrap();
            file.set_modified(hour_ago).unwrap();
        }
        let grace = std::time::Duration::from_secs(600);
        store.remove_unkept_challenges(&["kept-by-an-order".into()], grace).unwrap();
        assert_eq!(store.challenge("left-by-a-killed-run").unwrap(), None);
        assert!(store.challenge("kept-by-an-order").unwrap().is_some());
        assert!(store.challenge("being-saved-now").unwrap().is_some(), "a fresh answer is spared");
    }
}
