//! A copy of the example deployed with `--detach` under its own name, reached from other processes,
//! and the state file that says who serves it.

use super::{example_copy, fixed_count, free_ports, scaling, scaling_home};

/// The JSON on the last line of `output`'s standard output.
pub fn json(output: &std::process::Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(
        text.lines().last().unwrap_or_else(|| panic!("no output: {}", String::from_utf8_lossy(&output.stderr))),
    )
    .unwrap()
}

/// The state file of `app`'s local deployment.
pub fn state_file(app: &str) -> std::path::PathBuf {
    scaling_home().join("state").join(format!("{app}.json"))
}

/// What the state file of `app` says.
pub fn record_of(app: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(state_file(app)).unwrap()).unwrap()
}

/// True while process `pid` runs.
pub fn alive(pid: i64) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// A copy of dashmath under its own app name, on free ports.
pub struct Example {
    pub app: String,
    pub dir: tempfile::TempDir,
}

impl Example {
    pub fn new(prefix: &str, replicas: u32) -> Self {
        let app = format!("{prefix}{}", std::process::id());
        let dir = example_copy(|c| {
            fixed_count(free_ports(c), replicas).replace("name = \"dashmath\"", &format!("name = \"{app}\""))
        });
        Self { app, dir }
    }

    pub fn config(&self) -> std::path::PathBuf {
        self.dir.path().join("scaling.toml")
    }

    /// `scaling --config … --provider local ARGS`.
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        self.command(args).output().unwrap()
    }

    /// The command [`Self::run`] runs.
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut command = scaling();
        command.arg("--config").arg(self.config()).args(["--provider", "local"]).args(args);
        command
    }

    /// [`Self::run`] from a shell whose open-file limit is `soft` (and `hard`), as `ulimit` sets it.
    pub fn run_with_open_files(&self, soft: u64, hard: u64, args: &[&str]) -> std::process::Output {
        let command = self.command(args);
        let mut shell = std::process::Command::new("/bin/sh");
        shell
            .arg("-c")
            .arg(format!("ulimit -Sn {soft} && ulimit -Hn {hard} && exec \"$0\" \"$@\""))
            .arg(command.get_program())
            .args(command.get_args())
            .current_dir(command.get_current_dir().unwrap_or(std::path::Path::new(".")));
        for (key, value) in command.get_envs() {
            match value {
                Some(value) => shell.env(key, value),
                None => shell.env_remove(key),
            };
        }
        shell.output().unwrap()
    }
}

/// A test that fails half-way never leaves its detached deployment running: whatever of it still
/// runs is destroyed as the example goes (a no-op after a test that destroyed it itself).
impl Drop for Example {
    fn drop(&mut self) {
        if self.config().exists() {
            let _ = self.run(&["destroy", "--yes"]);
        }
    }
}
