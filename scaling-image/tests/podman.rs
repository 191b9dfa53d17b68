//! A real engine: Podman builds an image (a Dockerfile without `RUN`, which is what runs on this
//! machine), `scaling-image` reads the saved OCI archive and pushes it to a real registry on loopback,
//! and the registry serves it back by digest. Podman keeps its storage in a folder of the test's own
//! (`vfs`, no daemon, no container run).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use scaling_core::Platform;
use scaling_image::{Builder, LocalImage};

#[path = "support/registry.rs"]
mod support;

fn podman_installed() -> bool {
    let found =
        std::process::Command::new("sh").args(["-c", "command -v podman"]).output().is_ok_and(|o| o.status.success());
    assert!(found || std::env::var("CI").is_err(), "podman is required in CI (scripts/test installs it)");
    found
}

#[tokio::test]
async fn podman_builds_a_real_image_that_is_pushed_and_served_back_by_digest() {
    if !podman_installed() {
        eprintln!("skipping: podman is not installed (scripts/test installs it)");
        return;
    }
    let Some(registry) = support::start_registry() else { return };
    let scratch = tempfile::tempdir().unwrap();
    // Storage of the test's own: vfs needs no kernel overlay support, and nothing outlives the test.
    let storage = scratch.path().join("storage.conf");
    std::fs::write(
        &storage,
        format!(
            "[storage]\ndriver = \"vfs\"\ngraphroot = \"{0}/graph\"\nrunroot = \"{0}/run\"\n",
            scratch.path().display()
        ),
    )
    .unwrap();
    std::env::set_var("CONTAINERS_STORAGE_CONF", &storage);

    let context = scratch.path().join("app");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(context.join("index.html"), "<h1>built by podman</h1>").unwrap();
    std::fs::write(context.join("Dockerfile"), "FROM scratch\nCOPY index.html /srv/index.html\nCMD [\"/srv\"]\n")
        .unwrap();

    let builder = Builder::detect_among(&["podman"]).await.expect("podman answers");
    let out = scratch.path().join("image.tar");
    let built = builder
        .build(&context, "Dockerfile", Platform::LinuxAmd64, "localhost/scaling-test/podman:latest", &out)
        .await
        .expect("podman builds a Dockerfile without RUN");
    assert_eq!(built.layers.len(), 1, "one COPY, one layer");

    let pusher = registry.destination(&registry.password).connect().await.unwrap();
    let pushed = pusher.push(&built).await.unwrap();
    assert_eq!(pusher.manifest(&pushed.digest).await.unwrap(), built.manifest, "served back byte for byte");
    let again = LocalImage::open(&out).unwrap();
    assert_eq!(again.digest(), built.digest(), "the saved archive reads back as the same image");
    assert!(pusher.push(&again).await.unwrap().uploaded.is_empty(), "a second push uploads nothing");
}
