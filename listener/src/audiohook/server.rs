//! The AudioHook WebSocket server: accepts upgrades on one path, checks them (`upgrade`), runs one `Session`
//! per connection and hands what happens to a `SessionSink`. The reader never waits on the sink: sinks
//! queue work and return at once. On shutdown it stops accepting and lets open sessions finish.

use super::admission::{Limits, Refusal, Refusals, refuse_busy};
use super::handshake::{HEAD_TIMEOUT, HeadError, accept, read_head, respond, respond_with};
use super::media::Frames;
use super::plain_http;
pub use super::replies::Reply;
use super::replies::{answer, next_reply};
use super::session::{Opened, Output, Session, Settings, State};
use super::signature::{Credentials, Request as SignedRequest};
use super::upgrade::{self, Ids};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use shared::ports::Nonces;
use shared::settings::secret::Secret;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

/// Largest WebSocket message read at all: twice the protocol's 64 KiB text limit, so an oversize text
/// message still reaches the session and is answered with `disconnect` instead of a dropped socket.
const MAX_MESSAGE_BYTES: usize = 128 * 1024;
/// Socket read size. tungstenite zero-fills this much before every read and keeps it per connection, so
/// its 128 KiB default cost more CPU and memory than anything else here; an audio frame is about 1.6 KiB
/// (stereo PCMU, 100 ms), so two fit.
const READ_BUFFER_BYTES: usize = 4 * 1024;
pub use super::plain_http::{HEALTH_PATH, METRICS_PATH};
/// A session that sends nothing for this long is dropped (Genesys pings every 5 s).
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the last transcripts of a closing Transcription Connector session may take before `closed` is
/// sent anyway: well inside the client's 10 s close timeout.
const CLOSE_FLUSH: Duration = Duration::from_secs(8);
/// After our `disconnect` the client may answer `close` (and is then told `closed`); past this the server
/// closes the socket itself, so a refused or misbehaving client cannot keep it open with pings. A closing
/// handshake the client does not take within it is abandoned too.
const DISCONNECT_GRACE: Duration = Duration::from_secs(2);

/// Where sessions go, for recording, forwarding and transcription. Implementations must not block:
/// queue the work and return.
pub trait SessionSink: Send + Sync {
    /// A session opened (never called for the connection probe); the handle receives what follows.
    fn opened(&self, ids: &Ids, opened: &Opened) -> Box<dyn SessionHandle>;
}

/// One opened session's audio and end.
pub trait SessionHandle: Send {
    /// Audio (channels in the selected media's order) at `offset_samples` on the session timeline.
    fn audio(&mut self, offset_samples: u64, frames: Frames);
    /// The client paused the stream (a hold, a secure pause): no audio comes until it resumes, and the
    /// time until then is not dead air.
    fn paused(&mut self);
    /// The session ended: `reason` is the client's close reason, or `dropped` when the socket went away.
    fn ended(self: Box<Self>, reason: &str);
    /// What the session's worker sends back on its own (a Transcription Connector's transcripts); taken
    /// once, after `opened`. `None` for a Monitor session, which never speaks first.
    fn replies(&mut self) -> Option<mpsc::UnboundedReceiver<Reply>> {
        None
    }
    /// The conversation's language changed (`update`).
    fn language(&mut self, _language: &str) {}
    /// A Transcription Connector's client sent `close`: send the last transcripts, then [`Reply::Flushed`].
    fn closing(&mut self) {}
}

/// The Transcription Connector's path, beside the Monitor one: same credentials and limits, its own
/// session settings (the languages the engine supports, replies to the client).
#[derive(Clone)]
pub struct ConnectorRoute {
    pub path: String,
    pub session: Settings,
}

/// Server settings.
#[derive(Clone)]
pub struct Config {
    /// Upgrade path, e.g. `/audiohook/ws`.
    pub path: String,
    pub credentials: Credentials,
    /// Where verified signatures' nonces are spent: shared by every task on AWS, so a replay to another
    /// task is refused too.
    pub nonces: Arc<dyn Nonces>,
    pub session: Settings,
    /// `None` when the listener does not transcribe.
    pub connector: Option<ConnectorRoute>,
    /// Failed authentication is answered this long after the upgrade arrived (the reference uses 500 ms).
    pub auth_failure_delay: Duration,
    pub health: HealthReport,
    /// `Authorization: Bearer` with this token gets the whole status document on `/healthz`; without one
    /// configured the document stays internal (the heartbeat).
    pub health_token: Option<Secret>,
    pub limits: Limits,
    /// Counted here, reported by the owner (the listener's heartbeat).
    pub refusals: Arc<Refusals>,
}

/// Reports the listener's health for `GET /healthz`: healthy (200, else 503) and a status document.
pub type HealthReport = Arc<dyn Fn() -> (bool, Value) + Send + Sync>;

