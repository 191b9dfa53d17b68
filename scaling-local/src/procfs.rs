//! What `/proc` says about processes: their process group, and every process of a set of groups.

/// Every process whose process group is one of `groups`, with that group.
pub(crate) fn members_of(groups: &[i32]) -> Vec<(i32, i32)> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| Some((pid, process_group(pid).filter(|g| groups.contains(g))?)))
        .collect()
}

/// Every process whose process group is one of `groups`.
pub(crate) fn processes_in(groups: &[i32]) -> Vec<i32> {
    members_of(groups).into_iter().map(|(pid, _)| pid).collect()
}

/// The process group of `pid`: the fifth field of `/proc/<pid>/stat`, after the command in parentheses.
fn process_group(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_command = &stat[stat.rfind(')')? + 1..];
    after_command.split_whitespace().nth(2)?.parse().ok()
}
