//! Secrets: a string that never shows in logs, constant-time comparison and random token generation.

use subtle::ConstantTimeEq;

/// A key or token read from the settings. `Debug` prints `<redacted>` (settings structs are logged), and
/// equality runs in constant time; the value itself is only reachable through [`Secret::expose`].
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_string())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        constant_time_eq(&self.0, &other.0)
    }
}

/// Compares two secrets in time independent of where they differ (only the length can leak).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// A random 256-bit token as 64 hex characters.
pub fn generate_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_and_generates() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
        let (a, b) = (generate_token().unwrap(), generate_token().unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }

    #[test]
    fn a_secret_never_shows_in_debug() {
        let s = Secret::from("sk-live-123");
        assert_eq!(format!("{s:?} {:?}", Some(s.clone())), "<redacted> Some(<redacted>)");
        assert_eq!(s.expose(), "sk-live-123");
        assert_eq!(s, Secret::from("sk-live-123".to_string()));
        assert_ne!(s, Secret::from("sk-live-124"));
    }
}
