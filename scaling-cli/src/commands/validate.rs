//! `scaling validate`.

use anyhow::Result;
use scaling_core::Problem;
use serde::Serialize;

use crate::args::{Global, Output};
use crate::provider::ProviderKind;
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
    /// The providers the file was checked for.
    providers: &'a [&'static str],
    /// Providers the file configures that this build cannot check (built without their feature).
    not_checked: &'a [&'static str],
    problems: &'a [Problem],
}

/// The file (`spec`, as read) checked for each of `kinds`: the core's problems once, each provider's
/// own named with it.
fn checked_for(
    global: &Global,
    spec: scaling_core::Spec,
    kinds: &[ProviderKind],
) -> std::result::Result<scaling_core::Spec, Vec<Problem>> {
    let core = spec.problems();
    // A `provider.default` that names no provider is a problem of its own, whichever are checked.
    let mut problems: Vec<Problem> = crate::provider::chosen(global, &spec).err().into_iter().collect();
    for kind in kinds {
        for mut problem in crate::provider::problems_for(global, &spec, Ok(*kind)) {
            let own = !core.contains(&problem) && !problem.field.starts_with("provider.") && kinds.len() > 1;
            if own {
                problem.message = format!("{} (for the {} provider)", problem.message, kind.name());
            }
            if !problems.contains(&problem) {
                problems.push(problem);
            }
        }
    }
    if problems.is_empty() {
        Ok(spec)
    } else {
        Err(problems)
    }
}

/// `local`, `local and aws`.
fn listed(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

pub async fn run(global: &Global) -> Result<()> {
    let config = global.config.display().to_string();
    let read = scaling_core::Spec::read_environment(&global.config, global.environment.as_deref());
    // A file that does not read names no provider table: the named provider, else local, is the one said.
    let (kinds, unchecked) = match &read {
        Ok(spec) => crate::provider::to_validate(global, spec),
        Err(_) => (vec![global.provider.unwrap_or(ProviderKind::Local)], Vec::new()),
    };
    let providers: Vec<&'static str> = kinds.iter().map(|k| k.name()).collect();
    let not_checked: Vec<&'static str> = unchecked.iter().map(|k| k.name()).collect();
    let checked = match read.map_err(|errors| errors.problems).and_then(|spec| checked_for(global, spec, &kinds)) {
        Ok(spec) if !spec.secrets.is_empty() => {
            let problems = secret_problems(global, &spec).await?;
            if problems.is_empty() {
                Ok(spec)
            } else {
                Err(problems)
            }
        }
        Ok(spec) => Ok(spec),
        Err(problems) => Err(problems),
    };
    let problems = match checked {
        Ok(spec) => {
            if global.output == Output::Json {
                let validation =
                    Validation { valid: true, config, providers: &providers, not_checked: &not_checked, problems: &[] };
                json_line(&JsonLine::Result(&validation));
            } else {
                let domain = spec.domain.as_ref().map_or_else(|| "no domain".to_string(), |d| d.hostnames().join(", "));
                let replicas = match &spec.scaling {
                    Some(scaling) => format!("{}–{} replicas (autoscaling)", scaling.min, scaling.max),
                    None => format!("{} replicas", spec.app.desired_count),
                };
                let which = match providers.len() {
                    1 => format!("the {} provider", providers[0]),
                    _ => format!("the {} providers", listed(&providers)),
                };
                println!(
                    "✓ {config} is valid for {which}: {} on port {}, {replicas}, {domain}",
                    spec.app.name, spec.app.port
                );
                if !not_checked.is_empty() {
                    println!(
                        "  not checked for {}: this scaling was built without it (install it with AWS support)",
                        listed(&not_checked)
                    );
                }
            }
            return Ok(());
        }
        Err(problems) => problems,
    };
    if global.output == Output::Json {
        let validation = Validation {
            valid: false,
            config: config.clone(),
            providers: &providers,
            not_checked: &not_checked,
            problems: &problems,
        };
        json_line(&JsonLine::Result(&validation));
    } else {
        let plural = if problems.len() == 1 { "" } else { "s" };
        println!("✗ {config} has {} problem{plural} (checked for {}):", problems.len(), listed(&providers));
        for p in &problems {
            println!("  {}: {}\n    fix: {}", p.field, p.message, p.fix);
        }
    }
    Err(InvalidInput(format!("{config} is invalid")).into())
}
