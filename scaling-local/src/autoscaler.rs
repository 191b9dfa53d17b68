//! The local autoscaler: once a second it samples what the balancer carries for a service (requests
//! served, in flight and waiting in line) and the CPU its replicas' processes use, and moves the
//! replica count between the bounds. Out at once when a target is exceeded or requests queue (after
//! the scale-out cooldown, and once the replicas it added take traffic); in only after the load has
//! stayed low for the scale-in cooldown, halving at most. Never above what this machine's cores hold.

use std::sync::Weak;
use std::time::Duration;

use scaling_core::providers::{ScalingDecision, ScalingTarget};
use tokio::time::Instant;

/// What the autoscaler keeps to, as `ensure_autoscaling` set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The fewest replicas.
    pub min: u32,
    /// The most replicas the spec allows.
    pub max: u32,
    /// The most this machine holds (its cores over each replica's workers), at least `min`.
    pub cap: u32,
    /// The targets.
    pub targets: Vec<ScalingTarget>,
    /// After a scale-out, how long before the next.
    pub scale_out_cooldown: Duration,
    /// How long the load stays low before a scale-in, and between two.
    pub scale_in_cooldown: Duration,
}

impl Policy {
    /// The highest count it may reach: `max`, or the machine's cap when lower.
    pub fn ceiling(&self) -> u32 {
        self.max.min(self.cap).max(self.min)
    }
}

/// This machine's cores (at least 1).
pub fn machine_cores() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

/// The replicas this machine can keep busy: one per core, over the workers of each.
pub fn machine_cap(workers_per_replica: u32) -> u32 {
    (machine_cores() / workers_per_replica.max(1)).max(1)
}

/// The load of a service over the last window, per replica where it says so.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Load {
    /// Replicas taking traffic.
    pub replicas: u32,
    /// Requests each served per second.
    pub requests_per_second: f64,
    /// CPU each used, in percent of its workers' cores.
    pub cpu_percent: f64,
    /// Requests in flight plus waiting in line, on all replicas.
    pub outstanding: f64,
    /// Worker processes per replica: the requests one serves at once.
    pub workers: u32,
}

/// The count `load` needs and why (the strongest reason), before bounds.
pub fn needed(policy: &Policy, load: &Load) -> (u32, String) {
    let n = f64::from(load.replicas.max(1));
    let mut asks: Vec<(f64, String)> = Vec::new();
    for target in &policy.targets {
        match *target {
            ScalingTarget::CpuPercent(t) => asks.push((
                n * load.cpu_percent / f64::from(t),
                format!("CPU {:.0}% per replica against the {t}% target", load.cpu_percent),
            )),
            ScalingTarget::RequestsPerSecond(t) => asks.push((
                n * load.requests_per_second / f64::from(t),
                format!("{:.0} requests/s per replica against the target of {t}", load.requests_per_second),
            )),
            _ => {}
        }
    }
    let workers = f64::from(load.workers.max(1));
    // Queueing counts once requests wait for twice what the workers hold: a calm load's bursts of a
    // request or two must not add a replica.
    if load.outstanding > 2.0 * n * workers {
        asks.push((
            load.outstanding / workers,
            format!(
                "{:.0} requests in flight or waiting for {} replica(s) of {} worker(s)",
                load.outstanding, load.replicas, load.workers
            ),
        ));
    }
    let (count, reason) = asks
        .into_iter()
        .map(|(count, reason)| (count.ceil().max(1.0) as u32, reason))
        .max_by_key(|(count, _)| *count)
        .unwrap_or((load.replicas, String::new()));
    (count, format!("{reason} ({} replica(s) serving)", load.replicas))
}

/// What the autoscaler remembers between two samples.
#[derive(Debug)]
pub struct Memory {
    last_out: Option<Instant>,
    last_in: Option<Instant>,
    low_since: Option<Instant>,
}

impl Memory {
    /// Nothing decided yet; a first scale-in waits a whole cooldown from `now`.
    pub fn new(now: Instant) -> Self {
        Self { last_out: None, last_in: Some(now), low_since: None }
    }
}

/// The new count, if the autoscaler changes `current` now, with why.
pub fn decide(policy: &Policy, load: &Load, current: u32, now: Instant, memory: &mut Memory) -> Option<(u32, String)> {
    let (need, reason) = needed(policy, load);
    let target = need.clamp(policy.min, policy.ceiling());
    let cooled = |since: Option<Instant>, cooldown| since.is_none_or(|at| now.duration_since(at) >= cooldown);
    if current < policy.min || current > policy.ceiling() {
        return Some((current.clamp(policy.min, policy.ceiling()), "outside the bounds".to_string()));
    }
    if target > current {
        memory.low_since = None;
        // Replicas added last time must take traffic before their effect can show.
        if load.replicas < current || !cooled(memory.last_out, policy.scale_out_cooldown) {
            return None;
        }
        memory.last_out = Some(now);
        return Some((target, reason));
    }
    if target < current {
        let low_since = *memory.low_since.get_or_insert(now);
        if now.duration_since(low_since) < policy.scale_in_cooldown || !cooled(memory.last_in, policy.scale_in_cooldown)
        {
            return None;
        }
        memory.last_in = Some(now);
        memory.low_since = None;
        return Some((target.max(current / 2).max(policy.min), reason));
    }
    memory.low_since = None;
    None
}

/// The service as the autoscaler drives it.
pub(crate) trait Scaled: Send + Sync {
    /// The policy, or `None` while autoscaling is off.
    fn policy(&self) -> Option<Policy>;
    /// The count asked for now.
    fn desired(&self) -> u32;
    /// Requests served so far, in flight plus waiting, and replicas taking traffic.
    fn traffic(&self) -> (u64, usize, u32);
    /// CPU seconds each replica taking traffic has used (by process group), and workers per replica.
    fn cpu(&self) -> (Vec<(i32, f64)>, u32);
    /// Sets the count and remembers the decision.
    fn scale_to(&self, count: u32, decision: ScalingDecision);
    /// False once the service stopped.
    fn alive(&self) -> bool;
}