/// Serves until `shutdown` turns true, then waits for open sessions to end. Connections beyond
/// `cfg.limits` are answered 503 at once and never reach the handshake.
pub async fn serve(
    listener: TcpListener,
    cfg: Arc<Config>,
    sink: Arc<dyn SessionSink>,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(cfg.limits.sessions));
    let handshakes = Arc::new(Semaphore::new(cfg.limits.handshakes));
    let mut sessions = tokio::task::JoinSet::new();
    let mut refusing = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let admitted = slots.clone().try_acquire_owned().and_then(|slot| {
                        handshakes.clone().try_acquire_owned().map(|handshake| (slot, handshake))
                    });
                    let Ok((slot, handshake)) = admitted else {
                        cfg.refusals.count(Refusal::OverCapacity);
                        // Debug, not warn: a flood must not flood the logs too; the heartbeat counts them.
                        tracing::debug!(%peer, open = sessions.len(), "audiohook: at capacity, connection refused");
                        // Refusals are bounded too: past as many as the sessions, the socket is just dropped.
                        if refusing.len() < cfg.limits.sessions {
                            refusing.spawn(refuse_busy(stream));
                        }
                        continue;
                    };
                    let (cfg, sink) = (cfg.clone(), sink.clone());
                    sessions.spawn(async move {
                        if let Err(e) = connection(stream, &cfg, sink.as_ref(), handshake).await {
                            tracing::info!(%peer, error = %e, "audiohook connection ended with an error");
                        }
                        drop(slot);
                    });
                }
                Err(e) => tracing::warn!(error = %e, "audiohook accept failed"),
            },
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            Some(_) = refusing.join_next(), if !refusing.is_empty() => {}
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
    }
    drop(listener); // new connections are refused from here on, not left waiting in the backlog
    tracing::info!(open = sessions.len(), "audiohook: not accepting; letting open sessions finish");
    while sessions.join_next().await.is_some() {}
    while refusing.join_next().await.is_some() {}
}

#[derive(Debug, thiserror::Error)]
enum ConnectionError {
    #[error(transparent)]
    Head(#[from] HeadError),
    #[error("request head not received in time")]
    HeadTimeout,
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
}

/// The session settings of the AudioHook path `path`, if it is one.
pub(super) fn session_settings<'a>(cfg: &'a Config, path: &str) -> Option<&'a Settings> {
    let connector = cfg.connector.as_ref().filter(|c| c.path == path).map(|c| &c.session);
    connector.or((path == cfg.path).then_some(&cfg.session))
}

/// One connection: the handshake (holding `handshake_slot`, one of the few places for connections not yet
/// upgraded), then the session until either side closes it.
async fn connection(
    stream: TcpStream,
    cfg: &Config,
    sink: &dyn SessionSink,
    handshake_slot: OwnedSemaphorePermit,
) -> Result<(), ConnectionError> {
    let arrived = Instant::now();
    let shaken = handshake(stream, cfg).await;
    drop(handshake_slot);
    let Some((up, mut ws, settings)) = shaken? else { return Ok(()) };
    let ids = up.ids;
    let mut session = Session::new(&ids.session_id, &ids.organization_id, settings);
    if let Some(why) = up.denied {
        cfg.refusals.count(Refusal::Unauthorized);
        tracing::info!(session = %ids.session_id, correlation = %ids.correlation_id, reason = %why, "audiohook: unauthorized");
        // Refusals answer no sooner than a fixed delay after arrival, so their timing tells an attacker nothing.
        tokio::time::sleep_until(arrived + cfg.auth_failure_delay).await;
        for out in session.disconnect("unauthorized", "Authentication failed") {
            if let Output::Send(text) = out {
                ws.send(Message::text(text)).await?;
            }
        }
    }
    let mut handle: Option<Box<dyn SessionHandle>> = None;
    let ended = read_session(&mut ws, &mut session, sink, &ids, &mut handle).await;
    match ended {
        Ok(Ended::Closed) => {
            let _ = tokio::time::timeout(DISCONNECT_GRACE, ws.close(None)).await;
        }
        Ok(Ended::Dropped) => {
            if let Some(h) = handle {
                h.ended("dropped");
            }
            let _ = tokio::time::timeout(DISCONNECT_GRACE, ws.send(Message::Close(None))).await;
        }
        Err(_) => {
            if let Some(h) = handle {
                h.ended("dropped");
            }
        }
    }
    ended.map(|_| ())
}

