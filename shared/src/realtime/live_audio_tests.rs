use super::*;
use crate::audio::silence::{scan, tone};
use chrono::{Duration, TimeZone, Utc};

const MONO16K: AudioFormat = AudioFormat { sample_rate: 16_000, channels: 1, sample_width: 2 };

fn t(secs: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 2, 10, 10, 0, 0).unwrap() + Duration::seconds(secs)
}

/// The window as a store keeps it: the head, and the entries in playing order.
struct Window {
    head: LiveHead,
    entries: Vec<ChunkRef>,
    window_seconds: u32,
}

impl Window {
    fn new(call_id: &str) -> Self {
        Self { head: LiveHead::new(call_id), entries: Vec::new(), window_seconds: 30 }
    }

    /// Appends a chunk of `bytes` as the service does; returns what the store writes.
    fn append_bytes(&mut self, id: Option<&str>, bytes: usize, at: Timestamp) -> LiveAppend {
        let entry = self.head.plan(id, MONO16K, bytes, at).unwrap();
        let oldest = if self.head.needs_trim(&entry, MONO16K, self.window_seconds) {
            self.entries.iter().take(TRIM_BATCH).cloned().collect()
        } else {
            Vec::new()
        };
        let append = self.head.clone().commit(entry, MONO16K, &oldest, None, self.window_seconds, at);
        self.entries.retain(|e| !append.dropped.contains(e));
        if let Some(e) = &append.entry {
            let at = self.entries.partition_point(|c| c.order_key() <= e.order_key());
            self.entries.insert(at, e.clone());
        }
        self.head = append.head.clone();
        assert_eq!(self.head.chunk_count, self.entries.len() as u64, "the head counts the entries");
        assert_eq!(self.head.total_frames, self.entries.iter().map(|e| e.frames).sum::<u64>());
        append
    }

    /// A chunk of `seconds`; returns the chunks that left the window.
    fn add(&mut self, id: Option<&str>, seconds: u32, at: i64) -> Vec<ChunkRef> {
        self.append_bytes(id, (seconds * 16_000 * 2) as usize, t(at)).dropped
    }
}

#[test]
fn window_trims_oldest_but_keeps_one() {
    let mut w = Window::new("c1");
    for i in 0..3 {
        assert!(w.add(None, 10, i).is_empty());
    }
    // 40 s in a 30 s window: the oldest chunk goes when the fourth arrives.
    let dropped = w.add(None, 10, 3);
    assert_eq!(dropped.len(), 1);
    assert!(dropped[0].key.starts_with("live/c1/000000001_"), "{}", dropped[0].key);
    assert_eq!(w.entries.len(), 3);
    let dropped = w.add(None, 60, 10);
    assert_eq!(dropped.len(), 3);
    assert_eq!(w.entries.len(), 1, "a single oversized chunk is kept");
    assert_eq!(w.head.meta(30)["duration_seconds"], 60.0);
}

#[test]
fn keys_ids_and_order() {
    let mut w = Window::new("c1");
    w.add(Some("late"), 1, 5);
    w.add(Some("early"), 1, 1);
    w.add(None, 1, 3);
    let ids: Vec<&str> = w.entries.iter().map(|c| c.id.as_str()).collect();
    let auto = format!("{}_3", t(3).timestamp_millis());
    assert_eq!(ids, ["early", auto.as_str(), "late"]);
    assert_eq!(w.entries[0].key, "live/c1/000000002_early.pcm");
    assert_eq!(w.head.last_chunk_id, auto);
}

#[test]
fn order_keys_sort_as_the_window_plays() {
    let entry = |seq, at: Timestamp| ChunkRef {
        seq,
        id: "x".into(),
        key: "k".into(),
        frames: 1,
        bytes: 2,
        occurred_at: at,
        offset: None,
    };
    let before_1970 = Utc.with_ymd_and_hms(1969, 12, 31, 23, 59, 59).unwrap();
    let keys = [
        entry(9, before_1970),
        entry(3, t(0)),
        entry(4, t(0)),
        entry(1, t(0) + Duration::microseconds(1)),
        entry(2, t(100_000_000)),
    ]
    .map(|e| e.order_key());
    assert!(keys.windows(2).all(|p| p[0] < p[1]), "{keys:?}");
}

