//! The AudioHook server under test: started on a loopback port over a recording sink, and a client that
//! signs its upgrade as Genesys does and checks the server's numbering.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::{SinkExt, StreamExt};
use listener::audiohook::admission::{Limits, Refusals};
use listener::audiohook::media::Frames;
use listener::audiohook::nonces::NonceCache;
use listener::audiohook::server::{Config, SessionHandle, SessionSink, serve};
use listener::audiohook::session::{NULL_UUID, Opened, Settings};
use listener::audiohook::signature::{Credentials, Request as SignedRequest, sign};
use listener::audiohook::upgrade::Ids;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const API_KEY: &str = "test-api-key";
pub const SECRET: &[u8] = b"a test client secret of 32 bytes";
pub const ORG: &str = "d7934305-0972-4844-938e-9060eef73d05";
pub const CONVERSATION: &str = "090eaa2f-72fa-480a-83e0-8667ff89c0ec";
pub const DELAY: Duration = Duration::from_millis(300);
pub const SUPERVISOR_TOKEN: &str = "test-supervisor-token";

/// A sink that writes down what it is told, in order.
#[derive(Default)]
pub struct Recorder(pub Arc<Mutex<Vec<String>>>);

struct RecorderHandle(Arc<Mutex<Vec<String>>>);

impl SessionSink for Recorder {
    fn opened(&self, ids: &Ids, o: &Opened) -> Box<dyn SessionHandle> {
        self.0.lock().unwrap().push(format!("opened {} {}", ids.session_id, o.conversation_id));
        Box::new(RecorderHandle(self.0.clone()))
    }
}

impl SessionHandle for RecorderHandle {
    fn audio(&mut self, offset: u64, frames: Frames) {
        self.0.lock().unwrap().push(format!("audio {offset} {}x{}", frames.channels, frames.len()));
    }
    fn paused(&mut self) {
        self.0.lock().unwrap().push("paused".into());
    }
    fn ended(self: Box<Self>, reason: &str) {
        self.0.lock().unwrap().push(format!("ended {reason}"));
    }
}

pub struct Server {
    pub addr: String,
    pub sink: Arc<Recorder>,
    pub refusals: Arc<Refusals>,
    pub stop: tokio::sync::watch::Sender<bool>,
    pub task: tokio::task::JoinHandle<()>,
}

pub async fn start() -> Server {
    start_with(Limits::default()).await
}

