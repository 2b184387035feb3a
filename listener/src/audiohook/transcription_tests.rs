use super::*;
use async_trait::async_trait;
use shared::speech::{Segment, SttError};
use std::sync::atomic::AtomicU32;
use tokio::time::Instant;

/// A provider that takes `delay` per request and is unavailable for the first `failures` requests.
struct SlowStt {
    delay: Duration,
    failures: AtomicU32,
    calls: AtomicU32,
}

impl SlowStt {
    fn new(delay_ms: u64, failures: u32) -> Arc<Self> {
        Arc::new(Self { delay: Duration::from_millis(delay_ms), failures: failures.into(), calls: 0.into() })
    }
}

#[async_trait]
impl Transcriber for SlowStt {
    async fn transcribe(&self, wav: Vec<u8>, language: Option<&str>) -> Result<Vec<Segment>, SttError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let (format, _) = shared::audio::wav::decode(&wav).map_err(|e| SttError::BadAnswer(e.to_string()))?;
        assert_eq!((format.sample_rate, format.channels, language), (8000, 1, Some("en-US")));
        tokio::time::sleep(self.delay).await;
        let fail = self.failures.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        if fail { Err(SttError::Unavailable("HTTP 503 busy".into())) } else { Ok(Vec::new()) }
    }
}

fn config(queue: usize, concurrency: usize) -> LiveConfig {
    let mut cfg = LiveConfig::from_env(&[("STT_PROVIDER", "openai")]).unwrap();
    (cfg.queue, cfg.concurrency) = (queue, concurrency);
    cfg
}

/// `bursts` half-second tones, each followed by a second of near silence: one utterance each.
fn talk(bursts: usize) -> Frames {
    let burst = (0..4000).map(|i| if (i / 8) % 2 == 0 { 4000 } else { -4000 });
    let samples = (0..bursts).flat_map(|_| burst.clone().chain(std::iter::repeat_n(3, 8000))).collect();
    Frames { channels: 1, samples: [vec![3; 8000], samples].concat() }
}

fn session(pool: &Arc<LiveTranscription>) -> (LiveSession, mpsc::UnboundedReceiver<Outgoing>) {
    let (out, events) = mpsc::unbounded_channel();
    let info = SessionInfo {
        call_id: "c1".into(),
        session_id: "s1".into(),
        roles: vec!["customer"],
        started_at: chrono::Utc::now(),
    };
    (pool.session(info, 1, Some("en-US".into()), out, None), events)
}

fn counter(pool: &LiveTranscription, name: &str) -> Value {
    pool.counters()[name].clone()
}

fn gap_states(events: &mut mpsc::UnboundedReceiver<Outgoing>) -> Vec<(String, String)> {
    std::iter::from_fn(|| events.try_recv().ok())
        .map(|o| {
            let m = &o.body["metadata"];
            (m["transcription"].as_str().unwrap_or("-").into(), m["reason"].as_str().unwrap_or("-").into())
        })
        .collect()
}

#[tokio::test]
async fn a_full_queue_drops_and_counts_without_blocking_the_audio() {
    let stt = SlowStt::new(300, 0);
    let (_stop, stopping) = watch::channel(false);
    let pool = LiveTranscription::start(stt.clone(), &config(2, 1), stopping);
    let (mut live, mut events) = session(&pool);
    let began = Instant::now();
    live.push(0, &talk(6));
    assert!(began.elapsed() < Duration::from_millis(100), "intake never waits on the provider");
    assert_eq!((counter(&pool, "utterances"), counter(&pool, "queue_depth")), (6.into(), 2.into()));
    assert_eq!(counter(&pool, "transcription_dropped"), 4);
    assert_eq!(counter(&pool, "transcription_gap_seconds"), 4.0 * 1.3, "pre-roll, burst and hangover each");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(counter(&pool, "busy_workers"), 1);
    live.finish().await;
    assert_eq!((stt.calls.load(Ordering::SeqCst), counter(&pool, "transcribed")), (2, 2.into()));
    // The drops are one gap, announced once (after the transcribed utterances before it) and closed at the end.
    let gaps = gap_states(&mut events);
    assert_eq!(gaps, [("unavailable".into(), "queue_full".into()), ("call_ended".into(), "queue_full".into())]);
    assert_eq!((counter(&pool, "queue_depth"), counter(&pool, "busy_workers")), (0.into(), 0.into()));
}

