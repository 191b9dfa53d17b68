//! `scaling destroy`: shows what it will delete and asks, unless `--yes`.

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

pub async fn run(global: &Global, yes: bool, delete_zone: bool, delete_images: bool) -> Result<()> {
    if !yes && !std::io::stdin().is_terminal() {
        return Err(InvalidInput("refusing to destroy without --yes: there is no terminal to confirm on".into()).into());
    }
    let (selected, orchestrator) = connect(global, true).await?;
    let app = selected.spec.app.name.clone();
    let plan = orchestrator.plan_destroy(&selected.spec).await?;
    let owned = plan.owned_resources();
    let renderer = Renderer::new(global.output, global.no_color);
    if owned.is_empty() {
        finish(global, &renderer, &scaling_core::DestroyReport::default(), || {
            format!("{app} owns nothing here; nothing to delete.")
        });
        return Ok(());
    }
    if !yes {
        println!("This deletes what {app} owns:");
        for resource in &owned {
            println!("  - {resource}");
        }
        if !confirm(&app)? {
            bail!("not confirmed; nothing was deleted");
        }
    }
    let options = DestroyOptions { delete_zone, delete_images };
    let report = orchestrator.destroy(&selected.spec, &options, &renderer).await?;
    finish(global, &renderer, &report, || {
        let mut text = format!("✓ deleted {} resource(s)", report.deleted.len());
        for kept in &report.kept {
            text.push_str(&format!("\n  kept {kept}"));
        }
        text
    });
    Ok(())
}
