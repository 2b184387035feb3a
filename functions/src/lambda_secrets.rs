//! Keys and tokens of the Lambda functions, from Secrets Manager. A function's environment is readable by
//! anyone allowed `lambda:GetFunctionConfiguration` and is copied into every deployment record, so the
//! template passes `<NAME>_SECRET_ARN` instead of `<NAME>`; each container reads those secrets once, at
//! its cold start, and the settings loaders see them as `<NAME>` (the value is then cached for the
//! container's life). Without a `_SECRET_ARN` variable the plain variable is read, as locally.

use shared::settings::env::{self, EnvSource};
use shared::settings::secret::Secret;
use std::collections::HashMap;
use thiserror::Error;

/// The settings that may be given as `<NAME>_SECRET_ARN`.
pub const SECRET_SETTINGS: [&str; 4] = ["REALTIME_INGEST_TOKEN", "STT_API_KEY", "SARVAM_API_KEY", "LLM_API_KEY"];

/// Why a secret could not be read. Names the setting and the secret, never a value.
#[derive(Debug, Error)]
pub enum SecretError {
    #[error("{name}: cannot read Secrets Manager secret {arn}: {reason}")]
    Read { name: String, arn: String, reason: String },
    #[error("{name}: Secrets Manager secret {arn} has no text value")]
    NotText { name: String, arn: String },
}

/// `base` with the secrets read at start in place of their variables.
pub struct WithSecrets<'a> {
    base: &'a dyn EnvSource,
    secrets: HashMap<&'static str, Secret>,
}

impl EnvSource for WithSecrets<'_> {
    fn var(&self, name: &str) -> Option<String> {
        match self.secrets.get(name) {
            Some(secret) => Some(secret.expose().to_string()),
            None => self.base.var(name),
        }
    }
}

/// Reads the secret of every setting in [`SECRET_SETTINGS`] that `base` names by ARN, each secret once
/// (`STT_API_KEY` and `SARVAM_API_KEY` name the same one).
pub async fn resolve<'a>(
    base: &'a dyn EnvSource,
    client: &aws_sdk_secretsmanager::Client,
) -> Result<WithSecrets<'a>, SecretError> {
    let mut secrets = HashMap::new();
    let mut by_arn: HashMap<String, Secret> = HashMap::new();
    for name in SECRET_SETTINGS {
        let Some(arn) = env::string(base, &format!("{name}_SECRET_ARN")) else { continue };
        let secret = match by_arn.get(&arn) {
            Some(secret) => secret.clone(),
            None => {
                let secret = read(client, name, &arn).await?;
                by_arn.insert(arn, secret.clone());
                secret
            }
        };
        secrets.insert(name, secret);
    }
    Ok(WithSecrets { base, secrets })
}

/// The text value of secret `arn`, read for setting `name`.
async fn read(client: &aws_sdk_secretsmanager::Client, name: &str, arn: &str) -> Result<Secret, SecretError> {
    let out = client.get_secret_value().secret_id(arn).send().await.map_err(|e| SecretError::Read {
        name: name.into(),
        arn: arn.into(),
        reason: aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
    })?;
    let value = out.secret_string.ok_or_else(|| SecretError::NotText { name: name.into(), arn: arn.into() })?;
    Ok(Secret::from(value))
}
