//! [`Endpoint`]: where an app's host names must lead — what its load balancer (or platform) answers
//! on. A host name on clouds that hand one out (an ALB), addresses on others (a Gateway's IP, a Cloud
//! Run global address); the DNS provider turns it into the records it writes.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// What the app's traffic enters through.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Endpoint {
    /// A host name that resolves to the entry point, e.g. `app-alb-1.us-west-2.elb.amazonaws.com`.
    pub hostname: Option<String>,
    /// Addresses of the entry point, IPv4 and IPv6.
    pub addresses: Vec<IpAddr>,
}

impl Endpoint {
    /// An endpoint known by host name.
    pub fn hostname(name: impl Into<String>) -> Self {
        Self { hostname: Some(name.into()), addresses: Vec::new() }
    }

    /// An endpoint known by its addresses.
    pub fn addresses(addresses: impl IntoIterator<Item = IpAddr>) -> Self {
        Self { hostname: None, addresses: addresses.into_iter().collect() }
    }

    /// The host part of a URL that reaches it directly: the host name, else the first address
    /// (IPv6 in brackets); `None` for an endpoint not known yet.
    pub fn url_host(&self) -> Option<String> {
        match (&self.hostname, self.addresses.first()) {
            (Some(name), _) => Some(name.clone()),
            (None, Some(IpAddr::V6(v6))) => Some(format!("[{v6}]")),
            (None, Some(IpAddr::V4(v4))) => Some(v4.to_string()),
            (None, None) => None,
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let addresses: Vec<String> = self.addresses.iter().map(IpAddr::to_string).collect();
        match (&self.hostname, addresses.is_empty()) {
            (Some(name), true) => f.write_str(name),
            (Some(name), false) => write!(f, "{name} ({})", addresses.join(", ")),
            (None, false) => f.write_str(&addresses.join(", ")),
            (None, true) => f.write_str("(no endpoint yet)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_reach_a_host_name_first_then_an_address() {
        assert_eq!(Endpoint::hostname("lb.example").url_host().as_deref(), Some("lb.example"));
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(Endpoint::addresses([v6]).url_host().as_deref(), Some("[2001:db8::1]"));
        assert_eq!(Endpoint::default().url_host(), None);
    }
}
