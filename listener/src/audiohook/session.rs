//! One AudioHook session's protocol, without I/O: feed it the client's text and binary frames, get back the
//! messages to send and what happened (opened, audio, paused, closed...). Every server message is built by
//! `message`, so `seq` rises by exactly one and `parameters` is always an object; violations are answered
//! with `disconnect` (reason `error`) and a `close` is always answered with `closed`.

use super::media::{Frames, Media};
use super::upgrade::is_uuid;
use serde_json::{Map, Value, json};
use std::time::{Duration, Instant};

/// Longest text message accepted (the reference's limit).
pub const MAX_TEXT_CHARS: usize = 65_535;
/// Discarded or paused time a client may claim beyond the wall-clock time since `open` (clocks and
/// backlogs are not exact). A claim past that is a protocol error: without the bound one message could
/// move the timeline by years, and the recording and transcription with it.
pub const DISCARD_SLACK: Duration = Duration::from_secs(15);
/// The null UUID: the connection probe's conversation and participant id.
pub const NULL_UUID: &str = "00000000-0000-0000-0000-000000000000";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Upgraded, waiting for `open`.
    Connected,
    Active,
    Paused,
    /// We sent `disconnect`; waiting for the client's `close`.
    Disconnecting,
    /// The client sent `close` to a Transcription Connector: the last transcripts go out, then `closed`.
    Closing,
    Closed,
}

/// Who and what the session is about, from `open`.
#[derive(Debug, Clone, PartialEq)]
pub struct Opened {
    pub conversation_id: String,
    pub participant_id: String,
    pub ani: String,
    pub dnis: String,
    pub language: Option<String>,
    /// `None` when no offer was usable (`opened` then selects no media and no audio will come).
    pub media: Option<Media>,
    /// Genesys' connection probe: answer, but persist nothing.
    pub probe: bool,
    /// Opened on the Transcription Connector's path: transcripts go back to the client.
    pub connector: bool,
}

/// What the I/O layer must do or know after a frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send this text frame.
    Send(String),
    Opened(Opened),
    /// Audio (channels in the selected media's order), starting at `offset_samples` on the session timeline.
    Audio {
        offset_samples: u64,
        frames: Frames,
    },
    /// The client paused (hold, secure pause) or resumed.
    Paused,
    Resumed,
    /// The language changed mid-session.
    Language(String),
    /// The client reported an error (logged; it normally closes next).
    ClientError {
        code: i64,
        message: String,
    },
    /// The session is over (after `closed` was sent): flush and finish.
    Closed {
        reason: String,
    },
    /// A Transcription Connector's client sent `close`: send the last transcripts, then call
    /// [`Session::closed`].
    Closing,
}

/// Server settings a session needs.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Languages offered when `open` asks (`supportedLanguages: true`).
    pub supported_languages: Vec<String>,
    /// A Transcription Connector session: `close` is answered only after the last transcripts (see
    /// [`Output::Closing`]), since the client stops listening once it has `closed`.
    pub connector: bool,
}

pub struct Session {
    id: String,
    organization_id: String,
    settings: Settings,
    state: State,
    seq_out: u64,
    last_client_seq: u64,
    media: Option<Media>,
    /// Timeline in samples: received samples plus discarded and paused gaps (in the AudioHook protocol,
    /// `discarded` and `paused` audio move the position too).
    position_samples: u64,
    /// Samples the client said it discarded or paused, bounded by the time since `open`.
    discarded_samples: u64,
    opened_at: Option<Instant>,
    /// The client's close reason while the last transcripts go out.
    closing_reason: String,
    /// We asked the client to `pause` and have not asked it to `resume` yet.
    pause_asked: bool,
}

/// `PT<decimal seconds>S` as seconds.
pub fn parse_duration(text: &str) -> Option<f64> {
    let inner = text.strip_prefix("PT")?.strip_suffix('S')?;
    let valid = !inner.is_empty()
        && inner.chars().all(|c| c.is_ascii_digit() || c == '.')
        && inner.matches('.').count() <= 1
        && !inner.ends_with('.');
    valid.then(|| inner.parse().ok()).flatten()
}

