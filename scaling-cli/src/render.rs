//! Showing progress: a live tree of steps with spinners on a terminal, plain lines otherwise, JSON
//! lines with `--output json`.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use scaling_core::{Event, EventKind, Progress, StepId};
use serde::Serialize;

use crate::args::Output;

/// How events are shown.
pub enum Renderer {
    /// Spinners per step (a terminal).
    Live { bars: MultiProgress, steps: Mutex<HashMap<StepId, ProgressBar>> },
    /// One line per event.
    Lines,
    /// One JSON object per event.
    Json,
}

/// One line of `--output json`: an event while working, then the result or an error.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JsonLine<'a, T: Serialize> {
    /// A progress event.
    Event(&'a Event),
    /// The command's result.
    Result(&'a T),
    /// One line a replica wrote (`scaling logs`: one per line, followed as they come with `-f`).
    Log(&'a T),
    /// The command failed.
    Error {
        /// What failed.
        message: String,
        /// The exit code.
        exit_code: i32,
    },
}

/// Prints one JSON line.
pub fn json_line<T: Serialize>(line: &JsonLine<'_, T>) {
    if let Ok(text) = serde_json::to_string(line) {
        println!("{text}");
    }
}

impl Renderer {
    /// The renderer for this output and terminal.
    pub fn new(output: Output, no_color: bool) -> Self {
        let plain = no_color || std::env::var_os("NO_COLOR").is_some() || !std::io::stdout().is_terminal();
        match output {
            Output::Json => Renderer::Json,
            Output::Text if plain => Renderer::Lines,
            Output::Text => Renderer::Live { bars: MultiProgress::new(), steps: Mutex::new(HashMap::new()) },
        }
    }

    /// True when text goes to a live terminal display (print through [`Renderer::println`]).
    pub fn println(&self, text: &str) {
        match self {
            Renderer::Live { bars, .. } => {
                let _ = bars.println(text);
            }
            Renderer::Lines => println!("{text}"),
            Renderer::Json => {}
        }
    }
}

fn describe(kind: &EventKind) -> String {
    match kind {
        EventKind::Started { action } => format!("{action:?}").to_lowercase().replace("nochange", "checking"),
        EventKind::Waiting { detail } => format!("waiting: {detail}"),
        EventKind::Retrying { attempt, error } => format!("retrying after attempt {attempt}: {error}"),
        EventKind::Done { detail } => detail.clone(),
        EventKind::Failed { error } => format!("FAILED: {error}"),
        EventKind::Skipped { because } => format!("skipped: {because} failed"),
    }
}

impl Progress for Renderer {
    fn event(&self, event: &Event) {
        match self {
            Renderer::Json => json_line::<()>(&JsonLine::Event(event)),
            Renderer::Lines => {
                println!("[{:>7.1}s] {}: {}", event.elapsed.as_secs_f64(), event.resource, describe(&event.kind))
            }
            Renderer::Live { bars, steps } => {
                let Ok(mut steps) = steps.lock() else { return };
                let bar = steps.entry(event.step).or_insert_with(|| {
                    let bar = bars.add(ProgressBar::new_spinner());
                    let style = ProgressStyle::with_template("{spinner:.cyan} {prefix:.bold} {wide_msg} {elapsed:>4}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner());
                    bar.set_style(style);
                    bar.set_prefix(event.resource.clone());
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                });
                let text = describe(&event.kind);
                match &event.kind {
                    EventKind::Done { .. } => bar.finish_with_message(format!("✓ {text}")),
                    EventKind::Failed { .. } => bar.abandon_with_message(format!("✗ {text}")),
                    EventKind::Skipped { .. } => bar.abandon_with_message(format!("- {text}")),
                    _ => bar.set_message(text),
                }
            }
        }
    }
}