#[test]
fn a_chunk_older_than_the_full_window_leaves_it_at_once() {
    let mut w = Window::new("c1");
    for i in 0..3 {
        w.add(None, 10, 100 + i);
    }
    let append = w.append_bytes(Some("stale"), 10 * 16_000 * 2, t(0));
    assert_eq!(append.entry, None, "nothing to store");
    assert!(append.dropped.is_empty(), "the window keeps its newer chunks");
    assert_eq!(w.entries.len(), 3);
    assert_eq!(w.head.last_chunk_id, "stale", "as before: the last chunk received");
}

#[test]
fn a_shorter_window_is_reached_a_batch_at_a_time() {
    let mut w = Window::new("c1");
    w.window_seconds = 600;
    for i in 0..100 {
        w.add(None, 1, i);
    }
    w.window_seconds = 30;
    let dropped = w.add(None, 1, 100);
    assert_eq!(dropped.len(), TRIM_BATCH, "one append drops a bounded number");
    while w.head.total_frames > 30 * 16_000 {
        assert!(w.add(None, 1, 200).len() <= TRIM_BATCH);
    }
    assert_eq!(w.entries.len(), 30);
}

#[test]
fn format_change_is_refused() {
    let mut w = Window::new("c1");
    w.add(None, 1, 0);
    let stereo8k = AudioFormat { sample_rate: 8000, channels: 2, sample_width: 2 };
    let err = w.head.plan(None, stereo8k, 100, t(1)).unwrap_err();
    assert!(err.to_string().starts_with("Audio format changed mid-call"));
}

#[test]
fn tail_is_exact_and_frame_aligned() {
    let mut w = Window::new("c1");
    for i in 0..3 {
        w.add(None, 2, i);
    }
    let (chunks, skip) = tail(&w.entries, MONO16K, Some(3));
    assert_eq!(chunks.len(), 2);
    assert_eq!(skip, 16_000 * 2);
    assert_eq!(tail(&w.entries, MONO16K, None).0.len(), 3);
    assert_eq!(tail(&w.entries, MONO16K, Some(0)).0.len(), 3);
}

#[test]
fn meta_shapes() {
    let empty = LiveHead::new("c9").meta(300);
    assert_eq!(empty["available"], false);
    assert_eq!(empty["sample_rate"], Value::Null);
    assert_eq!(empty["updated_at"], Value::Null);
    assert_eq!(empty["last_chunk_id"], "");
    assert_eq!(empty["window_seconds"], 300);
    assert_eq!(empty["chunk_count"], 0);
}

