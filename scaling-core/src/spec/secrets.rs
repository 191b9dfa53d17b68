//! `[secrets]`: environment variables whose values live in a secret store. The spec holds only
//! references (`NAME = "<store>:<name>"`); no part of scaling reads, prints or stores a value, except
//! the provider that hands it to the replicas (and the local provider, from the deploying shell).

use std::collections::BTreeMap;

use super::Problem;

/// One secret reference, split: the store (`ssm`, `secretsmanager`, …: each provider says which it
/// knows) and the name in that store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretReference<'a> {
    /// The variable the replicas see.
    pub variable: &'a str,
    /// The store, before the first `:`.
    pub store: &'a str,
    /// The secret's name or id in the store, after it.
    pub name: &'a str,
}

impl<'a> SecretReference<'a> {
    /// `reference` (`store:name`) for `variable`, or `None` when it has no store.
    pub fn parse(variable: &'a str, reference: &'a str) -> Option<Self> {
        let (store, name) = reference.split_once(':')?;
        (!store.is_empty() && !name.is_empty()).then_some(Self { variable, store, name })
    }
}

/// Every reference of `secrets` that parses, in name order.
pub fn references(secrets: &BTreeMap<String, String>) -> Vec<SecretReference<'_>> {
    secrets.iter().filter_map(|(variable, reference)| SecretReference::parse(variable, reference)).collect()
}

/// True when `name` can be an environment variable.
pub(super) fn is_variable_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Every problem of `[secrets]`, against `[env]` too.
pub(super) fn problems(secrets: &BTreeMap<String, String>, env: &BTreeMap<String, String>, out: &mut Vec<Problem>) {
    for (variable, reference) in secrets {
        let field = format!("secrets.{variable}");
        if !is_variable_name(variable) {
            out.push(Problem::new(
                &field,
                "is not a valid environment variable name",
                "use letters, digits and `_`, not starting with a digit",
            ));
        }
        if env.contains_key(variable) {
            out.push(Problem::new(
                &field,
                "is also set in [env]",
                "keep it in one table: [secrets] for a value that must stay secret, [env] otherwise",
            ));
        }
        if SecretReference::parse(variable, reference).is_none() || reference.contains(char::is_whitespace) {
            // The reference is not echoed: a value pasted here by mistake must not reach the terminal.
            out.push(Problem::new(
                &field,
                "is not a reference to a secret store",
                "write where the value lives, e.g. `\"ssm:/dashmath/db-password\"` or `\"secretsmanager:dashmath/api-key\"`; never the value itself",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_at_the_first_colon_and_a_bad_one_is_not_echoed() {
        let parsed =
            SecretReference::parse("DB", "secretsmanager:arn:aws:secretsmanager:eu-west-1:1:secret:db").unwrap();
        assert_eq!((parsed.store, parsed.name), ("secretsmanager", "arn:aws:secretsmanager:eu-west-1:1:secret:db"));
        let secrets = BTreeMap::from([("TOKEN".to_string(), "hunter2".to_string())]);
        let mut out = Vec::new();
        problems(&secrets, &BTreeMap::new(), &mut out);
        assert_eq!(out.len(), 1);
        assert!(!out[0].to_string().contains("hunter2"), "{}", out[0]);
    }

    #[test]
    fn a_name_in_both_tables_is_refused() {
        let secrets = BTreeMap::from([("MODE".to_string(), "ssm:/app/mode".to_string())]);
        let env = BTreeMap::from([("MODE".to_string(), "fast".to_string())]);
        let mut out = Vec::new();
        problems(&secrets, &env, &mut out);
        assert_eq!(out[0].field, "secrets.MODE");
    }
}
