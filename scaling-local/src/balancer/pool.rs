//! A target group at run time: the replicas' addresses, their health (active checks on the spec's
//! path, plus passive marking on connection failures), and least-outstanding-requests (or round robin)
//! selection with a bounded number of requests per replica — excess requests wait in line instead of
//! failing.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use scaling_core::providers::{TargetHealth, TargetState};
use scaling_core::{Algorithm, HealthCheckSpec};
use tokio::sync::Notify;

use super::HealthClient;

/// Pool settings from the target group.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// The health check.
    pub health: HealthCheckSpec,
    /// Requests one replica serves at once; more wait in line.
    pub max_in_flight: usize,
    /// How long a request may wait in line for a free replica.
    pub queue_timeout: Duration,
    /// Sticky-cookie lifetime, when stickiness is on.
    pub stickiness: Option<Duration>,
    /// How a replica is picked.
    pub algorithm: Algorithm,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            health: HealthCheckSpec::default(),
            max_in_flight: 64,
            queue_timeout: Duration::from_secs(30),
            stickiness: None,
            algorithm: Algorithm::default(),
        }
    }
}

/// One replica behind the balancer.
#[derive(Debug)]
pub struct Target {
    /// The replica id (stable across health changes, used by the sticky cookie).
    pub id: u64,
    /// Where it listens.
    pub addr: SocketAddr,
    healthy: AtomicBool,
    ever_healthy: AtomicBool,
    draining: AtomicBool,
    removed: AtomicBool,
    in_flight: AtomicUsize,
    failures: AtomicU32,
    reason: Mutex<Option<String>>,
}

impl Target {
    /// A new replica: not yet checked, so not healthy.
    fn new(id: u64, addr: SocketAddr) -> Self {
        Target {
            id,
            addr,
            healthy: AtomicBool::new(false),
            ever_healthy: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            removed: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            failures: AtomicU32::new(0),
            reason: Mutex::new(Some("Target registration is in progress".into())),
        }
    }

    /// True when passing health checks.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    /// True when unhealthy after at least `threshold` failed checks in a row.
    pub fn is_failing(&self, threshold: u32) -> bool {
        !self.is_healthy() && self.failures.load(Ordering::Acquire) >= threshold
    }

    /// Why it is not healthy, as its last health check said (`None` once healthy).
    pub fn reason(&self) -> Option<String> {
        self.reason.lock().ok().and_then(|r| r.clone())
    }

    /// Requests being served now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    fn set_reason(&self, reason: Option<String>) {
        if let Ok(mut r) = self.reason.lock() {
            *r = reason;
        }
    }
}

/// A request counted as waiting in line until it leaves [`Pool::acquire`], however it leaves.
struct InLine<'a>(&'a AtomicUsize);

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A request's hold on a target; releasing it frees a place in line.
pub struct Lease {
    /// The target.
    pub target: Arc<Target>,
    pool: Arc<Pool>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.target.in_flight.fetch_sub(1, Ordering::AcqRel);
        // Only the head of the line waits on this.
        self.pool.changed.notify_waiters();
    }
}

/// The targets of one target group.
pub struct Pool {
    targets: RwLock<Vec<Arc<Target>>>,
    changed: Notify,
    /// Requests wait their turn here, first come first served (tokio's mutex is fair).
    turnstile: tokio::sync::Mutex<()>,
    next: AtomicUsize,
    settings: RwLock<PoolSettings>,
    client: HealthClient,
    /// Requests handed to a replica so far.
    served: AtomicU64,
    /// Requests waiting in line for a place now.
    queued: AtomicUsize,
}

/// What a pool is carrying, as the autoscaler samples it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolLoad {
    /// Requests handed to a replica since the pool was made.
    pub served: u64,
    /// Requests being served now, on every replica.
    pub in_flight: usize,
    /// Requests waiting in line for a place now.
    pub queued: usize,
    /// Replicas taking traffic.
    pub healthy: usize,
}

