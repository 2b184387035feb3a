//! The AudioHook server over real WebSockets on loopback, with signed upgrades built like Genesys builds
//! them: a whole session, the probe, wrong credentials, bad upgrades, shutdown letting sessions finish, and
//! what the port owes the internet (refused sockets closed, connections capped, health without details).

#[path = "support/mod.rs"]
mod support;

use futures_util::{SinkExt, StreamExt};
use listener::audiohook::admission::Limits;
use listener::audiohook::session::NULL_UUID;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::server::*;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[tokio::test]
async fn a_whole_session_over_a_real_socket() {
    let server = start().await;
    let session = "30b0e395-84d3-4570-ac13-9a62d8f514c0";
    let (mut c, opened) = Client::open(&server.addr, session, CONVERSATION).await;
    assert_eq!(opened["type"], "opened");
    assert_eq!(opened["parameters"]["media"][0]["format"], "PCMU");
    c.send("ping", json!({})).await;
    assert_eq!(c.recv().await["type"], "pong");
    c.ws.send(Message::binary(vec![0xffu8; 3200])).await.unwrap();
    c.send("close", json!({"reason": "end"})).await;
    let closed = c.recv().await;
    assert_eq!((closed["type"].as_str(), closed["clientseq"].as_u64()), (Some("closed"), Some(3)));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        *server.sink.0.lock().unwrap(),
        [format!("opened {session} {CONVERSATION}"), "audio 0 2x1600".into(), "ended end".into()]
    );
}

#[tokio::test]
async fn the_probe_is_answered_and_not_recorded() {
    let server = start().await;
    let session = "8d2c3c1e-0b6f-4f4e-9d57-5b8f6e2a1c3d";
    let (mut c, opened) = Client::open(&server.addr, session, NULL_UUID).await;
    assert_eq!(opened["type"], "opened");
    c.send("close", json!({"reason": "end"})).await;
    assert_eq!(c.recv().await["type"], "closed");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(server.sink.0.lock().unwrap().is_empty());
}

#[tokio::test]
async fn wrong_secret_gets_a_delayed_unauthorized_disconnect() {
    let server = start().await;
    let session = "5b7e2f0a-1c3d-4e5f-8a9b-0c1d2e3f4a5b";
    let started = Instant::now();
    let ws = connect(&server.addr, session, b"not the secret at all", |_| {}).await.unwrap();
    let mut c = Client { ws, session: session.into(), seq: 0, server_seq: 0 };
    c.send("open", open_params(CONVERSATION)).await;
    let m = c.recv().await;
    assert!(started.elapsed() >= DELAY, "answered after the fixed delay, not sooner");
    assert_eq!((m["type"].as_str(), m["parameters"]["reason"].as_str()), (Some("disconnect"), Some("unauthorized")));
    c.send("close", json!({"reason": "disconnect"})).await;
    assert_eq!(c.recv().await["type"], "closed");
    assert!(server.sink.0.lock().unwrap().is_empty(), "nothing of an unauthorized session is kept");
}

#[tokio::test]
async fn a_refused_connection_is_closed_even_if_the_client_keeps_pinging() {
    let server = start().await;
    let session = "5b7e2f0a-1c3d-4e5f-8a9b-0c1d2e3f4a5d";
    let ws = connect(&server.addr, session, b"not the secret at all", |_| {}).await.unwrap();
    let mut c = Client { ws, session: session.into(), seq: 0, server_seq: 0 };
    c.send("open", open_params(CONVERSATION)).await;
    assert_eq!(c.recv().await["parameters"]["reason"], "unauthorized");
    let refused = Instant::now();
    // Never `close`: ping as Genesys does, only faster, until the server hangs up.
    let closed = loop {
        assert!(refused.elapsed() < Duration::from_secs(5), "still open 5 s after disconnect");
        c.seq += 1;
        let ping = json!({"version": "2", "id": session, "type": "ping", "seq": c.seq, "serverseq": c.server_seq,
            "position": "PT0S", "parameters": {}});
        if c.ws.send(Message::text(ping.to_string())).await.is_err() {
            break refused.elapsed();
        }
        match tokio::time::timeout(Duration::from_millis(200), c.ws.next()).await {
            Ok(Some(Ok(Message::Text(pong)))) => {
                c.server_seq = serde_json::from_str::<Value>(&pong).unwrap()["seq"].as_u64().unwrap()
            }
            Ok(Some(Ok(Message::Close(_))) | None | Some(Err(_))) => break refused.elapsed(),
            Ok(Some(Ok(_))) | Err(_) => {}
        }
    };
    assert!(closed >= Duration::from_secs(1), "the client had time to answer with close ({closed:?})");
}

