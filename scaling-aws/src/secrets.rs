//! `[secrets]` on AWS: `ssm:/path` (a Systems Manager parameter) and `secretsmanager:name-or-arn`.
//! Their existence is checked without reading a value (`DescribeParameters`, `DescribeSecret`); the
//! task definition names them by ARN, and the execution role gets an inline policy that grants
//! exactly those: `ssm:GetParameters` on the parameters, `secretsmanager:GetSecretValue` on the
//! secrets (a secret under a customer-managed KMS key also needs `kms:Decrypt`, which this leaves to
//! the key's policy).

use std::collections::BTreeMap;

use aws_sdk_ssm::types::ParameterStringFilter;
use scaling_core::{ErrorKind, Problem, ProviderError, ProviderResult, SecretReference};

use crate::error::{code, map};
use crate::AwsProvider;

/// The execution role's inline policy that grants the task's secrets.
pub(crate) const SECRETS_POLICY: &str = "scaling-secrets";

/// The stores this provider knows.
const STORES: &str = "`ssm:/parameter/name` or `secretsmanager:name-or-arn`";

/// A parameter name as SSM's ARNs spell it: with its leading slash.
fn parameter_path(name: &str) -> String {
    if name.starts_with('/') {
        name.to_string()
    } else {
        format!("/{name}")
    }
}

/// The account of an IAM ARN (`arn:aws:iam::123456789012:role/x`).
pub(crate) fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// The policy document that grants exactly `arns` (from a task definition's `valueFrom`s).
pub(crate) fn policy_document(arns: &[String]) -> String {
    let of = |service: &str| -> Vec<&String> { arns.iter().filter(|a| a.contains(&format!(":{service}:"))).collect() };
    let mut statements = Vec::new();
    for (service, action) in [("ssm", "ssm:GetParameters"), ("secretsmanager", "secretsmanager:GetSecretValue")] {
        let mut resources = of(service);
        resources.sort();
        if !resources.is_empty() {
            statements.push(serde_json::json!({ "Effect": "Allow", "Action": [action], "Resource": resources }));
        }
    }
    serde_json::json!({ "Version": "2012-10-17", "Statement": statements }).to_string()
}

impl AwsProvider {
    /// The problem with one reference, if any (a store it does not know, a secret that is not there).
    async fn secret_problem(&self, reference: &SecretReference<'_>) -> ProviderResult<Option<Problem>> {
        let field = format!("secrets.{}", reference.variable);
        match reference.store {
            "ssm" => {
                let path = parameter_path(reference.name);
                let filter = ParameterStringFilter::builder()
                    .key("Name")
                    .option("Equals")
                    .values(&path)
                    .build()
                    .map_err(|e| crate::error::build("DescribeParameters", &path, e))?;
                let out = self
                    .ssm
                    .describe_parameters()
                    .parameter_filters(filter)
                    .send()
                    .await
                    .map_err(|e| map("DescribeParameters", &path, e))?;
                Ok(out.parameters().is_empty().then(|| {
                    Problem::new(
                        field,
                        format!("SSM parameter {path} does not exist in {}", self.region),
                        format!("create it (`aws ssm put-parameter --name {path} --type SecureString …`) or correct the path"),
                    )
                }))
            }
            "secretsmanager" => match self.secrets.describe_secret().secret_id(reference.name).send().await {
                Ok(_) => Ok(None),
                Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(Some(Problem::new(
                    field,
                    format!("secret {} does not exist in Secrets Manager in {}", reference.name, self.region),
                    "create it or correct the name",
                ))),
                Err(e) => Err(map("DescribeSecret", reference.name, e)),
            },
            other => Ok(Some(Problem::new(
                field,
                format!("`{other}:` is not a store the AWS provider knows"),
                format!("use {STORES}"),
            ))),
        }
    }