#[tokio::test]
async fn an_unavailable_provider_is_retried_briefly_then_the_gap_is_reported() {
    // Unavailable three times: the first utterance fails after its two retries, the second succeeds.
    let stt = SlowStt::new(0, 3);
    let (_stop, stopping) = watch::channel(false);
    let pool = LiveTranscription::start(stt.clone(), &config(8, 1), stopping);
    let (mut live, mut events) = session(&pool);
    live.push(0, &talk(2));
    live.finish().await;
    assert_eq!(stt.calls.load(Ordering::SeqCst), 4);
    assert_eq!((counter(&pool, "transcription_failures"), counter(&pool, "transcribed")), (1.into(), 1.into()));
    let error = counter(&pool, "last_transcription_error");
    assert_eq!(error, "speech-to-text provider unavailable: HTTP 503 busy");
    let gaps = gap_states(&mut events);
    assert_eq!(gaps, [("unavailable".into(), "unavailable".into()), ("recovered".into(), "unavailable".into())]);
}

/// A provider whose first request panics.
struct PanickyStt(AtomicU32);

#[async_trait]
impl Transcriber for PanickyStt {
    async fn transcribe(&self, _wav: Vec<u8>, _language: Option<&str>) -> Result<Vec<Segment>, SttError> {
        assert!(self.0.fetch_add(1, Ordering::SeqCst) > 0, "the provider's client panics once");
        Ok(Vec::new())
    }
}

#[tokio::test]
async fn a_panicking_job_is_counted_and_the_worker_keeps_serving() {
    let stt = Arc::new(PanickyStt(0.into()));
    let (_stop, stopping) = watch::channel(false);
    let pool = LiveTranscription::start(stt.clone(), &config(8, 1), stopping);
    let (mut live, mut events) = session(&pool);
    live.push(0, &talk(2));
    live.finish().await;
    assert_eq!(stt.0.load(Ordering::SeqCst), 2, "the one worker served the second utterance");
    assert_eq!((counter(&pool, "transcription_panics"), counter(&pool, "transcribed")), (1.into(), 1.into()));
    let gaps = gap_states(&mut events);
    assert_eq!(gaps, [("unavailable".into(), "panic".into()), ("recovered".into(), "panic".into())]);
    assert_eq!(counter(&pool, "busy_workers"), 0);
}

#[tokio::test]
async fn a_loss_after_the_calls_end_still_reaches_the_stream_as_a_gap() {
    // Four utterances, 500 ms each on one worker (started at 0, 0.5, 1 and 1.5 s); the end of the call
    // waits 1 s for them, then the service starts stopping: the fourth, still queued, is lost after `finish`.
    let stt = SlowStt::new(500, 0);
    let (stop, stopping) = watch::channel(false);
    let mut cfg = config(8, 1);
    (cfg.timeout, cfg.max_wait) = (Duration::from_secs(1), Duration::from_secs(10));
    let pool = LiveTranscription::start(stt.clone(), &cfg, stopping);
    let (mut live, mut events) = session(&pool);
    live.push(0, &talk(4));
    live.finish().await;
    assert!(gap_states(&mut events).is_empty(), "nothing lost before the end");
    tokio::time::sleep(Duration::from_millis(250)).await;
    stop.send_replace(true);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!((counter(&pool, "transcribed"), counter(&pool, "transcription_dropped")), (3.into(), 1.into()));
    let gaps: Vec<_> = std::iter::from_fn(|| events.try_recv().ok()).map(|o| o.body["metadata"].clone()).collect();
    let brief: Vec<_> = gaps.iter().map(|m| (m["transcription"].clone(), m["reason"].clone())).collect();
    assert_eq!(brief, [(json!("unavailable"), json!("stopping")), (json!("call_ended"), json!("stopping"))]);
    assert_eq!(gaps[1]["utterances"], 1, "the closing event counts the utterances lost");
}

#[tokio::test]
async fn an_utterance_that_waited_past_the_bound_is_shed_with_a_gap_not_decoded() {
    // Four utterances at once, 400 ms each on one worker, at most 0.5 s of waiting: the first two are
    // served (waited 0 and 0.4 s), the last two have waited 0.8 s when the worker is free and are shed.
    let stt = SlowStt::new(400, 0);
    let (_stop, stopping) = watch::channel(false);
    let env = [("STT_PROVIDER", "openai"), ("LIVE_TRANSCRIPTION_MAX_WAIT_SECONDS", "0.5")];
    let mut cfg = LiveConfig::from_env(&env).unwrap();
    (cfg.queue, cfg.concurrency) = (8, 1);
    let pool = LiveTranscription::start(stt.clone(), &cfg, stopping);
    let (mut live, mut events) = session(&pool);
    live.push(0, &talk(4));
    live.finish().await;
    assert_eq!((stt.calls.load(Ordering::SeqCst), counter(&pool, "transcribed")), (2, 2.into()));
    assert_eq!(counter(&pool, "transcription_dropped"), 2, "shed utterances are counted as dropped");
    let gaps = gap_states(&mut events);
    assert_eq!(gaps, [("unavailable".into(), "stale".into()), ("call_ended".into(), "stale".into())]);
}

