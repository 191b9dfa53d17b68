//! ECR's authorization token: base64 of `AWS:<password>`, decoded in memory for the push and never
//! written to disk (no `docker login`, nothing in `~/.docker/config.json`) or logged.

use base64::Engine;
use scaling_core::{ErrorKind, ProviderError, ProviderResult};
use scaling_image::Credentials;

use crate::error::{map, missing};
use crate::provider::AwsProvider;

/// The registry credentials in an ECR authorization token.
pub fn decode_token(token: &str) -> ProviderResult<Credentials> {
    let invalid = || {
        ProviderError::new(
            "GetAuthorizationToken",
            "ECR",
            ErrorKind::Other,
            "the authorization token is not base64 of user:password",
        )
    };
    let bytes = base64::engine::general_purpose::STANDARD.decode(token.trim()).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (username, password) = text.split_once(':').ok_or_else(invalid)?;
    Ok(Credentials::Basic { username: username.to_string(), password: password.to_string() })
}

impl AwsProvider {
    /// Fresh push credentials for the account's registry.
    pub(crate) async fn registry_credentials(&self) -> ProviderResult<Credentials> {
        let out =
            self.ecr.get_authorization_token().send().await.map_err(|e| map("GetAuthorizationToken", "ECR", e))?;
        let token = out
            .authorization_data()
            .first()
            .and_then(|d| d.authorization_token())
            .ok_or_else(|| missing("GetAuthorizationToken", "ECR", "authorizationToken"))?;
        decode_token(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_decodes_to_basic_credentials() {
        let token = base64::engine::general_purpose::STANDARD.encode("AWS:an-example-password-for-tests");
        let Credentials::Basic { username, password } = decode_token(&token).unwrap() else {
            panic!("basic credentials")
        };
        assert_eq!((username.as_str(), password.as_str()), ("AWS", "an-example-password-for-tests"));
    }

    #[test]
    fn a_malformed_token_is_refused_without_echoing_it() {
        for token in ["not base64 at all!", &base64::engine::general_purpose::STANDARD.encode("no-colon-here")] {
            let error = decode_token(token).unwrap_err();
            assert!(!error.message.contains(token) && !error.message.contains("no-colon-here"));
        }
    }
}
