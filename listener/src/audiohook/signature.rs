//! AudioHook upgrade authentication: the API key and the HTTP message signature Genesys sends (an early
//! draft of HTTP Message Signatures: HMAC-SHA256, keyed with the base64-decoded client secret, over the
//! covered components). The checks follow the reference server's authenticator, with a wider time window
//! (30 s of age, 5 s of skew), single-use nonces and constant-time comparisons. Pure: the caller passes the
//! request's parts and the time, and spends the verified signature's nonce in a nonce store (`Nonces`: this
//! `nonces::NonceCache` in one process, DynamoDB across the listener's tasks on AWS).

use super::structured::{Bare, Member, Params, parse_dictionary, serialize_inner_list};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use subtle::ConstantTimeEq;
use thiserror::Error;

/// Oldest `created` accepted, in seconds.
const MAX_AGE_SECONDS: i64 = 30;
/// Clock skew tolerated between Genesys and us, in seconds.
const SKEW_SECONDS: i64 = 5;
/// Shortest nonce accepted (the reference's rule).
const MIN_NONCE_CHARS: usize = 22;
/// Components every signature must cover.
const REQUIRED: [&str; 6] = [
    "@request-target",
    "@authority",
    "audiohook-organization-id",
    "audiohook-session-id",
    "audiohook-correlation-id",
    "x-api-key",
];

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthError {
    #[error("missing X-API-KEY header")]
    MissingApiKey,
    #[error("unknown API key")]
    UnknownApiKey,
    #[error("signature required")]
    MissingSignature,
    #[error("malformed signature headers: {0}")]
    Malformed(&'static str),
    #[error("unsupported signature: {0}")]
    Unsupported(String),
    #[error("signature does not cover {0}")]
    NotCovered(&'static str),
    #[error("covered header {0} is missing")]
    MissingComponent(String),
    #[error("signature created in the future")]
    NotYetValid,
    #[error("signature expired")]
    Expired,
    #[error("signature too old")]
    TooOld,
    #[error("nonce missing or shorter than {MIN_NONCE_CHARS} characters")]
    BadNonce,
    #[error("nonce already used")]
    Replayed,
    #[error("the nonce store cannot say whether the nonce was used")]
    NonceStore,
    #[error("keyid does not match X-API-KEY")]
    KeyIdMismatch,
    #[error("signature mismatch")]
    BadSignature,
}

/// API keys and their decoded client secrets (an empty secret allows unsigned connections for that key).
#[derive(Clone, Default)]
pub struct Credentials {
    secrets: HashMap<String, Vec<u8>>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("api_keys", &self.secrets.len()).finish_non_exhaustive()
    }
}

impl Credentials {
    /// Adds an API key with its base64 client secret (empty: no signature required).
    pub fn insert(&mut self, api_key: &str, client_secret_b64: &str) -> Result<(), base64::DecodeError> {
        let secret = STANDARD.decode(client_secret_b64.trim())?;
        self.secrets.insert(api_key.trim().to_string(), secret);
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }
}

/// A verified signature's nonce and until when (unix seconds) it must be remembered: its signature's window.
/// Spent through a nonce store; one already spent is a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonceClaim {
    pub nonce: String,
    pub until: i64,
}

/// What of the upgrade request the signature covers.
pub struct Request<'a> {
    /// Path and query exactly as on the request line.
    pub target: &'a str,
    /// The `Host` header.
    pub authority: &'a str,
    /// Every header (name, value); names in any case.
    pub headers: &'a [(String, String)],
}

impl Request<'_> {
    /// A header's value: trimmed, obs-folds collapsed, repeats joined with ", " (the reference's rules).
    fn header(&self, name: &str) -> Option<String> {
        let values: Vec<String> = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.split(['\r', '\n']).map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" "))
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    fn component(&self, name: &str) -> Result<String, AuthError> {
        let (path, query) = self.target.split_once('?').map_or((self.target, None), |(p, q)| (p, Some(q)));
        match name {
            "@request-target" => Ok(self.target.to_string()),
            "@authority" => Ok(self.authority.trim().to_ascii_lowercase()),
            "@method" => Ok("GET".into()),
            "@path" => Ok(path.to_string()),
            "@query" => Ok(format!("?{}", query.unwrap_or_default())),
            n if n.starts_with('@') => Err(AuthError::Unsupported(format!("component {n}"))),
            n => self.header(n).ok_or_else(|| AuthError::MissingComponent(n.to_string())),
        }
    }
}

fn string_param<'p>(params: &'p Params, name: &str) -> Option<&'p str> {
    params.iter().find(|(k, _)| k == name).and_then(|(_, v)| match v {
        Bare::String(s) => Some(s.as_str()),
        _ => None,
    })
}

fn int_param(params: &Params, name: &str) -> Result<i64, AuthError> {
    match params.iter().find(|(k, _)| k == name).map(|(_, v)| v) {
        Some(Bare::Integer(n)) if *n >= 0 => Ok(*n),
        _ => Err(AuthError::Malformed("created and expires must be non-negative integers")),
    }
}

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Signs an upgrade as Genesys does (for the simulator and tests): the `Signature-Input` and `Signature`
/// values over the six required components, valid for 30 s from `created`.
pub fn sign(
    req: &Request,
    api_key: &str,
    secret: &[u8],
    created: i64,
    nonce: &str,
) -> Result<(String, String), AuthError> {
    let items: Vec<(Bare, Params)> = REQUIRED.iter().map(|c| (Bare::String((*c).to_string()), Vec::new())).collect();
    let params: Params = vec![
        ("keyid".into(), Bare::String(api_key.into())),
        ("nonce".into(), Bare::String(nonce.into())),
        ("alg".into(), Bare::String("hmac-sha256".into())),
        ("created".into(), Bare::Integer(created)),
        ("expires".into(), Bare::Integer(created + 30)),
    ];
    let base = signature_base(req, &items, &params)?;
    let input = format!("sig1={}", serialize_inner_list(&items, &params));
    Ok((input, format!("sig1=:{}:", STANDARD.encode(hmac(secret, base.as_bytes())))))
}

