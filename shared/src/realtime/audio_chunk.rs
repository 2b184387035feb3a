//! Normalisation of the seed's audio-chunk payload: aliases, encodings, defaults and
//! error texts kept; PCM bounded, chunk ids validated, and the realtime events the chunk carries derived
//! as plain event objects so they go through the one event normaliser.

use crate::audio::wav::{self, WavError};
use crate::realtime::live_audio::AudioFormat;
use crate::realtime::normalize::{
    MAX_METADATA_BYTES, MAX_SHORT_FIELD, PayloadError, call_id_of, first, first_named, number_of, serialised_len,
    text_of, time_of,
};
use crate::values::ids;
use crate::values::timestamps::Timestamp;
use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value, json};
use thiserror::Error;

/// At most this many transcript segments of one chunk become events (the seed's 50).
pub const MAX_SEGMENTS: usize = 50;
/// The sample rates a chunk may have: telephony's 8 kHz (G.711, and the only rate AudioHook defines) up to
/// 48 kHz wideband, from the set codecs, contact-centre platforms and speech providers use. A rate outside
/// it is a client's mistake (a byte rate, a rate in kHz), and a large one would make every duration and
/// window figure wrong.
pub const SAMPLE_RATES: [u32; 9] = [8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000];
/// What [`derive_events`] adds to the metadata of every event beyond the client's: the window state after the
/// append (`audio`, bounded by the id lengths and `LiveHead::meta`'s few numbers) and the dead air
/// measured from the audio (in `metrics`). The tests pin the largest there is under it.
pub const DERIVED_METADATA_BYTES: usize = 1_024;
/// The most metadata a chunk may carry, with its `metrics` (and with any one segment's metadata): what an
/// event may carry, less what each event derived from the chunk gains, so an accepted chunk's events fit.
pub const MAX_CHUNK_METADATA_BYTES: usize = MAX_METADATA_BYTES - DERIVED_METADATA_BYTES;
/// The most channels a chunk may have: stereo carries one party a channel (AudioHook's external and
/// internal); the live window, silence and playback are meant for a call, not a multitrack recording.
pub const MAX_CHANNELS: u16 = 2;

