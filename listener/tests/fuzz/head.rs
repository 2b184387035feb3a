//! The HTTP head before the WebSocket upgrade: `handshake::parse_head` as bytes arrive, then what the server
//! does with it (`upgrade::check`, `handshake::accept`), and the same bytes sent to the real server.

use crate::harness::*;
use crate::support::server::{self, API_KEY, ORG, SECRET};
use listener::audiohook::handshake::{self, Head, MAX_HEAD_BYTES};
use listener::audiohook::signature::{Credentials, Request, sign};
use listener::audiohook::upgrade;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SESSION: &str = "4a5e1b1f-6c1e-4a53-9c1a-3b7e1e0b9d11";

/// An upgrade as Genesys sends it, signed, with optional extra headers; or a plain probe.
fn head() -> impl Strategy<Value = Vec<u8>> {
    let target = prop::sample::select(vec!["/audiohook/ws", "/audiohook/ws?x=1", "/healthz", "/health", "/", "*"]);
    let extra = prop::collection::vec(("[A-Za-z-]{1,20}", "[ -~]{0,40}"), 0..4);
    (target, extra, any::<bool>(), 0i64..2_000_000_000).prop_map(|(target, extra, upgrade, created)| {
        let mut headers: Vec<(String, String)> = vec![("Host".into(), "127.0.0.1:9".into())];
        if upgrade {
            for (k, v) in [
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Version", "13"),
                ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                ("Audiohook-Organization-Id", ORG),
                ("Audiohook-Session-Id", SESSION),
                ("Audiohook-Correlation-Id", "e160e428-53e2-487c-977d-96989bf5c99d"),
                ("X-API-KEY", API_KEY),
            ] {
                headers.push((k.into(), v.into()));
            }
            let req = Request { target, authority: "127.0.0.1:9", headers: &headers };
            let (input, signature) = sign(&req, API_KEY, SECRET, created, "bm9uY2U=").unwrap();
            headers.push(("Signature-Input".into(), input));
            headers.push(("Signature".into(), signature));
        }
        headers.extend(extra);
        let lines: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
        format!("GET {target} HTTP/1.1\r\n{lines}\r\n").into_bytes()
    })
}

/// Heads built from the grammar then damaged, arbitrary bytes, and heads past the size and header bounds.
fn head_bytes() -> impl Strategy<Value = Vec<u8>> {
    let oversized = (60usize..70, 0usize..20_000).prop_map(|(headers, filler)| {
        let lines: String = (0..headers).map(|i| format!("X-{i}: v\r\n")).collect();
        format!("GET / HTTP/1.1\r\n{lines}X-Long: {}\r\n\r\n", "a".repeat(filler)).into_bytes()
    });
    prop_oneof![6 => mutated(head()), 2 => bytes(512), 1 => oversized]
}

/// What the server does with a complete head, short of the socket: the upgrade's checks and its answer.
fn answer(head: &Head) {
    let mut creds = Credentials::default();
    creds.insert(API_KEY, &base64::Engine::encode(&base64::engine::general_purpose::STANDARD, SECRET)).unwrap();
    let req =
        Request { target: &head.target, authority: head.header("host").unwrap_or_default(), headers: &head.headers };
    let _ = upgrade::check(&req, &creds, 1_000_000_000);
    let _ = handshake::accept(head);
    let _ = (head.path(), head.is_upgrade());
}

/// The head is read the same however the bytes are split across reads; what follows it is kept whole.
#[test]
fn audiohook_head_parse() {
    fuzz("audiohook_head_parse", (head_bytes(), any::<usize>()), |(bytes, split)| {
        let whole = handshake::parse_head(&bytes);
        if let Ok(Some(head)) = &whole {
            check(bytes.ends_with(&head.rest), || "the bytes after the head were not kept".into())?;
            answer(head);
        }
        // As a socket might deliver it: a prefix first. It is either the whole head already, or asks for more.
        let cut = split % (bytes.len() + 1);
        match handshake::parse_head(&bytes[..cut]) {
            Ok(None) | Err(_) => {}
            Ok(Some(early)) => {
                let same = matches!(&whole, Ok(Some(h)) if h.target == early.target && h.headers == early.headers);
                check(same, || format!("a {cut}-byte prefix parsed as another head"))?;
            }
        }
        let waits = matches!(whole, Ok(None));
        check(!(waits && bytes.len() >= MAX_HEAD_BYTES), || "an oversized head still asks for more".into())
    });
}

/// The same bytes to the real AudioHook server: a head it can parse is always answered with a status line
/// (never a dropped connection, which is what a panicking connection task looks like), and the server still
/// answers its health probe afterwards.
#[test]
fn audiohook_head_over_a_socket() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(server::start());
    fuzz("audiohook_head_over_a_socket", head_bytes(), |bytes| {
        let answer = rt.block_on(async {
            let mut s = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
            let _ = s.write_all(&bytes).await;
            let _ = s.shutdown().await;
            // The status line, or the close: an upgrade's session (and a refusal's fixed delay) is not waited for.
            let mut answer = Vec::new();
            let status_line = async {
                let mut buf = [0u8; 64];
                while answer.len() < 12 {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => answer.extend_from_slice(&buf[..n]),
                    }
                }
            };
            tokio::time::timeout(Duration::from_secs(5), status_line).await.map(|()| answer)
        });
        let answer = answer.map_err(|_| TestCaseError::fail("no answer and no close within 5 s"))?;
        if let Ok(Some(_)) = handshake::parse_head(&bytes) {
            let status = String::from_utf8_lossy(&answer[..answer.len().min(12)]).into_owned();
            check(status.starts_with("HTTP/1.1 ") && !status.starts_with("HTTP/1.1 5"), || {
                format!("a complete head was answered {status:?}")
            })?;
        }
        Ok(())
    });
    let (status, _) = rt.block_on(server::http_get(&server.addr, "/healthz"));
    assert!(status.contains("200"), "the server stopped answering: {status}");
    assert!(!server.task.is_finished(), "the server's accept loop ended");
}
