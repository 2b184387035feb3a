//! Live transcription end to end on loopback: the simulator streams a stereo call with a customer and an
//! agent taking turns into the real AudioHook service, which cuts utterances and sends them to a fake
//! OpenAI-compatible provider (`FakeStt`); the transcripts must reach the ingest (`FakeIngest`, or the real
//! realtime service on SQLite, where the customer's words raise an escalation alert), and a provider that
//! is down must cost transcripts only, reported as a gap.

#[path = "support/mod.rs"]
mod support;

use listener::simulate::{self, Audio, SessionResult};
use serde_json::Value;
use shared::adapters::embedded::BroadcastPush;
use shared::ports::BlobStore;
use shared::realtime::RealtimeService;
use shared::realtime::config::RealtimeConfig;
use shared::realtime::ingest::{Ingest, ServiceIngest};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use support::audiohook::{Running, chunk_pcm, config, interleaved, options, start, start_with, through_ulaw};
use support::ingest::FakeIngest;
use support::stt::{AGENT_LINE, CUSTOMER_LINE};

/// Turns: the customer (500 Hz) at 0.5–2.0 s, the agent (200 Hz) at 3.0–4.5 s, the customer at 6.0–7.0 s,
/// near silence until 9 s.
fn conversation() -> Audio {
    let side = |period: usize, turns: &[(f64, f64)]| -> Vec<i16> {
        (0..72_000)
            .map(|i| {
                let t = i as f64 / 8000.0;
                let talking = turns.iter().any(|(from, to)| (*from..*to).contains(&t));
                match (talking, (i / (period / 2)) % 2 == 0) {
                    (false, _) => 3,
                    (true, true) => 4000,
                    (true, false) => -4000,
                }
            })
            .collect()
    };
    Audio { channels: vec![side(16, &[(0.5, 2.0), (6.0, 7.0)]), side(40, &[(3.0, 4.5)])] }
}

fn stt_env(stt_url: &str) -> [(&str, &str); 3] {
    [("STT_PROVIDER", "openai"), ("STT_BASE_URL", stt_url), ("STT_API_KEY", "stt-secret-key")]
}

async fn call(running: &Running) -> SessionResult {
    let result = simulate::session(&options(&running.uri), &conversation()).await;
    assert_eq!(result.outcome, Ok(()));
    result
}

/// Everything the fake ingest accepted, once the call's end has arrived.
async fn accepted_by_the_end(fake: &FakeIngest) -> Vec<Value> {
    support::wait_for("the end-of-call event", || {
        fake.accepted.lock().unwrap().last().is_some_and(|b| b["event_type"] == "call_end")
    })
    .await;
    fake.accepted.lock().unwrap().clone()
}

fn events_of<'a>(accepted: &'a [Value], kind: &str) -> Vec<&'a Value> {
    accepted.iter().filter(|b| b["event_type"] == kind).collect()
}

#[tokio::test]
async fn transcripts_reach_the_ingest_in_order_with_speakers_before_the_call_ends() {
    let dir = tempfile::tempdir().unwrap();
    let (ingest, url) = support::ingest::start().await;
    let (stt, stt_url) = support::stt::start().await;
    let running = start(dir.path(), &url, &stt_env(&stt_url)).await;
    let result = call(&running).await;
    let accepted = accepted_by_the_end(&ingest).await;
    let transcripts = events_of(&accepted, "transcript");
    let said: Vec<(&str, &str)> =
        transcripts.iter().map(|t| (t["speaker"].as_str().unwrap(), t["text"].as_str().unwrap())).collect();
    assert_eq!(said, [("customer", CUSTOMER_LINE), ("agent", AGENT_LINE), ("customer", CUSTOMER_LINE)]);
    // Offsets on the call's timeline: utterance start (200 ms pre-roll) plus the segment's own start.
    let offsets: Vec<f64> = transcripts.iter().map(|t| t["metadata"]["offset_seconds"].as_f64().unwrap()).collect();
    for (got, expected) in offsets.iter().zip([0.5, 3.0, 6.0]) {
        assert!((got - expected).abs() < 0.05, "{offsets:?}");
    }
    let first = transcripts[0];
    assert_eq!(
        (first["call_id"].as_str(), first["provider"].as_str()),
        (Some(&*result.conversation_id), Some("genesys_audiohook"))
    );
    assert_eq!(first["metadata"]["source"], "live_transcription");
    assert_eq!(first["metadata"]["session_id"], result.session_id.as_str());
    assert!((first["confidence"].as_f64().unwrap() - (-0.1f64).exp()).abs() < 1e-9);
    assert!(events_of(&accepted, "transcription_gap").is_empty());
    assert_eq!(stt.requests.load(Ordering::SeqCst), 3);
    assert!(stt.authorizations.lock().unwrap().iter().all(|a| a == "Bearer stt-secret-key"));
    assert_eq!(chunk_pcm(&accepted, &result.session_id), interleaved(&through_ulaw(&conversation())));

    let hb = running.heartbeat(|s| s["transcribed"] == 3).await;
    assert_eq!(
        (&hb["live_transcription"], &hb["utterances"], &hb["transcription_dropped"]),
        (&true.into(), &3.into(), &0.into())
    );
    assert_eq!(
        (&hb["queue_depth"], &hb["busy_workers"], &hb["last_transcription_error"]),
        (&0.into(), &0.into(), &Value::Null)
    );
    assert!(!hb.to_string().contains("stt-secret-key") && !hb.to_string().contains(&stt_url));
    running.stop().await;
}

