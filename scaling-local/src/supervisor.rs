//! The supervisor: runs each service's replicas as processes on free loopback ports, registers them
//! in their pool, restarts crashed ones with backoff, replaces ones that keep failing health checks,
//! rolls out a new bundle one replica at a time (start, wait healthy, drain, stop) and scales.
//! One reconcile task per service makes every decision, so there are no races between them.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use scaling_core::providers::ScalingDecision;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::autoscaler::{Policy, Scaled};
use crate::balancer::Pool;
use crate::bundle::Bundle;
use crate::paths::Paths;

/// What each replica of a service runs.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// The task definition id (a new one rolls the service).
    pub revision: String,
    /// The bundle.
    pub bundle: Bundle,
    /// Environment variables from the spec.
    pub env: BTreeMap<String, String>,
    /// The values of the spec's `[secrets]` (never printed).
    pub secrets: crate::secrets::SecretValues,
    /// Worker processes per replica (`WEB_CONCURRENCY`): one per vCPU.
    pub workers: u32,
    /// How long a new replica may fail health checks before it is replaced.
    pub grace: Duration,
    /// How long a leaving replica keeps its in-flight requests.
    pub drain: Duration,
}

/// A service's state as the supervisor sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCounts {
    /// Replicas wanted.
    pub desired: u32,
    /// Replicas of the current revision that pass health checks.
    pub running: u32,
    /// Replicas started and not yet healthy.
    pub pending: u32,
    /// True when every replica runs the current revision, is healthy, and there are exactly `desired`.
    pub settled: bool,
    /// Why the service cannot become healthy (replicas failing in a row), with what to do; the
    /// supervisor keeps trying, but a deploy stops waiting.
    pub failure: Option<String>,
}

struct Replica {
    id: u64,
    revision: String,
    pgid: Pid,
    port: u16,
    log: PathBuf,
    started: Instant,
    exited: Arc<AtomicBool>,
    stopping: bool,
    /// Replicas that crashed or were replaced in a row before this one (0 for a fresh start).
    restarts: u32,
}

struct Wanted {
    desired: u32,
    spec: Arc<RunSpec>,
    stop: bool,
}

struct Service {
    name: String,
    pool: Arc<Pool>,
    wanted: Mutex<Wanted>,
    replicas: Mutex<Vec<Replica>>,
    failure: Mutex<Option<String>>,
    /// The restart counts the next starts carry on: one entry per replica that crashed or was
    /// replaced and is not yet back.
    restarting: Mutex<Vec<u32>>,
    wake: Notify,
    finished: Notify,
    done: AtomicBool,
    /// The autoscaling policy, while on, and the autoscaler's last decision.
    autoscaling: Mutex<(Option<Policy>, Option<ScalingDecision>)>,
    autoscaler_started: AtomicBool,
}

