//! `[scaling]`: the replica count moves between `min` and `max`, following the targets.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Problem;

/// Autoscaling: the provider adds replicas when a target is exceeded and removes them when the
/// load falls, never below `min` nor above `max`. Without this table the count is `app.desired_count`.
///
/// ```
/// let spec = scaling_core::Spec::from_toml_str(r#"
///     app = { name = "dashmath", port = 8050 }
///     image = { context = "." }
///     [scaling]
///     min = 2
///     max = 10
///     cpu_percent = 60
/// "#).unwrap();
/// let scaling = spec.scaling.unwrap();
/// assert_eq!((scaling.min, scaling.max, scaling.requests_per_second), (2, 10, None));
/// ```
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoscalingSpec {
    /// The fewest replicas, whatever the load (at least 1).
    pub min: u32,
    /// The most replicas (a provider may cap it lower, e.g. by this machine's cores locally).
    pub max: u32,
    /// Keep the average CPU use of the replicas near this percent of what each is given (`app.cpu`).
    #[serde(default)]
    pub cpu_percent: Option<u32>,
    /// Keep the requests each replica serves per second near this many.
    #[serde(default)]
    pub requests_per_second: Option<u32>,
    /// After adding replicas, how long before adding more (their effect shows first).
    #[serde(default = "default_scale_out_cooldown", with = "humantime_serde")]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub scale_out_cooldown: Duration,
    /// How long the load must stay low before replicas are removed (and between two removals).
    #[serde(default = "default_scale_in_cooldown", with = "humantime_serde")]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub scale_in_cooldown: Duration,
}

impl AutoscalingSpec {
    /// Between `min` and `max` on CPU alone, with the default cooldowns.
    pub fn on_cpu(min: u32, max: u32, cpu_percent: u32) -> Self {
        Self {
            min,
            max,
            cpu_percent: Some(cpu_percent),
            requests_per_second: None,
            scale_out_cooldown: default_scale_out_cooldown(),
            scale_in_cooldown: default_scale_in_cooldown(),
        }
    }

    /// `count` kept within `min..=max`: where a new deployment starts, or a count autoscaling set
    /// before the bounds changed.
    pub fn clamp(&self, count: u32) -> u32 {
        count.clamp(self.min, self.max.max(self.min))
    }
}

fn default_scale_out_cooldown() -> Duration {
    Duration::from_secs(60)
}

fn default_scale_in_cooldown() -> Duration {
    Duration::from_secs(300)
}

/// The most replicas autoscaling may reach (ECS's limit per service).
const MAX_REPLICAS: u32 = 5000;

/// Every problem of `scaling`, and of `app.desired_count` against it.
pub(super) fn problems(scaling: &AutoscalingSpec, desired_count: u32, out: &mut Vec<Problem>) {
    let push = |out: &mut Vec<Problem>, field: &str, message: String, fix: &str| {
        out.push(Problem::new(field, message, fix));
    };
    if scaling.min == 0 {
        push(out, "scaling.min", "is 0".into(), "keep at least 1 replica running, e.g. `min = 2` (one per zone)");
    }
    if scaling.max < scaling.min {
        push(
            out,
            "scaling.max",
            format!("{} is below scaling.min ({})", scaling.max, scaling.min),
            "set max to at least min",
        );
    } else if scaling.max > MAX_REPLICAS {
        push(out, "scaling.max", format!("{} replicas is over the limit of {MAX_REPLICAS}", scaling.max), "use 1–5000");
    }
    match scaling.cpu_percent {
        Some(cpu) if !(10..=95).contains(&cpu) => push(
            out,
            "scaling.cpu_percent",
            format!("{cpu}% is out of range"),
            "use 10–95 (60–70 leaves room for a burst while new replicas start)",
        ),
        _ => {}
    }
    if scaling.requests_per_second == Some(0) {
        push(
            out,
            "scaling.requests_per_second",
            "is 0".into(),
            "use the requests one replica serves comfortably per second, e.g. 100",
        );
    }
    if scaling.cpu_percent.is_none() && scaling.requests_per_second.is_none() {
        push(
            out,
            "scaling",
            "has no target to follow".into(),
            "set `cpu_percent` (e.g. 60), `requests_per_second` (per replica, e.g. 100), or both",
        );
    }
    for (field, value) in [
        ("scaling.scale_out_cooldown", scaling.scale_out_cooldown),
        ("scaling.scale_in_cooldown", scaling.scale_in_cooldown),
    ] {
        if value > Duration::from_secs(3600) {
            push(out, field, format!("{} is over an hour", humantime::format_duration(value)), "use 0s–1h, e.g. `60s`");
        }
    }
    if scaling.max >= scaling.min && desired_count > scaling.max {
        push(
            out,
            "app.desired_count",
            format!("{desired_count} is above scaling.max ({})", scaling.max),
            "with [scaling], app.desired_count is only where a new deployment starts: lower it or raise scaling.max",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(scaling: &AutoscalingSpec, desired: u32) -> Vec<String> {
        let mut out = Vec::new();
        problems(scaling, desired, &mut out);
        out.into_iter().map(|p| p.field).collect()
    }

    #[test]
    fn bounds_targets_and_cooldowns_are_checked_by_field() {
        assert!(fields(&AutoscalingSpec::on_cpu(2, 10, 60), 2).is_empty());
        assert_eq!(fields(&AutoscalingSpec::on_cpu(0, 10, 60), 2), ["scaling.min"]);
        assert_eq!(fields(&AutoscalingSpec::on_cpu(5, 3, 60), 2), ["scaling.max"]);
        assert_eq!(fields(&AutoscalingSpec::on_cpu(1, 10, 100), 2), ["scaling.cpu_percent"]);
        assert_eq!(fields(&AutoscalingSpec::on_cpu(1, 3, 60), 4), ["app.desired_count"]);
        let no_target = AutoscalingSpec { cpu_percent: None, ..AutoscalingSpec::on_cpu(1, 3, 60) };
        assert_eq!(fields(&no_target, 1), ["scaling"]);
        let slow =
            AutoscalingSpec { scale_in_cooldown: Duration::from_secs(7200), ..AutoscalingSpec::on_cpu(1, 3, 60) };
        assert_eq!(fields(&slow, 1), ["scaling.scale_in_cooldown"]);
    }

    #[test]
    fn a_count_is_kept_within_the_bounds() {
        let scaling = AutoscalingSpec::on_cpu(2, 10, 60);
        assert_eq!((scaling.clamp(1), scaling.clamp(7), scaling.clamp(40)), (2, 7, 10));
    }
}
