//! Replica logs on AWS: the tasks write to the app's CloudWatch log group (`/ecs/<app>`), one stream
//! per task named `<app>/<container>/<task id>`; `FilterLogEvents` reads them interleaved by time,
//! each line labelled with its task id. The cursor is the last timestamp read with the ids of the
//! events at that millisecond, so a follower reads each event once.

use std::collections::BTreeSet;

use scaling_core::providers::{epoch_millis, LogLine, LogPage, LogQuery, Owner};
use scaling_core::ProviderResult;
use serde::{Deserialize, Serialize};

use crate::error::{code, map};
use crate::AwsProvider;

/// How many of the tasks' last lines a failed rollout shows.
const LAST_LINES: usize = 10;

/// How far back a first read looks when no `--since` is given.
const FIRST_READ_WINDOW: std::time::Duration = std::time::Duration::from_secs(3600);

/// Where a page ended.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    /// The newest timestamp read (ms).
    at: i64,
    /// The events read at that millisecond.
    ids: BTreeSet<String>,
}

impl AwsProvider {
    /// The log stream prefix of `app`'s tasks (one stream per task below it).
    fn stream_prefix(app: &str) -> String {
        format!("{app}/{}", crate::AWS_CAPABILITIES.names(app).container)
    }

    pub(crate) async fn task_logs(&self, owner: &Owner, query: &LogQuery) -> ProviderResult<LogPage> {
        let group = crate::support_resources::log_group_name(&owner.app);
        let prefix = Self::stream_prefix(&owner.app);
        let cursor: Option<Cursor> = query.after.as_deref().and_then(|c| serde_json::from_str(c).ok());
        let start = match (&cursor, query.since) {
            (Some(cursor), _) => cursor.at,
            (None, Some(since)) => epoch_millis(since) as i64,
            (None, None) => epoch_millis(std::time::SystemTime::now() - FIRST_READ_WINDOW) as i64,
        };
        let stream_prefix = match &query.replica {
            Some(task) => format!("{prefix}/{task}"),
            None => format!("{prefix}/"),
        };
        let mut lines = Vec::new();
        let mut next = cursor.unwrap_or_default();
        let mut token = None;
        loop {
            let out = self
                .logs
                .filter_log_events()
                .log_group_name(&group)
                .log_stream_name_prefix(&stream_prefix)
                .start_time(start)
                .set_next_token(token.take())
                .send()
                .await;
            let out = match out {
                Ok(out) => out,
                // No group yet (never deployed, or destroyed with its logs): nothing was written.
                Err(e) if code(&e) == Some("ResourceNotFoundException") => return Ok(LogPage::default()),
                Err(e) => return Err(map("FilterLogEvents", &group, e)),
            };
            for event in out.events() {
                let (at, id) = (event.timestamp().unwrap_or(0), event.event_id().unwrap_or_default().to_string());
                if at == next.at && next.ids.contains(&id) || at < start {
                    continue;
                }
                if at > next.at {
                    next = Cursor { at, ids: BTreeSet::new() };
                }
                next.ids.insert(id);
                let task = event.log_stream_name().unwrap_or_default().rsplit('/').next().unwrap_or_default();
                // The prefix filters on AWS already; checked here too (the emulator ignores it).
                if query.replica.as_ref().is_some_and(|wanted| !task.starts_with(wanted.as_str())) {
                    continue;
                }
                lines.push(LogLine {
                    at: u64::try_from(at).ok(),
                    replica: task.to_string(),
                    text: event.message().unwrap_or_default().trim_end_matches('\n').to_string(),
                });
            }
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        lines.sort_by_key(|line| line.at);
        if query.after.is_none() && query.limit > 0 && lines.len() > query.limit {
            lines.drain(..lines.len() - query.limit);
        }
        let cursor = serde_json::to_string(&next).ok();
        Ok(LogPage { lines, cursor })
    }

    /// `; the tasks' last lines: …` for a failed rollout's reason (empty when none can be read: the
    /// reason is what matters, the lines help).
    pub(crate) async fn last_lines(&self, owner: &Owner) -> String {
        let query = LogQuery { limit: LAST_LINES, ..LogQuery::default() };
        match self.task_logs(owner, &query).await {
            Ok(page) if !page.lines.is_empty() => {
                let lines: Vec<String> = page.lines.iter().map(|l| format!("[{}] {}", l.replica, l.text)).collect();
                format!("; the tasks' last lines:\n  {}", lines.join("\n  "))
            }
            _ => String::new(),
        }
    }
}
