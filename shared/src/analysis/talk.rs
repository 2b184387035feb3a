//! Talk metrics from a timed transcript: who talked how much, who cut in on whom, and the silences.

use crate::speech::transcript::Entry;
use serde::Serialize;
use std::collections::BTreeMap;

/// An overlap shorter than this is back-channel timing, not an interruption.
const MIN_OVERLAP_SECONDS: f64 = 0.3;
/// A gap at least this long counts as a long silence (the realtime dead-air alert starts at 20 s).
pub const LONG_SILENCE_SECONDS: f64 = 10.0;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TalkMetrics {
    /// Seconds of speech per speaker.
    pub talk_seconds: BTreeMap<String, f64>,
    /// Each speaker's share of all speech (0–1).
    pub talk_share: BTreeMap<String, f64>,
    /// Times each speaker started while someone else was still talking.
    pub interruptions: BTreeMap<String, u32>,
    /// Words per minute of speech per speaker.
    pub words_per_minute: BTreeMap<String, f64>,
    pub silence_seconds: f64,
    pub longest_silence_seconds: f64,
    pub long_silences: u32,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

pub fn talk_metrics(entries: &[Entry]) -> TalkMetrics {
    let mut sorted: Vec<&Entry> = entries.iter().filter(|e| !e.transcript.trim().is_empty()).collect();
    sorted.sort_by(|a, b| a.start_time_seconds.total_cmp(&b.start_time_seconds));
    let mut talk: BTreeMap<String, f64> = BTreeMap::new();
    let mut words: BTreeMap<String, usize> = BTreeMap::new();
    let mut interruptions: BTreeMap<String, u32> = BTreeMap::new();
    let (mut silence, mut longest, mut long) = (0.0f64, 0.0f64, 0u32);
    // The latest end so far, and whose speech it was.
    let mut covered: Option<(f64, &str)> = None;
    for e in &sorted {
        let length = (e.end_time_seconds - e.start_time_seconds).max(0.0);
        *talk.entry(e.speaker_id.clone()).or_default() += length;
        *words.entry(e.speaker_id.clone()).or_default() += e.transcript.split_whitespace().count();
        interruptions.entry(e.speaker_id.clone()).or_default();
        if let Some((end, who)) = covered {
            let gap = e.start_time_seconds - end;
            if gap > 0.0 {
                silence += gap;
                longest = longest.max(gap);
                long += u32::from(gap >= LONG_SILENCE_SECONDS);
            } else if -gap >= MIN_OVERLAP_SECONDS && who != e.speaker_id {
                *interruptions.entry(e.speaker_id.clone()).or_default() += 1;
            }
        }
        if covered.is_none_or(|(end, _)| e.end_time_seconds > end) {
            covered = Some((e.end_time_seconds, e.speaker_id.as_str()));
        }
    }
    let total: f64 = talk.values().sum();
    TalkMetrics {
        talk_share: talk.iter().map(|(s, t)| (s.clone(), if total > 0.0 { round2(t / total) } else { 0.0 })).collect(),
        words_per_minute: talk
            .iter()
            .map(|(s, t)| (s.clone(), if *t > 0.0 { round2(words[s] as f64 / (t / 60.0)) } else { 0.0 }))
            .collect(),
        talk_seconds: talk.into_iter().map(|(s, t)| (s, round2(t))).collect(),
        interruptions,
        silence_seconds: round2(silence),
        longest_silence_seconds: round2(longest),
        long_silences: long,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(speaker: &str, start: f64, end: f64, text: &str) -> Entry {
        Entry::new(speaker, start, end, text)
    }

    #[test]
    fn shares_interruptions_and_silences() {
        let m = talk_metrics(&[
            e("agent", 0.0, 10.0, "thank you for calling how can I help you today"),
            e("customer", 9.9, 20.0, "my card was charged twice"), // 0.1 s overlap: not an interruption
            e("agent", 18.0, 24.0, "let me check that"),           // cuts in 2 s early
            e("customer", 36.0, 40.0, "hello?"),                   // 12 s of silence first
            e("agent", 41.0, 41.0, ""),                            // empty: ignored
        ]);
        assert_eq!(m.talk_seconds["agent"], 16.0);
        assert_eq!(m.talk_share["customer"], round2(14.1 / 30.1));
        assert_eq!((m.interruptions["agent"], m.interruptions["customer"]), (1, 0));
        assert_eq!((m.silence_seconds, m.longest_silence_seconds, m.long_silences), (12.0, 12.0, 1));
        assert_eq!(m.words_per_minute["agent"], round2(14.0 / (16.0 / 60.0)));
        let none = talk_metrics(&[]);
        assert!(none.talk_share.is_empty() && none.silence_seconds == 0.0);
    }
}