impl Pool {
    /// An empty pool whose health checks use `client`.
    pub fn new(settings: PoolSettings, client: HealthClient) -> Arc<Self> {
        Arc::new(Self {
            targets: RwLock::new(Vec::new()),
            changed: Notify::new(),
            turnstile: tokio::sync::Mutex::new(()),
            next: AtomicUsize::new(0),
            settings: RwLock::new(settings),
            client,
            served: AtomicU64::new(0),
            queued: AtomicUsize::new(0),
        })
    }

    /// Resolves at the pool's next change: a target added, removed, draining, turned healthy or
    /// unhealthy, or a request finished.
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    /// Tells whoever waits on [`Self::changed`] that something about the pool's replicas changed.
    pub fn note_change(&self) {
        self.changed.notify_waiters();
    }

    /// The settings now in force.
    pub fn settings(&self) -> PoolSettings {
        self.settings.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// Replaces the settings (health check, limits, stickiness).
    pub fn configure(&self, settings: PoolSettings) {
        if let Ok(mut s) = self.settings.write() {
            *s = settings;
        }
    }

    fn snapshot(&self) -> Vec<Arc<Target>> {
        self.targets.read().map(|t| t.clone()).unwrap_or_default()
    }

    /// Registers a replica (unhealthy until it passes checks) and starts checking it.
    pub fn add(self: &Arc<Self>, id: u64, addr: SocketAddr) -> Arc<Target> {
        let target = Arc::new(Target::new(id, addr));
        if let Ok(mut targets) = self.targets.write() {
            targets.push(target.clone());
        }
        tokio::spawn(check_health(self.clone(), target.clone()));
        target
    }

    /// Stops sending new requests to `id` and waits (up to `timeout`) for its requests to finish, then
    /// removes it.
    pub async fn drain(&self, id: u64, timeout: Duration) {
        let Some(target) = self.snapshot().into_iter().find(|t| t.id == id) else { return };
        target.draining.store(true, Ordering::Release);
        let deadline = tokio::time::Instant::now() + timeout;
        while target.in_flight() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.remove(id);
    }

    /// Removes `id` at once.
    pub fn remove(&self, id: u64) {
        if let Ok(mut targets) = self.targets.write() {
            targets.retain(|t| {
                let keep = t.id != id;
                if !keep {
                    t.removed.store(true, Ordering::Release);
                }
                keep
            });
        }
        self.changed.notify_waiters();
    }

    /// Marks a target unhealthy after a connection failure (passive check); active checks bring it back.
    pub fn mark_failed(&self, target: &Target, reason: &str) {
        target.healthy.store(false, Ordering::Release);
        target.set_reason(Some(format!("connection failed: {reason}")));
        self.changed.notify_waiters();
    }

    /// The target for the next request: the sticky one when healthy, else — skipping `tried` — the
    /// healthy one with the fewest requests in flight (round robin among equals), or with
    /// [`Algorithm::RoundRobin`] the next healthy one in turn that has room. Waits in line — first come, first
    /// served, only the head of the line watching for a free place — while every healthy target is at its
    /// limit or none is healthy yet; `None` after the queue timeout.
    pub async fn acquire(self: &Arc<Self>, sticky: Option<u64>, tried: &[u64]) -> Option<Lease> {
        let settings = self.settings();
        let deadline = tokio::time::Instant::now() + settings.queue_timeout;
        self.queued.fetch_add(1, Ordering::AcqRel);
        let _in_line = InLine(&self.queued);
        let _turn = tokio::time::timeout_at(deadline, self.turnstile.lock()).await.ok()?;
        loop {
            let notified = self.changed.notified();
            if let Some(lease) = self.try_acquire(sticky, tried, &settings) {
                return Some(lease);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    fn try_acquire(self: &Arc<Self>, sticky: Option<u64>, tried: &[u64], settings: &PoolSettings) -> Option<Lease> {
        let limit = settings.max_in_flight;
        let targets = self.snapshot();
        let usable = |t: &&Arc<Target>| t.is_healthy() && !t.draining.load(Ordering::Acquire) && !tried.contains(&t.id);
        let candidates: Vec<&Arc<Target>> = targets.iter().filter(usable).collect();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let sticky_pick = sticky.and_then(|id| candidates.iter().find(|t| t.id == id).copied());
        let mut in_turn = (0..candidates.len()).map(|i| candidates[(start + i) % candidates.len()]);
        let pick = sticky_pick.or_else(|| match settings.algorithm {
            Algorithm::LeastOutstandingRequests => in_turn.min_by_key(|t| t.in_flight()),
            Algorithm::RoundRobin => in_turn.find(|t| t.in_flight() < limit),
        })?;
        // Reserve a place; give it back if another request took the last one first.
        if pick.in_flight.fetch_add(1, Ordering::AcqRel) >= limit {
            pick.in_flight.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        self.served.fetch_add(1, Ordering::Relaxed);
        Some(Lease { target: pick.clone(), pool: self.clone() })
    }

    /// What the pool carries now, for the autoscaler.
    pub fn load(&self) -> PoolLoad {
        let targets = self.snapshot();
        PoolLoad {
            served: self.served.load(Ordering::Relaxed),
            in_flight: targets.iter().map(|t| t.in_flight()).sum(),
            // The one holding the turnstile may be about to get a place: only those behind it wait.
            queued: self.queued.load(Ordering::Acquire).saturating_sub(1),
            healthy: targets.iter().filter(|t| t.is_healthy() && !t.draining.load(Ordering::Acquire)).count(),
        }
    }

    /// Every target's health, for `status` and the cluster's rollout.
    pub fn health(&self) -> Vec<TargetHealth> {
        self.snapshot()
            .iter()
            .map(|t| {
                let state = if t.draining.load(Ordering::Acquire) {
                    TargetState::Draining
                } else if t.is_healthy() {
                    TargetState::Healthy
                } else if t.failures.load(Ordering::Acquire) >= self.settings().health.unhealthy_threshold {
                    TargetState::Unhealthy
                } else {
                    TargetState::Initial
                };
                let reason =
                    if state == TargetState::Healthy { None } else { t.reason.lock().ok().and_then(|r| r.clone()) };
                TargetHealth { target: t.addr.to_string(), state, reason }
            })
            .collect()
    }

    /// The target with replica `id`, if registered.
    pub fn target(&self, id: u64) -> Option<Arc<Target>> {
        self.snapshot().into_iter().find(|t| t.id == id)
    }
}

/// One health check: `Ok` for a 200–399 answer within the timeout.
async fn probe(client: &HealthClient, target: &Target, health: &HealthCheckSpec) -> Result<(), String> {
    let uri = format!("http://{}{}", target.addr, health.path);
    let request = http::Request::get(uri)
        .header(http::header::USER_AGENT, "scaling-health-check")
        .body(Empty::<Bytes>::new().map_err(|never| match never {}).boxed())
        .map_err(|e| e.to_string())?;
    match tokio::time::timeout(health.timeout, client.request(request)).await {
        Err(_) => Err(format!("Request timed out after {}s", health.timeout.as_secs())),
        Ok(Err(e)) => Err(format!("Health check failed: {e}")),
        Ok(Ok(response)) => {
            let status = response.status();
            let _ = response.into_body().collect().await;
            if status.is_success() || status.is_redirection() {
                Ok(())
            } else {
                Err(format!("Health checks failed with these codes: [{}]", status.as_u16()))
            }
        }
    }
}

/// Checks `target` until it is removed: every second until first healthy, then every interval.
async fn check_health(pool: Arc<Pool>, target: Arc<Target>) {
    let mut successes = 0;
    while !target.removed.load(Ordering::Acquire) {
        let health = pool.settings().health;
        match probe(&pool.client, &target, &health).await {
            Ok(()) => {
                successes += 1;
                target.failures.store(0, Ordering::Release);
                // A new replica takes traffic after one success; a recovering one needs the full threshold.
                let needed = if target.ever_healthy.load(Ordering::Acquire) { health.healthy_threshold } else { 1 };
                if successes >= needed && !target.is_healthy() {
                    target.healthy.store(true, Ordering::Release);
                    target.ever_healthy.store(true, Ordering::Release);
                    target.set_reason(None);
                    pool.changed.notify_waiters();
                }
            }
            Err(reason) => {
                successes = 0;
                let failures = target.failures.fetch_add(1, Ordering::AcqRel) + 1;
                if failures >= health.unhealthy_threshold && target.is_healthy() {
                    target.healthy.store(false, Ordering::Release);
                    pool.changed.notify_waiters();
                }
                if !target.is_healthy() {
                    target.set_reason(Some(reason));
                }
            }
        }
        let pause = if target.is_healthy() { health.interval } else { health.interval.min(Duration::from_millis(500)) };
        tokio::time::sleep(pause).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pool of healthy targets 1..=count that runs no health checks.
    fn pool(algorithm: Algorithm, count: u64) -> Arc<Pool> {
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(hyper_util::client::legacy::connect::HttpConnector::new());
        let pool = Pool::new(PoolSettings { algorithm, ..PoolSettings::default() }, client);
        for id in 1..=count {
            let target = Target::new(id, SocketAddr::from(([127, 0, 0, 1], 9000 + id as u16)));
            target.healthy.store(true, Ordering::Release);
            pool.targets.write().unwrap().push(Arc::new(target));
        }
        pool
    }

    /// The targets of `count` requests, each finished before the next starts.
    async fn picks(pool: &Arc<Pool>, count: usize) -> Vec<u64> {
        let mut ids = Vec::new();
        for _ in 0..count {
            ids.push(pool.acquire(None, &[]).await.unwrap().target.id);
        }
        ids
    }

    #[tokio::test]
    async fn least_outstanding_requests_avoids_a_busy_replica() {
        let pool = pool(Algorithm::LeastOutstandingRequests, 2);
        let busy = pool.acquire(None, &[]).await.unwrap();
        let others = picks(&pool, 4).await;
        assert!(others.iter().all(|id| *id != busy.target.id), "{others:?} avoid {}", busy.target.id);
    }

    #[tokio::test]
    async fn round_robin_takes_each_replica_in_turn_busy_or_not() {
        let pool = pool(Algorithm::RoundRobin, 3);
        let _busy = pool.acquire(None, &[]).await.unwrap();
        let ids = picks(&pool, 6).await;
        assert_eq!(ids[..3], ids[3..], "a fixed rotation: {ids:?}");
        let mut distinct = ids[..3].to_vec();
        distinct.sort_unstable();
        assert_eq!(distinct, vec![1, 2, 3], "every replica in each turn: {ids:?}");
    }

    #[tokio::test]
    async fn round_robin_skips_a_replica_at_its_limit() {
        let pool = pool(Algorithm::RoundRobin, 2);
        pool.configure(PoolSettings { algorithm: Algorithm::RoundRobin, max_in_flight: 1, ..PoolSettings::default() });
        let full = pool.acquire(None, &[]).await.unwrap();
        let ids = picks(&pool, 3).await;
        assert!(ids.iter().all(|id| *id != full.target.id), "{ids:?} skip {}", full.target.id);
    }

    #[tokio::test]
    async fn a_sticky_client_keeps_its_replica_under_either_algorithm() {
        for algorithm in [Algorithm::RoundRobin, Algorithm::LeastOutstandingRequests] {
            let pool = pool(algorithm, 3);
            for _ in 0..4 {
                assert_eq!(pool.acquire(Some(2), &[]).await.unwrap().target.id, 2, "{algorithm:?}");
            }
        }
    }
}
