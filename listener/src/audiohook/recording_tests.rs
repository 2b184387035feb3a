use super::*;
use async_trait::async_trait;
use shared::ports::BlobVersion;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// An in-memory blob store whose writes fail while `down` is set.
#[derive(Default)]
struct FlakyBlobs {
    down: AtomicBool,
    /// Writes never answer.
    hang: AtomicBool,
    blobs: Mutex<HashMap<String, Vec<u8>>>,
    /// Writes so far, each blob's version the number of the write that left it.
    writes: AtomicU64,
    versions: Mutex<HashMap<String, u64>>,
}

impl FlakyBlobs {
    async fn available(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Backend("storage down".into()));
        }
        if self.hang.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        Ok(())
    }

    fn write(&self, key: &str, bytes: Vec<u8>) {
        let version = self.writes.fetch_add(1, Ordering::SeqCst);
        self.versions.lock().unwrap().insert(key.into(), version);
        self.blobs.lock().unwrap().insert(key.into(), bytes);
    }

    fn version(&self, key: &str) -> Option<BlobVersion> {
        self.versions.lock().unwrap().get(key).map(|v| BlobVersion(v.to_string()))
    }
}

#[async_trait]
impl BlobStore for FlakyBlobs {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.available().await?;
        self.write(key, bytes);
        Ok(())
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.blobs.lock().unwrap().get(key).cloned())
    }
    async fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, BlobVersion)>, StoreError> {
        Ok(self.get(key).await?.zip(self.version(key)))
    }
    async fn put_if(&self, key: &str, bytes: Vec<u8>, expected: Option<&BlobVersion>) -> Result<bool, StoreError> {
        self.available().await?;
        let unchanged = self.version(key).as_ref() == expected;
        if unchanged {
            self.write(key, bytes);
        }
        Ok(unchanged)
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.blobs.lock().unwrap().remove(key);
        Ok(())
    }
}

const LIMIT: Duration = Duration::from_secs(5);

/// A writer thread of its own for each recorder of a test.
fn writer() -> Arc<DiskWriter> {
    Arc::new(DiskWriter::start().unwrap())
}

fn samples(frames: usize, value: i16) -> Frames {
    Frames { channels: 2, samples: [value, -value].repeat(frames) }
}

fn recorded(blobs: &FlakyBlobs, call: &str) -> Vec<i16> {
    let bytes = blobs.blobs.lock().unwrap()[&recording_key(call)].clone();
    let (format, pcm) = wav::decode(&bytes).unwrap();
    assert_eq!((format.sample_rate, format.channels), (8000, 2));
    pcm.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect()
}

#[tokio::test]
async fn parts_as_it_goes_then_one_file_with_gaps_as_silence() {
    let local = tempfile::tempdir().unwrap();
    let blobs = Arc::new(FlakyBlobs::default());
    let mut r = Recorder::new(blobs.clone(), (local.path(), &writer()), "call-1", "s1", 2, 1, LIMIT);
    r.push(0, &samples(8000, 100)).await.unwrap();
    assert!(
        blobs.blobs.lock().unwrap().contains_key("recordings/call-1/s1/part-000000.wav"),
        "a full part is stored at once"
    );
    // 0.5 s discarded: the recording keeps the timeline with silence.
    r.push(12_000, &samples(4000, 200)).await.unwrap();
    assert_eq!(r.finish().await.unwrap(), "recordings/call-1.wav");
    let pcm = recorded(&blobs, "call-1");
    assert_eq!(pcm.len(), 16_000 * 2);
    assert_eq!((pcm[0], pcm[1]), (100, -100));
    assert_eq!((pcm[16_000], pcm[16_001]), (0, 0), "the gap is silence");
    assert_eq!((pcm[24_000], pcm[24_001]), (200, -200));
    assert_eq!(blobs.blobs.lock().unwrap().len(), 1, "parts are removed once joined");
    assert_eq!(std::fs::read_dir(local.path()).unwrap().count(), 0, "and so are their local files and folders");

    // A later session of the same call is appended.
    let mut r = Recorder::new(blobs.clone(), (local.path(), &writer()), "call-1", "s2", 2, 1, LIMIT);
    r.push(0, &samples(800, 300)).await.unwrap();
    r.finish().await.unwrap();
    assert_eq!(recorded(&blobs, "call-1").len(), 16_800 * 2);
}