#[tokio::test]
async fn a_refused_client_that_never_reads_is_closed_too() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = start().await;
    // A small receive buffer, and an upgrade with an unknown key, done by hand so nothing reads behind it.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut s = socket.connect(server.addr.parse().unwrap()).await.unwrap();
    let upgrade = format!(
        "GET /audiohook/ws HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Audiohook-Organization-Id: {ORG}\r\nAudiohook-Session-Id: 5b7e2f0a-1c3d-4e5f-8a9b-0c1d2e3f4a5f\r\n\
         Audiohook-Correlation-Id: e160e428-53e2-487c-977d-96989bf5c99d\r\nX-API-KEY: unknown\r\n\r\n",
        server.addr
    );
    s.write_all(upgrade.as_bytes()).await.unwrap();
    let mut answer = [0u8; 256];
    let n = s.read(&mut answer).await.unwrap();
    assert!(answer[..n].starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&answer[..n]));
    // Masked (with zeros) ping frames as fast as the socket takes them, never reading a pong: the
    // server's writes back up.
    let mut seq = 0u64;
    let mut pings = |n: usize| -> Vec<u8> {
        let mut out = Vec::new();
        for _ in 0..n {
            seq += 1;
            let ping = json!({"version": "2", "id": "5b7e2f0a-1c3d-4e5f-8a9b-0c1d2e3f4a5f", "type": "ping",
                "seq": seq, "serverseq": 0, "position": "PT0S", "parameters": {}})
            .to_string();
            let len = u16::try_from(ping.len()).unwrap();
            match u8::try_from(len) {
                Ok(short) if short < 126 => out.extend_from_slice(&[0x81, 0x80 | short]),
                _ => out.extend_from_slice(&[0x81, 0x80 | 126, (len >> 8) as u8, len as u8]),
            }
            out.extend_from_slice(&[0, 0, 0, 0]);
            out.extend_from_slice(ping.as_bytes());
        }
        out
    };
    let started = Instant::now();
    let mut pending = Vec::new();
    let closed = loop {
        assert!(started.elapsed() < Duration::from_secs(8), "still open 8 s after the upgrade");
        if pending.is_empty() {
            pending = pings(256);
        }
        // `write`, not `write_all`: a timed-out write sent nothing, so no frame is cut short.
        match tokio::time::timeout(Duration::from_millis(200), s.write(&pending)).await {
            Ok(Ok(0) | Err(_)) => break started.elapsed(),
            Ok(Ok(n)) => drop(pending.drain(..n)),
            Err(_) => {}
        }
    };
    assert!(closed >= DELAY, "{closed:?}");
}

#[tokio::test]
async fn bad_upgrades_are_refused_with_http_errors() {
    let server = start().await;
    let err = connect(&server.addr, "not-a-uuid", SECRET, |_| {}).await.unwrap_err();
    assert!(err.to_string().contains("400"), "{err}");
    let err = connect(&server.addr, "5b7e2f0a-1c3d-4e5f-8a9b-0c1d2e3f4a5c", SECRET, |h| {
        h.retain(|(k, _)| k != "Audiohook-Organization-Id")
    })
    .await
    .unwrap_err();
    assert!(err.to_string().contains("400"), "{err}");
    let mut request = format!("ws://{}/elsewhere", server.addr).into_client_request().unwrap();
    request.headers_mut().insert("x-api-key", API_KEY.parse().unwrap());
    let err = tokio_tungstenite::connect_async(request).await.unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
}

#[tokio::test]
async fn shutdown_stops_accepting_and_lets_sessions_finish() {
    let server = start().await;
    let session = "7c9d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f";
    let (mut c, _) = Client::open(&server.addr, session, CONVERSATION).await;
    server.stop.send(true).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        connect(&server.addr, "7c9d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e30", SECRET, |_| {}).await.is_err(),
        "no new sessions"
    );
    c.send("ping", json!({})).await;
    assert_eq!(c.recv().await["type"], "pong", "the open session still works");
    assert!(!server.task.is_finished());
    c.send("close", json!({"reason": "end"})).await;
    assert_eq!(c.recv().await["type"], "closed");
    tokio::time::timeout(Duration::from_secs(5), server.task).await.expect("serve returns once sessions end").unwrap();
}

