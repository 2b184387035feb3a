//! Reading typed settings from the environment, with errors that name the variable.

use std::str::FromStr;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("environment variable {name}={value:?} is not a valid {expected}")]
pub struct EnvError {
    pub name: String,
    pub value: String,
    pub expected: &'static str,
}

/// A source of settings: the process environment in production, a map in tests.
pub trait EnvSource {
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment, then the `.env` file (see `settings::dotenv`): the environment wins.
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().or_else(|| super::dotenv::load().get(name).cloned())
    }
}

impl<const N: usize> EnvSource for [(&str, &str); N] {
    fn var(&self, name: &str) -> Option<String> {
        self.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }
}

impl EnvSource for std::collections::HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// `base` first; `defaults` for what it leaves unset (settings a caller fills in, e.g. generated keys).
pub struct WithDefaults<'a> {
    pub base: &'a dyn EnvSource,
    pub defaults: std::collections::HashMap<String, String>,
}

impl EnvSource for WithDefaults<'_> {
    fn var(&self, name: &str) -> Option<String> {
        string(self.base, name).or_else(|| self.defaults.get(name).cloned())
    }
}

/// A trimmed, non-empty value, or `None`.
pub fn string(env: &dyn EnvSource, name: &str) -> Option<String> {
    env.var(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// A trimmed, non-empty value that must be set.
pub fn required(env: &dyn EnvSource, name: &str) -> Result<String, EnvError> {
    string(env, name).ok_or_else(|| EnvError { name: name.into(), value: String::new(), expected: "non-empty value" })
}

/// A parsed value, or the default when unset or blank.
pub fn parsed<T: FromStr>(env: &dyn EnvSource, name: &str, default: T, expected: &'static str) -> Result<T, EnvError> {
    match string(env, name) {
        None => Ok(default),
        Some(value) => value.parse().map_err(|_| EnvError { name: name.to_string(), value, expected }),
    }
}

/// A finite float, or the default.
pub fn float(env: &dyn EnvSource, name: &str, default: f64) -> Result<f64, EnvError> {
    let v: f64 = parsed(env, name, default, "number")?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(EnvError { name: name.to_string(), value: v.to_string(), expected: "finite number" })
    }
}

/// A comma-separated list, trimmed, lower-cased, empties dropped.
pub fn lower_list(env: &dyn EnvSource, name: &str, default: &str) -> Vec<String> {
    let raw = env.var(name).filter(|v| !v.trim().is_empty()).unwrap_or_else(|| default.to_string());
    raw.split(',').map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()).collect()
}
