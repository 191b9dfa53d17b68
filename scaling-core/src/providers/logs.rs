//! Replica logs through the contract: what each replica of a service wrote, labelled by replica and
//! timed where the provider knows when, read in pages that a follower continues from a cursor
//! (AWS: the service's CloudWatch log group, one stream per task; this machine: each replica's log
//! file).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{unsupported, Owner};
use crate::ProviderResult;

/// Which lines to read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogQuery {
    /// Only lines written at or after this time.
    pub since: Option<SystemTime>,
    /// Only this replica's lines (its label, as the lines carry it; a prefix of a task id on AWS).
    pub replica: Option<String>,
    /// At most this many lines: the newest, on a first read.
    pub limit: usize,
    /// Where the previous page ended: only newer lines (`LogPage::cursor`).
    pub after: Option<String>,
}

/// One line a replica wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// When, in milliseconds since the Unix epoch, where known.
    pub at: Option<u64>,
    /// Which replica: `3` here, a task id on AWS.
    pub replica: String,
    /// The line, without its end.
    pub text: String,
}

impl LogLine {
    /// `at` as a time.
    pub fn time(&self) -> Option<SystemTime> {
        self.at.map(|ms| UNIX_EPOCH + Duration::from_millis(ms))
    }
}

/// A page of lines, oldest first, and where the next page starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPage {
    /// The lines.
    pub lines: Vec<LogLine>,
    /// Pass as [`LogQuery::after`] to read only what comes after this page.
    pub cursor: Option<String>,
}

/// Milliseconds since the Unix epoch of `time`.
pub fn epoch_millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The replicas' logs. A provider without them leaves [`Logs::read_logs`] to its default,
/// [`Unsupported`](crate::ErrorKind::Unsupported).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Logs: Send + Sync {
    /// What the replicas of the service named `service` wrote, as `query` asks: oldest first,
    /// each line labelled by its replica, with a cursor a follower continues from.
    async fn read_logs(&self, owner: &Owner, service: &str, query: &LogQuery) -> ProviderResult<LogPage> {
        let _ = (owner, query);
        Err(unsupported("read_logs", service, "replica logs"))
    }
}
