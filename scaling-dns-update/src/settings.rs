//! The `[dns.update]` settings: the server, the zone, and the TSIG key, each checked before any call.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use hickory_proto::dnssec::rdata::tsig::TsigAlgorithm;
use scaling_core::Problem;
use serde::{Deserialize, Serialize};

/// Where and how updates are sent. The key's secret is read from `key_file` (kept 0600) and never
/// printed: `Debug` shows the path only.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsUpdateSettings {
    /// The authoritative server that takes updates, e.g. `192.0.2.53:53`.
    pub server: SocketAddr,
    /// The zone it serves, e.g. `example.com`.
    pub zone: String,
    /// The TSIG key's name, as the server knows it.
    pub key_name: String,
    /// The TSIG algorithm: `hmac-sha256` (the default of `tsig-keygen`), `hmac-sha384` or `hmac-sha512`.
    #[serde(default = "default_algorithm")]
    pub key_algorithm: String,
    /// A file holding the key: what `tsig-keygen` prints (`key "name" { …; secret "…"; };`) or the
    /// base64 secret alone. Must not be readable by group or others.
    pub key_file: PathBuf,
    /// The zone's other authoritative servers (its secondaries, `address:port`), which a certificate
    /// authority or a resolver may ask as well: each change is done only once every one serves the
    /// zone at the primary's new serial (they transfer it after the primary's NOTIFY). None unless set.
    #[serde(default)]
    pub secondaries: Vec<SocketAddr>,
    /// How long a change waits for the secondaries to serve it: `2m` unless set.
    #[serde(default = "default_propagation_timeout", with = "humantime_serde")]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub propagation_timeout: Duration,
}

fn default_algorithm() -> String {
    "hmac-sha256".into()
}

fn default_propagation_timeout() -> Duration {
    Duration::from_secs(120)
}

fn invalid(field: impl Into<String>, message: impl Into<String>, fix: impl Into<String>) -> Problem {
    Problem::new(field, message, fix)
}

/// A TSIG key ready to sign with. Its bytes never leave this crate and are not printed.
pub(crate) struct Key {
    pub name: String,
    pub algorithm: TsigAlgorithm,
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key").field("name", &self.name).field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
}

impl DnsUpdateSettings {
    /// Every problem, each naming its field; empty when the settings can work. Reads the key file's
    /// mode and shape, never prints its secret.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        if let Err(e) = self.zone_name() {
            out.push(e);
        }
        if let Err(e) = algorithm(&self.key_algorithm) {
            out.push(e);
        }
        if self.key_name.trim().is_empty() {
            out.push(invalid("key_name", "is empty", "give the key's name as the server's config names it"));
        }
        if let Err(e) = read_secret(&self.key_file) {
            out.push(e);
        }
        for (i, secondary) in self.secondaries.iter().enumerate() {
            if *secondary == self.server || self.secondaries[..i].contains(secondary) {
                out.push(invalid(
                    format!("secondaries[{i}]"),
                    format!("{secondary} is the server or listed twice"),
                    "list each of the zone's other authoritative servers once",
                ));
            }
        }
        if !(Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&self.propagation_timeout) {
            out.push(invalid(
                "propagation_timeout",
                format!("{} is out of range", humantime::format_duration(self.propagation_timeout)),
                "wait between a second and an hour, e.g. \"2m\"",
            ));
        }
        out
    }

    /// The settings for `server`, `zone` and the key, with no secondaries and the default wait.
    pub fn new(server: SocketAddr, zone: &str, key_name: &str, key_file: PathBuf) -> Self {
        Self {
            server,
            zone: zone.into(),
            key_name: key_name.into(),
            key_algorithm: default_algorithm(),
            key_file,
            secondaries: Vec::new(),
            propagation_timeout: default_propagation_timeout(),
        }
    }

    /// The zone without its trailing dot, lower case.
    pub(crate) fn zone_name(&self) -> Result<String, Problem> {
        let zone = scaling_core::providers::canonical_name(&self.zone);
        let valid = !zone.is_empty()
            && zone
                .split('.')
                .all(|l| !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        if valid {
            Ok(zone)
        } else {
            Err(invalid("zone", format!("{:?} is not a domain name", self.zone), "write it as example.com"))
        }
    }

    pub(crate) fn key(&self) -> Result<Key, Problem> {
        Ok(Key {
            name: self.key_name.trim().trim_end_matches('.').to_string(),
            algorithm: algorithm(&self.key_algorithm)?,
            secret: read_secret(&self.key_file)?,
        })
    }
}

