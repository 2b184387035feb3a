//! What the upgrade request must carry before a session exists: the three `Audiohook-*` UUID headers (else
//! 400, no session to talk to), then the API key and signature (failures become `disconnect: unauthorized`
//! after a fixed delay, the reference server's default, so timing says nothing).

use super::signature::{self, AuthError, Credentials, NonceClaim, Request};
use thiserror::Error;

/// The upgrade's identifiers, all UUIDs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ids {
    pub organization_id: String,
    pub session_id: String,
    pub correlation_id: String,
}

/// A checked upgrade: its ids, and why its credentials failed, if they did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgrade {
    pub ids: Ids,
    /// `Some`: upgrade anyway and answer `disconnect: unauthorized` (after the fixed delay).
    pub denied: Option<AuthError>,
    /// The signature's nonce, when it checked out: to spend before the session is accepted.
    pub nonce: Option<NonceClaim>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("header {0} missing or not a UUID")]
pub struct BadHeader(pub &'static str);

/// A canonical UUID (8-4-4-4-12 hex digits).
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter()
            .enumerate()
            .all(|(i, c)| if [8, 13, 18, 23].contains(&i) { *c == b'-' } else { c.is_ascii_hexdigit() })
}

/// Reads the ids (`Err` answers 400: there is no session to talk to), then authenticates.
pub fn check(req: &Request, creds: &Credentials, now: i64) -> Result<Upgrade, BadHeader> {
    let header = |name: &'static str| {
        let v =
            req.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_ascii_lowercase());
        v.filter(|v| is_uuid(v)).ok_or(BadHeader(name))
    };
    let ids = Ids {
        organization_id: header("audiohook-organization-id")?,
        session_id: header("audiohook-session-id")?,
        correlation_id: header("audiohook-correlation-id")?,
    };
    let (denied, nonce) = match signature::verify(req, creds, now) {
        Ok(nonce) => (None, nonce),
        Err(e) => (Some(e), None),
    };
    Ok(Upgrade { ids, denied, nonce })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(session: &str) -> Vec<(String, String)> {
        [
            ("Audiohook-Organization-Id", "D7934305-0972-4844-938E-9060EEF73D05"),
            ("Audiohook-Session-Id", session),
            ("Audiohook-Correlation-Id", "e160e428-53e2-487c-977d-96989bf5c99d"),
            ("X-API-KEY", "key"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn ids_first_then_credentials() {
        let mut open = Credentials::default();
        open.insert("key", "").unwrap();
        let hs = headers("30b0e395-84d3-4570-ac13-9a62d8f514c0");
        let req = Request { target: "/audiohook/ws", authority: "h", headers: &hs };
        let up = check(&req, &open, 0).unwrap();
        assert_eq!(up.ids.organization_id, "d7934305-0972-4844-938e-9060eef73d05", "lower-cased");
        assert_eq!(up.denied, None);
        let up = check(&req, &Credentials::default(), 0).unwrap();
        assert_eq!(up.denied, Some(AuthError::UnknownApiKey));
        for bad in ["", "not-a-uuid", "30b0e395-84d3-4570-ac13-9a62d8f514c0x"] {
            let hs = headers(bad);
            let req = Request { target: "/audiohook/ws", authority: "h", headers: &hs };
            assert_eq!(check(&req, &open, 0), Err(BadHeader("audiohook-session-id")), "{bad:?}");
        }
    }
}
