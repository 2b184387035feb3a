//! The upgrade's signature headers (`Signature`, `Signature-Input`: RFC 8941 dictionaries) and what they
//! cover, through `signature::verify`: a round trip with `sign`, and damage to every part.

use crate::harness::*;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use listener::audiohook::nonces::NonceCache;
use listener::audiohook::signature::{AuthError, Credentials, Request, sign, verify};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// One signed upgrade: what Genesys would send, and the secret it was signed with.
#[derive(Debug, Clone)]
struct Signed {
    api_key: String,
    secret: Vec<u8>,
    target: String,
    created: i64,
    headers: Vec<(String, String)>,
}

impl Signed {
    fn request(&self) -> Request<'_> {
        Request { target: &self.target, authority: "audiohook.example.com", headers: &self.headers }
    }

    fn credentials(&self) -> Credentials {
        let mut c = Credentials::default();
        c.insert(&self.api_key, &STANDARD.encode(&self.secret)).unwrap();
        c
    }

    fn verify_at(&self, now: i64) -> Result<(), AuthError> {
        self.verify_spending(now, &NonceCache::default())
    }

    /// `verify`, then its nonce spent in `nonces`, as the server does.
    fn verify_spending(&self, now: i64, nonces: &NonceCache) -> Result<(), AuthError> {
        match verify(&self.request(), &self.credentials(), now)? {
            Some(c) if !nonces.remember(&c.nonce, c.until, now) => Err(AuthError::Replayed),
            _ => Ok(()),
        }
    }
}

fn uuid() -> impl Strategy<Value = String> {
    "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
}

fn signed() -> impl Strategy<Value = Signed> {
    // Any printable ASCII (RFC 8941 strings carry nothing else), quotes and backslashes included: the key id
    // and the nonce go through the structured-field serialiser in `sign` and back through the parser.
    let key = "[!-~]([ -~]{0,38}[!-~])?";
    let secret = prop::collection::vec(any::<u8>(), 1..64);
    let target = "/[a-z0-9/._~-]{0,30}(\\?[a-z0-9=&%]{0,20})?";
    let nonce = "[!-~][ -~]{20,38}[!-~]";
    (key, secret, target, 0i64..4_000_000_000, nonce, uuid(), uuid(), uuid()).prop_map(
        |(api_key, secret, target, created, nonce, org, session, correlation)| {
            let mut headers: Vec<(String, String)> = vec![
                ("Host".into(), "audiohook.example.com".into()),
                ("Audiohook-Organization-Id".into(), org),
                ("Audiohook-Session-Id".into(), session),
                ("Audiohook-Correlation-Id".into(), correlation),
                ("X-API-KEY".into(), api_key.clone()),
            ];
            let req = Request { target: &target, authority: "audiohook.example.com", headers: &headers };
            let (input, signature) = sign(&req, &api_key, &secret, created, &nonce).unwrap();
            headers.push(("Signature-Input".into(), input));
            headers.push(("Signature".into(), signature));
            Signed { api_key, secret, target, created, headers }
        },
    )
}

/// What `sign` writes, `verify` accepts inside the window (once: the nonce is then spent), and refuses
/// outside it, for another target or with any bit of the MAC flipped.
#[test]
fn signature_round_trip() {
    fuzz("signature_round_trip", (signed(), -5i64..=30, any::<usize>(), 0u8..8), |(s, age, byte, bit)| {
        let now = s.created + age;
        let nonces = NonceCache::default();
        let first = s.verify_spending(now, &nonces);
        check(first.is_ok(), || format!("own signature refused: {first:?}"))?;
        let again = s.verify_spending(now, &nonces);
        check(again == Err(AuthError::Replayed), || format!("replay answered {again:?}"))?;
        check(s.verify_at(s.created + 36 + age.abs()).is_err(), || "accepted after its window".into())?;
        let moved = Signed { target: format!("{}x", s.target), ..s.clone() };
        check(moved.verify_at(now) == Err(AuthError::BadSignature), || "accepted for another target".into())?;
        let mut flipped = s.clone();
        let sig = flipped.headers.iter_mut().find(|(k, _)| k == "Signature").unwrap();
        let mut mac = STANDARD.decode(sig.1.trim_start_matches("sig1=:").trim_end_matches(':')).unwrap();
        let i = byte % mac.len();
        mac[i] ^= 1 << bit;
        sig.1 = format!("sig1=:{}:", STANDARD.encode(mac));
        check(flipped.verify_at(now) == Err(AuthError::BadSignature), || "accepted a flipped MAC".into())
    });
}

/// Any damage to any header (the two signature headers above all): an answer, never a panic.
#[test]
fn signature_headers_mutated() {
    let input = (signed(), any::<usize>(), prop::collection::vec(mutation(), 1..4), -5i64..40);
    fuzz("signature_headers_mutated", input, |(mut s, which, damage, age)| {
        let i = which % s.headers.len();
        let value = damage.iter().fold(s.headers[i].1.clone().into_bytes(), |b, m| m.apply(b));
        s.headers[i].1 = String::from_utf8_lossy(&value).into_owned();
        let _ = s.verify_at(s.created + age);
        Ok::<(), TestCaseError>(())
    });
}
