//! A Genesys-like AudioHook client, for users to test a deployment and for our tests and benchmark:
//! signs the upgrade, opens with a stereo (or mono) PCMU offer, streams a WAV file at real-time pace (or
//! faster), puts the call on hold where asked (`paused`, then `resumed` with the held time `discarded`, as
//! Genesys does), pings every 5 s, closes, and checks every server message on the way (`seq`, `clientseq`,
//! no binary, `opened` echoing the offer).

use crate::audiohook::session::NULL_UUID;
use crate::audiohook::signature::{Request as SignedRequest, sign};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use shared::audio::g711::linear_to_ulaw;
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// Genesys pings about every 5 s.
const PING_EVERY: Duration = Duration::from_secs(5);
/// How long any single server answer may take.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Error)]
pub enum SimError {
    #[error("cannot read {0}: {1}")]
    Wav(String, String),
    #[error("the WAV must be 16-bit PCM at 8000 Hz with 1 or 2 channels (got {0})")]
    WavFormat(String),
    #[error("invalid client secret: not base64")]
    Secret,
    #[error("a hold is AT:SECONDS, both seconds and not negative (got {0:?})")]
    Hold(String),
}

/// Audio to stream, per channel (channel 0 external/customer, 1 internal/agent).
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    pub channels: Vec<Vec<i16>>,
}

impl Audio {
    pub fn from_wav(path: &std::path::Path) -> Result<Self, SimError> {
        let shown = path.display().to_string();
        let mut reader = hound::WavReader::open(path).map_err(|e| SimError::Wav(shown.clone(), e.to_string()))?;
        let spec = reader.spec();
        if spec.sample_rate != 8000
            || spec.bits_per_sample != 16
            || spec.sample_format != hound::SampleFormat::Int
            || !(1..=2).contains(&spec.channels)
        {
            return Err(SimError::WavFormat(format!(
                "{} Hz, {} bit, {} channels",
                spec.sample_rate, spec.bits_per_sample, spec.channels
            )));
        }
        let n = usize::from(spec.channels);
        let mut channels = vec![Vec::new(); n];
        for (i, s) in reader.samples::<i16>().enumerate() {
            channels[i % n].push(s.map_err(|e| SimError::Wav(shown.clone(), e.to_string()))?);
        }
        Ok(Self { channels })
    }

    fn frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }

    /// `frames` samples from `start`, interleaved and μ-law encoded, as Genesys sends them.
    fn pcmu(&self, start: usize, frames: usize) -> Vec<u8> {
        let end = (start + frames).min(self.frames());
        (start..end).flat_map(|f| self.channels.iter().map(move |c| linear_to_ulaw(c[f]))).collect()
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    /// `ws://` or `wss://` URI of the AudioHook endpoint.
    pub uri: String,
    pub api_key: String,
    /// Base64, as configured in the Genesys integration.
    pub client_secret: String,
    pub organization_id: String,
    /// 1.0 streams at real-time pace; 0 as fast as the socket takes it.
    pub speed: f64,
    /// Audio per binary frame, in milliseconds.
    pub frame_ms: u32,
    /// Send Genesys' connection probe (null conversation id, no audio) instead of a call.
    pub probe: bool,
    /// Holds to put the call on, in order of `at_ms`.
    pub holds: Vec<Hold>,
}

/// The call on hold: the stream pauses after `at_ms` of audio and resumes `ms` later; the held time is
/// reported as `discarded`, so it moves the timeline but carries no audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hold {
    pub at_ms: u64,
    pub ms: u64,
}

impl std::str::FromStr for Hold {
    type Err = SimError;

    /// `AT:SECONDS`, e.g. `15:60` holds for a minute after 15 s of audio.
    fn from_str(text: &str) -> Result<Self, SimError> {
        let ms =
            |v: &str| v.trim().parse::<f64>().ok().filter(|x| x.is_finite() && *x >= 0.0).map(|x| (x * 1000.0) as u64);
        let (at, length) = text.split_once(':').ok_or_else(|| SimError::Hold(text.into()))?;
        match (ms(at), ms(length)) {
            (Some(at_ms), Some(ms)) => Ok(Self { at_ms, ms }),
            _ => Err(SimError::Hold(text.into())),
        }
    }
}

/// The organization id sent when none is given (a fixed example UUID).
pub const EXAMPLE_ORGANIZATION_ID: &str = "d7934305-0972-4844-938e-9060eef73d05";

impl Options {
    /// Real-time pace, 100 ms frames, a call (not a probe), the example organization.
    pub fn new(uri: &str, api_key: &str, client_secret: &str) -> Self {
        Self {
            uri: uri.into(),
            api_key: api_key.into(),
            client_secret: client_secret.into(),
            organization_id: EXAMPLE_ORGANIZATION_ID.into(),
            speed: 1.0,
            frame_ms: 100,
            probe: false,
            holds: Vec::new(),
        }
    }
}

