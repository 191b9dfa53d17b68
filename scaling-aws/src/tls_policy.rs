//! ELB security policies: the one an HTTPS listener gets for a neutral minimum TLS version, and the
//! minimum a policy found on a listener stands for.

use scaling_core::TlsVersion;

/// The policy for a 1.2 minimum: TLS 1.3 first, TLS 1.2 for older clients, no weak ciphers.
pub const TLS12_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";
/// The policy for a 1.3 minimum: TLS 1.3 only.
pub const TLS13_POLICY: &str = "ELBSecurityPolicy-TLS13-1-3-2021-06";

/// The policy an HTTPS listener gets: `configured` (`provider.aws.tls_policy`) when set, else the TLS
/// 1.3 family's policy for `min`.
pub fn policy_for(min: TlsVersion, configured: Option<&str>) -> String {
    match (configured, min) {
        (Some(policy), _) => policy.to_string(),
        (None, TlsVersion::V1_3) => TLS13_POLICY.to_string(),
        (None, _) => TLS12_POLICY.to_string(),
    }
}

/// The lowest TLS version `policy` accepts, from the names AWS documents: `…TLS13-1-3…` is 1.3 only;
/// `…TLS13-1-2…`, `…TLS-1-2…` and `…FS-1-2…` are 1.2; `…TLS-1-1…`/`…FS-1-1…` 1.1; others (the
/// `2016-08` default, `…TLS13-1-0…`) accept 1.0.
pub fn min_version_of(policy: &str) -> TlsVersion {
    let policy = policy.to_ascii_uppercase();
    if policy.contains("TLS13-1-3") {
        TlsVersion::V1_3
    } else if ["TLS13-1-2", "TLS-1-2", "FS-1-2"].iter().any(|p| policy.contains(p)) {
        TlsVersion::V1_2
    } else if ["TLS13-1-1", "TLS-1-1", "FS-1-1"].iter().any(|p| policy.contains(p)) {
        TlsVersion::V1_1
    } else {
        TlsVersion::V1_0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_minimum_gets_a_policy_that_reads_back_as_it() {
        for min in [TlsVersion::V1_2, TlsVersion::V1_3] {
            assert_eq!(min_version_of(&policy_for(min, None)), min);
        }
        assert_eq!(
            policy_for(TlsVersion::V1_3, Some("ELBSecurityPolicy-FS-1-2-Res-2020-10")),
            "ELBSecurityPolicy-FS-1-2-Res-2020-10"
        );
    }

    #[test]
    fn the_old_default_policy_accepts_tls_1_0() {
        assert_eq!(min_version_of("ELBSecurityPolicy-2016-08"), TlsVersion::V1_0);
        assert_eq!(min_version_of("ELBSecurityPolicy-TLS-1-1-2017-01"), TlsVersion::V1_1);
        assert_eq!(min_version_of("ELBSecurityPolicy-TLS13-1-2-Res-2021-06"), TlsVersion::V1_2);
    }
}
