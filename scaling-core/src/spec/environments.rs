//! Environments: separate copies of one app from one `scaling.toml`. An `[environments.<name>]`
//! table overrides any part of the spec (`[environments.staging.app] desired_count = 1`,
//! `[environments.staging.domain] name = "staging.example.com"`), and `--env <name>` deploys the
//! merged spec. The copy gets names of its own (`app.name` becomes `<app>-<name>` unless the table
//! sets it), so it owns its own resources, tags (`environment = "<name>"`), state and lock: destroying
//! one environment never touches another.

use super::{Problem, Spec, SpecErrors};

/// The tag every resource of an environment carries, with the environment's name.
pub const ENVIRONMENT_TAG: &str = "environment";

/// The longest environment name (it lengthens every resource name).
const MAX_ENVIRONMENT_NAME: usize = 16;

fn problem(field: impl Into<String>, message: impl Into<String>, fix: impl Into<String>) -> SpecErrors {
    SpecErrors::single(Problem::new(field, message, fix))
}

/// Every value of `overlay` over `base`, tables merged key by key, anything else replaced.
fn merge(base: &mut toml::Table, overlay: &toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(key), value) {
            (Some(toml::Value::Table(below)), toml::Value::Table(above)) => merge(below, above),
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

/// The dotted paths of every value `table` sets, e.g. `domain.name`.
fn paths(table: &toml::Table, prefix: &str, out: &mut Vec<String>) {
    for (key, value) in table {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        if let toml::Value::Table(inner) = value {
            paths(inner, &path, out);
        }
        out.push(path);
    }
}

impl Spec {
    /// The environments the file defines, by name.
    pub fn environment_names(&self) -> Vec<String> {
        self.environments.keys().cloned().collect()
    }

    /// The spec of environment `name` (`None`: the default, the file without its environments).
    /// Problems inside an environment's table are named by their place in it
    /// (`environments.staging.domain.name`).
    pub fn for_environment(&self, name: Option<&str>) -> Result<Spec, SpecErrors> {
        let Some(name) = name else { return Ok(self.clone()) };
        let known = self.environment_names();
        let Some(overlay) = self.environments.get(name) else {
            let fix = match known.is_empty() {
                true => format!("add an [environments.{name}] table to the config (it may be empty)"),
                false => format!("use one of {}, or add [environments.{name}]", known.join(", ")),
            };
            return Err(problem("--env", format!("the config defines no environment `{name}`"), fix));
        };
        let valid = !name.is_empty()
            && name.len() <= MAX_ENVIRONMENT_NAME
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !name.starts_with('-')
            && !name.ends_with('-');
        if !valid {
            return Err(problem(
                format!("environments.{name}"),
                "an environment name is part of every resource name",
                format!("use lowercase letters, digits and inner hyphens, at most {MAX_ENVIRONMENT_NAME} characters"),
            ));
        }
        let field = |path: &str| format!("environments.{name}.{path}");
        if overlay.contains_key("environments") {
            return Err(problem(field("environments"), "environments do not nest", "move it to the top level"));
        }
        let overlay_app = overlay.get("app").and_then(toml::Value::as_table);
        let overlay_domain = overlay.get("domain").and_then(toml::Value::as_table);
        if self.domain.is_some() && overlay_domain.is_none_or(|d| !d.contains_key("name")) {
            return Err(problem(
                field("domain.name"),
                format!("the {name} environment would answer on the same host names as the default one"),
                format!("set [environments.{name}.domain] name = \"{name}.<your domain>\" (a zone of its own)"),
            ));
        }
        let mut base = toml::Table::try_from(self)
            .map_err(|e| problem("(file)", format!("cannot merge the environment: {e}"), "report this as a bug"))?;
        base.remove("environments");
        merge(&mut base, overlay);
        if overlay_app.is_none_or(|app| !app.contains_key("name")) {
            let app = base.entry("app").or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let Some(app) = app.as_table_mut() {
                app.insert("name".into(), toml::Value::String(format!("{}-{name}", self.app.name)));
            }
        }
        let tags = base.entry("tags").or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let Some(tags) = tags.as_table_mut() {
            tags.entry(ENVIRONMENT_TAG).or_insert_with(|| toml::Value::String(name.to_string()));
        }
        let text = toml::to_string(&base)
            .map_err(|e| problem("(file)", format!("cannot merge the environment: {e}"), "report this as a bug"))?;
        let mut set = Vec::new();
        paths(overlay, "", &mut set);
        let mut spec = Spec::parse_toml_str(&text).map_err(|errors| {
            let problems = errors
                .problems
                .into_iter()
                .map(|p| match set.iter().any(|path| p.field == *path || p.field.starts_with(&format!("{path}."))) {
                    true => Problem { field: field(&p.field), ..p },
                    false => p,
                })
                .collect();
            SpecErrors::new(problems)
        })?;
        spec.environment = Some(name.to_string());
        spec.environments = Default::default();
        spec.config_dir = self.config_dir.clone();
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
        [app]
        name = "dashmath"
        port = 8050
        desired_count = 3

        [image]
        reference = "registry.example/dashmath@sha256:1111111111111111111111111111111111111111111111111111111111111111"

        [domain]
        name = "dashmath.example.com"

        [env]
        MODE = "production"

        [environments.staging.app]
        desired_count = 1

        [environments.staging.domain]
        name = "staging.example.com"
        aliases = []

        [environments.staging.env]
        MODE = "staging"
    "#;

    #[test]
    fn an_environment_is_the_file_with_its_table_over_it_and_names_of_its_own() {
        let file = Spec::parse_toml_str(FILE).unwrap();
        assert_eq!(file.environment_names(), ["staging"]);
        let default = file.for_environment(None).unwrap();
        assert_eq!((default.app.name.as_str(), default.app.desired_count), ("dashmath", 3));
        let staging = file.for_environment(Some("staging")).unwrap();
        staging.validate().unwrap();
        assert_eq!(staging.app.name, "dashmath-staging", "its own names");
        assert_eq!((staging.app.desired_count, staging.app.port), (1, 8050), "overridden, and inherited");
        assert_eq!(staging.hostnames(), ["staging.example.com"]);
        assert_eq!(staging.env.get("MODE").map(String::as_str), Some("staging"));
        assert_eq!(staging.tags.get(ENVIRONMENT_TAG).map(String::as_str), Some("staging"));
        assert_eq!(staging.environment.as_deref(), Some("staging"));
        assert!(staging.environments.is_empty());
        assert_eq!(staging.image, file.image, "the same image");
    }

    #[test]
    fn an_unknown_environment_a_shared_domain_and_a_typo_are_named_with_the_fix() {
        let file = Spec::parse_toml_str(FILE).unwrap();
        let unknown = file.for_environment(Some("prod")).unwrap_err();
        assert_eq!(unknown.problems[0].field, "--env");
        assert!(unknown.problems[0].fix.contains("staging"), "{unknown}");

        let shared = Spec::parse_toml_str(&format!("{FILE}\n[environments.qa.app]\ndesired_count = 1\n")).unwrap();
        let error = shared.for_environment(Some("qa")).unwrap_err();
        assert_eq!(error.problems[0].field, "environments.qa.domain.name", "{error}");

        let typo =
            Spec::parse_toml_str(&format!("{FILE}\n[environments.dev.domain]\nname = \"dev.example.com\"\nnmae = 1\n"))
                .unwrap();
        let error = typo.for_environment(Some("dev")).unwrap_err();
        assert!(error.problems.iter().any(|p| p.field.starts_with("environments.dev.domain")), "{error}");

        let bad = Spec::parse_toml_str(&format!("{FILE}\n[environments.Big_One.domain]\nname = \"x.example.com\"\n"))
            .unwrap();
        assert_eq!(bad.for_environment(Some("Big_One")).unwrap_err().problems[0].field, "environments.Big_One");
    }
}
