//! One file per command; each is a few calls to the orchestrator and some printing.

mod deploy;
mod destroy;
mod init;
mod logs;
mod plan;
mod releases;
mod status;
mod validate;

use anyhow::{Context, Result};
use clap::CommandFactory;
use scaling_core::{DeployOptions, Session, Spec, SpecErrors};
use serde::Serialize;

use crate::args::{Cli, Command, Global, Output};
use crate::provider;
use crate::render::{json_line, JsonLine, Renderer};

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    let global = &cli.global;
    match cli.command {
        Command::Init { force, name } => init::run(global, force, name),
        Command::Validate => validate::run(global).await,
        Command::Plan { image } => plan::run(global, image.as_deref()).await,
        Command::Deploy { image, no_wait, detach, ready_file, .. } => {
            if detach {
                deploy::detach(global, image.as_deref()).await
            } else {
                deploy::run(global, image.as_deref(), !no_wait, ready_file.as_deref()).await
            }
        }
        Command::Status => status::status(global).await,
        Command::Releases => releases::list(global).await,
        Command::Rollback { to } => releases::rollback(global, to).await,
        Command::Logs { follow, since, replica, lines } => logs::run(global, follow, since, replica, lines).await,
        Command::Scale { count, no_wait } => status::scale(global, count, !no_wait).await,
        Command::Destroy { yes, delete_zone, delete_images, delete_logs } => {
            let options = scaling_core::DestroyOptions { delete_zone, delete_images, delete_logs };
            destroy::run(global, yes, &options).await
        }
        Command::Schema => {
            println!("{}", serde_json::to_string_pretty(&crate::schema::config_schema())?);
            Ok(())
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "scaling", &mut std::io::stdout());
            Ok(())
        }
    }
}

/// Loads and validates the config; problems are exit code 2.
pub fn load(global: &Global) -> Result<Spec> {
    Ok(spec_of(global)?)
}

/// The config file's spec, checked all at once: the core's rules, the image's files, the chosen
/// provider's table and limits, and the command line's overrides (named as the flags).
pub fn spec_of(global: &Global) -> std::result::Result<Spec, SpecErrors> {
    let spec = Spec::read_environment(&global.config, global.environment.as_deref())?;
    let problems = provider::problems(global, &spec);
    if problems.is_empty() {
        Ok(spec)
    } else {
        Err(SpecErrors::new(problems))
    }
}

/// The session of the config's deployment through the provider it asks for (waiting for rollouts
/// unless `wait` is false).
pub async fn connect(global: &Global, wait: bool) -> Result<Box<dyn Session>> {
    let spec = load(global)?;
    let options = DeployOptions { wait, break_lock: global.break_lock, ..DeployOptions::default() };
    provider::select(global, &spec, options).await.context("cannot set up the provider")
}

/// Prints `value` as the JSON result, or `text` for people.
pub fn finish<T: Serialize>(global: &Global, renderer: &Renderer, value: &T, text: impl FnOnce() -> String) {
    match global.output {
        Output::Json => json_line(&JsonLine::Result(value)),
        Output::Text => renderer.println(&text()),
    }
}
