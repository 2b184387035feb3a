use super::*;
use crate::audiohook::nonces::NonceCache;

const API_KEY: &str = "SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh";
const SECRET: &str = "TXlTdXBlclNlY3JldEtleVRlbGxOby0xITJAMyM0JDU=";
const CREATED: i64 = 1_641_013_200;
/// The signed upgrade request Genesys publishes as the example in its AudioHook protocol reference.
const EXPECTED: &str = "NZBwyBHRRyRoeLqy1IzOa9VYBuI8TgMFt2GRDkDuJh4=";

fn input(params: &str) -> String {
    format!(
        r#"sig1=("@request-target" "@authority" "audiohook-organization-id" "audiohook-session-id" "audiohook-correlation-id" "x-api-key");{params}"#
    )
}

fn doc_params() -> String {
    format!(
        r#"keyid="{API_KEY}";nonce="VGhpc0lzQVVuaXF1ZU5vbmNl";alg="hmac-sha256";created={CREATED};expires=3282026430"#
    )
}

fn headers(signature_input: &str, signature: &str) -> Vec<(String, String)> {
    [
        ("Host", "audiohook.example.com"),
        ("Audiohook-Organization-Id", "d7934305-0972-4844-938e-9060eef73d05"),
        ("Audiohook-Session-Id", "30b0e395-84d3-4570-ac13-9a62d8f514c0"),
        ("Audiohook-Correlation-Id", "e160e428-53e2-487c-977d-96989bf5c99d"),
        ("X-API-KEY", API_KEY),
        ("Signature-Input", signature_input),
        ("Signature", signature),
    ]
    .iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn creds(secret: &str) -> Credentials {
    let mut c = Credentials::default();
    c.insert(API_KEY, secret).unwrap();
    c
}

/// Signs `params` as the client would: the base written out by hand, independently of `signature_base`.
fn sign(params: &str, secret_b64: &str) -> String {
    let base = format!(
        "\"@request-target\": /api/v1/voicebiometrics/ws\n\"@authority\": audiohook.example.com\n\
         \"audiohook-organization-id\": d7934305-0972-4844-938e-9060eef73d05\n\
         \"audiohook-session-id\": 30b0e395-84d3-4570-ac13-9a62d8f514c0\n\
         \"audiohook-correlation-id\": e160e428-53e2-487c-977d-96989bf5c99d\n\"x-api-key\": {API_KEY}\n\
         \"@signature-params\": {}",
        input(params).strip_prefix("sig1=").unwrap()
    );
    format!("sig1=:{}:", STANDARD.encode(hmac(&STANDARD.decode(secret_b64).unwrap(), base.as_bytes())))
}

/// `verify`, then its nonce spent in `nonces`.
fn check(hs: &[(String, String)], creds: &Credentials, now: i64, nonces: &NonceCache) -> Result<(), AuthError> {
    let req = Request { target: "/api/v1/voicebiometrics/ws", authority: "audiohook.example.com", headers: hs };
    match verify(&req, creds, now)? {
        Some(c) if !nonces.remember(&c.nonce, c.until, now) => Err(AuthError::Replayed),
        _ => Ok(()),
    }
}

#[test]
fn documentation_test_vector() {
    assert_eq!(sign(&doc_params(), SECRET), format!("sig1=:{EXPECTED}:"));
    let hs = headers(&input(&doc_params()), &format!("sig1=:{EXPECTED}:"));
    assert_eq!(check(&hs, &creds(SECRET), CREATED + 5, &NonceCache::default()), Ok(()));
}

#[test]
fn rejects_wrong_secret_unknown_key_and_tampering() {
    let hs = headers(&input(&doc_params()), &format!("sig1=:{EXPECTED}:"));
    let wrong = creds(&STANDARD.encode("another secret entirely"));
    assert_eq!(check(&hs, &wrong, CREATED + 5, &NonceCache::default()), Err(AuthError::BadSignature));
    let mut other = Credentials::default();
    other.insert("someone-else", SECRET).unwrap();
    assert_eq!(check(&hs, &other, CREATED + 5, &NonceCache::default()), Err(AuthError::UnknownApiKey));
    let mut tampered = hs.clone();
    tampered[2].1 = "00000000-0000-4000-8000-000000000000".into();
    assert_eq!(check(&tampered, &creds(SECRET), CREATED + 5, &NonceCache::default()), Err(AuthError::BadSignature));
}

#[test]
fn enforces_the_time_window() {
    let c = creds(SECRET);
    let hs = headers(&input(&doc_params()), &format!("sig1=:{EXPECTED}:"));
    assert_eq!(check(&hs, &c, CREATED - 6, &NonceCache::default()), Err(AuthError::NotYetValid));
    assert_eq!(check(&hs, &c, CREATED + 36, &NonceCache::default()), Err(AuthError::TooOld));
    let p = format!(
        r#"keyid="{API_KEY}";nonce="VGhpc0lzQVVuaXF1ZU5vbmNl";alg="hmac-sha256";created={CREATED};expires={}"#,
        CREATED + 1
    );
    let hs = headers(&input(&p), &sign(&p, SECRET));
    assert_eq!(check(&hs, &c, CREATED + 7, &NonceCache::default()), Err(AuthError::Expired));
    assert_eq!(check(&hs, &c, CREATED + 6, &NonceCache::default()), Ok(()), "expired within the skew");
}

#[test]
fn nonces_are_single_use_and_long_enough() {
    let c = creds(SECRET);
    let hs = headers(&input(&doc_params()), &format!("sig1=:{EXPECTED}:"));
    let nonces = NonceCache::default();
    assert_eq!(check(&hs, &c, CREATED + 5, &nonces), Ok(()));
    assert_eq!(check(&hs, &c, CREATED + 6, &nonces), Err(AuthError::Replayed));
    let p = format!(r#"keyid="{API_KEY}";nonce="short";alg="hmac-sha256";created={CREATED};expires=3282026430"#);
    let hs = headers(&input(&p), &sign(&p, SECRET));
    assert_eq!(check(&hs, &c, CREATED + 5, &nonces), Err(AuthError::BadNonce));
}

#[test]
fn rejects_missing_headers_extra_parameters_and_partial_coverage() {
    let c = creds(SECRET);
    let n = &NonceCache::default();
    let mut no_key = headers(&input(&doc_params()), &format!("sig1=:{EXPECTED}:"));
    no_key.retain(|(k, _)| k != "X-API-KEY");
    assert_eq!(check(&no_key, &c, CREATED + 5, n), Err(AuthError::MissingApiKey));
    assert_eq!(check(&headers("", ""), &c, CREATED + 5, n), Err(AuthError::MissingSignature));
    assert!(matches!(check(&headers(&input(&doc_params()), ""), &c, CREATED + 5, n), Err(AuthError::Malformed(_))));
    let extra = format!("{};tag=\"x\"", doc_params());
    let hs = headers(&input(&extra), &sign(&extra, SECRET));
    assert_eq!(check(&hs, &c, CREATED + 5, n), Err(AuthError::Unsupported("parameter tag".into())));
    let partial = format!(r#"sig1=("@request-target" "@authority" "x-api-key");{}"#, doc_params());
    let hs = headers(&partial, &format!("sig1=:{EXPECTED}:"));
    assert_eq!(check(&hs, &c, CREATED + 5, n), Err(AuthError::NotCovered("audiohook-organization-id")));
    let mismatch = doc_params().replace(API_KEY, "another-key");
    let hs = headers(&input(&mismatch), &sign(&mismatch, SECRET));
    assert_eq!(check(&hs, &c, CREATED + 5, n), Err(AuthError::KeyIdMismatch));
}

#[test]
fn unsigned_connections_only_for_keys_without_a_secret() {
    let hs = headers("", "");
    assert_eq!(check(&hs, &creds(""), CREATED, &NonceCache::default()), Ok(()));
    assert_eq!(check(&hs, &creds(SECRET), CREATED, &NonceCache::default()), Err(AuthError::MissingSignature));
    assert_eq!(check(&hs, &Credentials::default(), CREATED, &NonceCache::default()), Err(AuthError::UnknownApiKey));
}

#[test]
fn what_sign_produces_verifies() {
    let hs = headers("", "");
    let req = Request { target: "/api/v1/voicebiometrics/ws", authority: "audiohook.example.com", headers: &hs };
    let secret = STANDARD.decode(SECRET).unwrap();
    let (input, signature) = super::sign(&req, API_KEY, &secret, CREATED, "VGhpc0lzQVVuaXF1ZU5vbmNl").unwrap();
    assert!(input.ends_with(&format!("created={CREATED};expires={}", CREATED + 30)), "{input}");
    let signed = headers(&input, &signature);
    assert_eq!(check(&signed, &creds(SECRET), CREATED + 1, &NonceCache::default()), Ok(()));
    assert_eq!(check(&signed, &creds(SECRET), CREATED + 40, &NonceCache::default()), Err(AuthError::Expired));
}

proptest::proptest! {
    /// Arbitrary bytes as the two signature headers, or spliced into Genesys' example, never make `verify` panic.
    #[test]
    fn arbitrary_signature_headers_never_panic(
        noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
        at in 0usize..512,
        into_input in proptest::prelude::any::<bool>(),
    ) {
        let noise = String::from_utf8_lossy(&noise).into_owned();
        let (mut input, mut signature) = (input(&doc_params()), format!("sig1=:{EXPECTED}:"));
        let target = if into_input { &mut input } else { &mut signature };
        target.insert_str(at % (target.len() + 1), &noise);
        let c = creds(SECRET);
        let _ = check(&headers(&input, &signature), &c, CREATED + 5, &NonceCache::default());
        let _ = check(&headers(&noise, &noise), &c, CREATED + 5, &NonceCache::default());
    }
}
