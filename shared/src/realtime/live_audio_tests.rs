use super::*;
use crate::audio::silence::{scan, tone};
use chrono::{Duration, TimeZone, Utc};

const MONO16K: AudioFormat = AudioFormat { sample_rate: 16_000, channels: 1, sample_width: 2 };

fn t(secs: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 2, 10, 10, 0, 0).unwrap() + Duration::seconds(secs)
}

fn add(buf: &mut LiveAudioBuffer, id: Option<&str>, seconds: u32, at: i64) -> Vec<ChunkRef> {
    let bytes = (seconds * 16_000 * 2) as usize;
    let p = buf.plan(id, MONO16K, bytes, t(at)).unwrap();
    buf.commit(p, 30, t(at))
}

#[test]
fn window_trims_oldest_but_keeps_one() {
    let mut b = LiveAudioBuffer::new("c1");
    for i in 0..3 {
        assert!(add(&mut b, None, 10, i).is_empty());
    }
    // 40 s in a 30 s window: the oldest chunk goes when the fourth arrives.
    let dropped = add(&mut b, None, 10, 3);
    assert_eq!(dropped.len(), 1);
    assert!(dropped[0].key.starts_with("live/c1/000000001_"), "{}", dropped[0].key);
    assert_eq!(b.chunks.len(), 3);
    let dropped = add(&mut b, None, 60, 10);
    assert_eq!(dropped.len(), 3);
    assert_eq!(b.chunks.len(), 1, "a single oversized chunk is kept");
    assert_eq!(b.meta(30)["duration_seconds"], 60.0);
}

#[test]
fn keys_ids_and_order() {
    let mut b = LiveAudioBuffer::new("c1");
    add(&mut b, Some("late"), 1, 5);
    add(&mut b, Some("early"), 1, 1);
    add(&mut b, None, 1, 3);
    let ids: Vec<&str> = b.chunks.iter().map(|c| c.id.as_str()).collect();
    let auto = format!("{}_3", t(3).timestamp_millis());
    assert_eq!(ids, ["early", auto.as_str(), "late"]);
    assert_eq!(b.chunks[0].key, "live/c1/000000002_early.pcm");
    assert!(b.has_chunk("late") && !b.has_chunk("other"));
    assert_eq!(b.last_chunk_id, auto);
}

#[test]
fn format_change_is_refused() {
    let mut b = LiveAudioBuffer::new("c1");
    add(&mut b, None, 1, 0);
    let stereo8k = AudioFormat { sample_rate: 8000, channels: 2, sample_width: 2 };
    let err = b.plan(None, stereo8k, 100, t(1)).unwrap_err();
    assert!(err.to_string().starts_with("Audio format changed mid-call"));
}

#[test]
fn tail_is_exact_and_frame_aligned() {
    let mut b = LiveAudioBuffer::new("c1");
    for i in 0..3 {
        add(&mut b, None, 2, i);
    }
    let (chunks, skip) = b.tail(Some(3));
    assert_eq!(chunks.len(), 2);
    assert_eq!(skip, 16_000 * 2);
    assert_eq!(b.tail(None).0.len(), 3);
    assert_eq!(b.tail(Some(0)).0.len(), 3);
}

#[test]
fn meta_shapes() {
    let empty = LiveAudioBuffer::new("c9").meta(300);
    assert_eq!(empty["available"], false);
    assert_eq!(empty["sample_rate"], Value::Null);
    assert_eq!(empty["updated_at"], Value::Null);
    assert_eq!(empty["last_chunk_id"], "");
    assert_eq!(empty["window_seconds"], 300);
}

#[test]
fn silence_crossings_are_reported_once_per_level() {
    let mut b = LiveAudioBuffer::new("c1");
    let quiet = scan(&tone(16_000, 1, 10), 1, 16_000, 200.0);
    let loud = scan(&tone(16_000, 1, 5000), 1, 16_000, 200.0);
    let reports: Vec<Option<f64>> = (0..40).map(|_| b.observe_silence(quiet)).collect();
    assert_eq!(reports.iter().flatten().copied().collect::<Vec<_>>(), [20.0, 35.0]);
    // Speech ends the reported run: its reading drops, so the next silence counts as a new one.
    assert_eq!(b.observe_silence(loud), Some(0.0));
    assert_eq!(b.silence_ms, 0);
    assert_eq!(b.observe_silence(loud), None, "an unreported run ends silently");
    let again: Vec<f64> = (0..21).filter_map(|_| b.observe_silence(quiet)).collect();
    assert_eq!(again, [20.0]);
}

#[test]
fn the_window_state_is_bounded_by_chunks_and_bytes_not_only_time() {
    // 2-byte chunks: 5,000 of them are 0.6 s of audio, far inside the 30 s window.
    let fill = |call_id: &str, id_len: usize| {
        let mut b = LiveAudioBuffer::new(call_id);
        let mut dropped = 0;
        for i in 0..5_000 {
            let id = format!("{i:06}{}", "x".repeat(id_len - 6));
            let p = b.plan(Some(&id), MONO16K, 2, t(i)).unwrap();
            dropped += b.commit(p, 30, t(i)).len();
        }
        assert_eq!(b.chunks.len() + dropped, 5_000, "every chunk is kept or handed back for deletion");
        assert_eq!(b.total_frames, b.chunks.len() as u64);
        assert_eq!(b.chunks.last().map(|c| &c.id[..6]), Some("004999"), "the newest stays");
        b
    };
    let short = fill("c1", 8);
    assert_eq!(short.chunks.len(), MAX_WINDOW_CHUNKS);
    let long = fill(&"c".repeat(128), 128);
    assert!(long.chunks.len() < MAX_WINDOW_CHUNKS, "the bytes bound first: {}", long.chunks.len());
    let listed: usize = long.chunks.iter().map(ChunkRef::state_bytes).sum();
    assert!(listed <= MAX_WINDOW_STATE_BYTES);
    let saved = serde_json::to_vec(&long).unwrap().len();
    assert!(saved <= MAX_WINDOW_STATE_BYTES + 1024, "{saved} bytes serialised");
}