#[tokio::test]
async fn a_storage_outage_keeps_the_audio_for_the_next_part() {
    let local = tempfile::tempdir().unwrap();
    let blobs = Arc::new(FlakyBlobs::default());
    let mut r = Recorder::new(blobs.clone(), (local.path(), &writer()), "call-2", "s1", 2, 1, LIMIT);
    blobs.down.store(true, Ordering::SeqCst);
    assert!(r.push(0, &samples(8000, 100)).await.is_err());
    blobs.down.store(false, Ordering::SeqCst);
    r.push(8000, &samples(8000, 200)).await.unwrap();
    r.finish().await.unwrap();
    let pcm = recorded(&blobs, "call-2");
    assert_eq!(pcm.len(), 16_000 * 2);
    assert_eq!((pcm[0], pcm[16_000]), (100, 200));
}

#[tokio::test]
async fn the_end_of_the_timeline_is_not_an_overflow() {
    let local = tempfile::tempdir().unwrap();
    let blobs = Arc::new(FlakyBlobs::default());
    let mut r = Recorder::new(blobs.clone(), (local.path(), &writer()), "call-3", "s1", 2, 1, LIMIT);
    r.push(u64::MAX - 10, &samples(800, 100)).await.unwrap();
    r.push(u64::MAX, &samples(800, 100)).await.unwrap();
    r.finish().await.unwrap();
}

#[tokio::test]
async fn a_hanging_store_costs_one_timeout_then_the_audio_waits_on_disk() {
    let local = tempfile::tempdir().unwrap();
    let blobs = Arc::new(FlakyBlobs::default());
    let mut r =
        Recorder::new(blobs.clone(), (local.path(), &writer()), "call-4", "s1", 2, 1, Duration::from_millis(100));
    blobs.hang.store(true, Ordering::SeqCst);
    let began = std::time::Instant::now();
    let first = tokio::time::timeout(Duration::from_secs(5), r.push(0, &samples(8000, 100))).await;
    assert!(first.expect("a write that hangs is given up").is_err());
    for n in 1..4 {
        r.push(n * 8000, &samples(8000, 100)).await.unwrap();
    }
    assert!(began.elapsed() < Duration::from_millis(250), "no wait on storage until the retry: {:?}", began.elapsed());
    blobs.hang.store(false, Ordering::SeqCst);
    r.finish().await.unwrap();
    assert_eq!(recorded(&blobs, "call-4").len(), 32_000 * 2, "nothing was lost");
}

/// The embedded folder store in a temporary directory: the store the listener runs on locally.
fn folder() -> (tempfile::TempDir, Arc<shared::adapters::embedded::FolderBlobStore>) {
    let dir = tempfile::tempdir().unwrap();
    let blobs = Arc::new(shared::adapters::embedded::FolderBlobStore::new(dir.path()));
    (dir, blobs)
}

async fn pcm_at(blobs: &dyn BlobStore, key: &str) -> (AudioFormat, Vec<i16>) {
    let bytes = blobs.get(key).await.unwrap().unwrap_or_else(|| panic!("{key} is stored"));
    let (format, pcm) = wav::decode(&bytes).unwrap();
    (format, pcm.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect())
}

/// The folder store, where reading a call's recording waits (up to a moment) until a second reader comes:
/// two sessions ending together (on two listener tasks) both read the recording before either writes it
/// back, so the second write must find the recording changed and read it again.
struct ReadTogether {
    folder: Arc<shared::adapters::embedded::FolderBlobStore>,
    readers: tokio::sync::Barrier,
}

#[async_trait]
impl BlobStore for ReadTogether {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.folder.put(key, bytes).await
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.folder.get(key).await
    }
    async fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, BlobVersion)>, StoreError> {
        let _ = tokio::time::timeout(Duration::from_millis(300), self.readers.wait()).await;
        self.folder.get_versioned(key).await
    }
    async fn put_if(&self, key: &str, bytes: Vec<u8>, expected: Option<&BlobVersion>) -> Result<bool, StoreError> {
        self.folder.put_if(key, bytes, expected).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.folder.delete(key).await
    }
}