/// Runs services.
pub struct Supervisor {
    paths: Paths,
    services: Mutex<HashMap<String, Arc<Service>>>,
    next_replica: Arc<AtomicU64>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The only variables replicas inherit from the environment `scaling` runs in.
const INHERITED: [&str; 7] = ["HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "SSL_CERT_FILE"];

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Supervisor {
    /// A supervisor writing replica logs under `paths`.
    pub fn new(paths: Paths) -> Self {
        Self { paths, services: Mutex::new(HashMap::new()), next_replica: Arc::new(AtomicU64::new(1)) }
    }

    /// Runs `desired` replicas of `spec` for service `name`, rolling existing replicas when the revision
    /// changed. Returns at once; the service converges in the background.
    pub fn apply(&self, name: &str, pool: Arc<Pool>, spec: RunSpec, desired: u32) {
        let mut services = lock(&self.services);
        if let Some(service) = services.get(name) {
            *lock(&service.wanted) = Wanted { desired, spec: Arc::new(spec), stop: false };
            service.wake.notify_one();
            return;
        }
        let service = Arc::new(Service {
            name: name.to_string(),
            pool,
            wanted: Mutex::new(Wanted { desired, spec: Arc::new(spec), stop: false }),
            replicas: Mutex::new(Vec::new()),
            failure: Mutex::new(None),
            restarting: Mutex::new(Vec::new()),
            wake: Notify::new(),
            finished: Notify::new(),
            done: AtomicBool::new(false),
            autoscaling: Mutex::new((None, None)),
            autoscaler_started: AtomicBool::new(false),
        });
        services.insert(name.to_string(), service.clone());
        tokio::spawn(reconcile(service, self.paths.logs(), self.next_replica.clone()));
    }

    /// Changes only the replica count.
    pub fn scale(&self, name: &str, desired: u32) -> bool {
        let Some(service) = lock(&self.services).get(name).cloned() else { return false };
        lock(&service.wanted).desired = desired;
        service.wake.notify_one();
        true
    }

    /// Autoscales `name` by `policy` from now on (replacing an earlier one, keeping its last
    /// decision); false when `name` does not run.
    pub fn autoscale(&self, name: &str, policy: Policy) -> bool {
        let Some(service) = lock(&self.services).get(name).cloned() else { return false };
        lock(&service.autoscaling).0 = Some(policy);
        if !service.autoscaler_started.swap(true, Ordering::AcqRel) {
            let scaled: Arc<dyn Scaled> = service;
            tokio::spawn(crate::autoscaler::run(Arc::downgrade(&scaled)));
        }
        true
    }

    /// The worker processes each replica of `name` runs, if it runs.
    pub fn workers(&self, name: &str) -> Option<u32> {
        let service = lock(&self.services).get(name).cloned()?;
        let workers = lock(&service.wanted).spec.workers;
        Some(workers)
    }

    /// Turns autoscaling of `name` off; the count stays as it is.
    pub fn stop_autoscaling(&self, name: &str) {
        if let Some(service) = lock(&self.services).get(name) {
            lock(&service.autoscaling).0 = None;
        }
    }

    /// `name`'s autoscaling policy and last decision, while on.
    pub fn autoscaling(&self, name: &str) -> Option<(Policy, Option<ScalingDecision>)> {
        let service = lock(&self.services).get(name).cloned()?;
        let state = lock(&service.autoscaling);
        state.0.clone().map(|policy| (policy, state.1.clone()))
    }

    /// Drains and stops every replica of `name`, and forgets it.
    pub async fn stop(&self, name: &str) {
        let Some(service) = lock(&self.services).remove(name) else { return };
        let finished = service.finished.notified();
        lock(&service.wanted).stop = true;
        service.wake.notify_one();
        if !service.done.load(Ordering::Acquire) {
            finished.await;
        }
    }

    /// Stops every service.
    pub async fn shutdown(&self) {
        let names: Vec<String> = lock(&self.services).keys().cloned().collect();
        futures::future::join_all(names.iter().map(|n| self.stop(n))).await;
    }

    /// The counts of `name`, if it runs.
    pub fn counts(&self, name: &str) -> Option<ServiceCounts> {
        let service = lock(&self.services).get(name).cloned()?;
        let wanted = lock(&service.wanted);
        let replicas = lock(&service.replicas);
        let healthy = |r: &Replica| service.pool.target(r.id).is_some_and(|t| t.is_healthy());
        let live: Vec<&Replica> =
            replicas.iter().filter(|r| !r.stopping && !r.exited.load(Ordering::Acquire)).collect();
        let current: Vec<&&Replica> = live.iter().filter(|r| r.revision == wanted.spec.revision).collect();
        let running = current.iter().filter(|r| healthy(r)).count() as u32;
        let settled = running == wanted.desired && live.len() as u32 == wanted.desired && replicas.len() == live.len();
        let failure = lock(&service.failure).clone();
        Some(ServiceCounts {
            desired: wanted.desired,
            running,
            pending: wanted.desired.saturating_sub(running),
            settled,
            failure,
        })
    }

    /// `name`'s replicas one by one, for `status`: oldest first, with what each is doing.
    pub fn replicas(&self, name: &str) -> Vec<scaling_core::providers::ReplicaInfo> {
        use scaling_core::providers::{ReplicaInfo, ReplicaState};
        let Some(service) = lock(&self.services).get(name).cloned() else { return Vec::new() };
        let replicas = lock(&service.replicas);
        let threshold = service.pool.settings().health.unhealthy_threshold;
        replicas
            .iter()
            .filter(|r| !r.exited.load(Ordering::Acquire))
            .map(|r| {
                let target = service.pool.target(r.id);
                let state = match &target {
                    _ if r.stopping => ReplicaState::Stopping,
                    Some(t) if t.is_healthy() => ReplicaState::Healthy,
                    Some(t) if t.is_failing(threshold) => ReplicaState::Unhealthy,
                    _ => ReplicaState::Starting,
                };
                ReplicaInfo {
                    id: r.id.to_string(),
                    address: SocketAddr::from(([127, 0, 0, 1], r.port)).to_string(),
                    state,
                    reason: target.and_then(|t| t.reason()).filter(|_| state != ReplicaState::Healthy),
                    revision: r.revision.clone(),
                    pid: u32::try_from(r.pgid.as_raw()).ok(),
                    restarts: r.restarts,
                    uptime: Duration::from_secs(r.started.elapsed().as_secs()),
                    log: Some(r.log.display().to_string()),
                }
            })
            .collect()
    }

    /// The process group ids of `name`'s live replicas (for tests and `status`).
    pub fn replica_pids(&self, name: &str) -> Vec<i32> {
        let Some(service) = lock(&self.services).get(name).cloned() else { return Vec::new() };
        let replicas = lock(&service.replicas);
        replicas.iter().filter(|r| !r.exited.load(Ordering::Acquire)).map(|r| r.pgid.as_raw()).collect()
    }
}

impl Scaled for Service {
    fn policy(&self) -> Option<Policy> {
        lock(&self.autoscaling).0.clone()
    }

    fn desired(&self) -> u32 {
        lock(&self.wanted).desired
    }

    fn traffic(&self) -> (u64, usize, u32) {
        let load = self.pool.load();
        (load.served, load.in_flight + load.queued, load.healthy as u32)
    }

    fn cpu(&self) -> (Vec<(i32, f64)>, u32) {
        let serving = |r: &&Replica| !r.stopping && self.pool.target(r.id).is_some_and(|t| t.is_healthy());
        let groups: Vec<i32> = lock(&self.replicas).iter().filter(serving).map(|r| r.pgid.as_raw()).collect();
        (crate::procfs::cpu_seconds_by_group(&groups), lock(&self.wanted).spec.workers)
    }

    fn scale_to(&self, count: u32, decision: ScalingDecision) {
        lock(&self.wanted).desired = count;
        lock(&self.autoscaling).1 = Some(decision);
        self.wake.notify_one();
    }

    fn alive(&self) -> bool {
        !self.done.load(Ordering::Acquire) && !lock(&self.wanted).stop
    }
}

/// Starts one replica and a task that notes its exit.
fn start(service: &Service, spec: &RunSpec, id: u64, logs: &PathBuf, restarts: u32) -> std::io::Result<Replica> {
    let port = free_port()?;
    std::fs::create_dir_all(logs)?;
    let log_path = logs.join(format!("{}-{id}.log", service.name));
    let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path)?;
    let log_too = log.try_clone()?;
    let command_line = &spec.bundle.manifest.command;
    let (program, args) = command_line.split_first().ok_or_else(|| std::io::Error::other("empty command"))?;
    let mut path = std::env::var_os("PATH").unwrap_or_default();
    let mut command = tokio::process::Command::new(program);
    if let Some(venv) = &spec.bundle.manifest.venv {
        let bin = venv.join("bin");
        if bin.join(program).exists() {
            command = tokio::process::Command::new(bin.join(program));
        }
        path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&path)))
            .map_err(std::io::Error::other)?;
        command.env("VIRTUAL_ENV", venv);
    }
    // A clean environment: the spec's variables and a few basics, never the caller's credentials.
    command.env_clear();
    for (key, value) in std::env::vars_os().filter(|(k, _)| INHERITED.iter().any(|i| k == i)) {
        command.env(key, value);
    }
    command
        .args(args)
        .current_dir(spec.bundle.dir.join(&spec.bundle.manifest.workdir))
        // The image's ENV first, the spec's [env] over it (as `docker run -e` over the image).
        .envs(&spec.bundle.manifest.env)
        .envs(&spec.env)
        .envs(spec.secrets.expose())
        .env("PATH", path)
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("WEB_CONCURRENCY", spec.workers.to_string())
        .env(crate::run_record::REPLICA_MARKER, &service.name)
        .stdin(Stdio::null())
        // Through the supervisor, which stamps each line with its time (for the `--since` of `scaling logs`).
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    crate::group_watcher::die_with_parent(&mut command);
    crate::fd_limit::restore_in_child(command.as_std_mut());
    let mut child = command.spawn()?;
    if let Some(out) = child.stdout.take() {
        tokio::spawn(crate::replica_logs::copy_stamped(out, tokio::fs::File::from_std(log)));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(crate::replica_logs::copy_stamped(err, tokio::fs::File::from_std(log_too)));
    }
    let pid = child.id().ok_or_else(|| std::io::Error::other("the replica exited at once"))?;
    let exited = Arc::new(AtomicBool::new(false));
    let flag = exited.clone();
    let pgid = Pid::from_raw(i32::try_from(pid).map_err(std::io::Error::other)?);
    let watcher = crate::group_watcher::GroupWatcher::start(pgid)?;
    tokio::spawn(async move {
        let _ = child.wait().await;
        // A replica is its whole process group: a shell leader that dies must not leave its server
        // (or a server's workers) running, unseen and unsupervised.
        let _ = killpg(pgid, Signal::SIGKILL);
        watcher.stop();
        flag.store(true, Ordering::Release);
    });
    service.pool.add(id, SocketAddr::from(([127, 0, 0, 1], port)));
    tracing::info!(service = %service.name, replica = id, port, "started replica");
    Ok(Replica {
        id,
        revision: spec.revision.clone(),
        pgid,
        port,
        log: log_path,
        started: Instant::now(),
        exited,
        stopping: false,
        restarts,
    })
}

