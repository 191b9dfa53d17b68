//! Secret values for local replicas: each `[secrets]` variable from the environment of the shell that
//! deploys, else from the env file `provider.local.secrets_file` (readable by its owner only: mode
//! 0600). Values are held in [`SecretValues`], which never prints them, and go only into replica
//! environments: never a log, a state file, a plan or the control socket.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use scaling_core::Problem;

/// Secret values by variable; `Debug` shows the names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretValues(BTreeMap<String, String>);

impl std::fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl SecretValues {
    /// The variables and values, for a replica's environment only.
    pub(crate) fn expose(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// These values (as an embedder or a test hands them over).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self(pairs.into_iter().collect())
    }

    /// The values of `variables` found in this process's environment (the deploying shell's).
    pub fn from_shell<'a>(variables: impl IntoIterator<Item = &'a String>) -> Self {
        Self(variables.into_iter().filter_map(|v| Some((v.clone(), std::env::var(v).ok()?))).collect())
    }
}

/// The env file's path: as written when absolute, else from the config's folder.
pub fn file_path(file: &Path, config_dir: Option<&Path>) -> PathBuf {
    match config_dir {
        Some(dir) if file.is_relative() => dir.join(file),
        _ => file.to_path_buf(),
    }
}

/// Reads `KEY=VALUE` lines (`#` comments, blank lines, an optional `export `, optional quotes).
fn read_env_file(path: &Path) -> Result<BTreeMap<String, String>, Problem> {
    let field = "provider.local.secrets_file";
    let shown = path.display();
    let metadata = std::fs::metadata(path).map_err(|e| {
        Problem::new(field, format!("cannot read {shown}: {e}"), "create it (mode 0600) or correct the path")
    })?;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Problem::new(
            field,
            format!("{shown} can be read by others (mode {mode:04o})"),
            format!("run `chmod 600 {shown}`: it holds secrets"),
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| Problem::new(field, format!("cannot read {shown}: {e}"), "make it readable by you"))?;
    let mut values = BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        // The line is not echoed: it holds a value.
        let Some((key, value)) = line.split_once('=') else {
            return Err(Problem::new(
                field,
                format!("line {} of {shown} is not `NAME=value`", number + 1),
                "write one `NAME=value` per line",
            ));
        };
        let value = value.trim();
        let unquoted = ['"', '\''].iter().find_map(|q| value.strip_prefix(*q)?.strip_suffix(*q)).unwrap_or(value);
        values.insert(key.trim().to_string(), unquoted.to_string());
    }
    Ok(values)
}

/// The value of every variable of `secrets`: the shell's first, else the file's. Every problem at
/// once, each naming `secrets.<VARIABLE>` (or the file) with the fix; no value in any of them.
pub fn resolve(
    secrets: &BTreeMap<String, String>,
    shell: &SecretValues,
    file: Option<&Path>,
) -> Result<SecretValues, Vec<Problem>> {
    if secrets.is_empty() {
        return Ok(SecretValues::default());
    }
    let from_file = match file.map(read_env_file).transpose() {
        Ok(values) => values.unwrap_or_default(),
        Err(problem) => return Err(vec![problem]),
    };
    let mut values = BTreeMap::new();
    let mut problems = Vec::new();
    for variable in secrets.keys() {
        match shell.0.get(variable).or_else(|| from_file.get(variable)) {
            Some(value) => {
                values.insert(variable.clone(), value.clone());
            }
            None => problems.push(Problem::new(
                format!("secrets.{variable}"),
                "has no value here: the local provider takes it from the deploying shell or the secrets file",
                match file {
                    Some(path) => format!("export {variable}=… before deploying, or add it to {}", path.display()),
                    None => format!(
                        "export {variable}=… before deploying, or name a 0600 env file in provider.local.secrets_file"
                    ),
                },
            )),
        }
    }
    match problems.is_empty() {
        true => Ok(SecretValues(values)),
        false => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(names: &[&str]) -> BTreeMap<String, String> {
        names.iter().map(|n| (n.to_string(), format!("ssm:/app/{n}"))).collect()
    }

    #[test]
    fn the_shell_comes_first_then_the_file_and_a_missing_one_is_named_without_values() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secrets.env");
        std::fs::write(&file, "# local values\nexport DB_PASSWORD='from-file'\nAPI_KEY=file-key\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let shell = SecretValues(BTreeMap::from([("API_KEY".to_string(), "shell-key".to_string())]));
        let values = resolve(&secrets(&["API_KEY", "DB_PASSWORD"]), &shell, Some(&file)).unwrap();
        assert_eq!(values.expose()["API_KEY"], "shell-key");
        assert_eq!(values.expose()["DB_PASSWORD"], "from-file");
        assert_eq!(format!("{values:?}"), r#"{"API_KEY", "DB_PASSWORD"}"#, "Debug shows names only");

        let problems = resolve(&secrets(&["API_KEY", "TOKEN"]), &shell, Some(&file)).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "secrets.TOKEN");
        assert!(!problems[0].to_string().contains("shell-key") && !problems[0].to_string().contains("file-key"));
    }

    #[test]
    fn a_file_others_can_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secrets.env");
        std::fs::write(&file, "API_KEY=hunter2\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let problems = resolve(&secrets(&["API_KEY"]), &SecretValues::default(), Some(&file)).unwrap_err();
        assert_eq!(problems[0].field, "provider.local.secrets_file");
        assert!(problems[0].fix.contains("chmod 600"), "{}", problems[0].fix);
        assert!(!problems[0].to_string().contains("hunter2"));
    }
}