pub async fn start_with(limits: Limits) -> Server {
    let mut credentials = Credentials::default();
    credentials.insert(API_KEY, &STANDARD.encode(SECRET)).unwrap();
    let cfg = Config {
        path: "/audiohook/ws".into(),
        credentials,
        nonces: Arc::new(NonceCache::default()),
        session: Settings { supported_languages: vec!["en-US".into()], ..Settings::default() },
        connector: None,
        auth_failure_delay: DELAY,
        health: Arc::new(|| (true, json!({"state": "running", "host": "0.0.0.0", "pid": 7}))),
        health_token: Some(SUPERVISOR_TOKEN.into()),
        limits,
        refusals: Arc::default(),
    };
    let refusals = cfg.refusals.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let sink = Arc::new(Recorder::default());
    let (stop, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(serve(listener, Arc::new(cfg), sink.clone(), rx));
    Server { addr, sink, refusals, stop, task }
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Connects as Genesys would, signing with `secret`; `tweak` may alter the headers before sending.
pub async fn connect(
    addr: &str,
    session: &str,
    secret: &[u8],
    tweak: impl FnOnce(&mut Vec<(String, String)>),
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    connect_to(addr, "/audiohook/ws", session, secret, tweak).await
}

/// As [`connect`], to the AudioHook path `path`.
pub async fn connect_to(
    addr: &str,
    path: &str,
    session: &str,
    secret: &[u8],
    tweak: impl FnOnce(&mut Vec<(String, String)>),
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let mut headers: Vec<(String, String)> = [
        ("Audiohook-Organization-Id", ORG),
        ("Audiohook-Session-Id", session),
        ("Audiohook-Correlation-Id", "e160e428-53e2-487c-977d-96989bf5c99d"),
        ("X-API-KEY", API_KEY),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let created = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let nonce = format!("nonce-{session}");
    let req = SignedRequest { target: path, authority: addr, headers: &headers };
    let (input, signature) = sign(&req, API_KEY, secret, created, &nonce).unwrap();
    headers.push(("Signature-Input".into(), input));
    headers.push(("Signature".into(), signature));
    tweak(&mut headers);
    let mut request = format!("ws://{addr}{path}").into_client_request().unwrap();
    for (k, v) in headers {
        request.headers_mut().insert(
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    tokio_tungstenite::connect_async(request).await.map(|(ws, _)| ws)
}

pub struct Client {
    pub ws: Ws,
    pub session: String,
    pub seq: u64,
    pub server_seq: u64,
}

impl Client {
    /// A correctly signed connection.
    pub async fn connect(addr: &str, session: &str) -> Self {
        let ws = connect(addr, session, SECRET, |_| {}).await.unwrap();
        Client { ws, session: session.into(), seq: 0, server_seq: 0 }
    }

    /// A signed connection that has sent `open` for `conversation` and read the reply.
    pub async fn open(addr: &str, session: &str, conversation: &str) -> (Self, Value) {
        let mut c = Self::connect(addr, session).await;
        c.send("open", open_params(conversation)).await;
        let reply = c.recv().await;
        (c, reply)
    }

    pub async fn send(&mut self, kind: &str, parameters: Value) {
        self.seq += 1;
        let m = json!({"version": "2", "id": self.session, "type": kind, "seq": self.seq, "serverseq": self.server_seq,
            "position": "PT0S", "parameters": parameters});
        self.ws.send(Message::text(m.to_string())).await.unwrap();
    }

    /// Sends any JSON as a text frame, counting it as the next `seq`.
    pub async fn send_raw(&mut self, m: Value) {
        self.seq += 1;
        self.ws.send(Message::text(m.to_string())).await.unwrap();
    }

    pub async fn recv(&mut self) -> Value {
        self.recv_within(Duration::from_secs(5)).await
    }

    /// The next server message, which must come within `limit`.
    pub async fn recv_within(&mut self, limit: Duration) -> Value {
        loop {
            match tokio::time::timeout(limit, self.ws.next()).await.expect("a reply").unwrap().unwrap() {
                Message::Text(t) => {
                    let m: Value = serde_json::from_str(t.as_str()).unwrap();
                    assert_eq!(m["seq"].as_u64(), Some(self.server_seq + 1), "{m}");
                    self.server_seq += 1;
                    return m;
                }
                Message::Binary(_) => panic!("the server must never send binary"),
                _ => {}
            }
        }
    }
}

pub fn open_params(conversation: &str) -> Value {
    json!({"organizationId": ORG, "conversationId": conversation,
        "participant": {"id": if conversation == NULL_UUID { NULL_UUID } else { "3b8f7c4d-5e6f-4a1b-9c2d-0e1f2a3b4c5d" },
                        "ani": "", "aniName": "", "dnis": ""},
        "media": [{"type": "audio", "format": "PCMU", "channels": ["external", "internal"], "rate": 8000}]})
}

/// A plain HTTP request on loopback, with `headers` (each ending in CRLF); returns the status line and the body.
pub async fn http_get_with(addr: &str, target: &str, headers: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\n{headers}\r\n").as_bytes()).await.unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).await.unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_string(), body.to_string())
}

pub async fn http_get(addr: &str, target: &str) -> (String, String) {
    http_get_with(addr, target, "").await
}

/// Sends a request head on a fresh socket and reads the whole answer (the server must close it).
pub async fn http_raw(addr: &str, head: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    let mut text = String::new();
    tokio::time::timeout(Duration::from_secs(3), s.read_to_string(&mut text))
        .await
        .expect("answered and closed, not left hanging")
        .unwrap();
    text
}

pub fn count(c: &std::sync::atomic::AtomicU64) -> u64 {
    c.load(std::sync::atomic::Ordering::Relaxed)
}
