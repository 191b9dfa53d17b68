//! `[provider.local.public]`: one server serving the app's own domain. The balancer listens on the
//! server's public addresses (ports 443 and 80 unless the table's ports say otherwise), the apex and
//! every alias get A/AAAA records of those addresses through RFC 2136 updates to the domain's DNS
//! server ([`scaling_dns_update`]), and the certificate comes from an ACME authority, Let's Encrypt
//! by default ([`scaling_acme`]), validated by DNS-01 records written the same way.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::Path;
use std::time::Duration;

use scaling_acme::AcmeSettings;
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
        let zone = self.dns.zone.trim_end_matches('.').to_ascii_lowercase();
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
        for name in domain.hostnames() {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if name != zone && !name.ends_with(&format!(".{zone}")) {
                out.push(Problem::new(
                    "domain",
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
fn prefixed(key: &str, problems: Vec<Problem>) -> impl Iterator<Item = Problem> + '_ {
    problems.into_iter().map(move |p| Problem { field: field(&format!("{key}.{}", p.field)), ..p })
}
