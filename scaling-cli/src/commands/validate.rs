//! `scaling validate`.

use anyhow::Result;
use scaling_core::Problem;
use serde::Serialize;

use crate::args::{Global, Output};
use crate::render::{json_line, JsonLine};
use crate::InvalidInput;

#[derive(Serialize)]
struct Validation<'a> {
    valid: bool,
    config: String,
    problems: &'a [Problem],
}

pub fn run(global: &Global) -> Result<()> {
    let config = global.config.display().to_string();
    let problems = match super::spec_of(global) {
        Ok(spec) => {
            if global.output == Output::Json {
                json_line(&JsonLine::Result(&Validation { valid: true, config, problems: &[] }));
            } else {
                let domain = spec.domain.as_ref().map_or_else(|| "no domain".to_string(), |d| d.hostnames().join(", "));
                println!(
                    "✓ {config} is valid: {} on port {}, {} replicas, {domain}",
                    spec.app.name, spec.app.port, spec.app.desired_count
                );
            }
            return Ok(());
        }
        Err(errors) => errors.problems,
    };
    if global.output == Output::Json {
        json_line(&JsonLine::Result(&Validation { valid: false, config: config.clone(), problems: &problems }));
    } else {
        println!("✗ {config} has {} problem{}:", problems.len(), if problems.len() == 1 { "" } else { "s" });
        for p in &problems {
            println!("  {}: {}\n    fix: {}", p.field, p.message, p.fix);
        }
    }
    Err(InvalidInput(format!("{config} is invalid")).into())
}