/// SIGTERM the replica's process group, then SIGKILL after `timeout`.
async fn terminate(pgid: Pid, exited: Arc<AtomicBool>, timeout: Duration) {
    let _ = killpg(pgid, Signal::SIGTERM);
    let deadline = Instant::now() + timeout;
    while !exited.load(Ordering::Acquire) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = killpg(pgid, Signal::SIGKILL);
}

/// Drains a replica out of the pool and stops it.
async fn retire(service: &Service, id: u64, drain: Duration) {
    let handle = {
        let mut replicas = lock(&service.replicas);
        replicas.iter_mut().find(|r| r.id == id).map(|r| {
            r.stopping = true;
            (r.pgid, r.exited.clone())
        })
    };
    service.pool.drain(id, drain).await;
    if let Some((pgid, exited)) = handle {
        terminate(pgid, exited, Duration::from_secs(10)).await;
    }
    lock(&service.replicas).retain(|r| r.id != id);
}

const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What the reconcile loop does next.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Start this many replicas of the current revision.
    Start(u32),
    /// Drain and stop these replicas.
    Retire(Vec<u64>),
    /// Nothing to do now.
    Wait,
}

/// The next step, given live replicas of the current and of older revisions (oldest first), which are
/// healthy, the desired count, and whether a start is allowed now (crash backoff).
fn next_step(current: &[u64], old: &[u64], healthy: impl Fn(u64) -> bool, desired: u32, can_start: bool) -> Step {
    let total = (current.len() + old.len()) as u32;
    let current_ready = current.iter().all(|id| healthy(*id));
    if !old.is_empty() {
        // Rolling: surge one new replica, wait until it is healthy, then retire one old one.
        return match (current_ready, total > desired) {
            (true, true) => Step::Retire(vec![old[0]]),
            (true, false) if can_start => Step::Start(1),
            _ => Step::Wait,
        };
    }
    match (current.len() as u32).cmp(&desired) {
        std::cmp::Ordering::Less if can_start => Step::Start(desired - current.len() as u32),
        std::cmp::Ordering::Greater => {
            Step::Retire(current.iter().rev().take(current.len() - desired as usize).copied().collect())
        }
        _ => Step::Wait,
    }
}

