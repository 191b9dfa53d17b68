//! Every key of `scaling.toml` that no setting reads, found in one pass (not just the first one), each
//! reported on its own line and column with the line itself, as cargo and rustc show source. The spec
//! types refuse unknown fields; each one refused is set aside and the rest parsed again, so every
//! message keeps serde's list of the accepted names.

use serde::de::DeserializeOwned;

use super::problems::{Problem, SpecErrors};

/// More unknown keys than this in one file is not a typo: stop listing.
const MOST: usize = 50;

/// `T` from `text`, or every unknown key in it, or (when there is none) the first other error.
pub(crate) fn parse<T: DeserializeOwned>(text: &str) -> Result<T, SpecErrors> {
    let original = toml_edit::ImDocument::parse(text).ok();
    let mut remaining = text.to_string();
    let mut unknown: Vec<Problem> = Vec::new();
    loop {
        let error = match serde_path_to_error::deserialize::<_, T>(toml::Deserializer::new(&remaining)) {
            Ok(value) if unknown.is_empty() => return Ok(value),
            Ok(_) => return Err(SpecErrors::new(unknown)),
            Err(error) => error,
        };
        let message = error.inner().message().trim_end().to_string();
        let Some(key) = unknown_field(&message) else {
            return Err(match unknown.is_empty() {
                true => SpecErrors::from_toml(&error.path().to_string(), error.inner(), &remaining),
                false => SpecErrors::new(unknown),
            });
        };
        // The path ends with the unknown key, except at the top level, where it is empty.
        let path = match error.path().to_string().as_str() {
            "" | "." => key.to_string(),
            path => path.to_string(),
        };
        let without = remaining
            .parse::<toml_edit::DocumentMut>()
            .ok()
            .and_then(|mut d| remove(&mut d, &path).then(|| d.to_string()));
        let at = original.as_ref().and_then(|d| key_start(d, &path)).map(|start| excerpt(text, start, key.len()));
        unknown.push(Problem::new(
            path.clone(),
            format!("{message}{}", at.unwrap_or_default()),
            "fix its spelling or remove it; the accepted names are listed above",
        ));
        match without {
            Some(rest) if unknown.len() < MOST => remaining = rest,
            _ => return Err(SpecErrors::new(unknown)),
        }
    }
}

/// The key in serde's "unknown field `x`, expected …" message.
fn unknown_field(message: &str) -> Option<&str> {
    message.split_once("unknown field `")?.1.split('`').next()
}

/// Removes the key at `path`; false when it is not there.
fn remove(document: &mut toml_edit::DocumentMut, path: &str) -> bool {
    let segments: Vec<&str> = path.split('.').collect();
    let Some((last, parents)) = segments.split_last() else { return false };
    let mut item = document.as_item_mut();
    for segment in parents {
        let Some(next) = item.as_table_like_mut().and_then(|t| t.get_mut(segment)) else { return false };
        item = next;
    }
    item.as_table_like_mut().and_then(|t| t.remove(last)).is_some()
}

/// Where the key at `path` starts in the text.
fn key_start(document: &toml_edit::ImDocument<&str>, path: &str) -> Option<usize> {
    let segments: Vec<&str> = path.split('.').collect();
    let (last, parents) = segments.split_last()?;
    let mut item = document.as_item();
    for segment in parents {
        item = item.as_table_like()?.get(segment)?;
    }
    let (key, _) = item.as_table_like()?.get_key_value(last)?;
    key.span().map(|span| span.start)
}

/// ` at line L, column C:` and the line with a caret under the key, rustc style.
pub(crate) fn excerpt(text: &str, start: usize, width: usize) -> String {
    let start = start.min(text.len());
    let line_number = text[..start].matches('\n').count() + 1;
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or_default();
    let column = text[line_start..start].chars().count() + 1;
    let gutter = " ".repeat(line_number.to_string().len());
    format!(
        " at line {line_number}, column {column}:\n{gutter} |\n{line_number} | {line}\n{gutter} | {}{}",
        " ".repeat(column - 1),
        "^".repeat(width.max(1))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Config {
        #[allow(dead_code)]
        app: App,
        #[serde(default)]
        #[allow(dead_code)]
        provider: Option<Provider>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct App {
        #[allow(dead_code)]
        name: String,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Provider {
        #[allow(dead_code)]
        region: Option<String>,
    }

    #[test]
    fn every_unknown_key_is_placed_on_its_own_line_and_column_with_the_accepted_names() {
        let text = "[app]\nname = \"x\"\nprot = 1\n\n[provider]\n  regoin = \"us-west-2\"\n[databse]\n";
        let found = parse::<Config>(text).unwrap_err().problems;
        let fields: Vec<&str> = found.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["app.prot", "provider.regoin", "databse"]);
        assert!(found[0].message.starts_with("unknown field `prot`, expected `name`"), "{}", found[0].message);
        assert!(found[0].message.contains("at line 3, column 1:"), "{}", found[0].message);
        assert!(found[0].message.contains("3 | prot = 1\n  | ^^^^"), "{}", found[0].message);
        assert!(found[1].message.contains("at line 6, column 3:"), "{}", found[1].message);
        assert!(found[1].message.ends_with("  |   ^^^^^^"), "{}", found[1].message);
        assert!(found[2].message.contains("at line 7, column 2:"), "{}", found[2].message);
    }

    #[test]
    fn without_unknown_keys_the_first_other_error_is_reported() {
        let problems = parse::<Config>("[app]\nname = 3\n").unwrap_err().problems;
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "app.name");
    }
}