/// How one simulated session went.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionResult {
    pub session_id: String,
    pub conversation_id: String,
    /// From sending `open` to reading `opened`.
    pub opened_after: Option<Duration>,
    pub frames_sent: u64,
    /// Longest delay of a frame behind its real-time schedule (when pacing): how well this client kept up.
    pub max_lag: Duration,
    /// From sending each `ping` to reading its `pong`: how long the server takes to answer mid-call.
    pub ping_rtts: Vec<Duration>,
    pub outcome: Result<(), String>,
}

/// A random (version 4) UUID.
pub(crate) fn uuid() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the OS random source works");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Conversation {
    ws: Ws,
    session_id: String,
    seq: u64,
    server_seq: u64,
    ping_rtts: Vec<Duration>,
}

impl Conversation {
    async fn send(&mut self, kind: &str, position_ms: u64, parameters: Value) -> Result<(), String> {
        self.seq += 1;
        let m = json!({"version": "2", "id": self.session_id, "type": kind, "seq": self.seq,
            "serverseq": self.server_seq, "position": format!("PT{:.3}S", position_ms as f64 / 1000.0),
            "parameters": parameters});
        self.ws.send(Message::text(m.to_string())).await.map_err(|e| format!("send {kind}: {e}"))
    }

    /// Reads the next server message and checks its sequence numbers.
    async fn recv(&mut self) -> Result<Value, String> {
        loop {
            let frame = tokio::time::timeout(REPLY_TIMEOUT, self.ws.next())
                .await
                .map_err(|_| "no answer from the server in time".to_string())?
                .ok_or("the server closed the connection")?
                .map_err(|e| format!("socket: {e}"))?;
            let text = match frame {
                Message::Text(t) => t,
                Message::Binary(_) => return Err("the server sent a binary frame".into()),
                Message::Close(c) => return Err(format!("the server closed the connection ({c:?})")),
                _ => continue,
            };
            let m: Value = serde_json::from_str(text.as_str()).map_err(|e| format!("bad JSON from server: {e}"))?;
            if m["seq"].as_u64() != Some(self.server_seq + 1) || m["clientseq"].as_u64() > Some(self.seq) {
                return Err(format!("sequence error in {m}"));
            }
            self.server_seq += 1;
            return Ok(m);
        }
    }

    /// Puts the call on hold at `position_ms` for `hold.ms` (divided by `speed`; not at all when 0), pinging
    /// meanwhile as Genesys does.
    async fn hold(&mut self, position_ms: u64, hold: Hold, speed: f64) -> Result<(), String> {
        self.send("paused", position_ms, json!({})).await?;
        if speed > 0.0 {
            let until = Instant::now() + Duration::from_millis(hold.ms).div_f64(speed);
            while let Some(left) = until.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) {
                tokio::time::sleep(left.min(PING_EVERY)).await;
                self.ping(position_ms).await?;
            }
        }
        let seconds = |ms: u64| format!("PT{:.3}S", ms as f64 / 1000.0);
        let resumed = json!({"start": seconds(position_ms), "discarded": seconds(hold.ms)});
        self.send("resumed", position_ms + hold.ms, resumed).await
    }

    /// Pings and waits for the `pong`, keeping the round trip.
    async fn ping(&mut self, position_ms: u64) -> Result<(), String> {
        let sent = Instant::now();
        self.send("ping", position_ms, json!({})).await?;
        self.expect("pong").await?;
        self.ping_rtts.push(sent.elapsed());
        Ok(())
    }

    /// Reads until a message of `kind`; a `disconnect` instead is an error carrying its reason.
    async fn expect(&mut self, kind: &str) -> Result<Value, String> {
        loop {
            let m = self.recv().await?;
            match m["type"].as_str() {
                Some(t) if t == kind => return Ok(m),
                Some("disconnect") => {
                    let reason = m["parameters"]["reason"].as_str().unwrap_or("?").to_string();
                    // Answer as Genesys does, then report.
                    let _ = self.send("close", 0, json!({"reason": "disconnect"})).await;
                    return Err(format!("server disconnected: {reason}"));
                }
                _ => {}
            }
        }
    }
}

async fn connect(opts: &Options, session_id: &str) -> Result<Ws, String> {
    let mut request = opts.uri.as_str().into_client_request().map_err(|e| format!("invalid URI: {e}"))?;
    let authority = request.uri().authority().map(|a| a.as_str().to_string()).unwrap_or_default();
    let target = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_string();
    let mut headers: Vec<(String, String)> = vec![
        ("Audiohook-Organization-Id".into(), opts.organization_id.clone()),
        ("Audiohook-Session-Id".into(), session_id.into()),
        ("Audiohook-Correlation-Id".into(), uuid()),
        ("X-API-KEY".into(), opts.api_key.clone()),
        ("User-Agent".into(), "GenesysCloud-AudioHook-Client (call-analytics simulator)".into()),
    ];
    let secret = STANDARD.decode(opts.client_secret.trim()).map_err(|_| SimError::Secret.to_string())?;
    if !secret.is_empty() {
        let created = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let nonce = STANDARD.encode(uuid());
        let req = SignedRequest { target: &target, authority: &authority, headers: &headers };
        let (input, signature) =
            sign(&req, &opts.api_key, &secret, created as i64, &nonce).map_err(|e| format!("signing: {e}"))?;
        headers.push(("Signature-Input".into(), input));
        headers.push(("Signature".into(), signature));
    }
    for (k, v) in headers {
        let value = HeaderValue::from_str(&v).map_err(|_| format!("header {k} has an invalid value"))?;
        request.headers_mut().insert(
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(k.as_bytes()).map_err(|e| e.to_string())?,
            value,
        );
    }
    let (ws, _) = tokio_tungstenite::connect_async(request).await.map_err(|e| format!("upgrade failed: {e}"))?;
    Ok(ws)
}