/// An engine that runs one transcription at once and says so, as the embedded one does per core.
struct OneAtATime(Arc<SlowStt>, tokio::sync::Mutex<()>);

#[async_trait]
impl Transcriber for OneAtATime {
    async fn transcribe(&self, wav: Vec<u8>, language: Option<&str>) -> Result<Vec<Segment>, SttError> {
        let _running = self.1.lock().await;
        self.0.transcribe(wav, language).await
    }

    fn runs_at_once(&self) -> Option<usize> {
        Some(1)
    }
}

#[tokio::test]
async fn workers_beyond_what_the_engine_runs_do_not_hide_stale_utterances() {
    // Four workers configured, but the engine runs one at a time: the others would take utterances out of
    // the queue to wait inside the engine, where their age is not looked at.
    let stt = SlowStt::new(400, 0);
    let engine = Arc::new(OneAtATime(stt.clone(), Default::default()));
    let (_stop, stopping) = watch::channel(false);
    let mut cfg = config(8, 4);
    cfg.max_wait = Duration::from_millis(500);
    let pool = LiveTranscription::start(engine, &cfg, stopping);
    let (mut live, _events) = session(&pool);
    live.push(0, &talk(4));
    live.finish().await;
    assert_eq!((stt.calls.load(Ordering::SeqCst), counter(&pool, "transcription_dropped")), (2, 2.into()));
}

#[tokio::test]
async fn stopping_drops_what_is_still_queued() {
    let stt = SlowStt::new(0, 0);
    let (stop, stopping) = watch::channel(true);
    let pool = LiveTranscription::start(stt.clone(), &config(8, 2), stopping);
    let (mut live, _events) = session(&pool);
    live.push(0, &talk(3));
    live.finish().await;
    assert_eq!((stt.calls.load(Ordering::SeqCst), counter(&pool, "transcription_dropped")), (0, 3.into()));
    drop(stop);
}

#[test]
fn settings_from_the_environment() {
    let off = LiveConfig::from_env(&[]).unwrap();
    assert!(!off.enabled, "no provider, no live transcription");
    let on = LiveConfig::from_env(&[("STT_PROVIDER", "openai"), ("LIVE_TRANSCRIPTION_MAX_UTTERANCE_MS", "8000")]);
    let on = on.unwrap();
    assert_eq!((on.enabled, on.queue, on.concurrency, on.retries), (true, 64, 4, 2));
    assert_eq!((on.timeout, on.cutter.max_ms, on.cutter.hangover_ms), (Duration::from_secs(20), 8000, 600));
    assert_eq!(on.max_wait, Duration::from_secs(1));
    let off = LiveConfig::from_env(&[("STT_PROVIDER", "openai"), ("LIVE_TRANSCRIPTION_ENABLED", "false")]);
    assert!(!off.unwrap().enabled);
    // Off, the provider is not read: Sarvam without its key (the batch worker's alone) starts the listener.
    let off = LiveConfig::from_env(&[("STT_PROVIDER", "sarvam"), ("LIVE_TRANSCRIPTION_ENABLED", "false")]);
    assert!(!off.unwrap().enabled);
    let err = LiveConfig::from_env(&[("LIVE_TRANSCRIPTION_ENABLED", "true")]).unwrap_err();
    assert_eq!(err, ConfigError::NoSttProvider);
    let bounded = LiveConfig::from_env(&[
        ("STT_PROVIDER", "openai"),
        ("LIVE_TRANSCRIPTION_QUEUE", "0"),
        ("LIVE_TRANSCRIPTION_CONCURRENCY", "1000"),
    ]);
    assert_eq!(bounded.map(|c| (c.queue, c.concurrency)).unwrap(), (1, 64));
    assert!(LiveConfig::from_env(&[("LIVE_TRANSCRIPTION_QUEUE", "many")]).is_err());
}
