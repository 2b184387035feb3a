//! The AudioHook series: sessions opened and open, audio received, and the gauges read from the service's
//! state when metrics are read (sessions open, the spool, the live transcription queue), so they are right
//! after a restart or an error path whatever happened before.

use super::media::RATE;
use super::pipeline::SessionStats;
use super::transcription::LiveTranscription;
use crate::forward::SpoolBudget;
use metrics::Counter;
use shared::process::metrics::gauges::{Readings, Sampled, sample};
use shared::process::metrics::names::{
    AUDIOHOOK_AUDIO_SECONDS, AUDIOHOOK_SESSIONS_OPEN, AUDIOHOOK_SESSIONS_OPENED, LIVE_QUEUE_DEPTH, SPOOL_BYTES,
    SPOOL_OLDEST_AGE,
};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

/// One session being worked on: counted open from its `open` until its worker is done, however that ends
/// (a panic unwinding the worker drops this too).
pub struct OpenSession(Arc<SessionStats>);

impl OpenSession {
    pub fn new(stats: Arc<SessionStats>) -> Self {
        stats.sessions_opened.fetch_add(1, Ordering::Relaxed);
        stats.active_sessions.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(AUDIOHOOK_SESSIONS_OPENED).increment(1);
        Self(stats)
    }
}

impl Drop for OpenSession {
    fn drop(&mut self) {
        self.0.active_sessions.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A session's audio in whole seconds: samples add up until a second is complete, so the counter (whole
/// numbers) loses less than a second per session.
pub struct AudioSeconds {
    counter: Counter,
    samples: u64,
}

impl AudioSeconds {
    pub fn new() -> Self {
        Self { counter: metrics::counter!(AUDIOHOOK_AUDIO_SECONDS), samples: 0 }
    }

    pub fn add(&mut self, samples: u64) {
        self.samples += samples;
        let rate = u64::from(RATE);
        if self.samples >= rate {
            self.counter.increment(self.samples / rate);
            self.samples %= rate;
        }
    }
}

/// Reports the service's gauges for as long as the returned guard lives.
pub fn gauges(stats: Arc<SessionStats>, spool: Arc<SpoolBudget>, live: Option<Arc<LiveTranscription>>) -> Sampled {
    sample(move |r: &mut Readings| {
        r.add(AUDIOHOOK_SESSIONS_OPEN, stats.active_sessions.load(Ordering::Relaxed) as f64);
        r.add(SPOOL_BYTES, spool.used() as f64);
        r.max(SPOOL_OLDEST_AGE, oldest_age_seconds(&spool.dir, SystemTime::now()));
        if let Some(live) = &live {
            r.add(LIVE_QUEUE_DEPTH, live.queue_depth() as f64);
        }
    })
}

/// Age of the oldest backlog file in the spool folder (its creation, else its last change), 0 when there
/// is none. Read from the folder, so backlogs a previous process left count from when they were written.
pub fn oldest_age_seconds(dir: &Path, now: SystemTime) -> f64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0.0 };
    entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "jsonl"))
        .filter_map(|e| e.metadata().ok())
        .filter_map(|m| m.created().or_else(|_| m.modified()).ok())
        .filter_map(|t| now.duration_since(t).ok())
        .map(|d| d.as_secs_f64())
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_oldest_backlog_file_sets_the_age() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(oldest_age_seconds(dir.path(), SystemTime::now()), 0.0);
        std::fs::write(dir.path().join("a.jsonl"), "{}\n").unwrap();
        std::fs::write(dir.path().join("a.jsonl.new"), "{}\n").unwrap();
        let later = SystemTime::now() + Duration::from_secs(90);
        let age = oldest_age_seconds(dir.path(), later);
        assert!((89.0..=91.0).contains(&age), "{age}");
    }
}