/// One look at a service's load.
struct Sample {
    at: Instant,
    served: u64,
    /// CPU seconds by replica (process group), of those taking traffic.
    cpu: std::collections::HashMap<i32, f64>,
    outstanding: usize,
}

/// The average CPU use, in percent of their workers' cores, of the replicas seen in both samples: a
/// replica that just started (its imports, its warm-up) counts only from its second look on.
fn cpu_percent(first: &Sample, last: &Sample, elapsed: f64, workers: u32) -> f64 {
    let used: Vec<f64> =
        last.cpu.iter().filter_map(|(group, now)| Some((now - first.cpu.get(group)?).max(0.0))).collect();
    if used.is_empty() {
        return 0.0;
    }
    used.iter().sum::<f64>() / elapsed / used.len() as f64 / f64::from(workers.max(1)) * 100.0
}

/// How often the load is sampled.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// The samples a decision looks back over.
const WINDOW: usize = 3;

/// Samples and decides until the service stops (idle while autoscaling is off).
pub(crate) async fn run(service: Weak<dyn Scaled>) {
    let mut memory = Memory::new(Instant::now());
    let mut samples: std::collections::VecDeque<Sample> = Default::default();
    loop {
        tokio::time::sleep(SAMPLE_EVERY).await;
        let Some(service) = service.upgrade().filter(|s| s.alive()) else { return };
        let Some(policy) = service.policy() else {
            // Autoscaling removed (it may come back): nothing to decide, nothing to remember.
            samples.clear();
            continue;
        };
        let now = Instant::now();
        let (served, outstanding, replicas) = service.traffic();
        let (cpu, workers) = service.cpu();
        samples.push_back(Sample { at: now, served, cpu: cpu.into_iter().collect(), outstanding });
        if samples.len() > WINDOW + 1 {
            samples.pop_front();
        }
        let (Some(first), Some(last)) = (samples.front().filter(|_| samples.len() > 1), samples.back()) else {
            continue;
        };
        let elapsed = now.duration_since(first.at).as_secs_f64().max(0.001);
        let per_replica = f64::from(replicas.max(1));
        let load = Load {
            replicas,
            requests_per_second: served.saturating_sub(first.served) as f64 / elapsed / per_replica,
            cpu_percent: cpu_percent(first, last, elapsed, workers),
            outstanding: samples.iter().skip(1).map(|s| s.outstanding as f64).sum::<f64>() / (samples.len() - 1) as f64,
            workers,
        };
        let current = service.desired();
        if let Some((count, reason)) = decide(&policy, &load, current, now, &mut memory) {
            if count != current {
                tracing::info!(from = current, to = count, %reason, "autoscaling");
                let at = scaling_core::providers::epoch_millis(std::time::SystemTime::now());
                service.scale_to(count, ScalingDecision { at, from: Some(current), to: Some(count), reason });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            min: 1,
            max: 10,
            cap: 4,
            targets: vec![ScalingTarget::CpuPercent(60)],
            scale_out_cooldown: Duration::from_secs(5),
            scale_in_cooldown: Duration::from_secs(30),
        }
    }

    fn load(replicas: u32, cpu: f64, outstanding: f64) -> Load {
        Load { replicas, requests_per_second: 10.0, cpu_percent: cpu, outstanding, workers: 1 }
    }

    #[tokio::test(start_paused = true)]
    async fn out_at_once_on_queueing_or_cpu_never_past_the_cores_then_in_only_after_the_cooldown() {
        let p = policy();
        let start = Instant::now();
        let mut memory = Memory::new(start);
        let (count, why) = decide(&p, &load(1, 20.0, 9.0), 1, start, &mut memory).expect("queueing scales out");
        assert_eq!(count, 4, "capped by the machine: {why}");
        assert!(why.contains("9 requests in flight or waiting"), "{why}");
        assert_eq!(
            decide(&p, &load(2, 95.0, 0.0), 4, start, &mut memory),
            None,
            "new replicas must take traffic first"
        );
        let later = start + Duration::from_secs(1);
        assert_eq!(decide(&p, &load(4, 5.0, 0.0), 4, later, &mut memory), None, "low load starts the clock");
        let calm = later + Duration::from_secs(31);
        let (count, _) = decide(&p, &load(4, 5.0, 0.0), 4, calm, &mut memory).expect("in after the cooldown");
        assert_eq!(count, 2, "halving at most");
        let (cpu_count, why) = needed(&p, &load(2, 150.0, 0.0));
        assert_eq!(cpu_count, 5, "{why}");
        assert!(why.contains("CPU 150%"), "{why}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_count_outside_the_bounds_is_brought_back_and_the_cooldown_holds_a_second_scale_out() {
        let p = Policy { cap: 10, ..policy() };
        let now = Instant::now();
        let mut memory = Memory::new(now);
        assert_eq!(decide(&p, &load(12, 10.0, 0.0), 12, now, &mut memory).map(|d| d.0), Some(10));
        assert_eq!(decide(&p, &load(2, 100.0, 0.0), 2, now, &mut memory).map(|d| d.0), Some(4));
        let soon = now + Duration::from_secs(2);
        assert_eq!(decide(&p, &load(4, 100.0, 0.0), 4, soon, &mut memory), None, "scale-out cooldown");
        let after = now + Duration::from_secs(6);
        assert_eq!(decide(&p, &load(4, 100.0, 0.0), 4, after, &mut memory).map(|d| d.0), Some(7));
    }
}
