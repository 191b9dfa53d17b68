//! What a Dockerfile says about starting the app, read as Docker would for the local provider:
//! `ENTRYPOINT` and `CMD` combined (exec or shell form), `WORKDIR` mapped onto the copy of the build
//! context, and `ENV`. The last stage counts. What cannot be mapped onto this machine is refused with
//! the reason, never guessed.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// How the app starts, on this machine.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StartCommand {
    /// The program and its arguments.
    pub argv: Vec<String>,
    /// Where it runs, relative to the bundle's root (empty: the root).
    pub workdir: PathBuf,
    /// The image's environment (`ENV`); the spec's `[env]` is laid over it.
    pub env: BTreeMap<String, String>,
}

/// An instruction's argument: `["exec", "form"]` or a shell form line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Form {
    Exec(Vec<String>),
    Shell(String),
}

fn form(rest: &str) -> Form {
    let rest = rest.trim();
    match serde_json::from_str::<Vec<String>>(rest) {
        Ok(args) if rest.starts_with('[') => Form::Exec(args),
        _ => Form::Shell(rest.to_string()),
    }
}

fn shell(line: String) -> Vec<String> {
    vec!["/bin/sh".into(), "-c".into(), line]
}

/// The instructions of the last stage, continuation lines joined, comments dropped.
fn last_stage(dockerfile: &str) -> Vec<(String, String)> {
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.starts_with('#') || trimmed.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                joined.push(std::mem::take(&mut current));
            }
        }
    }
    if !current.is_empty() {
        joined.push(current);
    }
    let mut stage = Vec::new();
    for line in joined {
        let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line.as_str(), ""));
        let word = word.to_ascii_uppercase();
        if word == "FROM" {
            stage.clear();
        }
        stage.push((word, rest.trim().to_string()));
    }
    stage
}

/// `ENV A=1 B="two words"` or the old `ENV A 1`, with `$A`/`${A}` of earlier lines substituted.
fn env_pairs(rest: &str, env: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let substitute = |value: &str| {
        let mut out = value.to_string();
        for (key, known) in env {
            out = out.replace(&format!("${{{key}}}"), known).replace(&format!("${key}"), known);
        }
        out
    };
    if !rest.contains('=') || rest.split_whitespace().next().is_some_and(|first| !first.contains('=')) {
        let (key, value) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        return vec![(key.to_string(), substitute(value.trim()))];
    }
    let mut pairs = Vec::new();
    let mut chars = rest.chars().peekable();
    while chars.peek().is_some() {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        let mut value = String::new();
        match chars.peek() {
            Some('"') | Some('\'') => {
                let quote = chars.next().unwrap_or('"');
                value = chars.by_ref().take_while(|c| *c != quote).collect();
            }
            _ => {
                while let Some(c) = chars.peek().copied().filter(|c| !c.is_whitespace()) {
                    value.push(c);
                    chars.next();
                }
            }
        }
        if !key.is_empty() {
            pairs.push((key.trim().to_string(), substitute(&value)));
        }
    }
    pairs
}

/// `path` made plain (no `.`/`..`), absolute against `base` when relative.
fn resolve(base: &Path, path: &str) -> PathBuf {
    let joined = if path.starts_with('/') { PathBuf::from(path) } else { base.join(path) };
    let mut out = PathBuf::from("/");
    for part in joined.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(name) => out.push(name),
            _ => {}
        }
    }
    out
}

