//! `scaling releases` and `scaling rollback`.

use anyhow::Result;
use scaling_core::Release;

use super::{connect, finish};
use crate::args::Global;
use crate::render::Renderer;

/// `2026-12-01 14:05 UTC`, or `-`.
fn when(release: &Release) -> String {
    release.registered_at.map_or_else(
        || "-".to_string(),
        |ms| {
            let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
            let text = humantime::format_rfc3339_seconds(time).to_string();
            format!("{} {} UTC", text.get(..10).unwrap_or_default(), text.get(11..16).unwrap_or_default())
        },
    )
}

/// The image's digest, short: `sha256:1a2b3c4d5e6f`.
fn digest(image: &str) -> &str {
    let digest = image.rsplit_once('@').map_or(image, |(_, d)| d);
    digest.get(..19).unwrap_or(digest)
}

/// `--output json`: `{"type":"result","app":…,"releases":[…]}`.
#[derive(serde::Serialize)]
struct Listed<'a> {
    app: &'a str,
    releases: &'a [Release],
}

pub async fn list(global: &Global) -> Result<()> {
    let session = connect(global, true).await?;
    let releases = session.releases().await?;
    let renderer = Renderer::new(global.output, true);
    let listed = Listed { app: &session.spec().app.name, releases: &releases };
    finish(global, &renderer, &listed, || {
        if releases.is_empty() {
            return format!("{} has no releases here yet.", session.spec().app.name);
        }
        let mut out = format!("Releases of {} (newest first):", session.spec().app.name);
        for release in &releases {
            let mark = if release.current { "  ← running" } else { "" };
            out.push_str(&format!("\n  {:>4}  {}  {}{mark}", release.number, digest(&release.image), when(release)));
        }
        out
    });
    Ok(())
}

pub async fn rollback(global: &Global, to: Option<u32>) -> Result<()> {
    let session = connect(global, true).await?;
    let renderer = Renderer::new(global.output, global.no_color);
    let report = crate::signals::interruptible(&*session, session.rollback(to, &renderer)).await?;
    finish(global, &renderer, &report, || {
        let mut text = format!(
            "✓ {} runs {} again ({:.1}s)",
            session.spec().app.name,
            digest(&report.image),
            report.elapsed.as_secs_f64()
        );
        for url in &report.urls {
            text.push_str(&format!("\n  {url}"));
        }
        text
    });
    Ok(())
}
