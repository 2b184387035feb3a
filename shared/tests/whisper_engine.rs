//! The embedded whisper.cpp engine on real speech: espeak-ng sentences on the two channels of an 8 kHz
//! stereo call, prepared as the batch worker prepares uploads, transcribed with the real tiny.en model;
//! progress inside a long piece reaching `call_update`, and an abandoned transcription stopping.

#[path = "speech/mod.rs"]
mod speech;

use shared::adapters::embedded::{BroadcastPush, FolderBlobStore, SqliteStore};
use shared::audio::{AudioConfig, prepare};
use shared::batch::{BatchConfig, BatchPorts, BatchService, Processed, Upload, UploadsQueued};
use shared::stt::{SttConfig, SttError, Transcriber, Whisper, WhisperSettings};
use std::sync::Arc;

use speech::{ESCALATION as CUSTOMER, GREETING as AGENT};

/// `lines` sentences said in turn every 6.5 s (pauses too short to be taken out), as a mono WAV at `rate`.
fn talk(rate: u32, lines: u32) -> Vec<u8> {
    let said: Vec<(f64, &str)> =
        (0..lines).map(|i| (0.5 + 6.5 * f64::from(i), [AGENT, CUSTOMER][i as usize % 2])).collect();
    speech::mono_call(rate, &said, 6.5 * f64::from(lines))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customer_channel_is_transcribed_with_timestamps_and_confidence() {
    let model = speech::tiny_en();
    let whisper = Whisper::load(&WhisperSettings { model, threads: 1 }).unwrap();
    let call = speech::stereo_call(8_000, &[(3.5, CUSTOMER)], &[(0.3, AGENT)]);
    let prepared = prepare(&call, Some("call.wav"), &AudioConfig::default()).unwrap();
    let customer = &prepared.tracks[0];
    assert_eq!(customer.speaker.as_deref(), Some("customer"));

    let segments = whisper.transcribe(customer.pieces[0].wav.clone(), Some("en-IN")).await.unwrap();
    let text = segments.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" ");
    assert!(text.to_lowercase().contains("manager"), "{segments:?}");
    for s in &segments {
        assert!(0.0 <= s.start_seconds && s.start_seconds < s.end_seconds, "{s:?}");
        assert!(s.end_seconds <= prepared.duration_seconds + 1.0, "{s:?} past the call's end");
        assert!(s.confidence.is_some_and(|c| c > 0.0 && c <= 1.0), "{s:?}");
    }
    let spoken = segments.iter().find(|s| s.text.to_lowercase().contains("manager")).unwrap();
    assert!(spoken.start_seconds > 2.5 && spoken.end_seconds > 5.0, "the sentence starts at 3.5 s: {spoken:?}");
}

#[tokio::test]
async fn bad_models_and_bad_audio_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let model = speech::tiny_en();
    let bytes = std::fs::read(&model).unwrap();
    let load = |name: &str, content: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        Whisper::load(&WhisperSettings { model: path, threads: 1 }).err()
    };
    for (name, content) in [("not-ggml.bin", &b"lmgg not a model"[..]), ("cut.bin", &bytes[..bytes.len() / 2])] {
        assert!(matches!(load(name, content), Some(SttError::Engine(m)) if m.contains(name)), "{name}");
    }
    let missing = Whisper::load(&WhisperSettings { model: dir.path().join("none.bin"), threads: 1 });
    assert!(matches!(missing, Err(SttError::Engine(m)) if m.contains("none.bin")));

    let whisper = Whisper::load(&WhisperSettings { model, threads: 1 }).unwrap();
    let r = whisper.transcribe(b"RIFF nonsense".to_vec(), None).await;
    assert!(matches!(r, Err(SttError::Refused(_))), "{r:?}");
}

#[test]
fn the_local_process_defaults_to_whisper_when_a_model_is_present() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    assert_eq!(SttConfig::local_from_env(&[("DATA_DIR", data)]).unwrap(), SttConfig::None);
    std::fs::create_dir_all(dir.path().join("models")).unwrap();
    std::fs::write(dir.path().join("models/ggml-tiny.en.bin"), b"").unwrap();
    let chosen = SttConfig::local_from_env(&[("DATA_DIR", data), ("WHISPER_THREADS", "1")]).unwrap();
    let model = dir.path().join("models/ggml-tiny.en.bin");
    assert_eq!(chosen.summary(), format!("whisper, offline ({})", model.display()));
    assert_eq!(chosen, SttConfig::Whisper(WhisperSettings { model, threads: 1 }));
    let off = [("DATA_DIR", data), ("STT_PROVIDER", "none")];
    assert_eq!(SttConfig::local_from_env(&off).unwrap(), SttConfig::None, "an explicit choice wins");
    assert_eq!(SttConfig::from_env(&[("DATA_DIR", data)]).unwrap(), SttConfig::None, "Lambdas keep none");
    let asked = SttConfig::from_env(&[("STT_PROVIDER", "whisper"), ("DATA_DIR", "/nonexistent")]);
    assert_eq!(asked.unwrap_err().name, "WHISPER_MODEL");
}