/// Runs one session to the end.
pub async fn session(opts: &Options, audio: &Audio) -> SessionResult {
    let session_id = uuid();
    let conversation_id = if opts.probe { NULL_UUID.to_string() } else { uuid() };
    let mut result = SessionResult {
        session_id: session_id.clone(),
        conversation_id: conversation_id.clone(),
        opened_after: None,
        frames_sent: 0,
        max_lag: Duration::ZERO,
        ping_rtts: Vec::new(),
        outcome: Ok(()),
    };
    result.outcome = async {
        let ws = connect(opts, &session_id).await?;
        let mut c = Conversation { ws, session_id: session_id.clone(), seq: 0, server_seq: 0, ping_rtts: Vec::new() };
        let labels: &[&str] = if audio.channels.len() == 2 { &["external", "internal"] } else { &["external"] };
        let offer = json!({"type": "audio", "format": "PCMU", "channels": labels, "rate": 8000});
        let participant = if opts.probe { NULL_UUID.to_string() } else { uuid() };
        let asked = Instant::now();
        c.send("open", 0, json!({"organizationId": opts.organization_id, "conversationId": conversation_id,
            "participant": {"id": participant, "ani": "+13175550100", "aniName": "Simulated Customer", "dnis": "+13175550199"},
            "media": [offer], "language": "en-US"})).await?;
        let opened = c.expect("opened").await?;
        result.opened_after = Some(asked.elapsed());
        if opened["parameters"]["media"].as_array().map(Vec::len) != Some(1) || opened["parameters"]["media"][0] != offer {
            return Err(format!("opened did not echo the offered media: {}", opened["parameters"]));
        }
        let mut position_ms = 0u64;
        if !opts.probe {
            let frame = (8 * opts.frame_ms.max(1)) as usize;
            let started = Instant::now();
            let mut last_ping = Instant::now();
            let mut start = 0;
            let mut held_ms = 0;
            let mut holds = opts.holds.iter().peekable();
            while start < audio.frames() {
                if let Some(hold) = holds.next_if(|h| h.at_ms <= start as u64 / 8) {
                    c.hold(position_ms, *hold, opts.speed).await?;
                    held_ms += hold.ms;
                }
                if opts.speed > 0.0 {
                    let due = started + Duration::from_millis(start as u64 / 8 + held_ms).div_f64(opts.speed);
                    result.max_lag = result.max_lag.max(Instant::now().saturating_duration_since(due));
                }
                c.ws.send(Message::binary(audio.pcmu(start, frame))).await.map_err(|e| format!("send audio: {e}"))?;
                result.frames_sent += 1;
                start += frame;
                position_ms = start as u64 / 8 + held_ms;
                if last_ping.elapsed() >= PING_EVERY {
                    last_ping = Instant::now();
                    c.ping(position_ms).await?;
                }
                if opts.speed > 0.0 {
                    let due = Duration::from_millis(position_ms).div_f64(opts.speed);
                    tokio::time::sleep_until((started + due).into()).await;
                }
            }
        }
        result.ping_rtts = std::mem::take(&mut c.ping_rtts);
        c.send("close", position_ms, json!({"reason": "end"})).await?;
        c.expect("closed").await?;
        let _ = c.ws.close(None).await;
        Ok(())
    }
    .await;
    result
}

/// Runs `count` sessions at once (starting `stagger` apart) and returns their results in start order.
pub async fn sessions(opts: Arc<Options>, audio: Arc<Audio>, count: usize, stagger: Duration) -> Vec<SessionResult> {
    let mut tasks = Vec::with_capacity(count);
    for i in 0..count {
        let (opts, audio) = (opts.clone(), audio.clone());
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(stagger * i as u32).await;
            session(&opts, &audio).await
        }));
    }
    let mut out = Vec::with_capacity(count);
    for t in tasks {
        out.push(t.await.unwrap_or_else(|e| SessionResult {
            session_id: String::new(),
            conversation_id: String::new(),
            opened_after: None,
            frames_sent: 0,
            max_lag: Duration::ZERO,
            ping_rtts: Vec::new(),
            outcome: Err(format!("session task failed: {e}")),
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hold_is_at_and_seconds() {
        assert_eq!("15:60".parse::<Hold>().unwrap(), Hold { at_ms: 15_000, ms: 60_000 });
        assert_eq!(" 0.5 : 2.25 ".parse::<Hold>().unwrap(), Hold { at_ms: 500, ms: 2_250 });
        for bad in ["15", "15:", ":60", "-1:60", "15:x", "15:inf"] {
            assert!(bad.parse::<Hold>().is_err(), "{bad}");
        }
    }
}
