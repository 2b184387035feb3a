//! Who gets in: the bounds on connections one listener holds (the AudioHook port faces the internet, so
//! without them anyone could hold thousands of sockets and stall a graceful stop), the clean refusal a
//! connection beyond them gets, and the count of every refusal for the heartbeat.

use super::handshake::respond;
use serde_json::{Value, json};
use shared::process::metrics::names::AUDIOHOOK_SESSIONS_REFUSED;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// `GENESYS_AUDIOHOOK_MAX_SESSIONS` default: far above one task's share of calls, far below file limits.
pub const DEFAULT_MAX_SESSIONS: usize = 2_000;
/// `GENESYS_AUDIOHOOK_MAX_HANDSHAKES` default: connections still sending their request head or being
/// checked. Genesys sends its upgrade at once, so a crowd of slow heads is someone holding sockets, not
/// calls arriving; raise it only for bursts of calls larger than this arriving within a second.
pub const DEFAULT_MAX_HANDSHAKES: usize = 100;
/// A busy client is told to come back after this many seconds (Genesys retries a failed connection).
const RETRY_AFTER_SECONDS: u64 = 5;
/// A refusal (answer, then reading what the client still sends so the close is clean) takes at most this.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(2);

/// Bounds on concurrent connections: `sessions` counts every open socket (sessions and handshakes alike),
/// `handshakes` those not yet upgraded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub sessions: usize,
    pub handshakes: usize,
}

impl Limits {
    /// `sessions` connections (at least one), of which at most `handshakes` (at least one, at most
    /// `sessions`) in their handshake.
    pub fn new(sessions: usize, handshakes: usize) -> Self {
        let sessions = sessions.max(1);
        Self { sessions, handshakes: handshakes.clamp(1, sessions) }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_SESSIONS, DEFAULT_MAX_HANDSHAKES)
    }
}

/// Connections refused since start, by reason.
#[derive(Debug, Default)]
pub struct Refusals {
    /// Beyond [`Limits`]: answered 503.
    pub over_capacity: AtomicU64,
    /// Upgraded, then `disconnect: unauthorized` (unknown key, bad signature, replayed nonce).
    pub unauthorized: AtomicU64,
    /// An upgrade answered 400 (missing or malformed `Audiohook-*` ids, not a valid WebSocket upgrade).
    pub bad_request: AtomicU64,
}

/// Why a connection was refused: the heartbeat's field and the metric's `reason` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    OverCapacity,
    Unauthorized,
    BadRequest,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OverCapacity => "over_capacity",
            Self::Unauthorized => "unauthorized",
            Self::BadRequest => "bad_request",
        }
    }
}

impl Refusals {
    pub fn count(&self, why: Refusal) {
        let counter = match why {
            Refusal::OverCapacity => &self.over_capacity,
            Refusal::Unauthorized => &self.unauthorized,
            Refusal::BadRequest => &self.bad_request,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(AUDIOHOOK_SESSIONS_REFUSED, "reason" => why.as_str()).increment(1);
    }

    /// The counts for the heartbeat document.
    pub fn document(&self) -> Value {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        json!({
            "over_capacity": n(&self.over_capacity),
            "unauthorized": n(&self.unauthorized),
            "bad_request": n(&self.bad_request),
        })
    }
}

/// Answers a connection beyond the limits with `503` and `Retry-After`, then closes it: the client learns
/// at once that it should retry, instead of waiting on a socket nobody reads.
pub async fn refuse_busy(mut stream: TcpStream) {
    let refused = async {
        let body = json!({"detail": "AudioHook listener at capacity; retry later"});
        let retry = RETRY_AFTER_SECONDS.to_string();
        respond(&mut stream, 503, "Service Unavailable", &[("Retry-After", &retry)], &body).await?;
        // Closing with the request still unread would reset the connection and could lose the answer.
        let mut sink = [0u8; 1024];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<(), std::io::Error>(())
    };
    if let Ok(Err(e)) = tokio::time::timeout(REFUSAL_TIMEOUT, refused).await {
        tracing::debug!(error = %e, "audiohook: refusal not delivered");
    }
}
