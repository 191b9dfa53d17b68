//! `[provider.local.public]`: one server serving the app's own domain. The balancer listens on the
//! server's public addresses (ports 443 and 80 unless the table's ports say otherwise), the apex and
//! every alias get A/AAAA records of those addresses through RFC 2136 updates to the domain's DNS
//! server ([`scaling_dns_update`]), and the certificate comes from an ACME authority, Let's Encrypt
//! by default ([`scaling_acme`]), validated by DNS-01 records written the same way.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::Path;
use std::time::Duration;

use scaling_acme::AcmeSettings;
use scaling_core::providers::canonical_name;
use scaling_core::{Problem, Spec};
use scaling_dns_update::DnsUpdateSettings;
use serde::{Deserialize, Serialize};

/// The public side of one server: its addresses, the ACME authority and the DNS server.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicSettings {
    /// This server's public addresses (IPv4 and IPv6): the balancer listens on each, and the DNS
    /// records of the apex and aliases point at them.
    pub addresses: Vec<IpAddr>,
    /// The ACME authority: `directory` (Let's Encrypt unless set; `staging` for its staging
    /// directory), `contact` (an e-mail address), and optionally `state_dir` (where the account and
    /// certificate keys are kept, 0600; `$SCALING_HOME/acme` by default).
    pub acme: AcmeSettings,
    /// The DNS server that takes RFC 2136 updates for the domain's zone: `server` (`address:port`),
    /// `zone`, `key_name`, `key_file` (a `tsig-keygen` file, mode 0600), `key_algorithm`.
    pub dns: DnsUpdateSettings,
    /// How often the serving process looks whether the certificate is due for renewal (and renews
    /// it while it serves).
    #[serde(default = "default_renewal_check", with = "humantime_serde")]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub renewal_check: Duration,
}

fn default_renewal_check() -> Duration {
    Duration::from_secs(3600)
}

/// The field path of a key of the public table.
fn field(key: &str) -> String {
    format!("provider.local.public.{key}")
}

impl PublicSettings {
    /// The ACME settings with the state folder filled in: `<home>/acme` unless the table names one.
    pub fn acme_settings(&self, home: &Path) -> AcmeSettings {
        let mut acme = self.acme.clone();
        if acme.state_dir.as_os_str().is_empty() {
            acme.state_dir = home.join("acme");
        }
        acme
    }

    /// Every problem of the table and of `spec` served this way, each naming its field and the fix.
    /// Reads the key file's mode (never its secret out loud) and asks the kernel whether each address
    /// is this machine's; makes no network call.
    pub fn problems(&self, spec: &Spec, home: &Path) -> Vec<Problem> {
        let mut out = Vec::new();
        if self.addresses.is_empty() {
            out.push(Problem::new(
                field("addresses"),
                "is empty",
                "list this server's public addresses, e.g. addresses = [\"203.0.113.10\", \"2001:db8::10\"]",
            ));
        }
        for (i, address) in self.addresses.iter().enumerate() {
            if let Some(problem) = address_problem(*address) {
                out.push(Problem::new(format!("{}[{i}]", field("addresses")), problem.0, problem.1));
            } else if self.addresses[..i].contains(address) {
                out.push(Problem::new(
                    format!("{}[{i}]", field("addresses")),
                    format!("{address} is listed twice"),
                    "list each address once",
                ));
            }
        }
        out.extend(prefixed("acme", self.acme_settings(home).problems()));
        out.extend(prefixed("dns", self.dns.problems()));
        if self.renewal_check < Duration::from_secs(1) || self.renewal_check > Duration::from_secs(86_400) {
            out.push(Problem::new(
                field("renewal_check"),
                format!("{} is out of range", humantime::format_duration(self.renewal_check)),
                "look between once a second and once a day, e.g. \"1h\"",
            ));
        }
        out.extend(self.domain_problems(spec));
        out
    }

    /// The domain must be set and lie in the zone the DNS server takes updates for.
    fn domain_problems(&self, spec: &Spec) -> Vec<Problem> {
        let Some(domain) = &spec.domain else {
            return vec![Problem::new(
                "domain.name",
                "is not set, but [provider.local.public] serves the app on its own domain",
                "add [domain] name = \"example.com\" (a name in provider.local.public.dns.zone)",
            )];
        };
        let zone = canonical_name(&self.dns.zone);
        if zone.is_empty() {
            return Vec::new(); // the zone's own problem is reported already
        }
        let mut out = Vec::new();
        if !domain.https {
            out.push(Problem::new(
                "domain.https",
                "is off, but a public server gets its certificate from the ACME authority to serve HTTPS",
                "remove `https = false`",
            ));
        }
        let apex = std::iter::once(("domain.name", domain.name.clone()));
        let aliases = domain.hostnames().into_iter().skip(1).map(|name| ("domain.aliases", name));
        for (key, name) in apex.chain(aliases) {
            let name = canonical_name(&name);
            if name != zone && !name.ends_with(&format!(".{zone}")) {
                out.push(Problem::new(
                    key,
                    format!("{name} is not in the zone {zone} that provider.local.public.dns updates"),
                    "use names under that zone, or set provider.local.public.dns.zone to the zone holding them",
                ));
            }
        }
        out
    }
}