impl Session {
    /// A session for the upgrade's (already validated) session and organisation ids.
    pub fn new(session_id: &str, organization_id: &str, settings: Settings) -> Self {
        Self {
            id: session_id.to_string(),
            organization_id: organization_id.to_ascii_lowercase(),
            settings,
            state: State::Connected,
            seq_out: 0,
            last_client_seq: 0,
            media: None,
            position_samples: 0,
            discarded_samples: 0,
            opened_at: None,
            closing_reason: String::new(),
            pause_asked: false,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// The one builder of server messages.
    fn message(&mut self, kind: &str, parameters: Value) -> Output {
        self.seq_out += 1;
        let m = json!({"version": "2", "id": self.id, "type": kind, "seq": self.seq_out,
            "clientseq": self.last_client_seq, "parameters": parameters});
        Output::Send(m.to_string())
    }

    /// Asks the client to end the session because of `reason` (`error`, `unauthorized`, `completed`).
    pub fn disconnect(&mut self, reason: &str, info: &str) -> Vec<Output> {
        if matches!(self.state, State::Disconnecting | State::Closed) {
            return Vec::new();
        }
        self.state = State::Disconnecting;
        vec![self.message("disconnect", json!({"reason": reason, "info": info}))]
    }

    /// Handles one text frame.
    pub fn on_text(&mut self, text: &str) -> Vec<Output> {
        if self.state == State::Closed {
            return Vec::new();
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return self.disconnect("error", "Text message too large");
        }
        let Ok(Value::Object(msg)) = serde_json::from_str::<Value>(text) else {
            return self.disconnect("error", "Message is not a JSON object");
        };
        if let Err(info) = self.check_envelope(&msg) {
            // After our disconnect, the client's close is answered even if its numbering is off.
            let closing =
                self.state == State::Disconnecting && msg.get("type").and_then(Value::as_str) == Some("close");
            if !closing {
                return self.disconnect("error", info);
            }
        }
        // `get`, not indexing: a `close` after our `disconnect` gets here whatever its envelope lacks.
        self.last_client_seq = msg.get("seq").and_then(Value::as_u64).unwrap_or(self.last_client_seq);
        let params = msg.get("parameters").and_then(Value::as_object).cloned().unwrap_or_default();
        let kind = msg.get("type").and_then(Value::as_str).unwrap_or_default();
        match (kind, self.state) {
            ("ping", _) => vec![self.message("pong", json!({}))],
            (_, State::Closing) => Vec::new(), // only pings until the last transcripts are out
            ("close", _) => {
                self.closing_reason = params.get("reason").and_then(Value::as_str).unwrap_or("end").to_string();
                if self.settings.connector && self.state != State::Disconnecting {
                    self.state = State::Closing;
                    return vec![Output::Closing];
                }
                self.closed()
            }
            ("open", State::Connected) => self.open(&params),
            ("open", _) => Vec::new(),               // a second open is ignored
            (_, State::Disconnecting) => Vec::new(), // only ping and close matter now
            ("paused", State::Active) => {
                self.state = State::Paused;
                vec![Output::Paused]
            }
            ("paused", _) => Vec::new(), // repeated pause
            ("resumed", _) | ("discarded", _) => self.gap(kind, &params),
            ("update", _) => match params.get("language").and_then(Value::as_str) {
                Some(lang) => vec![Output::Language(lang.to_string())],
                None => self.disconnect("error", "update without language"),
            },
            ("error", _) => vec![Output::ClientError {
                code: params.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: params.get("message").and_then(Value::as_str).unwrap_or_default().to_string(),
            }],
            (other, _) => self.disconnect("error", &format!("Unexpected message type {other:?}")),
        }
    }

    /// Answers the client's `close` (at once, or for a Transcription Connector once its last transcripts
    /// are out): `closed`, and the session is over.
    pub fn closed(&mut self) -> Vec<Output> {
        if self.state == State::Closed {
            return Vec::new();
        }
        self.state = State::Closed;
        let reason = std::mem::take(&mut self.closing_reason);
        vec![self.message("closed", json!({})), Output::Closed { reason }]
    }

    /// An `event` carrying `entities` (a non-empty array); `None` when there is nothing to carry or the
    /// session is not open, paused or closing (the only states the protocol allows events in).
    pub fn event(&mut self, entities: Vec<Value>) -> Option<Output> {
        let open = matches!(self.state, State::Active | State::Paused | State::Closing);
        (open && !entities.is_empty()).then(|| self.message("event", json!({"entities": entities})))
    }

    /// Asks the client to stop sending audio (a language we cannot transcribe); it answers `paused`.
    pub fn pause(&mut self) -> Vec<Output> {
        if !matches!(self.state, State::Active | State::Paused) || self.pause_asked {
            return Vec::new();
        }
        self.pause_asked = true;
        vec![self.message("pause", json!({}))]
    }

    /// Ends the pause [`Self::pause`] asked for; the client answers `resumed`.
    pub fn resume(&mut self) -> Vec<Output> {
        if !matches!(self.state, State::Active | State::Paused) || !self.pause_asked {
            return Vec::new();
        }
        self.pause_asked = false;
        vec![self.message("resume", json!({}))]
    }

    fn check_envelope(&self, msg: &Map<String, Value>) -> Result<(), &'static str> {
        if msg.get("version").and_then(Value::as_str) != Some("2") {
            return Err("Unsupported protocol version");
        }
        if msg.get("id").and_then(Value::as_str) != Some(self.id.as_str()) {
            return Err("Message id does not match the session");
        }
        if msg.get("seq").and_then(Value::as_u64) != Some(self.last_client_seq + 1) {
            return Err("Unexpected seq");
        }
        if msg.get("serverseq").and_then(Value::as_u64).is_none_or(|s| s > self.seq_out) {
            return Err("Invalid serverseq");
        }
        if !msg.get("parameters").is_some_and(Value::is_object) || !msg.get("type").is_some_and(Value::is_string) {
            return Err("Message lacks type or parameters");
        }
        if msg.get("position").is_some_and(|p| p.as_str().and_then(parse_duration).is_none()) {
            return Err("Invalid position");
        }
        Ok(())
    }

    fn open(&mut self, p: &Map<String, Value>) -> Vec<Output> {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
        let org = text(p.get("organizationId"));
        if !org.eq_ignore_ascii_case(&self.organization_id) {
            return self.disconnect("unauthorized", "Organization does not match the connection");
        }
        let conversation_id = text(p.get("conversationId"));
        let participant = p.get("participant").and_then(Value::as_object);
        let participant_id = text(participant.and_then(|x| x.get("id")));
        let offers = p.get("media").and_then(Value::as_array);
        if !is_uuid(&conversation_id) || !is_uuid(&participant_id) || offers.is_none() {
            return self.disconnect("error", "open needs conversationId, participant.id and media");
        }
        let media = Media::choose(offers.map_or(&[][..], Vec::as_slice));
        let mut reply = json!({"media": media.as_ref().map_or_else(Vec::new, |m| vec![m.offer.clone()])});
        if p.get("supportedLanguages").and_then(Value::as_bool) == Some(true) {
            reply["supportedLanguages"] = json!(self.settings.supported_languages);
        }
        self.state = State::Active;
        self.opened_at = Some(Instant::now());
        self.media = media.clone();
        let opened = Opened {
            probe: conversation_id == NULL_UUID,
            conversation_id,
            participant_id,
            ani: text(participant.and_then(|x| x.get("ani"))),
            dnis: text(participant.and_then(|x| x.get("dnis"))),
            language: p.get("language").and_then(Value::as_str).map(str::to_string),
            media,
            connector: self.settings.connector,
        };
        vec![self.message("opened", reply), Output::Opened(opened)]
    }

    /// `resumed` / `discarded`: the client skipped `discarded` of audio; the timeline moves past it.
    fn gap(&mut self, kind: &str, p: &Map<String, Value>) -> Vec<Output> {
        let Some(seconds) = p.get("discarded").and_then(Value::as_str).and_then(parse_duration) else {
            return self.disconnect("error", "discarded duration missing or invalid");
        };
        let rate = f64::from(super::media::RATE);
        // `as` saturates, so an absurd duration is u64::MAX samples and fails the bound below.
        let samples = (seconds * rate).round() as u64;
        let elapsed = self.opened_at.map_or(Duration::ZERO, |t| t.elapsed()) + DISCARD_SLACK;
        let total = self.discarded_samples.saturating_add(samples);
        if total > (elapsed.as_secs_f64() * rate) as u64 {
            return self.disconnect("error", "discarded more audio than the session has lasted");
        }
        self.discarded_samples = total;
        self.position_samples = self.position_samples.saturating_add(samples);
        if kind == "resumed" && self.state == State::Paused {
            self.state = State::Active;
            return vec![Output::Resumed];
        }
        Vec::new()
    }

    /// Handles one binary frame (audio).
    pub fn on_binary(&mut self, frame: &[u8]) -> Vec<Output> {
        match self.state {
            State::Active => {}
            State::Disconnecting | State::Closing | State::Closed => return Vec::new(),
            State::Connected | State::Paused => return self.disconnect("error", "Audio outside an active session"),
        }
        let Some(media) = &self.media else { return self.disconnect("error", "Audio but no media was selected") };
        let Some(frames) = media.decode(frame) else {
            return self.disconnect("error", "Audio frame does not hold whole samples");
        };
        let offset_samples = self.position_samples;
        self.position_samples = self.position_samples.saturating_add(frames.len() as u64);
        vec![Output::Audio { offset_samples, frames }]
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
