//! AudioHook inside the one local process: a simulated Genesys session (the `listener simulate` client)
//! lands in the same store, so its audio, end and heartbeat are visible through the supervisor API. With
//! the `whisper` feature and a model installed, live calls are transcribed offline by the batch's engine.

mod common;
#[cfg(feature = "whisper")]
#[path = "../../shared/tests/speech/mod.rs"]
mod speech;

use common::TestServer;
use listener::simulate::{self, Audio, Hold, Options};
use reqwest::StatusCode;
use serde_json::Value;

const KEY: &str = "local-key";
const HEALTH: &str = "/api/integrations/genesys/audiohook/health";
const SECRET: &str = "bG9jYWwgc2VjcmV0";

/// The sessions here stream as fast as the socket takes them, so a whole minute of audio can wait for the
/// session's worker at once: past the default 30 s queue the listener drops it, by design, and whether it
/// does depended on how fast the worker drained (the silent minute then lost its 35 s dead air). 120 s holds
/// every session here.
const AUDIOHOOK: [(&str, &str); 5] = [
    ("GENESYS_AUDIOHOOK_ENABLED", "true"),
    ("GENESYS_AUDIOHOOK_API_KEY", KEY),
    ("GENESYS_AUDIOHOOK_CLIENT_SECRET", SECRET),
    ("GENESYS_AUDIOHOOK_HEARTBEAT_SECONDS", "1"),
    ("GENESYS_AUDIOHOOK_SESSION_QUEUE_SECONDS", "120"),
];

/// The local server with AudioHook on a loopback port and known credentials.
async fn start() -> TestServer {
    TestServer::start_with(&AUDIOHOOK).await
}

/// The ended call's snapshot (polled until the session's end reaches it).
async fn ended(s: &TestServer, call: &str) -> serde_json::Value {
    s.get_until(&format!("/api/realtime/calls/{call}/snapshot"), |v| v["status"] == "ended").await
}

/// Streams `audio` as one Genesys session (as fast as possible), on hold where `holds` say; returns the
/// conversation id.
async fn stream(s: &TestServer, audio: &Audio, holds: &[Hold]) -> String {
    let uri = s.audiohook_uri.as_deref().unwrap();
    let opts = Options { speed: 0.0, holds: holds.to_vec(), ..Options::new(uri, KEY, SECRET) };
    let result = simulate::session(&opts, audio).await;
    assert_eq!(result.outcome, Ok(()));
    result.conversation_id
}

#[tokio::test]
async fn a_simulated_genesys_session_shows_up_in_the_api() {
    let s = start().await;
    let tone: Vec<i16> = (0..24_000).map(|i| if (i / 8) % 2 == 0 { 3000 } else { -3000 }).collect();
    let audio = Audio { channels: vec![tone.clone(), tone] };
    let call = stream(&s, &audio, &[]).await;
    let snapshot = ended(&s, &call).await;
    assert_eq!(snapshot["status"], "ended", "the end of the session ends the call");
    let (status, meta) = s.get(&format!("/api/realtime/calls/{call}/audio/meta")).await;
    assert_eq!(status, StatusCode::OK);
    let live = &meta["live_audio"];
    assert_eq!((live["sample_rate"].as_u64(), live["channels"].as_u64()), (Some(8000), Some(2)), "{meta}");
    assert_eq!(live["duration_seconds"].as_f64(), Some(3.0), "{meta}");
    // The heartbeat (every second here) reports the session.
    let health = s.get_until(HEALTH, |h| h["status"]["sessions_opened"] == 1).await;
    assert_eq!(
        (health["healthy"].as_bool(), &health["status"]["sessions_opened"]),
        (Some(true), &1.into()),
        "{health}"
    );
    s.stop().await;
}

