//! Replica logs on this machine. Each replica's output goes to `<logs>/<service>-<id>.log`, every
//! line stamped by the supervisor with when it was written (RFC 3339 in UTC, to the millisecond), so
//! that `scaling logs` can interleave replicas by time and honour `--since`. Reading them back takes
//! byte offsets per file as its cursor, which a follower passes on to read only what is new.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::SystemTime;

use scaling_core::providers::{epoch_millis, LogLine, LogPage, LogQuery};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};

/// The longest line kept whole; a longer one is cut into pieces of this size.
const LONGEST_LINE: usize = 64 * 1024;

/// Copies what `from` (a replica's stdout or stderr) writes into `to`, a line at a time, each line
/// stamped with the time it arrived. Ends when the replica closes its side.
pub(crate) async fn copy_stamped(from: impl AsyncRead + Unpin, mut to: tokio::fs::File) {
    let mut reader = BufReader::new(from);
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = (&mut reader).take(LONGEST_LINE as u64).read_until(b'\n', &mut line).await;
        match read {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if line.last() != Some(&b'\n') {
            line.push(b'\n');
        }
        let stamp = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
        let mut stamped = Vec::with_capacity(stamp.len() + 1 + line.len());
        stamped.extend_from_slice(stamp.as_bytes());
        stamped.push(b' ');
        stamped.extend_from_slice(&line);
        // tokio writes files from a worker thread: flushing waits until the line is in the file.
        if to.write_all(&stamped).await.is_err() || to.flush().await.is_err() {
            return;
        }
    }
}

/// The replica a log file belongs to: `<service>-<id>.log` → `id`.
fn replica_of(file: &str, service: &str) -> Option<String> {
    let id = file.strip_prefix(service)?.strip_prefix('-')?.strip_suffix(".log")?;
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then(|| id.to_string())
}

/// A stamped line's time and text (an unstamped one has no time).
fn parse(line: &str) -> (Option<u64>, &str) {
    match line.split_once(' ') {
        Some((stamp, text)) if stamp.len() == 24 && stamp.ends_with('Z') => match humantime::parse_rfc3339(stamp) {
            Ok(at) => (Some(epoch_millis(at)), text),
            Err(_) => (None, line),
        },
        _ => (None, line),
    }
}

/// Reads `service`'s replica logs under `logs` as `query` asks.
pub(crate) fn read(logs: &Path, service: &str, query: &LogQuery) -> std::io::Result<LogPage> {
    let mut offsets: BTreeMap<String, u64> = match &query.after {
        Some(cursor) => serde_json::from_str(cursor).unwrap_or_default(),
        None => BTreeMap::new(),
    };
    let since = query.since.map(epoch_millis);
    let mut lines = Vec::new();
    let entries = match std::fs::read_dir(logs) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(LogPage::default()),
        Err(e) => return Err(e),
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(replica) = replica_of(&name, service) else { continue };
        if query.replica.as_ref().is_some_and(|wanted| *wanted != replica) {
            continue;
        }
        let mut file = std::fs::File::open(entry.path())?;
        let start = offsets.get(&name).copied().unwrap_or(0);
        file.seek(SeekFrom::Start(start))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        // Only whole lines: a line being written is read once it ends.
        let whole = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |end| end + 1);
        offsets.insert(name, start + whole as u64);
        for raw in String::from_utf8_lossy(&bytes[..whole]).lines() {
            let (at, text) = parse(raw);
            if since.is_some_and(|since| at.is_some_and(|at| at < since)) {
                continue;
            }
            lines.push(LogLine { at, replica: replica.clone(), text: text.to_string() });
        }
    }
    // Interleaved by time; lines of one replica keep their order.
    lines.sort_by_key(|line| line.at.unwrap_or(0));
    if query.after.is_none() && query.limit > 0 && lines.len() > query.limit {
        lines.drain(..lines.len() - query.limit);
    }
    let cursor = serde_json::to_string(&offsets).map_err(std::io::Error::other)?;
    Ok(LogPage { lines, cursor: Some(cursor) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_stamped_read_back_by_time_and_followed_from_the_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str| {
            let path = dir.path().join(name);
            async move { tokio::fs::OpenOptions::new().create(true).append(true).open(path).await.unwrap() }
        };
        copy_stamped(&b"first from 1\nsecond from 1"[..], file("app-1.log").await).await;
        copy_stamped(&b"first from 2\n"[..], file("app-2.log").await).await;
        std::fs::write(dir.path().join("app-supervisor.log"), "not a replica\n").unwrap();
        std::fs::write(dir.path().join("other-1.log"), "another app\n").unwrap();

        let all = read(dir.path(), "app", &LogQuery::default()).unwrap();
        let texts: Vec<_> = all.lines.iter().map(|l| (l.replica.as_str(), l.text.as_str())).collect();
        assert_eq!(texts.len(), 3, "{texts:?}");
        assert!(texts.contains(&("1", "second from 1")) && texts.contains(&("2", "first from 2")), "{texts:?}");
        assert!(all.lines.iter().all(|l| l.at.is_some()), "every line is stamped");
        assert!(all.lines.windows(2).all(|w| w[0].at <= w[1].at), "interleaved by time");

        let only_two = read(dir.path(), "app", &LogQuery { replica: Some("2".into()), ..Default::default() }).unwrap();
        assert_eq!(only_two.lines.len(), 1);
        let last = read(dir.path(), "app", &LogQuery { limit: 1, ..Default::default() }).unwrap();
        assert_eq!(last.lines.len(), 1, "the newest line only");
        let future = SystemTime::now() + std::time::Duration::from_secs(60);
        assert!(read(dir.path(), "app", &LogQuery { since: Some(future), ..Default::default() })
            .unwrap()
            .lines
            .is_empty());

        let follow = LogQuery { after: all.cursor.clone(), ..Default::default() };
        assert!(read(dir.path(), "app", &follow).unwrap().lines.is_empty(), "nothing new yet");
        copy_stamped(&b"third from 1\n"[..], file("app-1.log").await).await;
        let new = read(dir.path(), "app", &follow).unwrap();
        assert_eq!(new.lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(), ["third from 1"]);
    }
}
