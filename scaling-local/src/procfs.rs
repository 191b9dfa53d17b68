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

/// The CPU time the live processes of each of `groups` have used, in seconds (user and system):
/// one pass over `/proc` for all of them.
pub(crate) fn cpu_seconds_by_group(groups: &[i32]) -> Vec<(i32, f64)> {
    let mut ticks: std::collections::HashMap<i32, u64> = groups.iter().map(|g| (*g, 0)).collect();
    for (pid, group) in members_of(groups) {
        *ticks.entry(group).or_default() += cpu_ticks(pid).unwrap_or(0);
    }
    let per_second = clock_ticks_per_second();
    ticks.into_iter().map(|(group, t)| (group, t as f64 / per_second)).collect()
}

/// User plus system time of `pid`, in clock ticks: fields 14 and 15 of `/proc/<pid>/stat`.
fn cpu_ticks(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

fn clock_ticks_per_second() -> f64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(ticks)) if ticks > 0 => ticks as f64,
        _ => 100.0,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_has_used_some_cpu() {
        let group = nix::unistd::getpgrp().as_raw();
        let started = std::time::Instant::now();
        while started.elapsed() < std::time::Duration::from_millis(50) {
            std::hint::black_box((0..1000u64).sum::<u64>());
        }
        let used = super::cpu_seconds_by_group(&[group]);
        assert!(used.len() == 1 && used[0].1 > 0.0, "50 ms of work shows: {used:?}");
    }
}
