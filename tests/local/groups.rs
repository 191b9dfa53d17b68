//! A replica is its whole process group: when a shell-form `CMD`'s shell is killed, its server goes
//! too, and a new replica takes its place.

use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use scaling_core::{DestroyOptions, Orchestrator, Providers, RecordedEvents};
use scaling_local::LocalCloud;

use crate::home;

/// Every live process of process group `group`, read from /proc.
fn members(group: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                let after = &stat[stat.rfind(')').map_or(0, |i| i + 1)..];
                let fields: Vec<&str> = after.split_whitespace().collect();
                fields.first() != Some(&"Z") && fields.get(2) == Some(&group.to_string().as_str())
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_shell_leader_takes_its_whole_group_with_it() {
    let app = crate::example_copy(|file, text| match file {
        "Dockerfile" => {
            let shell_form = text.replace(
                r#"CMD ["gunicorn", "--config", "gunicorn.conf.py", "app:server"]"#,
                "CMD gunicorn --config gunicorn.conf.py app:server",
            );
            assert_ne!(text, shell_form, "the example's CMD changed; update this test");
            shell_form
        }
        _ => text,
    });
    let spec = crate::spec_for(&app, "shellform", 1);
    let cloud = std::sync::Arc::new(LocalCloud::new(home(), spec.settings().unwrap()));
    let orchestrator = Orchestrator::new(Providers::from_cloud(cloud.clone()));
    orchestrator.deploy(&spec, None, &RecordedEvents::new()).await.expect("deploy");

    let group = cloud.supervisor().replica_pids("shellform")[0];
    let before = members(group);
    assert!(before.len() >= 2, "a shell and its server share the group: {before:?}");
    kill(Pid::from_raw(group), Signal::SIGKILL).unwrap();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let left = members(group);
        let replaced = cloud.supervisor().replica_pids("shellform").iter().any(|g| *g != group);
        if left.is_empty() && replaced {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "left in the old group: {left:?}; replaced: {replaced}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let everything = DestroyOptions { delete_images: true, delete_zone: true, delete_logs: true };
    orchestrator.destroy(&spec, &everything, &RecordedEvents::new()).await.unwrap();
}
