//! `destroy --delete-images` on this machine: an app's bundles, and the virtualenvs nothing uses
//! any more, removed from the store (other apps' bundles and the virtualenvs they share stay).

use std::fs;
use std::path::PathBuf;

use crate::bundle::BundleManifest;
use crate::paths::Paths;

fn manifests(paths: &Paths) -> Vec<(PathBuf, BundleManifest)> {
    let entries = fs::read_dir(paths.bundles()).into_iter().flatten().flatten();
    entries
        .filter_map(|entry| {
            let dir = entry.path();
            let text = fs::read_to_string(dir.join("bundle.json")).ok()?;
            Some((dir, serde_json::from_str(&text).ok()?))
        })
        .collect()
}

/// True when some bundle in the store was built by `app`.
pub fn has_bundles(paths: &Paths, app: &str) -> bool {
    manifests(paths).iter().any(|(_, manifest)| manifest.apps.iter().any(|a| a == app))
}

/// Removes `app` from every bundle's apps; deletes the bundles no app claims any more, then the
/// virtualenvs no remaining bundle uses, and what killed builds left half made. Returns what it
/// deleted, in words.
pub fn remove_app(paths: &Paths, app: &str) -> Vec<String> {
    let mut removed = Vec::new();
    for (dir, mut manifest) in manifests(paths) {
        if !manifest.apps.iter().any(|a| a == app) {
            continue;
        }
        manifest.apps.retain(|a| a != app);
        if manifest.apps.is_empty() {
            if fs::remove_dir_all(&dir).is_ok() {
                removed.push(format!("bundle {}", manifest.digest));
            }
        } else if let Ok(json) = serde_json::to_string_pretty(&manifest) {
            let _ = fs::write(dir.join("bundle.json"), json);
        }
    }
    for entry in fs::read_dir(paths.bundles()).into_iter().flatten().flatten() {
        let path = entry.path();
        let partial = path.extension().is_some_and(|e| e == "partial");
        // A half-made bundle whose lock is free was left by a killed build; a held one is being built.
        let left = partial && crate::store_lock::StoreLock::try_take(&path.with_extension("")).is_some();
        if left && fs::remove_dir_all(&path).is_ok() {
            removed.push(format!("half-made bundle {}", path.display()));
        }
    }
    let used: Vec<PathBuf> = manifests(paths).into_iter().filter_map(|(_, m)| m.venv).collect();
    removed.extend(crate::venv::remove_unused(paths, &used));
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(paths: &Paths, digest: &str, apps: &[&str], venv: Option<PathBuf>) {
        let dir = paths.bundles().join(digest);
        fs::create_dir_all(dir.join("app")).unwrap();
        let manifest = BundleManifest {
            digest: format!("sha256:{digest}"),
            command: vec!["true".into()],
            workdir: PathBuf::new(),
            env: Default::default(),
            venv,
            apps: apps.iter().map(|a| a.to_string()).collect(),
        };
        fs::write(dir.join("bundle.json"), serde_json::to_string(&manifest).unwrap()).unwrap();
    }

    fn venv(paths: &Paths, name: &str) -> PathBuf {
        let dir = paths.venvs().join(name);
        fs::create_dir_all(&dir).unwrap(); // the layout before virtualenvs were published by a link
        fs::write(dir.join(".ready"), "").unwrap();
        dir
    }

    #[test]
    fn only_the_apps_own_bundles_and_unshared_virtualenvs_go() {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::at(home.path().to_path_buf());
        let (mine, shared) = (venv(&paths, "mine"), venv(&paths, "shared"));
        bundle(&paths, "a1", &["dashmath"], Some(mine.clone()));
        bundle(&paths, "b1", &["dashmath", "billing"], Some(shared.clone()));
        bundle(&paths, "c1", &["billing"], Some(shared.clone()));

        let removed = remove_app(&paths, "dashmath");
        assert!(removed.contains(&"bundle sha256:a1".to_string()), "{removed:?}");
        assert!(!paths.bundles().join("a1").exists(), "{removed:?}");
        assert!(!mine.exists(), "a virtualenv no bundle uses any more goes: {removed:?}");
        assert!(paths.bundles().join("b1").exists(), "a bundle another app claims stays");
        assert!(paths.bundles().join("c1").exists() && shared.exists(), "another app's bundle and virtualenv stay");
        let left: BundleManifest =
            serde_json::from_str(&fs::read_to_string(paths.bundles().join("b1/bundle.json")).unwrap()).unwrap();
        assert_eq!(left.apps, ["billing"]);
    }
}