#[derive(Debug, Error, PartialEq)]
pub enum AudioPayloadError {
    #[error(transparent)]
    Payload(#[from] PayloadError),
    #[error("Missing audio chunk base64 (audio_b64)")]
    MissingAudio,
    #[error("Invalid base64 audio payload")]
    InvalidBase64,
    #[error("Empty decoded audio payload")]
    EmptyAudio,
    #[error("Unsupported audio_encoding: {0}")]
    UnsupportedEncoding(String),
    #[error(transparent)]
    Wav(#[from] WavError),
    #[error("Invalid sample_rate")]
    InvalidSampleRate,
    #[error("Invalid channels")]
    InvalidChannels,
    #[error("Unsupported sample_rate: {0} Hz (accepted: {accepted})", accepted = rate_list())]
    UnsupportedSampleRate(u32),
    #[error("Unsupported channels: {0} (accepted: 1 to {MAX_CHANNELS})")]
    UnsupportedChannels(u16),
    #[error("Audio payload has no PCM frames")]
    NoFrames,
    #[error("Audio chunk exceeds max size")]
    TooLarge,
    #[error(transparent)]
    Id(#[from] ids::IdError),
    #[error("{list}[{index}].metadata and the chunk's metadata together are larger than {max} bytes")]
    SegmentMetadataTooBig { list: &'static str, index: usize, max: usize },
}

/// A decoded, validated audio chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioChunk {
    pub call_id: String,
    pub format: AudioFormat,
    pub pcm: Vec<u8>,
    pub chunk_id: Option<String>,
    pub occurred_at: Option<Timestamp>,
}

/// Python's non-strict `b64decode`: characters outside the alphabet are discarded, padding is optional.
fn decode_base64(text: &str) -> Result<Vec<u8>, AudioPayloadError> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let kept: String = text.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '+' || *c == '/').collect();
    LENIENT.decode(kept).map_err(|_| AudioPayloadError::InvalidBase64)
}

/// `int(float(x))`, with missing, unparsable or zero meaning the default, and bounds checked.
fn positive_int(v: Option<&Value>, default: u32, max: f64, err: AudioPayloadError) -> Result<u32, AudioPayloadError> {
    let x = match number_of(v, "audio format") {
        Ok(Some(x)) => x.trunc(),
        Ok(None) | Err(_) => return Ok(default),
    };
    if x == 0.0 {
        Ok(default)
    } else if x < 0.0 || x > max {
        Err(err)
    } else {
        Ok(x as u32)
    }
}

/// [`SAMPLE_RATES`] for an error message: "8000, 11025, …, 44100 or 48000".
fn rate_list() -> String {
    let text: Vec<String> = SAMPLE_RATES.iter().map(u32::to_string).collect();
    let (last, rest) = text.split_last().map_or(("", &[][..]), |(l, r)| (l.as_str(), r));
    format!("{} or {last}", rest.join(", "))
}

/// The chunk's format, refused unless its rate is one of [`SAMPLE_RATES`] and it has 1 to [`MAX_CHANNELS`]
/// channels: what a header (WAV) or the payload (PCM) says, checked alike.
fn check_format(format: AudioFormat) -> Result<AudioFormat, AudioPayloadError> {
    match (format.sample_rate, format.channels) {
        (0, _) => Err(AudioPayloadError::InvalidSampleRate),
        (rate, _) if !SAMPLE_RATES.contains(&rate) => Err(AudioPayloadError::UnsupportedSampleRate(rate)),
        (_, 0) => Err(AudioPayloadError::InvalidChannels),
        (_, channels) if channels > MAX_CHANNELS => Err(AudioPayloadError::UnsupportedChannels(channels)),
        _ => Ok(format),
    }
}

/// Decodes and validates the audio part of a chunk payload: the audio is `audio` when handed over as bytes
/// (in-process), else the body's base64.
pub fn parse_chunk(
    obj: &Map<String, Value>,
    audio: Option<&[u8]>,
    default_rate: u32,
    default_channels: u16,
    max_bytes: usize,
) -> Result<AudioChunk, AudioPayloadError> {
    let call_id = call_id_of(obj)?;
    check_copied_fields(obj)?;
    // Bound the work before decoding or copying (a WAV may carry a header on top of `max_bytes` of PCM).
    let bound = max_bytes.saturating_mul(2).max(64 * 1024);
    let raw = match audio {
        Some(bytes) if bytes.len() > bound => return Err(AudioPayloadError::TooLarge),
        Some(bytes) => bytes.to_vec(),
        None => {
            let b64 = first(obj, &["audio_b64", "chunk_b64", "audio_chunk_b64", "audio_chunk"])
                .and_then(Value::as_str)
                .ok_or(AudioPayloadError::MissingAudio)?;
            // Base64 is 4/3 of the bytes it carries.
            if b64.len() / 4 * 3 > bound {
                return Err(AudioPayloadError::TooLarge);
            }
            decode_base64(b64)?
        }
    };
    if raw.is_empty() {
        return Err(AudioPayloadError::EmptyAudio);
    }
    let encoding = text_of(first(obj, &["audio_encoding", "encoding"]), "audio_encoding", 64)?.to_lowercase();
    let (format, pcm) = match encoding.as_str() {
        "wav" | "wave" | "audio/wav" | "audio/x-wav" => wav::decode(&raw)?,
        "" | "pcm_s16le" | "pcm16" | "s16le" | "linear16" | "l16" => {
            let rate = positive_int(
                obj.get("sample_rate"),
                default_rate,
                f64::from(u32::MAX),
                AudioPayloadError::InvalidSampleRate,
            )?;
            let channels = positive_int(
                obj.get("channels"),
                u32::from(default_channels),
                f64::from(u16::MAX),
                AudioPayloadError::InvalidChannels,
            )?;
            (AudioFormat { sample_rate: rate, channels: channels as u16, sample_width: 2 }, raw)
        }
        other => return Err(AudioPayloadError::UnsupportedEncoding(other.to_string())),
    };
    let format = check_format(format)?;
    if pcm.len() < format.frame_bytes() {
        return Err(AudioPayloadError::NoFrames);
    }
    if pcm.len() > max_bytes {
        return Err(AudioPayloadError::TooLarge);
    }
    // Measured before it is copied, and kept short: every chunk's id is listed in the window's state twice.
    let chunk_id = text_of(first(obj, &["chunk_id", "sequence_id"]), "chunk_id", ids::MAX_CHUNK_ID_LEN)?;
    let chunk_id = if chunk_id.is_empty() {
        None
    } else {
        ids::validate_chunk_id(&chunk_id)?;
        Some(chunk_id)
    };
    let occurred_at = time_of(obj, &["timestamp", "occurred_at"])?;
    Ok(AudioChunk { call_id, format, pcm, chunk_id, occurred_at })
}

/// The chunk's short string fields [`derive_events`] copies into every event it derives.
const COPIED_SHORT_FIELDS: [&str; 5] = ["provider", "speaker", "status", "agent_id", "customer_id"];

/// Refuses a chunk whose derived events would be refused for their size, naming the field: a short field
/// over [`MAX_SHORT_FIELD`] characters, the chunk's `metadata` (with `metrics`) over
/// [`MAX_CHUNK_METADATA_BYTES`], or a segment whose `metadata` joined with the chunk's would be. Checked before anything is copied: one
/// chunk becomes up to [`MAX_SEGMENTS`] events, and each event's own check came after the copies (3.9 MB of
/// metadata over 50 segments once took the process from 15 MB to 205 MB).
fn check_copied_fields(obj: &Map<String, Value>) -> Result<(), AudioPayloadError> {
    for field in COPIED_SHORT_FIELDS {
        text_of(obj.get(field), field, MAX_SHORT_FIELD)?;
    }
    let object_len = |v: Option<&Value>, max: usize| match v {
        Some(o @ Value::Object(_)) => serialised_len(o, max),
        _ => Some(0),
    };
    let max = MAX_CHUNK_METADATA_BYTES;
    let chunk = object_len(obj.get("metadata"), max)
        .and_then(|m| object_len(obj.get("metrics"), max - m).map(|n| m + n))
        .ok_or(PayloadError::TooBig { field: "metadata", max })?;
    for (list, index, seg) in segments(obj) {
        if object_len(seg.get("metadata"), max - chunk).is_none() {
            return Err(AudioPayloadError::SegmentMetadataTooBig { list, index, max });
        }
    }
    Ok(())
}

/// The transcript segments that become events: among the first [`MAX_SEGMENTS`] items of
/// `transcript_segments` (alias `segments`), the objects with a text; each with its list's key and index.
fn segments(obj: &Map<String, Value>) -> impl Iterator<Item = (&'static str, usize, &Map<String, Value>)> {
    let (list, items) = match first_named(obj, &["transcript_segments", "segments"]) {
        Some((list, Value::Array(items))) => (list, items.as_slice()),
        _ => ("", &[][..]),
    };
    items
        .iter()
        .take(MAX_SEGMENTS)
        .enumerate()
        .filter_map(|(index, v)| v.as_object().map(|seg| (index, seg)))
        .filter(|(_, seg)| first(seg, &["text", "transcript"]).is_some())
        .map(move |(index, seg)| (list, index, seg))
}

/// Copies the first present key among `keys` from `from` into `to` under `keys[0]`.
fn carry(to: &mut Map<String, Value>, from: &Map<String, Value>, keys: &[&str]) {
    if let Some(v) = first(from, keys) {
        to.insert(keys[0].to_string(), v.clone());
    }
}

/// The realtime events a chunk carries, as event objects for the event normaliser: its transcript
/// segments, else its text, else one bare `audio_chunk` event. `audio_meta` is the window state after the
/// append; `extra_metrics` (e.g. dead air measured from the audio) is merged into `metadata.metrics`.
/// Unlike the seed, a missing status stays empty, so late audio never revives an ended call. What it copies
/// was bounded by [`parse_chunk`] first. `chunk_id` is the id [`parse_chunk`] accepted (trimmed, and numbers as
/// text): an event without its own `event_id` is keyed `chunk:<id>:<n>` by it, as the window keys the audio,
/// so a retried chunk applies none of its events twice.
pub fn derive_events(
    obj: &Map<String, Value>,
    chunk_id: Option<&str>,
    audio_meta: &Value,
    extra_metrics: &Map<String, Value>,
) -> Vec<Map<String, Value>> {
    let mut base = Map::new();
    for keys in [
        &["call_id", "conversation_id", "session_id"][..],
        &["provider"],
        &["speaker"],
        &["status"],
        &["agent_id"],
        &["customer_id"],
        &["timestamp", "occurred_at"],
    ] {
        carry(&mut base, obj, keys);
    }
    let mut metadata = crate::realtime::normalize::metadata_of(obj);
    metadata.insert("audio".into(), audio_meta.clone());
    if !extra_metrics.is_empty() {
        let metrics = metadata.entry("metrics").or_insert_with(|| json!({}));
        if let Value::Object(m) = metrics {
            for (k, v) in extra_metrics {
                m.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    let mut out: Vec<Map<String, Value>> = Vec::new();
    for (_, _, seg) in segments(obj) {
        let mut e = base.clone();
        for keys in [
            &["text", "transcript"][..],
            &["event_type"],
            &["speaker"],
            &["sentiment"],
            &["confidence"],
            &["status"],
            &["timestamp", "occurred_at"],
            &["agent_id"],
            &["customer_id"],
            &["event_id"],
        ] {
            carry(&mut e, seg, keys);
        }
        let mut m = metadata.clone();
        if let Some(Value::Object(sm)) = seg.get("metadata") {
            m.extend(sm.clone());
        }
        e.insert("metadata".into(), Value::Object(m));
        out.push(e);
    }
    if out.is_empty() {
        let mut e = base;
        if first(obj, &["text", "transcript"]).is_none() {
            e.insert("event_type".into(), json!("audio_chunk"));
        } else {
            carry(&mut e, obj, &["text", "transcript"]);
        }
        carry(&mut e, obj, &["sentiment"]);
        carry(&mut e, obj, &["confidence"]);
        e.insert("metadata".into(), Value::Object(metadata));
        out.push(e);
    }
    if let Some(chunk) = chunk_id {
        for (i, e) in out.iter_mut().enumerate() {
            e.entry("event_id").or_insert_with(|| json!(format!("chunk:{chunk}:{i}")));
        }
    }
    out
}

#[cfg(test)]
#[path = "audio_chunk_tests.rs"]
mod tests;
