//! `.dockerignore` by Docker's rules, so that a bundle holds what `docker build` would send: one
//! pattern per line, relative to the context (a leading `/` is dropped), `*` and `?` within one path
//! segment, `**` across any number of them, `!` for an exception, the last matching line winning, and
//! a pattern that matches a folder covering everything in it. Globs are compiled by `globset`.

use std::path::Path;

use globset::{GlobBuilder, GlobMatcher};

/// Names never worth bundling, wherever they are (before the file's own lines, which may re-include).
const ALWAYS_IGNORED: [&str; 6] = ["**/.git", "**/__pycache__", "**/.venv", "**/venv", "**/.pytest_cache", "**/*.pyc"];

/// One line of the file.
#[derive(Debug)]
struct Rule {
    glob: GlobMatcher,
    exception: bool,
}

/// The rules of one context's `.dockerignore` (and the names always left out).
#[derive(Debug)]
pub struct DockerIgnore {
    rules: Vec<Rule>,
}

fn rule(pattern: &str, exception: bool) -> Result<Rule, String> {
    let glob = GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| format!("`{pattern}`: {e}"))?;
    Ok(Rule { glob: glob.compile_matcher(), exception })
}

impl DockerIgnore {
    /// The rules of `text` (a `.dockerignore`); a line that is not a valid pattern is an error naming it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut rules: Vec<Rule> = ALWAYS_IGNORED.iter().map(|p| rule(p, false)).collect::<Result<_, _>>()?;
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (exception, pattern) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let pattern = pattern.trim_start_matches('/').trim_end_matches('/');
            let pattern = pattern.strip_prefix("./").unwrap_or(pattern);
            if pattern.is_empty() {
                continue;
            }
            rules.push(rule(pattern, exception).map_err(|e| format!(".dockerignore line {}: {e}", number + 1))?);
        }
        Ok(Self { rules })
    }

    /// The rules of the context's `.dockerignore` (only the built-in ones when there is none).
    pub fn of(context: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(context.join(".dockerignore")).unwrap_or_default();
        Self::parse(&text)
    }

    /// True when `relative` (a path inside the context) is left out: the last line matching it, or
    /// one of its folders, is not an exception.
    pub fn is_ignored(&self, relative: &Path) -> bool {
        let mut ignored = false;
        for rule in &self.rules {
            if relative.ancestors().filter(|a| !a.as_os_str().is_empty()).any(|a| rule.glob.is_match(a)) {
                ignored = !rule.exception;
            }
        }
        ignored
    }

    /// True when nothing inside the ignored folder `relative` can be re-included by an exception, so a
    /// walk need not enter it.
    pub fn skips_folder(&self, relative: &Path) -> bool {
        self.is_ignored(relative) && !self.rules.iter().any(|r| r.exception)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignored(rules: &str, path: &str) -> bool {
        DockerIgnore::parse(rules).unwrap().is_ignored(Path::new(path))
    }

    #[test]
    fn stars_stay_in_one_segment_and_double_stars_cross_them() {
        assert!(ignored("*.md", "README.md"));
        assert!(!ignored("*.md", "docs/README.md"), "`*` does not cross `/`, as in Docker");
        assert!(ignored("**/*.md", "docs/deep/README.md"));
        assert!(ignored("docs/*/draft.txt", "docs/a/draft.txt"));
        assert!(ignored("data?.csv", "data1.csv"));
    }

    #[test]
    fn exceptions_and_the_last_matching_line_win() {
        let rules = "*.log\n!keep.log\n";
        assert!(ignored(rules, "app.log"));
        assert!(!ignored(rules, "keep.log"));
        assert!(ignored("!keep.log\n*.log\n", "keep.log"), "a later line overrides an earlier exception");
    }

    #[test]
    fn a_folder_pattern_covers_what_is_inside_unless_excepted() {
        assert!(ignored("node_modules", "node_modules/left-pad/index.js"));
        assert!(ignored("/build/", "build/out.bin"), "leading and trailing slashes are dropped");
        let rules = "assets\n!assets/logo.svg\n";
        assert!(ignored(rules, "assets/big.mp4"));
        assert!(!ignored(rules, "assets/logo.svg"));
        assert!(!DockerIgnore::parse(rules).unwrap().skips_folder(Path::new("assets")), "an exception may be inside");
        assert!(DockerIgnore::parse("assets\n").unwrap().skips_folder(Path::new("assets")));
    }

    #[test]
    fn comments_blank_lines_and_the_built_in_names() {
        assert!(!ignored("# app.py\n\n", "app.py"));
        assert!(ignored("", "src/__pycache__/m.pyc"));
        assert!(ignored("", ".git/config"));
        assert!(!ignored("", "app.py"));
    }

    #[test]
    fn an_invalid_pattern_names_its_line() {
        let error = DockerIgnore::parse("ok\n[z-a\n").unwrap_err();
        assert!(error.contains("line 2"), "{error}");
    }
}