/// The signed text: one `"name": value` line per component, then `"@signature-params": ...`.
fn signature_base(req: &Request, items: &[(Bare, Params)], params: &Params) -> Result<String, AuthError> {
    let mut base = String::new();
    for (item, item_params) in items {
        let Bare::String(name) = item else { return Err(AuthError::Malformed("component names are strings")) };
        if !item_params.is_empty() {
            return Err(AuthError::Unsupported(format!("parameters on {name}")));
        }
        if name == "@signature-params" {
            return Err(AuthError::Malformed("@signature-params is not a component"));
        }
        let name = name.to_ascii_lowercase();
        base.push_str(&format!("\"{name}\": {}\n", req.component(&name)?));
    }
    base.push_str(&format!("\"@signature-params\": {}", serialize_inner_list(items, params)));
    Ok(base)
}

/// Verifies the upgrade's API key and signature at `now` (unix seconds). A signed upgrade that checks out
/// returns its nonce, for the caller to spend; an unsigned one (a key without a secret) returns `None`.
pub fn verify(req: &Request, creds: &Credentials, now: i64) -> Result<Option<NonceClaim>, AuthError> {
    let api_key = req.header("x-api-key").ok_or(AuthError::MissingApiKey)?;
    let secret = creds.secrets.get(&api_key);
    let (input, signature) = match (req.header("signature-input"), req.header("signature")) {
        (None, None) => {
            // Unsigned: only for a key configured without a secret. Compare keys in constant time.
            let known =
                creds.secrets.iter().any(|(k, s)| bool::from(k.as_bytes().ct_eq(api_key.as_bytes())) && s.is_empty());
            return if known {
                Ok(None)
            } else if secret.is_some() {
                Err(AuthError::MissingSignature)
            } else {
                Err(AuthError::UnknownApiKey)
            };
        }
        (Some(i), Some(s)) => (i, s),
        _ => return Err(AuthError::Malformed("Signature and Signature-Input go together")),
    };
    let inputs = parse_dictionary(&input).ok_or(AuthError::Malformed("Signature-Input"))?;
    let (label, Member::InnerList(components, params)) =
        inputs.first().ok_or(AuthError::Malformed("empty Signature-Input"))?
    else {
        return Err(AuthError::Malformed("Signature-Input member is not an inner list"));
    };
    let signatures = parse_dictionary(&signature).ok_or(AuthError::Malformed("Signature"))?;
    let sent = match signatures.iter().find(|(k, _)| k == label).map(|(_, m)| m) {
        Some(Member::Item(Bare::Bytes(b), _)) => b.clone(),
        _ => return Err(AuthError::Malformed("Signature lacks a byte sequence for the label")),
    };

    if let Some((k, _)) =
        params.iter().find(|(k, _)| !["alg", "created", "expires", "keyid", "nonce"].contains(&k.as_str()))
    {
        return Err(AuthError::Unsupported(format!("parameter {k}")));
    }
    let (created, expires) = (int_param(params, "created")?, int_param(params, "expires")?);
    if created > now + SKEW_SECONDS {
        return Err(AuthError::NotYetValid);
    }
    if expires < now - SKEW_SECONDS {
        return Err(AuthError::Expired);
    }
    if created + MAX_AGE_SECONDS < now - SKEW_SECONDS {
        return Err(AuthError::TooOld);
    }
    let nonce = string_param(params, "nonce").filter(|n| n.len() >= MIN_NONCE_CHARS).ok_or(AuthError::BadNonce)?;
    if string_param(params, "keyid") != Some(api_key.as_str()) {
        return Err(AuthError::KeyIdMismatch);
    }
    if string_param(params, "alg").is_some_and(|a| a != "hmac-sha256") {
        return Err(AuthError::Unsupported("alg".into()));
    }

    let covered = |r: &str| components.iter().any(|(c, _)| matches!(c, Bare::String(n) if n.eq_ignore_ascii_case(r)));
    if let Some(missing) = REQUIRED.iter().find(|r| !covered(r)) {
        return Err(AuthError::NotCovered(missing));
    }
    let base = signature_base(req, components, params)?;

    // An unknown key still costs an HMAC, so timing does not tell known keys apart.
    let key = match secret {
        Some(s) => s.clone(),
        None => {
            let mut random = [0u8; 32];
            getrandom::fill(&mut random).map_err(|_| AuthError::UnknownApiKey)?;
            random.to_vec()
        }
    };
    let expected = hmac(&key, base.as_bytes());
    let matches: bool = expected.ct_eq(&sent).into();
    if secret.is_none() {
        return Err(AuthError::UnknownApiKey);
    }
    if !matches {
        return Err(AuthError::BadSignature);
    }
    Ok(Some(NonceClaim { nonce: nonce.to_string(), until: expires.max(created + MAX_AGE_SECONDS) + SKEW_SECONDS }))
}

#[cfg(test)]
#[path = "signature_tests.rs"]
mod tests;
