//! The local certificate authority: one CA per user, kept under the data directory with its private key
//! readable only by the user; it issues server certificates for `*.localhost` names.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Errors of the local CA.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// Reading or writing the CA files failed.
    #[error("local CA at {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Generating or signing failed.
    #[error("local CA: {0}")]
    Rcgen(#[from] rcgen::Error),
}

/// A server certificate chain and its key, ready for rustls.
pub struct IssuedCertificate {
    /// The leaf, then the CA.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key.
    pub key: PrivateKeyDer<'static>,
}

impl IssuedCertificate {
    /// A chain and key another authority issued, from PEM text.
    pub fn from_pem(chain_pem: &str, key_pem: &str) -> Result<Self, String> {
        use rustls::pki_types::pem::PemObject;
        let chain = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("the certificate chain is not PEM: {e}"))?;
        if chain.is_empty() {
            return Err("the certificate chain holds no certificate".into());
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| format!("the key is not PEM: {e}"))?;
        Ok(Self { chain, key })
    }
}

/// The local CA.
pub struct LocalCa {
    dir: PathBuf,
    key: KeyPair,
    cert_pem: String,
}

const CA_NAME: &str = "scaling local development CA";

fn ca_params() -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, CA_NAME);
    name.push(DnType::OrganizationName, "scaling");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2034, 1, 1);
    Ok(params)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CaError + '_ {
    move |source| CaError::Io { path: path.to_path_buf(), source }
}

/// Writes `contents` to a new file with `mode` (the mode is set at creation, never wider).
/// Writes `contents` with `mode` beside `path`, then renames it into place: readers see the whole
/// file or none.
fn write_aside(path: &Path, contents: &str, mode: u32) -> Result<(), CaError> {
    let aside = path.with_extension("new");
    let _ = fs::remove_file(&aside);
    let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(&aside).map_err(io(&aside))?;
    file.write_all(contents.as_bytes()).and_then(|()| file.sync_all()).map_err(io(&aside))?;
    fs::rename(&aside, path).map_err(io(path))
}

impl LocalCa {
    /// Loads the CA from `dir`, creating it (key mode 0600, folder 0700) on first use. Processes and
    /// threads opening it at once on a fresh machine agree on one CA: whoever creates it holds an
    /// exclusive lock on `dir/.lock` (freed by the kernel however its holder dies), and each file is
    /// written aside and renamed into place, so a run killed half-way leaves no half a CA (a key
    /// without its certificate was never trusted by anyone, and is made again).
    pub fn open(dir: &Path) -> Result<Self, CaError> {
        let (key_path, cert_path) = (dir.join("ca.key"), dir.join("ca.pem"));
        if !(key_path.exists() && cert_path.exists()) {
            fs::create_dir_all(dir).map_err(io(dir))?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
            let lock_path = dir.join(".lock");
            let lock_file =
                fs::OpenOptions::new().create(true).truncate(false).write(true).mode(0o600).open(&lock_path);
            let _held =
                nix::fcntl::Flock::lock(lock_file.map_err(io(&lock_path))?, nix::fcntl::FlockArg::LockExclusive)
                    .map_err(|(_, e)| CaError::Io { path: lock_path.clone(), source: e.into() })?;
            if !(key_path.exists() && cert_path.exists()) {
                let key = KeyPair::generate()?;
                let cert = ca_params()?.self_signed(&key)?;
                write_aside(&key_path, &key.serialize_pem(), 0o600)?;
                write_aside(&cert_path, &cert.pem(), 0o644)?;
            }
        }
        let key = KeyPair::from_pem(&fs::read_to_string(&key_path).map_err(io(&key_path))?)?;
        let cert_pem = fs::read_to_string(&cert_path).map_err(io(&cert_path))?;
        Ok(Self { dir: dir.to_path_buf(), key, cert_pem })
    }

    /// The CA certificate file to trust in a browser or pass to `curl --cacert`.
    pub fn certificate_path(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The CA certificate, PEM.
    pub fn certificate_pem(&self) -> &str {
        &self.cert_pem
    }

    /// How to trust the CA, in words.
    pub fn trust_hint(&self) -> String {
        let path = self.certificate_path();
        format!(
            "trust the local CA to open the app without warnings: import {0} in your browser's certificate settings \
             (Authorities), or use `curl --cacert {0}`",
            path.display()
        )
    }

    /// A server certificate for `names` as PEM (chain, then key), for other servers (HAProxy in benchmarks).
    pub fn issue_pem(&self, names: &[String]) -> Result<String, CaError> {
        let (leaf, key) = self.sign(names)?;
        Ok(format!("{}{}{}", leaf.pem(), self.cert_pem, key.serialize_pem()))
    }

    /// A server certificate for `names`, valid 90 days, signed by this CA.
    pub fn issue(&self, names: &[String]) -> Result<IssuedCertificate, CaError> {
        let (leaf, leaf_key) = self.sign(names)?;
        let ca_der = rustls::pki_types::pem::PemObject::from_pem_slice(self.cert_pem.as_bytes())
            .map_err(|e| CaError::Io { path: self.certificate_path(), source: std::io::Error::other(e.to_string()) })?;
        Ok(IssuedCertificate {
            chain: vec![leaf.der().clone(), ca_der],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        })
    }

    fn sign(&self, names: &[String]) -> Result<(rcgen::Certificate, KeyPair), CaError> {
        let mut params = CertificateParams::new(names.to_vec())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, names.first().cloned().unwrap_or_default());
        params.distinguished_name = dn;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let now = time_now();
        params.not_before = now - std::time::Duration::from_secs(3600);
        params.not_after = now + std::time::Duration::from_secs(90 * 86_400);
        let leaf_key = KeyPair::generate()?;
        // Re-signing the CA's fixed parameters with its key yields the same issuer name and key id.
        let issuer = ca_params()?.self_signed(&self.key)?;
        let leaf = params.signed_by(&leaf_key, &issuer, &self.key)?;
        Ok((leaf, leaf_key))
    }
}

fn time_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_is_created_once_with_a_private_key_only_the_user_reads() {
        let dir = std::env::temp_dir().join(format!("scaling-ca-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let first = LocalCa::open(&dir).unwrap();
        let mode = fs::metadata(dir.join("ca.key")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = LocalCa::open(&dir).unwrap();
        assert_eq!(first.certificate_pem(), again.certificate_pem(), "the CA is stable across runs");
        let issued = again.issue(&["app.localhost".into(), "www.app.localhost".into()]).unwrap();
        assert_eq!(issued.chain.len(), 2);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn openers_at_once_on_a_fresh_machine_agree_on_one_ca() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path().join("ca");
        let openers: Vec<_> = (0..8)
            .map(|_| {
                let dir = dir.clone();
                std::thread::spawn(move || LocalCa::open(&dir).map(|ca| ca.certificate_pem().to_string()))
            })
            .collect();
        let seen: Vec<String> =
            openers.into_iter().map(|o| o.join().unwrap().expect("every opener succeeds")).collect();
        assert!(seen.iter().all(|pem| *pem == seen[0]), "one CA, not one per opener");
    }

    #[test]
    fn a_key_left_without_its_certificate_by_a_killed_run_is_made_again() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        fs::write(dir.path().join("ca.key"), "half a CA").unwrap();
        let ca = LocalCa::open(dir.path()).expect("a whole CA");
        assert!(ca.certificate_pem().contains("BEGIN CERTIFICATE"));
        assert_eq!(LocalCa::open(dir.path()).unwrap().certificate_pem(), ca.certificate_pem());
    }
}