/// Why `address` cannot be listened on as this server's public address (message, fix), if it cannot.
fn address_problem(address: IpAddr) -> Option<(String, String)> {
    if address.is_unspecified() || address.is_multicast() {
        return Some((
            format!("{address} is not one host's address"),
            "list the addresses the server's interfaces have (`ip -brief address`)".into(),
        ));
    }
    // Binding a datagram socket to the address (port 0) asks the kernel whether it is one of this
    // machine's, without sending anything.
    match UdpSocket::bind(SocketAddr::new(address, 0)) {
        Ok(_) => None,
        Err(e) => Some((
            format!("{address} is not an address of this machine ({e})"),
            "list the addresses the server's interfaces have (`ip -brief address`)".into(),
        )),
    }
}

/// `problems` of the sub-table `key`, their fields under `provider.local.public.<key>.`.
pub(crate) fn prefixed(key: &str, problems: Vec<Problem>) -> impl Iterator<Item = Problem> + '_ {
    problems.into_iter().map(move |p| Problem { field: field(&format!("{key}.{}", p.field)), ..p })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use scaling_core::ProviderSettings;

    use super::*;
    use crate::LocalSettings;

    /// A config serving `dashmath.example.com` with `public` as its `[provider.local.public]` tables.
    fn spec(dir: &Path, domain: &str, public: &str) -> Spec {
        let key = dir.join("tsig.key");
        std::fs::write(&key, "key \"scaling\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0\";\n};\n").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let text = format!(
            "[app]\nname = \"dashmath\"\nport = 8050\n[image]\nreference = \"registry.example/d@sha256:{}\"\n{domain}\
             [provider.local.public]\n{public}",
            "a".repeat(64)
        )
        .replace("KEY", &key.display().to_string());
        Spec::from_toml_str(&text).unwrap()
    }

    const GOOD: &str =
        "addresses = [\"127.0.0.1\", \"::1\"]\n[provider.local.public.acme]\ncontact = \"ops@example.com\"\n\
                        [provider.local.public.dns]\nserver = \"192.0.2.53:53\"\nzone = \"example.com\"\n\
                        key_name = \"scaling\"\nkey_file = \"KEY\"\n";
    const DOMAIN: &str = "[domain]\nname = \"dashmath.example.com\"\n";

    fn fields(spec: &Spec) -> Vec<String> {
        match spec.settings::<LocalSettings>() {
            Ok(settings) => settings.problems(spec).into_iter().map(|p| p.field).collect(),
            Err(errors) => errors.problems.into_iter().map(|p| p.field).collect(),
        }
    }

    #[test]
    fn a_public_server_defaults_to_lets_encrypt_ports_443_and_80_and_an_hourly_look() {
        let dir = tempfile::tempdir().unwrap();
        let spec = spec(dir.path(), DOMAIN, GOOD);
        let settings = spec.settings::<LocalSettings>().unwrap();
        assert_eq!(settings.problems(&spec), []);
        assert_eq!((settings.https_port(), settings.http_port()), (443, 80));
        let public = settings.public.unwrap();
        assert_eq!(public.acme.directory, AcmeSettings::LETS_ENCRYPT);
        assert_eq!(public.renewal_check, Duration::from_secs(3600));
        assert_eq!(public.acme_settings(Path::new("/home/u/.scaling")).state_dir, Path::new("/home/u/.scaling/acme"));
        let local = LocalSettings::default();
        assert_eq!((local.https_port(), local.http_port()), (8443, 8080), "a development machine's ports");
    }

    #[test]
    fn http_01_from_lets_encrypt_needs_port_80_and_its_certificate_waits_for_the_names_and_the_plain_port() {
        use scaling_core::StepId;
        let dir = tempfile::tempdir().unwrap();
        let http_01 = GOOD.replace("contact =", "challenge = \"http-01\"\ncontact =");
        assert_eq!(fields(&spec(dir.path(), DOMAIN, &http_01)), Vec::<String>::new(), "port 80 by default");
        let elsewhere = format!("{DOMAIN}[provider.local]\nhttp_port = 8080\n");
        let spec_8080 = spec(dir.path(), &elsewhere, &http_01);
        let problems = spec_8080.settings::<LocalSettings>().unwrap().problems(&spec_8080);
        assert_eq!(problems.iter().map(|p| p.field.as_str()).collect::<Vec<_>>(), ["provider.local.http_port"]);
        assert!(problems[0].fix.contains("dns-01"), "{problems:?}");
        let pebble = http_01.replace("contact =", "directory = \"https://127.0.0.1:14000/dir\"\ncontact =");
        assert_eq!(fields(&spec(dir.path(), &elsewhere, &pebble)), Vec::<String>::new(), "another authority's port");
        assert_eq!(fields(&spec(dir.path(), &elsewhere, GOOD)), Vec::<String>::new(), "DNS-01 needs no port");

        let graph = crate::public_capabilities(scaling_acme::ChallengeKind::Http01);
        assert!(!graph.has_step(StepId::ValidationRecords));
        let waits_for = graph.dependencies(StepId::CertificateIssued);
        assert!(waits_for.contains(&StepId::DnsRecords) && waits_for.contains(&StepId::HttpListener), "{waits_for:?}");
        assert_eq!(graph.conflicts(), Vec::<String>::new());
        let dns_01 = crate::public_capabilities(scaling_acme::ChallengeKind::Dns01);
        assert!(dns_01.has_step(StepId::ValidationRecords));
    }

    #[test]
    fn every_bad_value_is_named_with_its_fix_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let hostile = GOOD
            .replace("[\"127.0.0.1\", \"::1\"]", "[\"0.0.0.0\", \"198.51.100.77\", \"127.0.0.1\", \"127.0.0.1\"]")
            .replace("ops@example.com", "nobody")
            .replace("contact", "directory = \"http://acme.example/dir\"\ncontact")
            .replace("zone = \"example.com\"", "zone = \"example.com\"\nkey_algorithm = \"hmac-md5\"")
            .replace("addresses", "renewal_check = \"100ms\"\naddresses");
        let found = fields(&spec(dir.path(), DOMAIN, &hostile));
        for wanted in [
            "provider.local.public.addresses[0]",
            "provider.local.public.addresses[1]",
            "provider.local.public.addresses[3]",
            "provider.local.public.acme.directory",
            "provider.local.public.acme.contact",
            "provider.local.public.dns.key_algorithm",
            "provider.local.public.renewal_check",
        ] {
            assert!(found.iter().any(|f| f == wanted), "{wanted} in {found:?}");
        }
        assert!(!found.iter().any(|f| f == "provider.local.public.addresses[2]"), "127.0.0.1 is fine: {found:?}");
    }

    #[test]
    fn an_address_of_another_machine_says_how_to_list_this_ones() {
        let problem = address_problem("198.51.100.77".parse().unwrap()).expect("not this machine's");
        assert!(problem.0.contains("not an address of this machine"), "{problem:?}");
        assert!(problem.1.contains("ip -brief address"), "{problem:?}");
        assert_eq!(address_problem("::1".parse().unwrap()), None);
    }

    #[test]
    fn the_domain_must_be_set_served_over_https_and_inside_the_zone() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(fields(&spec(dir.path(), "", GOOD)), ["domain.name"]);
        let outside = "[domain]\nname = \"dashmath.example.org\"\nhttps = false\nredirect_http = false\n";
        assert_eq!(fields(&spec(dir.path(), outside, GOOD)), ["domain.https", "domain.name", "domain.aliases"]);
        let apex = "[domain]\nname = \"example.com\"\n";
        assert_eq!(fields(&spec(dir.path(), apex, GOOD)), Vec::<String>::new(), "the zone's apex is in it");
    }

    #[test]
    fn a_missing_or_misspelt_key_is_named_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let missing = GOOD.replace("contact = \"ops@example.com\"\n", "");
        let problems = spec(dir.path(), DOMAIN, &missing).settings::<LocalSettings>().unwrap_err().problems;
        assert!(problems[0].field.starts_with("provider.local.public"), "{problems:?}");
        assert!(problems[0].message.contains("contact"), "{problems:?}");
        let misspelt = GOOD.replace("key_name", "keyname");
        let problems = spec(dir.path(), DOMAIN, &misspelt).settings::<LocalSettings>().unwrap_err().problems;
        assert_eq!(problems[0].field, "provider.local.public.dns.keyname", "{problems:?}");
        assert!(problems[0].message.contains("line"), "{problems:?}");
    }

    #[test]
    fn a_readable_key_file_is_refused_without_showing_its_secret() {
        let dir = tempfile::tempdir().unwrap();
        let spec = spec(dir.path(), DOMAIN, GOOD);
        std::fs::set_permissions(dir.path().join("tsig.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
        let problems = spec.settings::<LocalSettings>().unwrap().problems(&spec);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].field, "provider.local.public.dns.key_file");
        assert!(problems[0].fix.contains("chmod 600"), "{problems:?}");
        assert!(!format!("{problems:?}").contains("c2VjcmV0"), "the secret is never shown");
    }
}