/// `GET /healthz` on the AudioHook port: the status line and body.
async fn port_health(s: &TestServer, token: Option<&str>) -> (u16, Value) {
    let uri = s.audiohook_uri.as_deref().unwrap();
    let url = format!("{}/healthz", uri.replacen("ws://", "http://", 1).split("/audiohook").next().unwrap());
    let mut req = s.http.get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn the_audiohook_port_shows_its_status_only_to_the_supervisor() {
    let s = start().await;
    let (status, open) = port_health(&s, None).await;
    assert_eq!((status, &open), (200, &serde_json::json!({"ok": true})), "no host, pid or paths");
    let (_, wrong) = port_health(&s, Some("not-the-token")).await;
    assert_eq!(wrong, open);
    let (status, full) = port_health(&s, Some(common::SUPERVISOR)).await;
    assert_eq!((status, &full["state"], &full["pid"]), (200, &"running".into(), &std::process::id().into()), "{full}");
    assert!(full["refused"].is_object(), "{full}");
    s.stop().await;
}

#[tokio::test]
async fn silence_on_a_live_genesys_call_raises_dead_air() {
    let s = start().await;
    // One second of talk on both sides, then 22 s in which nobody speaks.
    let channel: Vec<i16> = (0..8000)
        .map(|i| if (i / 8) % 2 == 0 { 3000 } else { -3000 })
        .chain(std::iter::repeat_n(2, 22 * 8000))
        .collect();
    let audio = Audio { channels: vec![channel.clone(), channel] };
    let call = stream(&s, &audio, &[]).await;
    let snapshot = ended(&s, &call).await;
    let types: Vec<&str> = snapshot["alerts"].as_array().unwrap().iter().filter_map(|a| a["type"].as_str()).collect();
    assert!(types.contains(&"dead_air"), "{types:?}");
    s.stop().await;
}

/// `seconds` of digital silence on both channels.
fn silence(seconds: usize) -> Audio {
    Audio { channels: vec![vec![0; seconds * 8000]; 2] }
}

/// A snapshot list (`events` or `alerts`, newest first) oldest first.
fn oldest_first(list: &Value) -> Vec<&Value> {
    let mut items: Vec<&Value> = list.as_array().unwrap().iter().collect();
    items.sort_by_key(|v| v["id"].as_i64());
    items
}

/// A minute in which nobody speaks raises the seed's dead-air alert, medium at 20 s and high at 35 s of
/// audio, and nothing else: dead air counts once per silence in risk (no `high_risk_score`), and the
/// rising severity passes the medium alert's cooldown. Of the chunks, only the one that started the call
/// and the two that raised alerts are rows, then the end.
#[tokio::test]
async fn a_silent_minute_raises_dead_air_medium_then_high_and_nothing_else() {
    let s = start().await;
    let call = stream(&s, &silence(60), &[]).await;
    let snapshot = ended(&s, &call).await;
    let alerts: Vec<(&str, &str, f64)> = oldest_first(&snapshot["alerts"])
        .iter()
        .map(|a| {
            let seconds = a["metadata"]["dead_air_seconds"].as_f64().unwrap_or(-1.0);
            (a["type"].as_str().unwrap(), a["severity"].as_str().unwrap(), seconds)
        })
        .collect();
    let kinds: Vec<(&str, &str)> = alerts.iter().map(|(t, s, _)| (*t, *s)).collect();
    assert_eq!(kinds, [("dead_air", "medium"), ("dead_air", "high")], "{alerts:?}");
    // Raised by the first chunk at or past each threshold; streamed as fast as the listener takes it, chunks
    // are the longest allowed (2 s).
    assert!((20.0..22.0).contains(&alerts[0].2) && (35.0..37.0).contains(&alerts[1].2), "{alerts:?}");
    assert!(snapshot["risk_score"].as_f64().unwrap() < 0.5, "{}", snapshot["risk_score"]);
    let rows: Vec<(&str, Option<f64>)> = oldest_first(&snapshot["events"])
        .iter()
        .map(|e| (e["type"].as_str().unwrap(), e["metadata"]["metrics"]["dead_air_seconds"].as_f64()))
        .collect();
    let kinds: Vec<&str> = rows.iter().map(|(t, _)| *t).collect();
    assert_eq!(kinds, ["audio_chunk", "audio_chunk", "audio_chunk", "call_end"], "{rows:?}");
    assert_eq!((rows[1].1, rows[2].1), (Some(alerts[0].2), Some(alerts[1].2)), "the rows are the alerts' chunks");
    // The chunks whose dead air moved risk or raised an alert moved the call; the first 10 s of silence (no
    // risk yet) did not, one write per chunk (`shared::realtime::activity`).
    let (moved, chunks) =
        (snapshot["event_count"].as_u64().unwrap(), snapshot["live_audio"]["chunk_count"].as_u64().unwrap());
    assert!((4..chunks).contains(&moved), "{moved} of {chunks} chunks moved the call");
    s.stop().await;
}

/// A hold (AudioHook `paused`, then `resumed` with the held time discarded) is not dead air: 15 s of
/// silence, a minute on hold and 15 s of silence again never make 20 s of silence heard.
#[tokio::test]
async fn a_hold_is_not_dead_air() {
    let s = start().await;
    // 15 s of silence, a 12 s hold, 15 s of silence: counted as silence the run would be 42 s (dead air medium
    // and high). The hold stays within what the listener lets a client claim as held beyond the time since
    // `open` (15 s), since this client streams faster than real time.
    let call = stream(&s, &silence(30), &[Hold { at_ms: 15_000, ms: 12_000 }]).await;
    let snapshot = ended(&s, &call).await;
    assert_eq!(snapshot["alerts"], serde_json::json!([]));
    let rows: Vec<&str> = oldest_first(&snapshot["events"]).iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(rows, ["audio_chunk", "call_end"]);
    s.stop().await;
}

/// With a model installed and nothing configured, the one local process transcribes a live Genesys call
/// with the engine its batch worker uses: the customer's words arrive as transcript events on the
/// customer's side and raise the escalation alert; the heartbeat counts the utterances.
#[cfg(feature = "whisper")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_calls_are_transcribed_offline_by_the_installed_model() {
    let dir = tempfile::TempDir::new().unwrap();
    std::fs::create_dir_all(dir.path().join("models")).unwrap();
    std::fs::copy(speech::tiny_en(), dir.path().join("models/ggml-tiny.en.bin")).unwrap();
    let s = TestServer::start_in(dir.path(), &AUDIOHOOK).await;
    let channels = speech::stereo_channels(8000, &[(3.5, speech::ESCALATION)], &[(0.3, speech::GREETING)], 1.0);
    let call = stream(&s, &Audio { channels }, &[]).await;

    let snapshot = ended(&s, &call).await;
    assert_eq!(snapshot["status"], "ended", "{snapshot}");
    let said = |speaker: &str| -> String {
        let events = snapshot["events"].as_array().unwrap().iter();
        let theirs = events.filter(|e| e["type"] == "transcript" && e["speaker"] == speaker);
        theirs.map(|e| e["text"].as_str().unwrap().to_lowercase()).collect::<Vec<_>>().join(" ")
    };
    assert!(said("customer").contains("manager"), "{snapshot}");
    assert!(said("agent").contains("help you") && !said("agent").contains("manager"), "{snapshot}");
    let alerts: Vec<&str> = snapshot["alerts"].as_array().unwrap().iter().filter_map(|a| a["type"].as_str()).collect();
    assert!(alerts.contains(&"escalation_keyword"), "{alerts:?}");
    let health = s.get_until(HEALTH, |h| h["status"]["transcribed"] == 2).await;
    let status = &health["status"];
    assert_eq!((&status["live_transcription"], &status["transcribed"]), (&true.into(), &2.into()), "{health}");
    assert_eq!((&status["transcription_dropped"], &status["transcription_failures"]), (&0.into(), &0.into()));
    s.stop().await;
}
