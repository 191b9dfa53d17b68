//! The state file of a running local deployment, `<data dir>/state/<app>.json` (0600): written by the
//! process that serves it, kept current as replicas come and go, removed when it stops. A new process
//! reads it to find the deployment — and to clean up after one that died without stopping.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::Paths;

/// The environment variable every replica is started with, naming its service; it proves a process is
/// ours before a clean-up signals it (process ids are reused).
pub const REPLICA_MARKER: &str = "SCALING_SERVICE";

/// What a running local deployment records about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The app.
    pub app: String,
    /// The service the replicas belong to.
    pub service: String,
    /// The process serving the deployment (foreground or detached).
    pub pid: u32,
    /// Its control socket.
    pub socket: PathBuf,
    /// Where the app answers.
    pub urls: Vec<String>,
    /// The process groups of its replicas.
    pub replicas: Vec<i32>,
    /// When it started serving, in seconds since the Unix epoch.
    pub started: u64,
}

impl RunRecord {
    /// The state file of `app`.
    pub fn path(paths: &Paths, app: &str) -> PathBuf {
        paths.state().join(format!("{app}.json"))
    }

    /// The record of `app`, if one was left; an unreadable file is an error naming it.
    pub fn load(paths: &Paths, app: &str) -> std::io::Result<Option<Self>> {
        let path = Self::path(paths, app);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes the record atomically (a reader never sees half of it), readable only by the user.
    pub fn save(&self, paths: &Paths) -> std::io::Result<()> {
        let dir = paths.state();
        std::fs::create_dir_all(&dir)?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        let path = Self::path(paths, &self.app);
        let partial = path.with_extension(format!("json.{}", std::process::id()));
        let mut file =
            std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&partial)?;
        file.write_all(&serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?)?;
        file.sync_all()?;
        std::fs::rename(&partial, &path)
    }

    /// Removes the record of `app`; true when there was one.
    pub fn remove(paths: &Paths, app: &str) -> std::io::Result<bool> {
        match std::fs::remove_file(Self::path(paths, app)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The recorded replicas' process groups that still have a member provably this service's (by
    /// [`REPLICA_MARKER`]), whether or not the group's leader is still alive: a shell leader killed
    /// leaves its server running in the group.
    pub fn leftover_replicas(&self) -> Vec<i32> {
        let marker = format!("{REPLICA_MARKER}={}", self.service);
        let marked = |pid: i32| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|environ| environ.split(|b| *b == 0).any(|entry| entry == marker.as_bytes()))
        };
        let members = crate::procfs::members_of(&self.replicas);
        self.replicas
            .iter()
            .copied()
            .filter(|group| members.iter().any(|(pid, of)| of == group && marked(*pid)))
            .collect()
    }

    /// Kills every process of the leftover replicas' groups; returns the groups it stopped.
    pub fn stop_leftovers(&self) -> Vec<i32> {
        self.leftover_replicas()
            .into_iter()
            .filter(|group| killpg(Pid::from_raw(*group), Signal::SIGKILL).is_ok())
            .collect()
    }
}

/// Seconds since the Unix epoch, for [`RunRecord::started`].
pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(paths: &Paths, replicas: Vec<i32>) -> RunRecord {
        RunRecord {
            app: "demo".into(),
            service: "demo-service".into(),
            pid: std::process::id(),
            socket: paths.root().join("demo.sock"),
            urls: vec!["https://demo.localhost:8443".into()],
            replicas,
            started: now(),
        }
    }

    fn scratch(name: &str) -> Paths {
        let dir = std::env::temp_dir().join(format!("scaling-record-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Paths::at(dir)
    }

    #[test]
    fn a_record_round_trips_privately_and_is_removed() {
        let paths = scratch("round-trip");
        assert_eq!(RunRecord::load(&paths, "demo").unwrap(), None);
        let written = record(&paths, vec![4242]);
        written.save(&paths).unwrap();
        assert_eq!(RunRecord::load(&paths, "demo").unwrap(), Some(written.clone()));
        let mode = std::fs::metadata(RunRecord::path(&paths, "demo")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::metadata(paths.state()).unwrap().permissions().mode() & 0o777, 0o700);
        assert!(RunRecord::remove(&paths, "demo").unwrap());
        assert!(!RunRecord::remove(&paths, "demo").unwrap());
        let _ = std::fs::remove_dir_all(paths.root());
    }

    #[test]
    fn a_corrupt_record_is_an_error_naming_the_file() {
        let paths = scratch("corrupt");
        std::fs::create_dir_all(paths.state()).unwrap();
        std::fs::write(RunRecord::path(&paths, "demo"), "{ not json").unwrap();
        let error = RunRecord::load(&paths, "demo").unwrap_err();
        assert!(error.to_string().contains("demo.json"), "{error}");
        let _ = std::fs::remove_dir_all(paths.root());
    }

    #[tokio::test]
    async fn only_processes_carrying_the_marker_are_leftovers() {
        use std::os::unix::process::CommandExt;
        let spawn = |marker: &str| {
            std::process::Command::new("sleep").arg("30").env(REPLICA_MARKER, marker).process_group(0).spawn().unwrap()
        };
        let (mut ours, mut foreign) = (spawn("demo-service"), spawn("other-service"));
        let pids = vec![ours.id() as i32, foreign.id() as i32];
        // Until a child has exec'd `sleep`, /proc shows the environment it was forked with.
        for pid in &pids {
            while !std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.starts_with(b"sleep")) {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
        let paths = scratch("leftovers");
        let record = record(&paths, pids.clone());
        assert_eq!(record.leftover_replicas(), vec![pids[0]]);
        assert_eq!(record.stop_leftovers(), vec![pids[0]]);
        let status = ours.wait().unwrap();
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9), "ours was killed");
        assert!(foreign.try_wait().unwrap().is_none(), "the foreign process runs on");
        let _ = foreign.kill();
        let _ = foreign.wait();
    }

    #[test]
    fn a_group_whose_leader_was_killed_is_still_found_and_stopped() {
        use std::os::unix::process::CommandExt;
        // A shell-form CMD: `sh` leads the group and runs the server as its child.
        let mut leader = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & echo $!; wait"])
            .env(REPLICA_MARKER, "demo-service")
            .stdout(std::process::Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(leader.stdout.take().unwrap()), &mut line).unwrap();
        let server: i32 = line.trim().parse().unwrap();
        let group = leader.id() as i32;
        while !std::fs::read(format!("/proc/{server}/cmdline")).is_ok_and(|c| c.starts_with(b"sleep")) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        leader.kill().unwrap();
        leader.wait().unwrap();
        assert!(std::path::Path::new(&format!("/proc/{server}")).exists(), "the server outlived its shell");

        let record = record(&scratch("headless"), vec![group]);
        assert_eq!(record.leftover_replicas(), vec![group], "found through the group, not the dead leader");
        assert_eq!(record.stop_leftovers(), vec![group]);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::fs::read_to_string(format!("/proc/{server}/stat")).is_ok_and(|s| !s.contains(") Z ")) {
            assert!(std::time::Instant::now() < deadline, "the server still runs");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
