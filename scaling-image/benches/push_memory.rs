//! Peak memory of a push against the size of the layer it uploads. Layers stream from disk, so the
//! growth of this process's peak resident memory should be a small fraction of the layer (the
//! client's chunks and a read buffer), where holding the layer in memory costs at least the layer.
//! Pushes a 128 MiB layer to Debian's `docker-registry` on loopback three ways — streamed in chunks,
//! streamed in one request, and from memory as a baseline — and prints the ratios of one run.
//!
//! `cargo bench -p scaling-image --bench push_memory`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/support/registry.rs"]
mod support;

use std::io::Read;

use scaling_image::{Blob, Destination, LocalImage, Upload};

const LAYER_MIB: u64 = 128;

/// `VmHWM` (peak) or `VmRSS` (now) of this process, in KiB.
fn memory_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Starts a new peak at the current resident size.
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
}

/// Bytes that do not compress, made as they are read.
struct Noise {
    state: u64,
    left: u64,
}

impl Read for Noise {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let n = buffer.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        for byte in &mut buffer[..n] {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            *byte = self.state as u8;
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// An OCI layout of one `LAYER_MIB` layer, written without holding the layer in memory.
fn layout(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let layer_path = dir.join("layer.tar");
    let mut tar = tar::Builder::new(std::fs::File::create(&layer_path).unwrap());
    let mut header = tar::Header::new_gnu();
    header.set_size(LAYER_MIB << 20);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "app/data.bin", Noise { state: 0x9e37_79b9_7f4a_7c15, left: LAYER_MIB << 20 })
        .unwrap();
    tar.into_inner().unwrap();
    let layer = Blob::from_file("application/vnd.oci.image.layer.v1.tar", &layer_path, None).unwrap();
    let config = serde_json::json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [layer.digest]}});
    let config = Blob::from_bytes("application/vnd.oci.image.config.v1+json", serde_json::to_vec(&config).unwrap());
    let layout = dir.join("layout");
    LocalImage::assemble(config, vec![layer]).unwrap().write_oci_layout(&layout).unwrap();
    std::fs::remove_file(&layer_path).unwrap();
    layout
}

/// Pushes the layout to `repository` (new, so every blob is uploaded); returns the peak growth in MiB.
fn push(runtime: &tokio::runtime::Runtime, destination: Destination, layout: &std::path::Path, in_memory: bool) -> f64 {
    reset_peak();
    let before = memory_kib("VmRSS:");
    let mut image = LocalImage::open(layout).unwrap();
    if in_memory {
        image.layers =
            image.layers.iter().map(|l| Blob::from_bytes(l.media_type.clone(), l.bytes().unwrap())).collect();
    }
    let report = runtime.block_on(async { destination.connect().await.unwrap().push(&image).await.unwrap() });
    assert_eq!(report.uploaded.len(), 2, "layer and config uploaded");
    (memory_kib("VmHWM:").saturating_sub(before)) as f64 / 1024.0
}

fn main() {
    let registry = support::start_registry().expect("docker-registry and htpasswd (scripts/test installs them)");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let layout = layout(&registry.dir.join("bench"));
    let mut results = Vec::new();
    for (name, upload, in_memory) in [
        ("streamed, chunked", Upload::Chunked, false),
        ("streamed, one request", Upload::Monolithic, false),
        ("from memory (baseline)", Upload::Monolithic, true),
    ] {
        let repository = format!("bench-{}", results.len());
        let destination = Destination { upload, repository, ..registry.destination(&registry.password) };
        let growth = push(&runtime, destination, &layout, in_memory);
        println!(
            "{name:<24} layer {LAYER_MIB} MiB, peak memory growth {growth:>7.1} MiB ({:.3} of the layer)",
            growth / LAYER_MIB as f64
        );
        results.push(growth);
    }
    println!(
        "streamed ÷ from memory: chunked {:.3}, one request {:.3}",
        results[0] / results[2],
        results[1] / results[2]
    );
}