/// Reads the HTTP head and answers it: a plain request (health, liveness, a wrong path, a refused upgrade)
/// gets its HTTP answer and `None`; an upgrade whose headers check out becomes a WebSocket, its signature's
/// verdict in [`upgrade::Upgrade::denied`].
async fn handshake(
    mut stream: TcpStream,
    cfg: &Config,
) -> Result<Option<(upgrade::Upgrade, WebSocketStream<TcpStream>, Settings)>, ConnectionError> {
    let head = tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream))
        .await
        .map_err(|_| ConnectionError::HeadTimeout)??;
    if let Some(a) = plain_http::answer(&head, cfg) {
        respond_with(&mut stream, a.status, a.reason, a.headers, a.content_type, &a.body).await?;
        return Ok(None);
    }
    let authority = head.header("host").unwrap_or_default();
    let signed = SignedRequest { target: &head.target, authority, headers: &head.headers };
    let now = unix_now();
    let checked = upgrade::check(&signed, &cfg.credentials, now);
    let (mut up, response) = match checked.map_err(|e| e.to_string()).and_then(|up| Ok((up, accept(&head)?))) {
        Ok(ok) => ok,
        Err(detail) => {
            cfg.refusals.count(Refusal::BadRequest);
            respond(&mut stream, 400, "Bad Request", &[], &json!({"detail": detail})).await?;
            return Ok(None);
        }
    };
    if let Some(claim) = up.nonce.take() {
        up.denied = super::nonces::spend(cfg.nonces.as_ref(), &claim, now).await.err();
    }
    stream.write_all(response.as_bytes()).await?;
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES))
        .read_buffer_size(READ_BUFFER_BYTES);
    let settings = session_settings(cfg, head.path()).cloned().unwrap_or_default();
    let ws = WebSocketStream::from_partially_read(stream, head.rest, Role::Server, Some(ws_config)).await;
    Ok(Some((up, ws, settings)))
}

/// How a session's read loop ended.
enum Ended {
    /// The protocol closed it (`close` answered with `closed`): the handle has been told.
    Closed,
    /// The client went away, stayed idle past `IDLE_TIMEOUT`, sent a WebSocket close, or did not answer our
    /// `disconnect` with `close` within `DISCONNECT_GRACE`.
    Dropped,
}

/// The read loop: each message through the protocol state machine, its outputs to the client or the
/// session's handle (opened on `open`, fed audio, told of pauses and the end), and whatever the handle's
/// worker sends back (a Transcription Connector's events, pauses, the end of its last transcripts).
async fn read_session(
    ws: &mut WebSocketStream<TcpStream>,
    session: &mut Session,
    sink: &dyn SessionSink,
    ids: &Ids,
    handle: &mut Option<Box<dyn SessionHandle>>,
) -> Result<Ended, ConnectionError> {
    let (mut disconnected_at, mut closing_at) = (None, None);
    let mut replies = None;
    loop {
        let deadline = match session.state() {
            State::Disconnecting => *disconnected_at.get_or_insert_with(Instant::now) + DISCONNECT_GRACE,
            State::Closing => *closing_at.get_or_insert_with(Instant::now) + CLOSE_FLUSH,
            _ => Instant::now() + IDLE_TIMEOUT,
        };
        let outputs = tokio::select! {
            incoming = tokio::time::timeout_at(deadline, ws.next()) => match incoming {
                Ok(Some(m)) => match m? {
                    Message::Text(t) => session.on_text(t.as_str()),
                    Message::Binary(b) => session.on_binary(&b),
                    Message::Close(_) => return Ok(Ended::Dropped),
                    _ => Vec::new(),
                },
                // The last transcripts took too long: the client still gets its `closed` in time.
                Err(_) if session.state() == State::Closing => session.closed(),
                Ok(None) | Err(_) => return Ok(Ended::Dropped),
            },
            reply = next_reply(&mut replies) => answer(session, reply),
        };
        let mut outputs = std::collections::VecDeque::from(outputs);
        while let Some(out) = outputs.pop_front() {
            match out {
                // A client that stops reading must not hold the session past the deadline either.
                Output::Send(text) => match tokio::time::timeout_at(deadline, ws.send(Message::text(text))).await {
                    Ok(sent) => sent?,
                    Err(_) => return Ok(Ended::Dropped),
                },
                Output::Opened(o) if !o.probe => {
                    let mut h = sink.opened(ids, &o);
                    replies = h.replies();
                    *handle = Some(h);
                }
                Output::Audio { offset_samples, frames } => tell(handle, |h| h.audio(offset_samples, frames)),
                Output::Paused => tell(handle, |h| h.paused()),
                Output::Language(language) => tell(handle, |h| h.language(&language)),
                // Without a worker to reply (the probe), nothing is due before `closed`.
                Output::Closing => match handle.as_mut() {
                    Some(h) if replies.is_some() => h.closing(),
                    _ => outputs.extend(session.closed()),
                },
                Output::Closed { reason } => {
                    if let Some(h) = handle.take() {
                        h.ended(&reason);
                    }
                    return Ok(Ended::Closed);
                }
                other => tracing::debug!(session = %ids.session_id, event = ?other, "audiohook session event"),
            }
        }
    }
}

/// Tells the session's handle, if it has one.
fn tell(handle: &mut Option<Box<dyn SessionHandle>>, what: impl FnOnce(&mut dyn SessionHandle)) {
    if let Some(h) = handle.as_mut() {
        what(h.as_mut());
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}