/// Records the service as failed once `count` replicas in a row failed without a healthy one between.
fn note_failure(
    service: &Service,
    count: u32,
    port: u16,
    log: &std::path::Path,
    what: &str,
    listening: Vec<SocketAddr>,
) {
    if count < crate::crash_report::FAILURES_IN_A_ROW {
        return;
    }
    let failure = crate::crash_report::Failure { what, port, log, listening };
    let report = crate::crash_report::report(&service.name, count, &failure);
    *lock(&service.failure) = Some(report);
    // A deploy waiting for the service hears of the failure now, not at its next poll.
    service.pool.note_change();
}

async fn reconcile(service: Arc<Service>, logs: PathBuf, ids: Arc<AtomicU64>) {
    let mut failed_in_a_row = 0u32;
    let mut backoff = Duration::from_secs(1);
    let mut next_start = Instant::now();
    loop {
        let (desired, spec, stop) = {
            let w = lock(&service.wanted);
            (w.desired, w.spec.clone(), w.stop)
        };
        if stop {
            let all: Vec<u64> = lock(&service.replicas).iter().map(|r| r.id).collect();
            futures::future::join_all(all.into_iter().map(|id| retire(&service, id, spec.drain))).await;
            service.done.store(true, Ordering::Release);
            service.finished.notify_waiters();
            return;
        }

        // Crashed replicas leave the pool; the next start waits out a growing backoff.
        let crashed: Vec<u64> = lock(&service.replicas)
            .iter()
            .filter(|r| r.exited.load(Ordering::Acquire) && !r.stopping)
            .map(|r| r.id)
            .collect();
        for id in &crashed {
            tracing::warn!(service = %service.name, replica = id, "replica exited; restarting after {backoff:?}");
            service.pool.remove(*id);
            let gone = {
                let mut replicas = lock(&service.replicas);
                replicas.iter().position(|r| r.id == *id).map(|i| replicas.remove(i))
            };
            if let Some(replica) = gone {
                lock(&service.restarting).push(replica.restarts + 1);
                failed_in_a_row += 1;
                note_failure(&service, failed_in_a_row, replica.port, &replica.log, "exited", Vec::new());
            }
            next_start = Instant::now() + backoff;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }

        // Replicas past their grace period that keep failing health checks are replaced.
        let threshold = service.pool.settings().health.unhealthy_threshold;
        let failing: Vec<u64> = lock(&service.replicas)
            .iter()
            .filter(|r| !r.stopping && r.started.elapsed() > spec.grace)
            .filter(|r| service.pool.target(r.id).is_some_and(|t| t.is_failing(threshold)))
            .map(|r| r.id)
            .collect();
        for id in failing {
            tracing::warn!(service = %service.name, replica = id, "replica keeps failing health checks; replacing it");
            let seen = lock(&service.replicas)
                .iter()
                .find(|r| r.id == id)
                .map(|r| (r.port, r.log.clone(), crate::exposure::listening(&[r.pgid.as_raw()]), r.restarts));
            retire(&service, id, Duration::ZERO).await;
            if let Some((port, log, listening, restarts)) = seen {
                lock(&service.restarting).push(restarts + 1);
                failed_in_a_row += 1;
                note_failure(&service, failed_in_a_row, port, &log, "kept failing health checks", listening);
            }
        }

        let (current, old): (Vec<u64>, Vec<u64>) = {
            let replicas = lock(&service.replicas);
            let (current, old): (Vec<&Replica>, Vec<&Replica>) =
                replicas.iter().filter(|r| !r.stopping).partition(|r| r.revision == spec.revision);
            (current.iter().map(|r| r.id).collect(), old.iter().map(|r| r.id).collect())
        };
        let healthy = |id: u64| service.pool.target(id).is_some_and(|t| t.is_healthy());
        match next_step(&current, &old, healthy, desired, Instant::now() >= next_start) {
            Step::Start(n) => {
                for _ in 0..n {
                    if let Err(e) = start_one(&service, &spec, &logs, &ids) {
                        tracing::error!(service = %service.name, "cannot start a replica: {e}");
                        next_start = Instant::now() + backoff;
                        break;
                    }
                }
            }
            Step::Retire(retiring) => {
                futures::future::join_all(retiring.into_iter().map(|id| retire(&service, id, spec.drain))).await;
            }
            Step::Wait => {}
        }
        if old.is_empty() && !current.is_empty() && current.iter().all(|id| healthy(*id)) {
            backoff = Duration::from_secs(1);
        }
        if current.iter().any(|id| healthy(*id)) {
            failed_in_a_row = 0;
            *lock(&service.failure) = None;
        }
        tokio::select! {
            _ = service.wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
}

fn start_one(service: &Service, spec: &RunSpec, logs: &PathBuf, ids: &AtomicU64) -> std::io::Result<()> {
    let id = ids.fetch_add(1, Ordering::Relaxed);
    let restarts = lock(&service.restarting).pop().unwrap_or(0);
    match start(service, spec, id, logs, restarts) {
        Ok(replica) => {
            lock(&service.replicas).push(replica);
            Ok(())
        }
        Err(error) => {
            if restarts > 0 {
                lock(&service.restarting).push(restarts);
            }
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rollout_surges_one_then_retires_one_old_replica() {
        let all_healthy = |_| true;
        assert_eq!(next_step(&[], &[1, 2, 3], all_healthy, 3, true), Step::Start(1), "surge first");
        assert_eq!(next_step(&[4], &[1, 2, 3], all_healthy, 3, true), Step::Retire(vec![1]), "then retire the oldest");
    }

    #[test]
    fn rollout_steps() {
        let healthy = |_| true;
        let starting = |id| id != 9;
        assert_eq!(next_step(&[], &[1, 2], healthy, 2, true), Step::Start(1));
        assert_eq!(next_step(&[9], &[1, 2], starting, 2, true), Step::Wait, "wait for the new one");
        assert_eq!(next_step(&[9], &[1, 2], healthy, 2, true), Step::Retire(vec![1]));
        assert_eq!(next_step(&[9], &[2], healthy, 2, true), Step::Start(1));
        assert_eq!(next_step(&[9], &[2], healthy, 2, false), Step::Wait, "backoff holds starts");
    }

    #[test]
    fn scaling_starts_the_missing_and_retires_the_newest() {
        let healthy = |_| true;
        assert_eq!(next_step(&[1], &[], healthy, 3, true), Step::Start(2));
        assert_eq!(next_step(&[1, 2, 3], &[], healthy, 1, true), Step::Retire(vec![3, 2]));
        assert_eq!(next_step(&[1, 2, 3], &[], healthy, 3, true), Step::Wait);
        assert_eq!(next_step(&[], &[], healthy, 2, false), Step::Wait);
    }
}
