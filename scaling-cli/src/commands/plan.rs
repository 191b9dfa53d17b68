//! `scaling plan`.

use anyhow::Result;
use scaling_core::{Action, Change};
use serde::Serialize;

use super::{connect, finish};
use crate::args::Global;
use crate::render::Renderer;

#[derive(Serialize)]
struct PlanOutput<'a> {
    app: &'a str,
    provider: &'a str,
    changes: &'a [Change],
}

fn symbol(action: Action) -> &'static str {
    match action {
        Action::Create => "+ create  ",
        Action::Update => "~ update  ",
        Action::Replace => "± replace ",
        Action::Delete => "- delete  ",
        Action::Wait => "… wait    ",
        Action::NoChange => "  no change",
    }
}

/// The plan as a diff-like table, with a summary line.
pub fn table(changes: &[Change]) -> String {
    let width = changes.iter().map(|c| c.resource.len()).max().unwrap_or(0);
    let mut text = String::new();
    for c in changes {
        text.push_str(&format!("  {} {:<width$}  {}\n", symbol(c.action), c.resource, c.reason));
    }
    let count = |a: Action| changes.iter().filter(|c| c.action == a).count();
    text.push_str(&format!(
        "{} to create, {} to update, {} to replace, {} to delete, {} unchanged",
        count(Action::Create),
        count(Action::Update),
        count(Action::Replace),
        count(Action::Delete),
        count(Action::NoChange)
    ));
    text
}

pub async fn run(global: &Global, image: Option<&str>) -> Result<()> {
    let session = connect(global, true).await?;
    let app = session.spec().app.name.clone();
    let planned = session.plan(image).await?;
    let changes = &planned.changes;
    let renderer = Renderer::new(global.output, true);
    let output = PlanOutput { app: &app, provider: session.provider(), changes };
    finish(global, &renderer, &output, || {
        let against = planned.against.as_ref().map(|a| format!(" against {a}")).unwrap_or_default();
        let environment = session.spec().environment.as_ref().map(|e| format!(", environment {e}")).unwrap_or_default();
        format!("Plan for {app} ({} provider{environment}){against}:\n{}", session.provider(), table(changes))
    });
    Ok(())
}