#[tokio::test]
async fn two_sessions_of_one_call_ending_together_keep_both() {
    let local = tempfile::tempdir().unwrap();
    let (_dir, folder) = folder();
    let blobs = Arc::new(ReadTogether { folder, readers: tokio::sync::Barrier::new(2) });
    let mut first = Recorder::new(blobs.clone(), (local.path(), &writer()), "call-5", "s1", 2, 1, LIMIT);
    let mut second = Recorder::new(blobs.clone(), (local.path(), &writer()), "call-5", "s2", 2, 1, LIMIT);
    first.push(0, &samples(8000, 100)).await.unwrap();
    second.push(0, &samples(4000, 200)).await.unwrap();
    let (a, b) = tokio::join!(first.finish(), second.finish());
    assert_eq!((a.unwrap(), b.unwrap()), ("recordings/call-5.wav".into(), "recordings/call-5.wav".into()));
    let (_, pcm) = pcm_at(blobs.folder.as_ref(), "recordings/call-5.wav").await;
    assert_eq!(pcm.len(), 12_000 * 2, "both sessions' audio");
    let mut values: Vec<i16> = pcm.iter().step_by(2).copied().collect();
    values.dedup();
    assert!(values == [100, 200] || values == [200, 100], "each session whole, one after the other: {values:?}");
}

#[tokio::test]
async fn a_session_of_another_format_keeps_its_audio_beside_the_recording() {
    let local = tempfile::tempdir().unwrap();
    let (_dir, blobs) = folder();
    let mut stereo = Recorder::new(blobs.clone(), (local.path(), &writer()), "call-6", "s1", 2, 1, LIMIT);
    stereo.push(0, &samples(8000, 100)).await.unwrap();
    stereo.finish().await.unwrap();
    let mut mono = Recorder::new(blobs.clone(), (local.path(), &writer()), "call-6", "s2", 1, 1, LIMIT);
    mono.push(0, &Frames { channels: 1, samples: vec![300; 4000] }).await.unwrap();
    assert_eq!(mono.finish().await.unwrap(), "recordings/call-6/s2.wav");
    let (format, pcm) = pcm_at(blobs.as_ref(), "recordings/call-6.wav").await;
    assert_eq!((format.channels, pcm.len(), pcm[0]), (2, 16_000, 100), "the stereo recording is untouched");
    let (format, pcm) = pcm_at(blobs.as_ref(), &session_recording_key("call-6", "s2")).await;
    assert_eq!((format.channels, pcm.len(), pcm[0]), (1, 4000, 300), "the mono session is kept whole");
    assert!(!blobs.exists("recordings/call-6/s2/part-000000.wav").await.unwrap(), "its parts are joined");
}

#[tokio::test]
async fn parts_a_crash_left_are_joined_in_order_once() {
    let local = tempfile::tempdir().unwrap();
    let (_dir, blobs) = folder();
    let mut ended = Recorder::new(blobs.clone(), (local.path(), &writer()), "call-7", "s1", 2, 1, LIMIT);
    ended.push(0, &samples(8000, 100)).await.unwrap();
    ended.finish().await.unwrap();
    // A session that never ends: 2 parts stored, then the process dies (the recorder is dropped).
    let mut crashed = Recorder::new(blobs.clone(), (local.path(), &writer()), "call-7", "s2", 2, 1, LIMIT);
    crashed.push(0, &samples(8000, 200)).await.unwrap();
    crashed.push(8000, &samples(8000, 300)).await.unwrap();
    // Half a part being filled when the process dies: on local disk only (but for its last write buffer,
    // 8 KiB, which a crash loses), stored at the next start.
    crashed.push(16_000, &samples(4000, 500)).await.unwrap();
    drop(crashed);
    // And a call whose only session crashed.
    let mut alone = Recorder::new(blobs.clone(), (local.path(), &writer()), "call-8", "s1", 2, 1, LIMIT);
    alone.push(0, &samples(8000, 400)).await.unwrap();
    drop(alone);

    let mut written = join_leftovers(blobs.clone(), local.path(), LIMIT).await.unwrap();
    written.sort();
    assert_eq!(written, ["recordings/call-7.wav", "recordings/call-8.wav"]);
    let (_, pcm) = pcm_at(blobs.as_ref(), "recordings/call-7.wav").await;
    let lost = 28_000 * 2 - pcm.len();
    assert!(lost <= 8 * 1024 / 2, "at most the write buffer is lost: {lost} samples");
    assert_eq!((pcm[0], pcm[16_000], pcm[32_000]), (100, 200, 300), "after what was joined, in part order");
    assert!(pcm[48_000..].iter().step_by(2).all(|s| *s == 500), "then the part that was being filled");
    assert!(pcm.len() > 48_000);
    assert_eq!(std::fs::read_dir(local.path()).unwrap().count(), 0, "the local part is stored and removed");
    assert_eq!(pcm_at(blobs.as_ref(), "recordings/call-8.wav").await.1.len(), 8000 * 2);
    assert!(blobs.list("recordings/call-7/").await.unwrap().is_empty(), "joined parts are removed");

    assert!(join_leftovers(blobs.clone(), local.path(), LIMIT).await.unwrap().is_empty(), "a second run finds nothing");
    assert_eq!(pcm_at(blobs.as_ref(), "recordings/call-7.wav").await.1.len(), pcm.len(), "nothing twice");
}

