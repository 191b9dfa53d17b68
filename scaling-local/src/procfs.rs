//! What `/proc` says about processes: their process group, and every process of a set of groups.

/// Every process whose process group is one of `groups`.
pub(crate) fn processes_in(groups: &[i32]) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| process_group(*pid).is_some_and(|g| groups.contains(&g)))
        .collect()
}

/// The process group of `pid`: the fifth field of `/proc/<pid>/stat`, after the command in parentheses.
pub(crate) fn process_group(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_command = &stat[stat.rfind(')')? + 1..];
    after_command.split_whitespace().nth(2)?.parse().ok()
}
