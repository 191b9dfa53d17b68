//! `scaling validate`.

use anyhow::Result;
use scaling_core::Problem;
use serde::Serialize;

use crate::args::{Global, Output};
use crate::render::{json_line, JsonLine};
use crate::InvalidInput;

/// The provider's word on the secrets: each must exist where it says (a call to the provider, which
/// reads no value).
async fn secret_problems(global: &Global, spec: &scaling_core::Spec) -> Result<Vec<Problem>> {
    let session = crate::provider::select(global, spec, scaling_core::DeployOptions::default()).await?;
    Ok(session.check_secrets().await?)
}

#[derive(Serialize)]
struct Validation<'a> {
    valid: bool,
    config: String,
    problems: &'a [Problem],
}

pub async fn run(global: &Global) -> Result<()> {
    let config = global.config.display().to_string();
    let checked = match super::spec_of(global) {
        Ok(spec) if !spec.secrets.is_empty() => {
            let problems = secret_problems(global, &spec).await?;
            if problems.is_empty() {
                Ok(spec)
            } else {
                Err(problems)
            }
        }
        Ok(spec) => Ok(spec),
        Err(errors) => Err(errors.problems),
    };
    let problems = match checked {
        Ok(spec) => {
            if global.output == Output::Json {
                json_line(&JsonLine::Result(&Validation { valid: true, config, problems: &[] }));
            } else {
                let domain = spec.domain.as_ref().map_or_else(|| "no domain".to_string(), |d| d.hostnames().join(", "));
                let replicas = match &spec.scaling {
                    Some(scaling) => format!("{}–{} replicas (autoscaling)", scaling.min, scaling.max),
                    None => format!("{} replicas", spec.app.desired_count),
                };
                println!("✓ {config} is valid: {} on port {}, {replicas}, {domain}", spec.app.name, spec.app.port);
            }
            return Ok(());
        }
        Err(problems) => problems,
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
