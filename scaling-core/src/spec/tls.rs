//! The lowest TLS version an HTTPS endpoint accepts: the one TLS setting every platform can honour.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A TLS protocol version. The spec accepts 1.2 and 1.3 as a minimum; older versions exist so that a
/// provider can report honestly what it found (a load balancer changed out of band to accept TLS 1.0).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TlsVersion {
    /// TLS 1.0 (insecure; only ever read back, never asked for).
    #[serde(rename = "1.0")]
    V1_0,
    /// TLS 1.1 (insecure; only ever read back, never asked for).
    #[serde(rename = "1.1")]
    V1_1,
    /// TLS 1.2: the default minimum, for clients that lack 1.3. TLS 1.3 is still offered first.
    #[default]
    #[serde(rename = "1.2")]
    V1_2,
    /// TLS 1.3 only.
    #[serde(rename = "1.3")]
    V1_3,
}

impl TlsVersion {
    /// The version as written in `scaling.toml`, e.g. `1.2`.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsVersion::V1_0 => "1.0",
            TlsVersion::V1_1 => "1.1",
            TlsVersion::V1_2 => "1.2",
            TlsVersion::V1_3 => "1.3",
        }
    }

    /// True for versions a new deployment may ask for (1.2 and later).
    pub fn is_secure(self) -> bool {
        self >= TlsVersion::V1_2
    }
}

impl fmt::Debug for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TLS {}", self.as_str())
    }
}