#[tokio::test]
async fn plain_http_gets_health_liveness_and_not_found() {
    let server = start().await;
    let (status, body) = http_get(&server.addr, "/healthz").await;
    assert_eq!((status.as_str(), body.as_str()), ("HTTP/1.1 200 OK", r#"{"ok":true}"#), "liveness only");
    let (status, body) = http_get(&server.addr, "/audiohook/ws").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["service"], "genesys_audiohook_listener");
    let (status, body) = http_get(&server.addr, "/elsewhere?x=1").await;
    assert_eq!((status.as_str(), body.as_str()), ("HTTP/1.1 404 Not Found", r#"{"detail":"Not found"}"#));
}

#[tokio::test]
async fn the_health_document_needs_the_supervisor_token() {
    let server = start().await;
    let full = r#"{"host":"0.0.0.0","pid":7,"state":"running"}"#;
    let with = |auth: &str| format!("Authorization: {auth}\r\n");
    let (status, body) = http_get_with(&server.addr, "/healthz", &with(&format!("Bearer {SUPERVISOR_TOKEN}"))).await;
    assert_eq!((status.as_str(), body.as_str()), ("HTTP/1.1 200 OK", full));
    for wrong in ["Bearer not-the-token", "Basic dGVzdA==", "Bearer", SUPERVISOR_TOKEN] {
        let (_, body) = http_get_with(&server.addr, "/healthz", &with(wrong)).await;
        assert_eq!(body, r#"{"ok":true}"#, "{wrong}");
    }
}

#[tokio::test]
async fn connections_beyond_the_cap_get_a_clean_503() {
    let server = start_with(Limits { sessions: 3, handshakes: 2 }).await;
    let upgrade = "GET /audiohook/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n";
    // Two sockets that never send their head fill the handshakes in progress.
    let idle = [TcpStream::connect(&server.addr).await.unwrap(), TcpStream::connect(&server.addr).await.unwrap()];
    tokio::time::sleep(Duration::from_millis(100)).await;
    let busy = http_raw(&server.addr, upgrade).await;
    assert!(busy.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{busy}");
    assert!(busy.contains("\r\nRetry-After: "), "{busy}");
    let body: Value = serde_json::from_str(busy.split_once("\r\n\r\n").unwrap().1).unwrap();
    assert!(body["detail"].is_string(), "{body}");
    drop(idle);
    // Three open sessions fill the connections: the fourth is refused, and admitted again once one ends.
    let mut open = Vec::new();
    for n in 0..3 {
        open.push(Client::open(&server.addr, &format!("6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4{n}"), CONVERSATION).await.0);
    }
    let busy = http_raw(&server.addr, upgrade).await;
    assert!(busy.starts_with("HTTP/1.1 503 "), "{busy}");
    assert_eq!(count(&server.refusals.over_capacity), 2);
    let mut ended = open.pop().unwrap();
    ended.send("close", json!({"reason": "end"})).await;
    assert_eq!(ended.recv().await["type"], "closed");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (mut c, opened) = Client::open(&server.addr, "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4f", CONVERSATION).await;
    assert_eq!(opened["type"], "opened");
    c.send("ping", json!({})).await;
    assert_eq!(c.recv().await["type"], "pong");
}

#[tokio::test]
async fn refusals_are_counted_by_reason() {
    let server = start().await;
    let _ = connect(&server.addr, "not-a-uuid", SECRET, |_| {}).await.unwrap_err();
    let ws = connect(&server.addr, "5b7e2f0a-1c3d-4e5f-8a9b-0c1d2e3f4a5e", b"wrong", |_| {}).await.unwrap();
    let mut c = Client { ws, session: "5b7e2f0a-1c3d-4e5f-8a9b-0c1d2e3f4a5e".into(), seq: 0, server_seq: 0 };
    c.send("open", open_params(CONVERSATION)).await;
    assert_eq!(c.recv().await["parameters"]["reason"], "unauthorized");
    assert_eq!(server.refusals.document(), json!({"over_capacity": 0, "unauthorized": 1, "bad_request": 1}));
}

/// One stereo PCMU frame of `ms` milliseconds.
fn frame(ms: usize) -> Vec<u8> {
    vec![0xffu8; 8 * ms * 2]
}

#[tokio::test]
async fn every_client_message_over_a_real_socket() {
    let server = start().await;
    let session = "2f4c6a8e-1b3d-4f5a-9c7e-0d2b4f6a8c0e";
    let mut c = Client::connect(&server.addr, session).await;
    let mut open = open_params(CONVERSATION);
    open["supportedLanguages"] = json!(true);
    c.send("open", open).await;
    let opened = c.recv().await;
    assert_eq!(opened["parameters"]["supportedLanguages"], json!(["en-US"]));
    c.ws.send(Message::binary(frame(100))).await.unwrap();
    c.send("paused", json!({})).await;
    c.send("resumed", json!({"start": "PT0.1S", "discarded": "PT2S"})).await;
    c.ws.send(Message::binary(frame(100))).await.unwrap();
    c.send("discarded", json!({"start": "PT2.2S", "discarded": "PT1S"})).await;
    c.ws.send(Message::binary(frame(50))).await.unwrap();
    c.send("update", json!({"language": "es-ES"})).await;
    c.send("error", json!({"code": 500, "message": "client trouble"})).await;
    c.send("ping", json!({})).await;
    let pong = c.recv().await;
    assert_eq!((pong["type"].as_str(), pong["clientseq"].as_u64()), (Some("pong"), Some(7)));
    c.send("close", json!({"reason": "reconnect"})).await;
    assert_eq!(c.recv().await["type"], "closed", "close is answered for every reason");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        *server.sink.0.lock().unwrap(),
        [
            format!("opened {session} {CONVERSATION}"),
            "audio 0 2x800".into(),
            "paused".into(),
            "audio 16800 2x800".into(),
            "audio 25600 2x400".into(),
            "ended reconnect".into()
        ],
        "paused and discarded audio leave gaps on the timeline"
    );
}

/// Opens a session (if `open_first`), sends `bad`, and expects `disconnect` with reason `error`, then
/// `closed` for the client's close. Returns the disconnect's info.
async fn violation(open_first: bool, bad: impl AsyncFnOnce(&mut Client)) -> String {
    let server = start().await;
    let session = "6e8f0a2c-4b6d-4e8f-a0b2-c4d6e8f0a2c4";
    let mut c = Client::connect(&server.addr, session).await;
    if open_first {
        c.send("open", open_params(CONVERSATION)).await;
        assert_eq!(c.recv().await["type"], "opened");
    }
    bad(&mut c).await;
    let m = c.recv().await;
    assert_eq!((m["type"].as_str(), m["parameters"]["reason"].as_str()), (Some("disconnect"), Some("error")), "{m}");
    c.send("close", json!({"reason": "disconnect"})).await;
    assert_eq!(c.recv().await["type"], "closed");
    m["parameters"]["info"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn protocol_violations_are_answered_with_disconnect() {
    let info = violation(false, async |c| c.ws.send(Message::binary(frame(20))).await.unwrap()).await;
    assert!(info.contains("outside an active session"), "audio before open: {info}");
    let info = violation(true, async |c| {
        c.seq += 3;
        c.send("ping", json!({})).await
    })
    .await;
    assert!(info.contains("seq"), "skipped seq: {info}");
    let info = violation(true, async |c| {
        c.send_raw(json!({"version": "2", "id": c.session, "type": "ping", "seq": 2, "serverseq": 1})).await
    })
    .await;
    assert!(info.contains("parameters"), "missing parameters: {info}");
    let info = violation(true, async |c| c.send("update", json!({"pad": "x".repeat(70_000)})).await).await;
    assert!(info.contains("too large"), "oversize text: {info}");
    let info = violation(true, async |c| c.ws.send(Message::binary(vec![0xffu8; 1601])).await.unwrap()).await;
    assert!(info.contains("whole samples"), "odd stereo frame: {info}");
    let info = violation(true, async |c| c.send("dance", json!({})).await).await;
    assert!(info.contains("Unexpected message type"), "unknown type: {info}");
}

#[tokio::test]
async fn close_right_after_open_is_answered_in_order() {
    let server = start().await;
    let session = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    let mut c = Client::connect(&server.addr, session).await;
    c.send("open", open_params(CONVERSATION)).await;
    c.send("close", json!({"reason": "end"})).await;
    assert_eq!(c.recv().await["type"], "opened");
    let closed = c.recv().await;
    assert_eq!((closed["type"].as_str(), closed["clientseq"].as_u64()), (Some("closed"), Some(2)));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(*server.sink.0.lock().unwrap(), [format!("opened {session} {CONVERSATION}"), "ended end".into()]);
}

#[tokio::test]
async fn discarded_audio_is_bounded_by_the_time_since_open() {
    // Twenty digits of seconds: before the bound, the timeline jumped to the end of u64 and the next
    // audio frame overflowed it.
    let huge = async |c: &mut Client| {
        c.send("discarded", json!({"start": "PT0S", "discarded": "PT99999999999999999999S"})).await;
        c.ws.send(Message::binary(frame(20))).await.unwrap();
    };
    let info = violation(true, huge).await;
    assert!(info.contains("discarded more"), "huge discarded: {info}");
    // A pause cannot last longer than the session has (plus slack), even in small steps.
    let info = violation(true, async |c| {
        for _ in 0..4 {
            c.send("resumed", json!({"start": "PT0S", "discarded": "PT5S"})).await;
        }
    })
    .await;
    assert!(info.contains("discarded more"), "20 s discarded right after open: {info}");
}