    pub(crate) async fn secret_problems(&self, secrets: &BTreeMap<String, String>) -> ProviderResult<Vec<Problem>> {
        let references = scaling_core::secret_references(secrets);
        let found = futures::future::try_join_all(references.iter().map(|r| self.secret_problem(r))).await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// Each secret's `valueFrom`: the parameter's ARN, the secret's full ARN.
    pub(crate) async fn secret_arns(
        &self,
        role_arn: &str,
        secrets: &BTreeMap<String, String>,
    ) -> ProviderResult<BTreeMap<String, String>> {
        let account = account_of(role_arn).unwrap_or_default().to_string();
        let mut out = BTreeMap::new();
        for reference in scaling_core::secret_references(secrets) {
            let arn = match reference.store {
                "ssm" => format!(
                    "arn:{}:ssm:{}:{account}:parameter{}",
                    self.partition(),
                    self.region,
                    parameter_path(reference.name)
                ),
                "secretsmanager" => {
                    let described = self
                        .secrets
                        .describe_secret()
                        .secret_id(reference.name)
                        .send()
                        .await
                        .map_err(|e| map("DescribeSecret", reference.name, e))?;
                    described.arn().unwrap_or(reference.name).to_string()
                }
                other => {
                    let message = format!("`{other}:` is not a store the AWS provider knows: use {STORES}");
                    return Err(ProviderError::new(
                        "RegisterTaskDefinition",
                        reference.variable,
                        ErrorKind::InvalidRequest,
                        message,
                    ));
                }
            };
            out.insert(reference.variable.to_string(), arn);
        }
        Ok(out)
    }

    /// Grants the execution role exactly `arns` (removing the grant when there are none).
    pub(crate) async fn grant_secrets(&self, role_name: &str, arns: &[String]) -> ProviderResult<()> {
        if arns.is_empty() {
            // Read first: a deploy without secrets should not write (nor fail a delete) every time.
            match self.iam.get_role_policy().role_name(role_name).policy_name(SECRETS_POLICY).send().await {
                Err(e) if code(&e) == Some("NoSuchEntity") => return Ok(()),
                Err(e) => return Err(map("GetRolePolicy", role_name, e)),
                Ok(_) => {}
            }
            return match self.iam.delete_role_policy().role_name(role_name).policy_name(SECRETS_POLICY).send().await {
                Ok(_) => Ok(()),
                Err(e) if code(&e) == Some("NoSuchEntity") => Ok(()),
                Err(e) => Err(map("DeleteRolePolicy", role_name, e)),
            };
        }
        self.iam
            .put_role_policy()
            .role_name(role_name)
            .policy_name(SECRETS_POLICY)
            .policy_document(policy_document(arns))
            .send()
            .await
            .map_err(|e| map("PutRolePolicy", role_name, e))?;
        Ok(())
    }

    /// Why the execution role's grant does not match `arns`, if it does not.
    pub(crate) async fn secrets_grant_drift(&self, role_name: &str, arns: &[String]) -> ProviderResult<Option<String>> {
        if arns.is_empty() {
            return Ok(None);
        }
        let current = match self.iam.get_role_policy().role_name(role_name).policy_name(SECRETS_POLICY).send().await {
            Ok(out) => Some(out.policy_document().to_string()),
            Err(e) if code(&e) == Some("NoSuchEntity") => None,
            Err(e) => return Err(map("GetRolePolicy", role_name, e)),
        };
        let decoded = current.map(|doc| {
            // IAM returns the document URL-encoded.
            let text = percent_decode(&doc);
            serde_json::from_str::<serde_json::Value>(&text).unwrap_or(serde_json::Value::String(text))
        });
        let wanted: serde_json::Value = serde_json::from_str(&policy_document(arns)).unwrap_or_default();
        Ok(match decoded {
            None => Some(format!("execution role access to secrets: {SECRETS_POLICY} missing → granted")),
            Some(doc) if doc != wanted => {
                Some(format!("execution role access to secrets: {SECRETS_POLICY} changed → put back"))
            }
            Some(_) => None,
        })
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1..i + 3)) {
            (b'%', Some(hex)) => match u8::from_str_radix(std::str::from_utf8(hex).unwrap_or("zz"), 16) {
                Ok(byte) => {
                    out.push(byte);
                    i += 3;
                }
                Err(_) => {
                    out.push(b'%');
                    i += 1;
                }
            },
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_grants_exactly_the_task_definitions_secrets_by_service() {
        let arns = vec![
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dashmath/api-AbCdEf".to_string(),
            "arn:aws:ssm:eu-west-1:123456789012:parameter/dashmath/db".to_string(),
        ];
        let doc: serde_json::Value = serde_json::from_str(&policy_document(&arns)).unwrap();
        let statements = doc["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 2);
        assert_eq!(statements[0]["Action"][0], "ssm:GetParameters");
        assert_eq!(statements[0]["Resource"][0], arns[1]);
        assert_eq!(statements[1]["Action"][0], "secretsmanager:GetSecretValue");
        assert_eq!(account_of("arn:aws:iam::123456789012:role/x"), Some("123456789012"));
        assert_eq!(percent_decode("%7B%22a%22%3A1%7D"), r#"{"a":1}"#);
    }
}