#[test]
fn silence_crossings_are_reported_once_per_level() {
    let mut b = LiveHead::new("c1");
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
fn the_window_is_bounded_by_chunks_and_bytes_not_only_time() {
    // 2-byte chunks: 5,000 of them are 0.6 s of audio, far inside the 30 s window.
    let fill = |call_id: &str, id_len: usize| {
        let mut w = Window::new(call_id);
        let mut dropped = 0;
        for i in 0..5_000 {
            let id = format!("{i:06}{}", "x".repeat(id_len - 6));
            dropped += w.append_bytes(Some(&id), 2, t(i)).dropped.len();
        }
        assert_eq!(w.entries.len() + dropped, 5_000, "every chunk is kept or handed back for deletion");
        assert_eq!(w.entries.last().map(|c| &c.id[..6]), Some("004999"), "the newest stays");
        w
    };
    let short = fill("c1", 8);
    assert_eq!(short.entries.len(), MAX_WINDOW_CHUNKS);
    let long = fill(&"c".repeat(128), 128);
    assert!(long.entries.len() < MAX_WINDOW_CHUNKS, "the bytes bound first: {}", long.entries.len());
    let listed: usize = long.entries.iter().map(ChunkRef::state_bytes).sum();
    assert!(listed <= MAX_WINDOW_STATE_BYTES);
    let saved: usize = long.entries.iter().map(|e| serde_json::to_vec(e).unwrap().len()).sum();
    assert!(saved <= MAX_WINDOW_STATE_BYTES, "{saved} bytes serialised");
}

/// What one append writes is the same at the start of a call and two hours in.
#[test]
fn an_append_writes_the_same_bytes_whatever_the_window_holds() {
    let mut w = Window::new("c1");
    w.window_seconds = 300;
    let written = |a: &LiveAppend| {
        serde_json::to_vec(&a.head).unwrap().len()
            + a.entry.iter().chain(&a.dropped).map(|e| serde_json::to_vec(e).unwrap().len()).sum::<usize>()
    };
    let sizes: Vec<usize> = (0..9_600)
        .map(|i| {
            let at = t(0) + Duration::milliseconds(750 * i);
            written(&w.append_bytes(Some(&format!("chunk-{i:05}")), 24_000, at))
        })
        .collect();
    assert_eq!(w.entries.len(), 400, "300 s of 750 ms chunks");
    let (first, last) = (sizes[..100].iter().max().unwrap(), sizes[9_500..].iter().max().unwrap());
    assert!(*last <= first + 400, "{first} bytes per append at the start, {last} two hours in");
    assert!(*last < 1_024, "{last}");
}

/// Entries in segment files: one file per [`SEGMENT_CHUNKS`] arrivals, entries that follow each other in a
/// file read as one range (bytes no entry points to, a lost race's, are skipped), and a file is released
/// when the first entry two segments on leaves the window.
#[test]
fn segment_entries_read_as_ranges_and_release_old_segments() {
    let entry = |seq: u64, offset: u64| {
        let e = ChunkRef {
            seq,
            id: format!("c{seq}"),
            key: String::new(),
            frames: 10,
            bytes: 40,
            occurred_at: t(seq as i64),
            offset: Some(offset),
        };
        e.in_segment("call")
    };
    let (a, b, after_gap, next) = (entry(1, 0), entry(2, 40), entry(3, 120), entry(SEGMENT_CHUNKS, 0));
    assert_eq!((a.key.as_str(), next.key.as_str()), ("live/call/s000000.pcm", "live/call/s000001.pcm"));
    let own = ChunkRef { offset: None, key: "live/call/000000004_c4.pcm".into(), ..a.clone() };
    let read = |key: &str, offset: Option<u64>, len: u64| BlobRead { key: key.into(), offset, len };
    assert_eq!(
        reads(&[a.clone(), b, after_gap, next, own.clone()]),
        [
            read("live/call/s000000.pcm", Some(0), 80),
            read("live/call/s000000.pcm", Some(120), 40),
            read("live/call/s000001.pcm", Some(0), 40),
            read("live/call/000000004_c4.pcm", None, 40),
        ]
    );
    assert_eq!(a.released_blob("call"), None);
    assert_eq!(entry(SEGMENT_CHUNKS, 0).released_blob("call"), None, "segment 0 may still hold late chunks");
    assert_eq!(entry(2 * SEGMENT_CHUNKS, 0).released_blob("call").as_deref(), Some("live/call/s000000.pcm"));
    assert_eq!(entry(2 * SEGMENT_CHUNKS + 1, 0).released_blob("call"), None);
    assert_eq!(own.released_blob("call"), Some(own.key.clone()), "a chunk's own blob goes with it");
    let saved = serde_json::to_vec(&ChunkRef { offset: Some(u64::MAX), ..entry(u64::MAX, 0) }).unwrap();
    assert!(saved.len() <= entry(u64::MAX, 0).state_bytes(), "the bound counts the offset too");
}
