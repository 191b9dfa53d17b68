//! `[provider.local]`: the local provider's own settings and the checks it makes of a spec.

use scaling_core::{Problem, ProviderSettings, Spec};

use crate::public::PublicSettings;
use serde::{Deserialize, Serialize};

/// Settings of the local provider.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LocalSettings {
    /// The HTTPS port of the local load balancer (0 picks a free one): 8443 unless set, 443 with
    /// `[provider.local.public]`.
    pub https_port: Option<u16>,
    /// The HTTP port that redirects to HTTPS (0 picks a free one): 8080 unless set, 80 with
    /// `[provider.local.public]`.
    pub http_port: Option<u16>,
    /// A command run in the app's bundle after its files are copied, for apps that are not Python
    /// (e.g. `npm ci --omit=dev`); a `requirements.txt` gets a virtualenv without one.
    pub build: Option<String>,
    /// An env file (`NAME=value` lines, mode 0600) with values for `[secrets]` the deploying shell
    /// does not set; relative to the config's folder.
    pub secrets_file: Option<std::path::PathBuf>,
    /// `[provider.local.public]`: serve the app's own domain from this server, with a certificate
    /// from an ACME authority and records written to the domain's DNS server.
    pub public: Option<PublicSettings>,
}

impl LocalSettings {
    /// The HTTPS port: the table's, else 443 on a public server and 8443 on a development machine.
    pub fn https_port(&self) -> u16 {
        self.https_port.unwrap_or(if self.public.is_some() { 443 } else { 8443 })
    }

    /// The HTTP port: the table's, else 80 on a public server and 8080 on a development machine.
    pub fn http_port(&self) -> u16 {
        self.http_port.unwrap_or(if self.public.is_some() { 80 } else { 8080 })
    }

    /// The same settings on free ports (tests, benchmarks: several deployments side by side).
    pub fn on_free_ports(self) -> Self {
        Self { https_port: Some(0), http_port: Some(0), ..self }
    }
}

impl ProviderSettings for LocalSettings {
    const NAME: &'static str = "local";

    fn problems(&self, spec: &Spec) -> Vec<Problem> {
        let mut out = Vec::new();
        if self.https_port() != 0 && self.https_port() == self.http_port() {
            out.push(Problem::new(
                "provider.local.http_port",
                format!("is {}, the same as provider.local.https_port", self.http_port()),
                "give HTTP and HTTPS different ports (e.g. 8080 and 8443), or 0 for a free one",
            ));
        }
        if self.build.as_deref().is_some_and(|command| command.trim().is_empty()) {
            out.push(Problem::new(
                "provider.local.build",
                "is empty",
                "name the command that prepares the bundle (e.g. `npm ci --omit=dev`), or remove the key",
            ));
        }
        if let Some(public) = &self.public {
            out.extend(public.problems(spec, crate::Paths::from_env().root()));
            out.extend(self.http_01_problem(public));
        }
        out
    }
}

impl LocalSettings {
    /// HTTP-01 from Let's Encrypt on a plain port other than 80: its validation connects to port 80
    /// only (<https://letsencrypt.org/docs/challenge-types/#http-01-challenge>), so it would fail after
    /// the records were published.
    fn http_01_problem(&self, public: &PublicSettings) -> Option<Problem> {
        let http_01 = public.acme.challenge == scaling_acme::ChallengeKind::Http01;
        (http_01 && public.acme.is_lets_encrypt() && self.http_port() != 80).then(|| {
            Problem::new(
                "provider.local.http_port",
                format!("is {}, but Let's Encrypt checks an HTTP-01 challenge on port 80 only", self.http_port()),
                "remove http_port (80 on a public server), forward port 80 to it, or set \
                 provider.local.public.acme.challenge = \"dns-01\"",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(local: &str) -> Spec {
        let text = format!(
            "[app]\nname = \"dashmath\"\nport = 8050\n[image]\nreference = \"registry.example/d:1\"\n[provider.local]\n{local}"
        );
        Spec::from_toml_str(&text).unwrap()
    }

    #[test]
    fn the_table_is_read_with_its_defaults() {
        let settings = spec("https_port = 9443\n").settings::<LocalSettings>().unwrap();
        assert_eq!(settings, LocalSettings { https_port: Some(9443), ..LocalSettings::default() });
    }

    #[test]
    fn one_port_for_both_and_an_empty_build_are_refused_together() {
        let problems = spec("https_port = 9000\nhttp_port = 9000\nbuild = \" \"\n").check_for::<LocalSettings>();
        let fields: Vec<String> = problems.unwrap_err().problems.into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["provider.local.http_port", "provider.local.build"]);
    }

    #[test]
    fn a_misspelt_key_is_named_with_its_line() {
        let problems = spec("htps_port = 1\n").settings::<LocalSettings>().unwrap_err().problems;
        assert_eq!(problems[0].field, "provider.local.htps_port");
        assert!(problems[0].message.contains("line 7"), "{}", problems[0].message);
    }
}
