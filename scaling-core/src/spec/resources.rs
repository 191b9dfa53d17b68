//! What one replica may use, in units every platform shares: vCPU and MiB.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// CPU for one replica, in thousandths of a vCPU (a Kubernetes "millicore"): written `cpu = 0.25`,
/// `cpu = 1` or `cpu = "500m"` in `scaling.toml`. Each provider maps it onto its own sizes (Fargate's
/// CPU units, Cloud Run's CPU limit, a local worker count) and says when it has no such size.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Vcpu {
    millis: u32,
}

impl Vcpu {
    /// One whole vCPU.
    pub const ONE: Vcpu = Vcpu { millis: 1000 };

    /// `millis` thousandths of a vCPU.
    pub const fn from_millis(millis: u32) -> Self {
        Self { millis }
    }

    /// Thousandths of a vCPU.
    pub const fn millis(self) -> u32 {
        self.millis
    }

    /// Whole vCPUs, rounded up (at least one): how many workers a replica can keep busy.
    pub fn whole_cpus_rounded_up(self) -> u32 {
        self.millis.div_ceil(1000).max(1)
    }
}

impl Vcpu {
    /// The vCPU count as `scaling.toml` writes it: `0.25`, `1`, `2.5`.
    pub fn number(self) -> String {
        let (whole, frac) = (self.millis / 1000, self.millis % 1000);
        if frac == 0 {
            whole.to_string()
        } else {
            format!("{whole}.{}", format!("{frac:03}").trim_end_matches('0'))
        }
    }
}

impl fmt::Display for Vcpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} vCPU", self.number())
    }
}

impl fmt::Debug for Vcpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Vcpu {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Vcpu".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "CPU per replica: vCPUs as a number (0.25, 1, 2) or millicores as a string (\"500m\")",
            "anyOf": [
                { "type": "number", "exclusiveMinimum": 0 },
                { "type": "string", "pattern": "^([0-9]+m|[0-9]+(\\.[0-9]+)?)$" }
            ]
        })
    }
}

impl Serialize for Vcpu {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(f64::from(self.millis) / 1000.0)
    }
}

impl<'de> Deserialize<'de> for Vcpu {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(VcpuVisitor)
    }
}

struct VcpuVisitor;

impl VcpuVisitor {
    fn from_vcpus<E: de::Error>(value: f64) -> Result<Vcpu, E> {
        let millis = value * 1000.0;
        if !(0.0..=f64::from(u32::MAX)).contains(&millis) || millis.fract().abs() > 1e-6 {
            return Err(E::custom(format!("{value} vCPU is not a whole number of thousandths of a vCPU")));
        }
        Ok(Vcpu::from_millis(millis.round() as u32))
    }
}

impl Visitor<'_> for VcpuVisitor {
    type Value = Vcpu;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("vCPUs as a number (`0.25`, `1`, `2`) or millicores as a string (`\"500m\"`)")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Vcpu, E> {
        u32::try_from(value)
            .ok()
            .and_then(|v| v.checked_mul(1000))
            .map(Vcpu::from_millis)
            .ok_or_else(|| E::custom(format!("{value} vCPU is out of range")))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Vcpu, E> {
        self.visit_i64(i64::try_from(value).unwrap_or(i64::MAX))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Vcpu, E> {
        Self::from_vcpus(value)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Vcpu, E> {
        let value = value.trim();
        if let Some(millis) = value.strip_suffix('m') {
            return millis
                .parse::<u32>()
                .map(Vcpu::from_millis)
                .map_err(|_| E::custom(format!("`{value}` is not a number of millicores like `500m`")));
        }
        value
            .parse::<f64>()
            .map_err(|_| E::custom(format!("`{value}` is not a vCPU count like `0.5` or millicores like `500m`")))
            .and_then(Self::from_vcpus)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Wrapper {
        cpu: Vcpu,
    }

    fn parse(text: &str) -> Result<Vcpu, String> {
        toml::from_str::<Wrapper>(text).map(|w| w.cpu).map_err(|e| e.to_string())
    }

    #[test]
    fn numbers_strings_and_millicores_agree() {
        for text in ["cpu = 0.25", "cpu = \"0.25\"", "cpu = \"250m\""] {
            assert_eq!(parse(text), Ok(Vcpu::from_millis(250)), "{text}");
        }
        assert_eq!(parse("cpu = 2"), Ok(Vcpu::from_millis(2000)));
        assert_eq!(Vcpu::from_millis(250).to_string(), "0.25 vCPU");
        assert_eq!(Vcpu::from_millis(2000).to_string(), "2 vCPU");
    }

    #[test]
    fn fractions_of_a_millicore_and_negatives_are_refused() {
        assert!(parse("cpu = 0.0001").is_err());
        assert!(parse("cpu = -1").is_err());
        assert!(parse("cpu = \"lots\"").unwrap_err().contains("vCPU count"));
    }

    #[test]
    fn whole_cpus_round_up() {
        assert_eq!(Vcpu::from_millis(250).whole_cpus_rounded_up(), 1);
        assert_eq!(Vcpu::from_millis(2500).whole_cpus_rounded_up(), 3);
    }
}
