//! Validation problems: each names the field and says how to fix it.

use std::fmt;

use serde::Serialize;

/// One problem in a spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The field path, e.g. `domain.aliases[1]`.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

impl Problem {
    /// A new problem.
    pub fn new(field: impl Into<String>, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into(), fix: fix.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (fix: {})", self.field, self.message, self.fix)
    }
}

/// Every problem found in a spec; nothing was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct SpecErrors {
    /// The problems, in field order.
    pub problems: Vec<Problem>,
}

impl SpecErrors {
    /// Wraps a non-empty list of problems.
    pub fn new(problems: Vec<Problem>) -> Self {
        Self { problems }
    }

    /// One problem.
    pub fn single(problem: Problem) -> Self {
        Self { problems: vec![problem] }
    }

    /// A TOML syntax or shape error at `path` (the field being read), with the line it is on.
    pub fn from_toml(path: &str, error: &toml::de::Error, text: &str) -> Self {
        let message = error.message().trim_end().to_string();
        // An unknown key ends the path already; at the top level the path is empty, so the key is named.
        // A missing key is named below the path it is missing from.
        let named = |marker: &str| message.split_once(marker).and_then(|(_, rest)| rest.split('`').next());
        let missing = named("missing field `");
        let field = match (path, named("unknown field `").or(missing)) {
            ("" | ".", Some(key)) => key.to_string(),
            ("" | ".", None) => "(file)".to_string(),
            (path, Some(key)) if missing.is_some() => format!("{path}.{key}"),
            (path, _) => path.to_string(),
        };
        let fix = match missing {
            _ if message.contains("unknown field") || message.contains("unknown variant") => {
                "fix the spelling or remove it; the accepted names are listed in the message".to_string()
            }
            Some(_) if field == "app" => {
                "add an [app] section with the app's `name` and `port` (`scaling init` writes a commented file)".into()
            }
            Some(_) if field == "image" => "add an [image] section: `context = \".\"` builds the Dockerfile here, \
                                            `reference = \"registry/repository@sha256:…\"` uses a pushed image"
                .into(),
            Some(key) => {
                let section = field.rsplit_once('.').map_or("the top level".to_string(), |(s, _)| format!("[{s}]"));
                format!("add `{key} = …` under {section} (`scaling schema` lists every key with its meaning)")
            }
            None if message.contains("duration") => "write a duration like \"30s\", \"2m\" or \"1h\"".into(),
            None if message.contains("socket address") => {
                "write an address and a port, e.g. \"192.0.2.53:53\" or \"[2001:db8::53]:53\"".into()
            }
            None if message.contains("IP address") => {
                "write an IPv4 or IPv6 address, e.g. \"192.0.2.10\" or \"2001:db8::10\"".into()
            }
            None => "fix the value on that line".into(),
        };
        Self::single(Problem::new(field, format!("{message}{}", excerpt(error, text)), fix))
    }

    /// True when some problem is about `field` (or a field below it).
    pub fn mentions(&self, field: &str) -> bool {
        self.problems.iter().any(|p| {
            p.field == field || p.field.starts_with(&format!("{field}.")) || p.field.starts_with(&format!("{field}["))
        })
    }
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        writeln!(f, "the spec has {n} problem{}:", if n == 1 { "" } else { "s" })?;
        for problem in &self.problems {
            writeln!(f, "  - {problem}")?;
        }
        Ok(())
    }
}

/// The line of `text` that `error` points at, marked, or nothing.
fn excerpt(error: &toml::de::Error, text: &str) -> String {
    error.span().map(|s| super::unknown_keys::excerpt(text, s.start, s.end.saturating_sub(s.start))).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use crate::Spec;

    /// The one problem `text` has: its field and its fix.
    fn only_problem(text: &str) -> (String, String) {
        let errors = Spec::from_toml_str(text).expect_err("the file is invalid");
        assert_eq!(errors.problems.len(), 1, "{errors}");
        (errors.problems[0].field.clone(), errors.problems[0].fix.clone())
    }

    #[test]
    fn a_missing_key_is_named_with_its_section_and_how_to_add_it() {
        let (field, fix) = only_problem("");
        assert_eq!(field, "app");
        assert!(fix.contains("[app]") && fix.contains("scaling init"), "{fix}");

        let (field, fix) = only_problem("[app]\nname = \"dashmath\"\nport = 8050\n");
        assert_eq!(field, "image");
        assert!(fix.contains("context = \".\"") && fix.contains("reference ="), "{fix}");

        let (field, fix) = only_problem("[app]\nname = \"dashmath\"\n[image]\ncontext = \".\"\n");
        assert_eq!(field, "app.port");
        assert!(fix.starts_with("add `port = …` under [app]"), "{fix}");
    }

    #[test]
    fn a_value_of_the_wrong_shape_is_told_its_shape() {
        let file = "[app]\nname = \"dashmath\"\nport = 8050\n[image]\ncontext = \".\"\n";
        let (field, fix) = only_problem(&format!("{file}[health_check]\ninterval = \"often\"\n"));
        assert_eq!(field, "health_check.interval");
        assert!(fix.contains("\"30s\""), "{fix}");
        let (_, fix) = only_problem("app = 3\n");
        assert_eq!(fix, "fix the value on that line");
    }
}