/// How the Dockerfile starts the app, or why the local provider cannot run it that way.
pub fn start_command(dockerfile: &str) -> Result<StartCommand, String> {
    let (mut entrypoint, mut cmd) = (None, None);
    let mut workdir = PathBuf::from("/");
    // Where the build context lands in the image (`COPY . <dest>`), relative destinations resolved.
    let mut context_at: Option<PathBuf> = None;
    let mut env = BTreeMap::new();
    for (word, rest) in last_stage(dockerfile) {
        match word.as_str() {
            "ENTRYPOINT" => entrypoint = Some(form(&rest)),
            "CMD" => cmd = Some(form(&rest)),
            "WORKDIR" => workdir = resolve(&workdir, &rest),
            "ENV" => {
                let pairs = env_pairs(&rest, &env);
                env.extend(pairs);
            }
            "COPY" | "ADD" => {
                let args: Vec<&str> = rest.split_whitespace().filter(|a| !a.starts_with("--")).collect();
                if let [sources @ .., dest] = args.as_slice() {
                    if sources.iter().any(|s| matches!(*s, "." | "./")) {
                        context_at = Some(resolve(&workdir, dest));
                    }
                }
            }
            _ => {}
        }
    }
    let argv = match (entrypoint, cmd) {
        (Some(Form::Exec(mut e)), Some(Form::Exec(c))) => {
            e.extend(c);
            e
        }
        (Some(Form::Exec(mut e)), Some(Form::Shell(c))) => {
            e.extend(shell(c));
            e
        }
        (Some(Form::Exec(e)), None) => e,
        (Some(Form::Shell(e)), _) => shell(e),
        (None, Some(Form::Exec(c))) => c,
        (None, Some(Form::Shell(c))) => shell(c),
        (None, None) => {
            return Err(
                "the Dockerfile has no CMD or ENTRYPOINT: add one, e.g. CMD [\"gunicorn\", \"app:server\"]".into()
            )
        }
    };
    if argv.is_empty() {
        return Err("the Dockerfile's CMD and ENTRYPOINT are empty: name the command that serves the app".into());
    }
    let workdir = match &context_at {
        _ if workdir == Path::new("/") => PathBuf::new(),
        Some(at) => match workdir.strip_prefix(at) {
            Ok(inside) => inside.to_path_buf(),
            Err(_) => {
                return Err(format!(
                    "WORKDIR {} is outside where the build context is copied ({}): the local provider runs the \
                     app from its copy of the context, so set WORKDIR to {} (or a folder in it)",
                    workdir.display(),
                    at.display(),
                    at.display()
                ))
            }
        },
        // The files were copied one by one (`COPY app.py requirements.txt ./`): they sit at the root.
        None => PathBuf::new(),
    };
    Ok(StartCommand { argv, workdir, env })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entrypoint_and_cmd_combine_as_docker_does() {
        let both = start_command("FROM python\nENTRYPOINT [\"gunicorn\"]\nCMD [\"app:server\"]\n").unwrap();
        assert_eq!(both.argv, ["gunicorn", "app:server"]);
        let shell_entry = start_command("FROM x\nENTRYPOINT gunicorn app:server\nCMD [\"ignored\"]\n").unwrap();
        assert_eq!(shell_entry.argv, ["/bin/sh", "-c", "gunicorn app:server"], "a shell-form ENTRYPOINT ignores CMD");
        assert_eq!(start_command("FROM x\nCMD python app.py\n").unwrap().argv, ["/bin/sh", "-c", "python app.py"]);
        assert!(start_command("FROM x\nRUN true\n").unwrap_err().contains("no CMD or ENTRYPOINT"));
    }

    #[test]
    fn the_last_stage_and_continued_lines_count() {
        let text = "FROM node AS build\nCMD [\"npm\", \"run\", \"build\"]\n\nFROM python\n# the app\nCMD [\"gunicorn\", \\\n  \"app:server\"]\n";
        assert_eq!(start_command(text).unwrap().argv, ["gunicorn", "app:server"]);
    }

    #[test]
    fn workdir_maps_onto_the_copy_of_the_context() {
        let root = start_command("FROM python\nWORKDIR /app\nCOPY . .\nCMD [\"python\", \"app.py\"]\n").unwrap();
        assert_eq!(root.workdir, PathBuf::new(), "the context is copied to /app, which is the bundle root");
        let sub = start_command("FROM python\nCOPY . /srv\nWORKDIR /srv/web\nCMD [\"python\", \"main.py\"]\n").unwrap();
        assert_eq!(sub.workdir, PathBuf::from("web"));
        let outside = start_command("FROM python\nCOPY . /srv\nWORKDIR /opt\nCMD [\"x\"]\n").unwrap_err();
        assert!(outside.contains("WORKDIR /opt is outside") && outside.contains("/srv"), "{outside}");
    }

    #[test]
    fn env_lines_of_both_forms_with_earlier_values_substituted() {
        let text = "FROM python\nENV APP_HOME=/app MODE=\"fast mode\"\nENV LEGACY value with spaces\nENV LOGS=${APP_HOME}/logs\nCMD [\"x\"]\n";
        let env = start_command(text).unwrap().env;
        assert_eq!(env["APP_HOME"], "/app");
        assert_eq!(env["MODE"], "fast mode");
        assert_eq!(env["LEGACY"], "value with spaces");
        assert_eq!(env["LOGS"], "/app/logs");
    }
}
