//! When a certificate is due for renewal: once two thirds of its life have passed, as Let's Encrypt
//! advises (<https://letsencrypt.org/docs/integration-guide/#when-to-renew>: a 90-day certificate
//! 30 days before it ends), so a failed renewal leaves weeks to fix it.

use crate::store::Stored;
use scaling_core::providers::CertificateInfo;

/// The leaf's (not before, not after) in seconds since the epoch, read from the PEM chain.
pub(crate) fn validity(chain_pem: &str) -> Option<(i64, i64)> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(chain_pem.as_bytes()).ok()?;
    let certificate = pem.parse_x509().ok()?;
    let validity = certificate.validity();
    Some((validity.not_before.timestamp(), validity.not_after.timestamp()))
}

/// Why a certificate valid over `validity` is due at `now`, or `None` while it is not.
pub(crate) fn due(validity: (i64, i64), now: i64) -> Option<String> {
    let (not_before, not_after) = validity;
    let life = (not_after - not_before).max(1);
    let renew_at = not_before + life * 2 / 3;
    (now >= renew_at).then(|| {
        let left = not_after - now;
        let in_words = |seconds: i64| match seconds {
            s if s >= 2 * 86_400 => format!("{} days", s / 86_400),
            s if s >= 7_200 => format!("{} hours", s / 3_600),
            s => format!("{} seconds", s.max(0)),
        };
        format!("past two thirds of its life: {} of {} left", in_words(left), in_words(life))
    })
}

/// The certificate as the core sees it, with its renewal due where it is.
pub(crate) fn with_renewal(stored: Stored) -> CertificateInfo {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    CertificateInfo { renewal_due: stored.validity.and_then(|v| due(v, now)), ..stored.info }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ninety_day_certificate_is_due_thirty_days_before_it_ends() {
        let day = 86_400;
        let life = (0, 90 * day);
        assert_eq!(due(life, 59 * day), None);
        let reason = due(life, 61 * day).expect("due");
        assert_eq!(reason, "past two thirds of its life: 29 days of 90 days left");
        assert!(due((0, 30), 25).unwrap().contains("5 seconds of 30 seconds left"));
    }
}
