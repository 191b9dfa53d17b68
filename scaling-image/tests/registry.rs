//! Pushing to a real registry server (Debian's `docker-registry`) on loopback with basic auth: the
//! manifest reads back by digest, a second push uploads nothing, an interrupted push resumes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use scaling_image::{Blob, Content, Destination, LocalImage, Upload};
use serde_json::json;

#[path = "support/registry.rs"]
mod support;

use support::start_registry;

/// A real image: one uncompressed layer with a file, a config naming it.
fn image(content: &str) -> LocalImage {
    image_of(content.as_bytes())
}

fn image_of(content: &[u8]) -> LocalImage {
    let mut layer = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    layer.append_data(&mut header, "app/index.html", content).unwrap();
    let layer = Blob::from_bytes("application/vnd.oci.image.layer.v1.tar", layer.into_inner().unwrap());
    let config =
        json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [layer.digest]}});
    let config = Blob::from_bytes("application/vnd.oci.image.config.v1+json", serde_json::to_vec(&config).unwrap());
    LocalImage::assemble(config, vec![layer]).unwrap()
}

#[tokio::test]
async fn push_reads_back_by_digest_skips_what_is_there_and_resumes() {
    let Some(registry) = start_registry() else { return };
    let destination = registry.destination(&registry.password);
    let pusher = destination.connect().await.unwrap();

    // Through an OCI layout on disk, as a build exports it.
    let layout = registry.dir.join("layout");
    image("<h1>v1</h1>").write_oci_layout(&layout).unwrap();
    let v1 = LocalImage::open(&layout).unwrap();
    let first = pusher.push(&v1).await.unwrap();
    assert_eq!(first.uploaded.len(), 2, "layer and config");
    assert_eq!(first.reference, format!("127.0.0.1:{}/dashmath-repository@{}", registry.port, v1.digest()));
    assert_eq!(
        pusher.manifest(&first.digest).await.unwrap(),
        v1.manifest,
        "the manifest reads back by digest, byte for byte"
    );

    let again = pusher.push(&v1).await.unwrap();
    assert_eq!(again.uploaded, Vec::<String>::new(), "a second push uploads no blob");
    assert_eq!(again.digest, first.digest);

    // An interrupted push: only the layer made it; the re-run uploads the rest and nothing twice.
    let v2 = image("<h1>v2</h1>");
    assert!(pusher.push_blob(&v2.layers[0]).await.unwrap());
    let resumed = pusher.push(&v2).await.unwrap();
    assert_eq!(resumed.reused, std::slice::from_ref(&v2.layers[0].digest));
    assert_eq!(resumed.uploaded, std::slice::from_ref(&v2.config.digest));
    assert_eq!(pusher.manifest(&resumed.digest).await.unwrap(), v2.manifest);
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_not_printed() {
    let Some(registry) = start_registry() else { return };
    let wrong = "definitely-the-wrong-password";
    let Err(error) = registry.destination(wrong).connect().await else {
        // Some registries only challenge on the first request; pushing must then fail.
        let pusher = registry.destination(wrong).connect().await.unwrap();
        let error = pusher.push(&image("x")).await.unwrap_err();
        assert!(!error.to_string().contains(wrong));
        return;
    };
    assert!(!error.to_string().contains(wrong), "{error}");
}

#[tokio::test]
async fn a_layer_of_several_chunks_streams_from_disk_whole_chunked_or_in_one_request() {
    let Some(registry) = start_registry() else { return };
    // 9 MiB that do not compress: three chunks of the client's 4 MiB.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let content: Vec<u8> = (0..9 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    for (upload, salt) in [(Upload::Chunked, b'c'), (Upload::Monolithic, b'm')] {
        let mut content = content.clone();
        content[0] = salt;
        // Read back from disk, as a build's export is: the layer is streamed from its file.
        let layout = registry.dir.join(format!("layout-{upload:?}"));
        image_of(&content).write_oci_layout(&layout).unwrap();
        let image = LocalImage::open(&layout).unwrap();
        assert!(matches!(image.layers[0].content, Content::File(_)), "{:?}", image.layers[0]);
        let pusher = Destination { upload, ..registry.destination(&registry.password) }.connect().await.unwrap();
        let report = pusher.push(&image).await.unwrap();
        assert_eq!(report.uploaded.len(), 2, "{upload:?}: layer and config uploaded");
        assert!(pusher.has_blob(&image.layers[0].digest).await.unwrap(), "{upload:?}: the registry has the layer");
        assert_eq!(pusher.manifest(&report.digest).await.unwrap(), image.manifest, "{upload:?}");
    }
}
