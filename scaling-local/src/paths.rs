//! Where the local provider keeps its files: `$SCALING_HOME`, else the user's data directory.

use std::path::{Path, PathBuf};

/// The local provider's folders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    root: PathBuf,
    state: Option<PathBuf>,
}

impl Paths {
    /// `$SCALING_HOME`, else `$XDG_DATA_HOME/scaling`, else `~/.local/share/scaling`.
    pub fn from_env() -> Self {
        let root = std::env::var_os("SCALING_HOME").map(PathBuf::from).unwrap_or_else(|| {
            let data = std::env::var_os("XDG_DATA_HOME").map(PathBuf::from).unwrap_or_else(|| {
                let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
                home.join(".local").join("share")
            });
            data.join("scaling")
        });
        Self { root, state: None }
    }

    /// Everything under `root`.
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into(), state: None }
    }

    /// The same folders, but the state (locks, state files) kept in `state`: deployments of one app
    /// that must not see each other while sharing the bundle and virtualenv caches, as tests running
    /// side by side in one process do.
    pub fn with_state(self, state: impl Into<PathBuf>) -> Self {
        Self { state: Some(state.into()), ..self }
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The local certificate authority: `ca.pem` and `ca.key` (readable only by the user).
    pub fn ca(&self) -> PathBuf {
        self.root.join("ca")
    }

    /// Content-addressed app bundles, one folder per digest.
    pub fn bundles(&self) -> PathBuf {
        self.root.join("bundles")
    }

    /// Python virtualenvs, one per requirements hash.
    pub fn venvs(&self) -> PathBuf {
        self.root.join("venvs")
    }

    /// State files of running deployments, one per app (see [`crate::run_record`]).
    pub fn state(&self) -> PathBuf {
        self.state.clone().unwrap_or_else(|| self.root.join("state"))
    }

    /// Replica logs.
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// The locks of store entries being built (`bundles-<digest>.lock`, `venvs-<key>.lock`).
    pub fn locks(&self) -> PathBuf {
        self.root.join("locks")
    }
}
