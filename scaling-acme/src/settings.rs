//! The ACME settings: the directory, the contact, and where the keys are kept.

use std::path::PathBuf;

use scaling_core::Problem;
use serde::{Deserialize, Serialize};

/// Where certificates come from and where their keys are kept.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcmeSettings {
    /// The ACME directory URL: [`AcmeSettings::LETS_ENCRYPT`] by default,
    /// [`AcmeSettings::LETS_ENCRYPT_STAGING`] while testing (its rate limits are far higher).
    #[serde(default = "lets_encrypt")]
    pub directory: String,
    /// An e-mail address the authority may write to about the certificates (expiry, revocation).
    pub contact: String,
    /// A folder of this machine's own for the account key and the certificates' keys (made 0700);
    /// required, though a table embedding these settings may fill it in.
    #[serde(default)]
    pub state_dir: PathBuf,
    /// A PEM root to trust for the directory's own HTTPS, for a test authority such as Pebble; the
    /// system's roots otherwise.
    #[serde(default)]
    pub directory_root: Option<PathBuf>,
    /// How the authority is shown that the names are the app's: `dns-01` (the default: a TXT record
    /// through the DNS provider) or `http-01` (an answer the load balancer serves on port 80).
    #[serde(default)]
    pub challenge: ChallengeKind,
}

/// The ACME challenge an order is validated by (RFC 8555 §8).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChallengeKind {
    /// A TXT record at `_acme-challenge.<name>` (§8.4), written through the DNS provider: works before
    /// the names lead anywhere, and behind any firewall.
    #[default]
    #[serde(rename = "dns-01")]
    Dns01,
    /// A file at `http://<name>/.well-known/acme-challenge/<token>` (§8.3), answered by the load
    /// balancer on port 80: the names must already lead to this server, and port 80 be open to the
    /// authority.
    #[serde(rename = "http-01")]
    Http01,
}

fn lets_encrypt() -> String {
    AcmeSettings::LETS_ENCRYPT.into()
}

impl AcmeSettings {
    /// Let's Encrypt's production directory.
    pub const LETS_ENCRYPT: &'static str = "https://acme-v02.api.letsencrypt.org/directory";
    /// Let's Encrypt's staging directory: untrusted certificates, generous limits.
    pub const LETS_ENCRYPT_STAGING: &'static str = "https://acme-staging-v02.api.letsencrypt.org/directory";

    /// Every problem, each naming its field and the fix; empty when the settings can work. Makes no
    /// call.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let directory = match self.directory.as_str() {
            "staging" => Self::LETS_ENCRYPT_STAGING,
            other => other,
        };
        if !directory.starts_with("https://") {
            out.push(Problem::new(
                "directory",
                format!("{directory:?} is not an https:// URL"),
                "leave it out for Let's Encrypt, or write `staging` for its staging directory",
            ));
        }
        let (user, domain) = self.contact.split_once('@').unwrap_or_default();
        if user.is_empty() || !domain.contains('.') || self.contact.contains(char::is_whitespace) {
            out.push(Problem::new(
                "contact",
                format!("{:?} is not an e-mail address", self.contact),
                "give an address the authority may write to before a certificate expires",
            ));
        }
        if self.state_dir.as_os_str().is_empty() || !self.state_dir.is_absolute() {
            out.push(Problem::new(
                "state_dir",
                "is not an absolute path",
                "give a folder of this machine's, e.g. /var/lib/scaling/acme",
            ));
        }
        if let Some(root) = &self.directory_root {
            if !root.is_file() {
                out.push(Problem::new(
                    "directory_root",
                    format!("{} is not a file", root.display()),
                    "give the PEM root to trust",
                ));
            }
        }
        out
    }

    /// True for Let's Encrypt's directories, whose HTTP-01 validation always connects to port 80.
    pub fn is_lets_encrypt(&self) -> bool {
        let url = self.directory_url();
        url == Self::LETS_ENCRYPT || url == Self::LETS_ENCRYPT_STAGING
    }

    /// The directory URL, `staging` resolved.
    pub fn directory_url(&self) -> String {
        match self.directory.as_str() {
            "staging" => Self::LETS_ENCRYPT_STAGING.into(),
            other => other.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bad_setting_names_its_field() {
        let settings = AcmeSettings {
            directory: "http://acme.example".into(),
            contact: "nobody".into(),
            state_dir: "relative".into(),
            directory_root: Some("/nonexistent/root.pem".into()),
            challenge: ChallengeKind::Dns01,
        };
        let problems: Vec<String> = settings.problems().iter().map(ToString::to_string).collect();
        for field in ["directory:", "contact:", "state_dir:", "directory_root:"] {
            assert!(problems.iter().any(|p| p.starts_with(field)), "{field} in {problems:?}");
        }
        let good = AcmeSettings {
            directory: "staging".into(),
            contact: "ops@example.com".into(),
            state_dir: "/var/lib/scaling/acme".into(),
            directory_root: None,
            challenge: ChallengeKind::Http01,
        };
        assert_eq!(good.problems(), []);
        assert_eq!(good.directory_url(), AcmeSettings::LETS_ENCRYPT_STAGING);
        assert!(good.is_lets_encrypt());
    }
}
