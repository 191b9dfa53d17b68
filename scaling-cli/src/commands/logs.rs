//! `scaling logs`: what the replicas wrote, interleaved by time; `-f` keeps following until Ctrl-C.

use std::time::{Duration, SystemTime};

use anyhow::Result;
use scaling_core::providers::{LogLine, LogQuery};

use super::connect;
use crate::args::{Global, Output};
use crate::render::{json_line, JsonLine};

/// How often `-f` asks for new lines.
const FOLLOW_EVERY: Duration = Duration::from_secs(1);

/// `14:05:09.123  2 | text`, the time in UTC.
fn text(line: &LogLine, width: usize) -> String {
    let time = line.time().map_or_else(
        || " ".repeat(12),
        |t| humantime::format_rfc3339_millis(t).to_string().get(11..23).unwrap_or_default().to_string(),
    );
    format!("{time} {:>width$} | {}", line.replica, line.text)
}

pub async fn run(
    global: &Global,
    follow: bool,
    since: Option<Duration>,
    replica: Option<String>,
    lines: usize,
) -> Result<()> {
    let session = connect(global, true).await?;
    let since = since.map(|ago| SystemTime::now().checked_sub(ago).unwrap_or(SystemTime::UNIX_EPOCH));
    let mut query = LogQuery { since, replica, limit: lines, after: None };
    let interrupt = tokio::signal::ctrl_c();
    tokio::pin!(interrupt);
    let mut width = 1;
    loop {
        let page = session.logs(&query).await?;
        width = page.lines.iter().map(|l| l.replica.len()).max().unwrap_or(width).max(width);
        for line in &page.lines {
            match global.output {
                Output::Json => json_line(&JsonLine::Log(line)),
                Output::Text => println!("{}", text(line, width)),
            }
        }
        if !follow {
            if page.lines.is_empty() && global.output == Output::Text {
                eprintln!(
                    "no lines from {}'s replicas{}",
                    session.spec().app.name,
                    if since.is_some() { " in that time" } else { "" }
                );
            }
            return Ok(());
        }
        query.after = page.cursor;
        tokio::select! {
            _ = &mut interrupt => return Ok(()),
            _ = tokio::time::sleep(FOLLOW_EVERY) => {}
        }
    }
}
