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
        // The path already ends with an unknown key; at the top level it is empty, so name the key.
        let field = match (path, message.split_once("unknown field `")) {
            ("" | ".", Some((_, rest))) => rest.split('`').next().unwrap_or("(file)").to_string(),
            ("" | ".", None) => "(file)".to_string(),
            (path, _) => path.to_string(),
        };
        let fix = if message.contains("unknown field") || message.contains("unknown variant") {
            "fix the spelling or remove it; the accepted names are listed in the message"
        } else if message.contains("missing field") {
            "add the missing key"
        } else if message.contains("duration") {
            "write a duration like \"30s\", \"2m\" or \"1h\""
        } else {
            "fix the value on that line"
        };
        let line = error
            .span()
            .map(|s| super::unknown_keys::excerpt(text, s.start, s.end.saturating_sub(s.start)))
            .unwrap_or_default();
        Self::single(Problem::new(field, format!("{message}{line}"), fix))
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