/// A 78 s call of talk with short pauses is one piece but three of whisper's 30 s windows: the worker
/// publishes the share done inside the piece as it goes, so a long call's progress moves between pieces.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_inside_a_long_piece_reaches_call_update() {
    let dir = tempfile::tempdir().unwrap();
    let whisper = Whisper::load(&WhisperSettings { model: speech::tiny_en(), threads: 1 }).unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("db.sqlite")).unwrap());
    let push = BroadcastPush::new(256);
    let mut updates = push.subscribe();
    let quiet = [("ENABLE_NOISE_SUPPRESSION", "false")];
    let ports = BatchPorts {
        store: store.clone(),
        blobs: Arc::new(FolderBlobStore::new(dir.path().join("blobs"))),
        queue: store.clone(),
        push: Arc::new(push.clone()),
        calls: store,
        stt: Arc::new(whisper),
    };
    let service = BatchService::new(
        ports,
        AudioConfig::from_env(&quiet).unwrap(),
        BatchConfig::from_env(&quiet).unwrap(),
        UploadsQueued::ByService,
    );
    let call = talk(8_000, 12);
    let upload = Upload { filename: "long.wav".into(), audio: Some(call), ..Upload::default() };
    let id = service.submit(upload).await.unwrap().id;
    assert_eq!(service.process(&id).await.unwrap(), Processed::Completed);

    let mut within = Vec::new();
    while let Ok(m) = updates.try_recv() {
        let share = m.body["meta"]["chunk_progress"].as_f64();
        if let Some(share) = share.filter(|s| *s < 1.0) {
            within.push((share, m.body["progress"].as_u64().unwrap()));
        }
    }
    assert!(!within.is_empty(), "no progress reported inside the piece");
    assert!(within.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1), "{within:?}");
    assert!(within.iter().all(|(share, p)| *share > 0.0 && (10..70).contains(p)), "{within:?}");
    let detail = service.detail(&id).await.unwrap();
    let last = detail["transcript"]["entries"].as_array().unwrap().last().unwrap().clone();
    assert!(last["start_time_seconds"].as_f64().unwrap() > 60.0, "the last window transcribed: {last}");
}

/// Long silences are taken out before whisper reads a channel; the segments still carry the call's times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_after_long_silences_keep_the_calls_times() {
    let whisper = Whisper::load(&WhisperSettings { model: speech::tiny_en(), threads: 1 }).unwrap();
    let lines = [(1.0, AGENT), (31.0, CUSTOMER), (62.0, AGENT)];
    let segments = whisper.transcribe(speech::mono_call(16_000, &lines, 75.0), None).await.unwrap();
    assert_eq!(segments.len(), lines.len(), "{segments:?}");
    for (segment, (said_at, _)) in segments.iter().zip(lines) {
        assert!((segment.start_seconds - said_at).abs() <= 1.0, "{segments:?}");
        assert!(
            segment.end_seconds > segment.start_seconds + 2.0 && segment.end_seconds < said_at + 8.0,
            "{segments:?}"
        );
    }
    assert!(segments[2].text.to_lowercase().contains("help you"), "{segments:?}");
}

/// Once nobody waits for the result (the caller timed out or gave up), whisper stops at its next step
/// rather than holding the cores: here nobody waits from the start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_transcription_stops() {
    let whisper = Whisper::load(&WhisperSettings { model: speech::tiny_en(), threads: 1 }).unwrap();
    let call = speech::mono_call(16_000, &[(0.5, CUSTOMER)], 5.0);
    let (progress, waiting) = tokio::sync::watch::channel(0.0);
    drop(waiting);
    let r = whisper.transcribe_reporting(call, None, progress).await;
    assert!(matches!(r, Err(SttError::Engine(_))), "{r:?}");
}

/// The local process's live handle on the batch's model: a short utterance given to it while a long batch
/// run holds the batch handle finishes first, where on the batch handle it would wait (both shown, each
/// run with every core's threads, so one handle allows one run at a time).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_work_alongside_a_long_batch_run_does_not_wait_for_it() {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let batch = Arc::new(Whisper::load(&WhisperSettings { model: speech::tiny_en(), threads: cores }).unwrap());
    let long = talk(16_000, 6);
    let short = speech::mono_call(16_000, &[(0.3, CUSTOMER)], 4.0);
    let finish_order = |handle: Arc<Whisper>| {
        let (batch, long, short) = (batch.clone(), long.clone(), short.clone());
        async move {
            let started = tokio::spawn(async move { batch.transcribe(long, None).await.map(|_| "batch") });
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            let live = handle.transcribe(short, None).await.map(|_| "live").unwrap();
            let first = if started.is_finished() { "batch" } else { live };
            started.await.unwrap().unwrap();
            first
        }
    };
    assert_eq!(finish_order(Arc::new(batch.alongside())).await, "live");
    assert_eq!(finish_order(batch.clone()).await, "batch", "one handle: the utterance waits its turn");
}
