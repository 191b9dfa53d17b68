//! `scaling`: a thin command line over the `scaling-core` orchestrator.
//!
//! Exit codes: 0 success, 1 the operation failed, 2 invalid input or config.

mod args;
mod commands;
mod provider;
mod render;
mod schema;
mod signals;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use scaling_core::SpecErrors;

use crate::args::{Cli, Output};
use crate::render::{json_line, JsonLine};

/// Invalid input (exit code 2), as opposed to a failed operation (exit code 1).
#[derive(Debug)]
pub struct InvalidInput(pub String);

impl std::fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidInput {}

fn exit_code(error: &anyhow::Error) -> u8 {
    let invalid = error.downcast_ref::<InvalidInput>().is_some()
        || error.downcast_ref::<SpecErrors>().is_some()
        || matches!(error.downcast_ref::<scaling_core::Error>(), Some(scaling_core::Error::InvalidSpec(_)))
        || matches!(
            error.downcast_ref::<scaling_core::SessionError>(),
            Some(
                scaling_core::SessionError::NotApplicable(_)
                    | scaling_core::SessionError::Deploy(scaling_core::Error::InvalidSpec(_))
            )
        );
    if invalid {
        2
    } else {
        1
    }
}

/// The error and its causes, each message once: a cause whose text the message above it already
/// contains (libraries often display their source inline too) is not repeated.
fn report(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let message = cause.to_string();
        if message.is_empty() || text.contains(&message) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&message);
    }
    text
}

/// Color only for a terminal, and never when `--no-color` or `NO_COLOR` says no.
fn colored(no_color_flag: bool, no_color_env: bool, terminal: bool) -> bool {
    terminal && !no_color_flag && !no_color_env
}

/// Logs go to stderr, colored only on a terminal and never with `--no-color` (or `NO_COLOR`).
fn init_tracing(verbose: u8, no_color: bool) {
    // Only scaling's own crates get chatty: dependencies (HTTP clients, SDKs) stay at warn, so nothing
    // they might log about requests reaches the terminal.
    // rustls warns once per connection about what clients send (an IP address as SNI, which browsers
    // and load testers do): a load test would print thousands of lines, so it speaks only of errors.
    let filter = match verbose {
        0 => "warn,rustls=error",
        1 => "warn,rustls=error,scaling_core=info,scaling_local=info,scaling_aws=info,scaling=info",
        _ => "warn,rustls=error,scaling_core=debug,scaling_local=debug,scaling_aws=debug,scaling=debug",
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colored(no_color, std::env::var_os("NO_COLOR").is_some(), std::io::stderr().is_terminal()))
        .with_target(false)
        .try_init();
}

/// Output piped into `head` or `grep -q` ends quietly when the reader goes away, as other command-line
/// tools do, instead of panicking on the broken pipe.
#[allow(unsafe_code)]
fn end_quietly_on_a_closed_pipe() {
    use nix::sys::signal::{signal, SigHandler, Signal};
    // SAFETY: `SigDfl` restores the kernel's default action; no handler of ours runs in signal context,
    // which is what makes `signal` unsafe in general.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

#[tokio::main]
async fn main() -> ExitCode {
    end_quietly_on_a_closed_pipe();
    let cli = Cli::parse();
    init_tracing(cli.global.verbose, cli.global.no_color);
    let output = cli.global.output;
    match commands::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let code = exit_code(&error);
            if output == Output::Json {
                json_line::<()>(&JsonLine::Error { message: report(&error), exit_code: i32::from(code) });
            }
            eprintln!("error: {}", report(&error));
            ExitCode::from(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_are_colored_only_on_a_terminal_that_did_not_say_no() {
        assert!(colored(false, false, true));
        assert!(!colored(false, false, false), "a pipe or a file gets no escape codes");
        assert!(!colored(true, false, true), "--no-color");
        assert!(!colored(false, true, true), "NO_COLOR");
    }

    #[test]
    fn a_cause_already_in_its_parent_is_printed_once() {
        let provider = scaling_core::ProviderError::new(
            "CreateLoadBalancer",
            "app-alb",
            scaling_core::ErrorKind::LimitExceeded,
            "TooManyLoadBalancers: limit reached",
        );
        let error = scaling_core::Error::Provider { step: scaling_core::StepId::LoadBalancer, source: provider };
        let error = anyhow::Error::new(error).context("deploy of app failed");
        let text = report(&error);
        assert_eq!(text.matches("TooManyLoadBalancers").count(), 1, "{text}");
        assert!(text.starts_with("deploy of app failed: step `load_balancer` failed"), "{text}");
    }
}
