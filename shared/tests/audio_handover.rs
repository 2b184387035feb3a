//! An audio chunk handed to the in-process ingest as bytes lands exactly as the same chunk in the endpoint's
//! format (`audio_b64` in the body, as a spool written by an earlier release holds it), over the real
//! realtime service on a real SQLite file and blob folder.

#[path = "embedded_realtime/mod.rs"]
mod embedded_realtime;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use shared::realtime::ingest::{Ingest, Outgoing, ServiceIngest};

/// A chunk's metadata as the AudioHook pipeline sends it, without its audio.
fn chunk_body(call: &str, n: u64) -> Map<String, Value> {
    shared::realtime::ingest::object(json!({
        "provider": "genesys_audiohook", "call_id": call, "chunk_id": format!("s-{n}"),
        "audio_encoding": "pcm_s16le", "sample_rate": 8000, "channels": 2, "status": "active",
        "metadata": {"start_seconds": n as f64},
    }))
}

/// One second of stereo 8 kHz s16le PCM, different per `n`.
fn pcm(n: u64) -> Vec<u8> {
    (0..16_000u32).flat_map(|i| ((i as i16).wrapping_mul(n as i16 + 7)).to_le_bytes()).collect()
}

#[tokio::test]
async fn bytes_in_process_and_a_previous_release_spool_line_store_the_same_audio() {
    let dir = tempfile::tempdir().unwrap();
    let realtime = embedded_realtime::service(dir.path());
    let ingest = ServiceIngest(realtime.clone());
    for n in 0..3 {
        ingest.deliver(&Outgoing::audio(chunk_body("bytes", n), pcm(n))).await.unwrap();
        // The line an earlier release spooled: the audio as base64 in the body, no bytes beside it.
        let mut body = chunk_body("spooled", n);
        body.insert("audio_b64".into(), STANDARD.encode(pcm(n)).into());
        let line = serde_json::to_string(&json!({"kind": "audio", "body": body})).unwrap();
        let read: Outgoing = serde_json::from_str(&line).unwrap();
        ingest.deliver(&read).await.unwrap();
    }
    let wav = |call: &'static str| {
        let realtime = realtime.clone();
        async move { realtime.live_wav(call, None).await.unwrap() }
    };
    let (bytes, spooled) = (wav("bytes").await, wav("spooled").await);
    assert_eq!(bytes.len(), 44 + 3 * 32_000, "three seconds of stereo audio");
    assert_eq!(bytes, spooled);
    let meta = realtime.audio_meta("bytes", false).await.unwrap();
    assert_eq!(meta["live_audio"]["duration_seconds"], 3.0, "{meta}");
}

#[test]
fn audio_bytes_serialise_as_the_endpoint_and_earlier_spools_have_them() {
    let item = Outgoing::audio(chunk_body("c", 0), vec![0, 1, 2, 3]);
    let line: Value = serde_json::to_value(&item).unwrap();
    let mut body = chunk_body("c", 0);
    body.insert("audio_b64".into(), "AAECAw==".into());
    assert_eq!(line, json!({"kind": "audio", "body": body}));
    assert_eq!(item.wire_body().as_ref(), &body);
    let event = Outgoing::event(chunk_body("c", 1));
    assert_eq!(serde_json::to_value(&event).unwrap(), json!({"kind": "event", "body": chunk_body("c", 1)}));
}
