//! `scaling destroy`: shows what it will delete and keep, and asks, unless `--yes`.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Result};
use scaling_core::DestroyOptions;

use super::{connect, finish};
use crate::args::Global;
use crate::render::Renderer;
use crate::InvalidInput;

fn confirm(app: &str) -> Result<bool> {
    print!("Type the app name ({app}) to delete these resources: ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == app)
}

pub async fn run(global: &Global, yes: bool, options: &DestroyOptions) -> Result<()> {
    if !yes && !std::io::stdin().is_terminal() {
        return Err(InvalidInput("refusing to destroy without --yes: there is no terminal to confirm on".into()).into());
    }
    let session = connect(global, true).await?;
    let app = session.spec().app.name.clone();
    let renderer = Renderer::new(global.output, global.no_color);
    let preview = session.preview_destroy(options).await?;
    if preview.deletes.is_empty() {
        let report = scaling_core::DestroyReport { deleted: Vec::new(), kept: preview.keeps };
        finish(global, &renderer, &report, || {
            let mut text = format!("{app} owns nothing here; nothing to delete.");
            for kept in &report.kept {
                text.push_str(&format!("\n  kept {kept}"));
            }
            text
        });
        return Ok(());
    }
    if !yes {
        println!("This deletes what {app} owns:");
        for resource in &preview.deletes {
            println!("  - {resource}");
        }
        for kept in &preview.keeps {
            println!("  and keeps {kept}");
        }
        if !confirm(&app)? {
            bail!("not confirmed; nothing was deleted");
        }
    }
    let report = crate::signals::interruptible(&*session, session.destroy(options, &renderer)).await?;
    finish(global, &renderer, &report, || {
        let mut text = format!("✓ deleted {} resource(s) of {app}", report.deleted.len());
        for deleted in &report.deleted {
            text.push_str(&format!("\n  - {deleted}"));
        }
        for kept in &report.kept {
            text.push_str(&format!("\n  kept {kept}"));
        }
        text
    });
    Ok(())
}
