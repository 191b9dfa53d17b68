//! Why a service cannot become healthy, in words a user can act on: a replica that keeps exiting, or
//! one that listens somewhere other than `$PORT`, with the `$PORT` rule, the replica's log and its
//! last lines. The supervisor gives up waiting with this instead of letting a deploy hang.

use std::path::Path;

/// How many replica failures in a row (exits, or replacements for failing health checks) without a
/// healthy replica in between make the service failed.
pub const FAILURES_IN_A_ROW: u32 = 3;

/// How many lines of the replica's log the report quotes.
const TAIL: usize = 12;

/// One replica's failure, as the supervisor saw it.
pub struct Failure<'a> {
    /// What happened, e.g. `exited` or `kept failing health checks`.
    pub what: &'a str,
    /// The port the replica was told to listen on.
    pub port: u16,
    /// Its log file.
    pub log: &'a Path,
    /// What its process group listened on when it failed (empty when it had exited).
    pub listening: Vec<std::net::SocketAddr>,
}

/// The report after `count` failures in a row, the last one `last`.
pub fn report(service: &str, count: u32, last: &Failure<'_>) -> String {
    let mut out = format!("{count} replicas of {service} in a row {} without becoming healthy", last.what);
    let elsewhere: Vec<String> =
        last.listening.iter().filter(|a| a.port() != last.port).map(ToString::to_string).collect();
    if !elsewhere.is_empty() {
        out.push_str(&format!(
            "; the last one listened on {} instead of its $PORT ({})",
            elsewhere.join(", "),
            last.port
        ));
    }
    out.push_str(
        ". Each replica must listen on the port in $PORT (and the host in $HOST), which scaling sets: \
         an app that hard-codes its port collides with its own other replicas",
    );
    out.push_str(&format!(". Log: {}", last.log.display()));
    let tail = tail(last.log, TAIL);
    if !tail.is_empty() {
        out.push_str(&format!("; its last lines:\n{tail}"));
    }
    out
}

/// The last `lines` lines of a file, indented; empty when it cannot be read.
fn tail(path: &Path, lines: usize) -> String {
    let Ok(text) = std::fs::read_to_string(path) else { return String::new() };
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].iter().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_names_the_cause_the_rule_the_log_and_its_last_lines() {
        let dir = std::env::temp_dir().join(format!("crash-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("app-7.log");
        let lines: Vec<String> = (1..=20).map(|i| format!("line {i}")).collect();
        std::fs::write(&log, format!("{}\n[ERROR] Connection in use: ('127.0.0.1', 8050)\n", lines.join("\n")))
            .unwrap();
        let failure = Failure {
            what: "kept failing health checks",
            port: 41234,
            log: &log,
            listening: vec!["127.0.0.1:8050".parse().unwrap()],
        };
        let text = report("app-service", 3, &failure);
        assert!(text.starts_with("3 replicas of app-service in a row kept failing health checks"), "{text}");
        assert!(text.contains("listened on 127.0.0.1:8050 instead of its $PORT (41234)"), "{text}");
        assert!(text.contains("must listen on the port in $PORT"), "{text}");
        assert!(text.contains(&log.display().to_string()), "{text}");
        assert!(text.ends_with("    [ERROR] Connection in use: ('127.0.0.1', 8050)"), "{text}");
        assert!(!text.contains("line 8\n"), "only the last lines: {text}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