/// The service forwarding into a realtime service on the SQLite file it also beats into.
async fn start_realtime(dir: &Path, stt_url: &str) -> (Running, Arc<RealtimeService>) {
    let mut realtime = None;
    let cfg = config(dir, "http://127.0.0.1:9", &stt_env(stt_url));
    let running = start_with(dir, cfg, |store, blobs| {
        let push = Arc::new(BroadcastPush::new(16));
        let service = Arc::new(RealtimeService::new(store.clone(), blobs.clone(), push, RealtimeConfig::default()));
        realtime = Some(service.clone());
        Arc::new(ServiceIngest(service)) as Arc<dyn Ingest>
    })
    .await;
    (running, realtime.unwrap())
}

#[tokio::test]
async fn the_customers_words_raise_an_escalation_alert_and_a_gap_raises_none() {
    let dir = tempfile::tempdir().unwrap();
    let (stt, stt_url) = support::stt::start().await;
    // The agent's side cannot be transcribed: a gap opens and closes when the customer is heard again.
    stt.agent_down.store(true, Ordering::SeqCst);
    let (running, realtime) = start_realtime(dir.path(), &stt_url).await;
    let call_id = call(&running).await.conversation_id;
    let mut snapshot = Value::Null;
    for _ in 0..100 {
        snapshot = realtime.snapshot(&call_id).await.unwrap();
        if snapshot["status"] == "ended" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(snapshot["status"], "ended", "{snapshot}");
    let alerts = realtime.list_alerts(Some(call_id.clone()), false, 50).await.unwrap();
    let alerts: Vec<(&str, &str)> = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["type"].as_str().unwrap(), a["severity"].as_str().unwrap()))
        .collect();
    assert_eq!(alerts, [("escalation_keyword", "high")], "one alert, from the words; none from the gap");
    let hb = running.heartbeat(|s| s["transcription_failures"] == 1).await;
    assert_eq!((&hb["transcribed"], &hb["rejected"]), (&2.into(), &0.into()), "every event accepted: {hb}");
    running.stop().await;
}

#[tokio::test]
async fn a_provider_down_costs_transcripts_only_and_is_reported_as_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let (ingest, url) = support::ingest::start().await;
    let (stt, stt_url) = support::stt::start().await;
    stt.down.store(true, Ordering::SeqCst);
    let running = start(dir.path(), &url, &stt_env(&stt_url)).await;
    let result = call(&running).await;
    let accepted = accepted_by_the_end(&ingest).await;
    // Chunks and recording are whole.
    let audio = interleaved(&through_ulaw(&conversation()));
    assert_eq!(chunk_pcm(&accepted, &result.session_id), audio);
    // The recording is joined when the session's worker finishes, which may be after the ingest saw the end.
    let key = format!("recordings/{}.wav", result.conversation_id);
    let mut wav = None;
    for _ in 0..200 {
        wav = running.blobs.get(&key).await.unwrap();
        if wav.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let wav = wav.expect("the recording is written");
    assert_eq!(shared::audio::wav::decode(&wav).unwrap().1, audio);
    // No transcript; one gap, announced when it began and closed with the call.
    assert!(events_of(&accepted, "transcript").is_empty());
    let gaps: Vec<&Value> = events_of(&accepted, "transcription_gap").iter().map(|g| &g["metadata"]).collect();
    let states: Vec<&str> = gaps.iter().map(|m| m["transcription"].as_str().unwrap()).collect();
    assert_eq!(states, ["unavailable", "call_ended"]);
    assert_eq!((gaps[1]["reason"].as_str(), gaps[1]["from_seconds"].as_f64()), (Some("unavailable"), Some(0.3)));
    assert!(gaps[1]["to_seconds"].as_f64().unwrap() > 7.0);
    // Each utterance was tried three times (two brief retries).
    assert_eq!(stt.requests.load(Ordering::SeqCst), 9);

    let hb = running.heartbeat(|s| s["transcription_failures"] == 3 && s["recordings_written"] == 1).await;
    assert_eq!((&hb["transcribed"], &hb["recording_failures"]), (&0.into(), &0.into()));
    assert!(hb["transcription_gap_seconds"].as_f64().unwrap() > 5.0, "{hb}");
    let error = hb["last_transcription_error"].as_str().unwrap();
    assert!(error.contains("HTTP 503") && !error.contains("stt-secret-key"), "{error}");
    running.stop().await;
}