fn algorithm(name: &str) -> Result<TsigAlgorithm, Problem> {
    match name.to_ascii_lowercase().trim_end_matches('.') {
        "hmac-sha256" | "sha256" => Ok(TsigAlgorithm::HmacSha256),
        "hmac-sha384" | "sha384" => Ok(TsigAlgorithm::HmacSha384),
        "hmac-sha512" | "sha512" => Ok(TsigAlgorithm::HmacSha512),
        other => Err(invalid(
            "key_algorithm",
            format!("{other:?} is not supported"),
            "use hmac-sha256 (tsig-keygen's default), hmac-sha384 or hmac-sha512",
        )),
    }
}

/// The secret of a `tsig-keygen` file or a bare base64 file, refused when others may read it.
fn read_secret(path: &Path) -> Result<Vec<u8>, Problem> {
    use std::os::unix::fs::PermissionsExt;
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| {
        invalid("key_file", format!("{shown}: {e}"), format!("write the key there: tsig-keygen NAME > {shown}"))
    })?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(invalid(
            "key_file",
            format!("{shown} may be read by others (mode {:o})", meta.permissions().mode() & 0o777),
            format!("chmod 600 {shown}"),
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| invalid("key_file", format!("{shown}: {e}"), "make the file readable by this user"))?;
    let encoded = match text.find("secret") {
        Some(at) => text[at..].split('"').nth(1).unwrap_or_default().to_string(),
        None => text.trim().to_string(),
    };
    base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .filter(|secret| !secret.is_empty())
        .ok_or_else(|| invalid("key_file", format!("{shown} holds no base64 secret"), "write what tsig-keygen prints"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn settings(dir: &Path, body: &str, mode: u32) -> DnsUpdateSettings {
        use std::os::unix::fs::PermissionsExt;
        let file = dir.join("key");
        std::fs::write(&file, body).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        DnsUpdateSettings::new("127.0.0.1:53".parse().unwrap(), "example.com", "scaling", file)
    }

    fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("scaling-dns-update-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_tsig_keygen_file_and_a_bare_secret_both_read() {
        let d = dir("read");
        let keygen = "key \"scaling\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0LWJ5dGVz\";\n};\n";
        assert_eq!(settings(&d, keygen, 0o600).key().unwrap().secret, b"secret-bytes");
        assert_eq!(settings(&d, "c2VjcmV0LWJ5dGVz\n", 0o400).key().unwrap().secret, b"secret-bytes");
    }

    #[test]
    fn each_bad_setting_names_its_field_and_never_the_secret() {
        let d = dir("bad");
        let mut s = settings(&d, "c2VjcmV0LWJ5dGVz", 0o644);
        s.zone = "exa mple.com".into();
        s.key_algorithm = "hmac-md5".into();
        s.key_name = " ".into();
        s.secondaries = vec!["127.0.0.1:53".parse().unwrap(), "192.0.2.2:53".parse().unwrap()];
        s.secondaries.push(s.secondaries[1]);
        s.propagation_timeout = Duration::from_millis(10);
        let problems: Vec<String> = s.problems().iter().map(ToString::to_string).collect();
        for field in [
            "zone:",
            "key_algorithm:",
            "key_name:",
            "key_file:",
            "secondaries[0]:",
            "secondaries[2]:",
            "propagation_timeout:",
        ] {
            assert!(problems.iter().any(|p| p.starts_with(field)), "{field} in {problems:?}");
        }
        assert!(problems.iter().any(|p| p.contains("chmod 600")), "{problems:?}");
        assert!(problems.iter().all(|p| !p.contains("c2VjcmV0")), "{problems:?}");
        let s = settings(&d, "not base64!", 0o600);
        assert!(s.problems()[0].to_string().contains("no base64 secret"));
        assert!(!format!("{:?}", s.key().err()).contains("secret-bytes"));
    }
}