#[test]
fn only_part_keys_are_leftovers() {
    assert_eq!(join::parse_part_key("recordings/c/s/part-000012.wav"), Some(("c", "s", 12)));
    for key in
        ["recordings/c.wav", "recordings/c/s/part-12.wav", "recordings/c/s/part-000001.tmp42", "x/c/s/part-000001.wav"]
    {
        assert_eq!(join::parse_part_key(key), None, "{key}");
    }
}

/// The writer thread puts each write at its place whatever the order they come in, a long gap is a hole
/// that reads as silence, and a write that failed is reported when the part is completed.
#[tokio::test]
async fn the_writer_thread_writes_in_place_and_reports_failures() {
    let local = tempfile::tempdir().unwrap();
    let path = local.path().join("part.wav");
    let w = writer();
    let part = writer::Part::new(std::fs::File::create(&path).unwrap());
    w.write(&part, 8, vec![3; 4]).await.unwrap();
    w.write(&part, 4, vec![2; 4]).await.unwrap();
    w.complete(&part, vec![1; 4], 20).await.unwrap();
    let mut expected = [[1; 4], [2; 4], [3; 4]].concat();
    expected.resize(20, 0);
    assert_eq!(std::fs::read(&path).unwrap(), expected, "in place, the end a hole of zeros");

    // Past the largest file the file system takes: the write fails on the thread, not in the session.
    w.write(&part, u64::MAX / 2, vec![9; 4]).await.unwrap();
    assert!(w.complete(&part, vec![1; 4], 20).await.is_err(), "the failed write is reported");
    w.complete(&part, vec![1; 4], 20).await.expect("once");
    assert_eq!(std::fs::read(&path).unwrap(), expected);
}

/// What a part costs the file system: a stored part's file becomes the next part's (one new file per
/// session, not per part: each new file is an inode to allocate), and a long gap of silence is a hole,
/// not megabytes of zeros written.
#[tokio::test]
async fn one_local_file_per_session_and_gaps_as_holes() {
    use std::os::unix::fs::MetadataExt;
    let local = tempfile::tempdir().unwrap();
    let blobs = Arc::new(FlakyBlobs::default());
    let mut r = Recorder::new(blobs.clone(), (local.path(), &writer()), "call-9", "s1", 2, 1, LIMIT);
    let part = |n: u32| local.path().join(join::part_key("call-9", "s1", n));
    r.push(0, &samples(4000, 100)).await.unwrap();
    let inode = std::fs::metadata(part(0)).unwrap().ino();
    r.push(4000, &samples(4000, 100)).await.unwrap();
    assert!(blobs.blobs.lock().unwrap().contains_key("recordings/call-9/s1/part-000000.wav"));
    assert!(!part(0).exists());
    assert_eq!(std::fs::metadata(part(1)).unwrap().ino(), inode, "the same file, now the next part's");

    r.finish().await.unwrap();
    assert_eq!(recorded(&blobs, "call-9").len(), 8000 * 2);

    // A moment of audio, a minute on hold (1.9 MB of stereo silence), a moment of audio: in a part of 100 s.
    let mut r = Recorder::new(blobs.clone(), (local.path(), &writer()), "call-10", "s1", 2, 100, LIMIT);
    r.push(0, &samples(800, 100)).await.unwrap();
    r.push(800 + 480_000, &samples(800, 200)).await.unwrap();
    let path = local.path().join(join::part_key("call-10", "s1", 0));
    tokio::time::sleep(Duration::from_millis(200)).await; // whatever was queued is written by now
    let on_disk = std::fs::metadata(path).unwrap().blocks() * 512;
    assert!(on_disk < 64 * 1024, "{on_disk} bytes on disk for a minute of silence");
    r.finish().await.unwrap();
    let pcm = recorded(&blobs, "call-10");
    assert_eq!(pcm.len(), (800 + 480_000 + 800) * 2);
    assert!(pcm[1600..1600 + 960_000].iter().all(|s| *s == 0), "the hole is silence");
    assert_eq!((pcm[1599], pcm[1600 + 960_000], pcm[pcm.len() - 1]), (-100, 200, -200));
}
