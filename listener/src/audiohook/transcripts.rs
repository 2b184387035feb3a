//! What live transcription tells the realtime ingest, per session: a `transcript` event per recognised
//! segment and a `transcription_gap` event when transcription stops (and when it recovers or the call ends),
//! released in utterance order although the workers finish in any order. Every lost utterance is in a gap,
//! also one that settles after the call's end (an overloaded pool finishes late): a loss nobody hears of is
//! a silent degradation. Pure: the pool reports outcomes.

use super::pipeline::PROVIDER;
use crate::forward::{Outgoing, object};
use serde_json::json;
use shared::speech::Segment;
use shared::values::timestamps::{Timestamp, iso};
use std::collections::BTreeMap;

/// Which call a ledger writes for.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub call_id: String,
    pub session_id: String,
    /// Speaker role per channel index (`customer`, `agent`).
    pub roles: Vec<&'static str>,
    /// When the session opened: offset 0 of its timeline.
    pub started_at: Timestamp,
}

/// Where an utterance sits: its channel and seconds from the session's start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    pub channel: usize,
    pub start: f64,
    pub end: f64,
    /// Where speech was heard in it (without pre-roll and hangover).
    pub voiced: (f64, f64),
}

/// How one utterance ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The provider's segments, timed from the start of the utterance (possibly none: nobody spoke).
    Transcribed(Vec<Segment>),
    /// Not transcribed (`unavailable`, `refused`, `queue_full`, `stale`...): the audio has no transcript.
    Lost(&'static str),
}

/// Transcription missing from `from` to `to` seconds.
#[derive(Debug, Clone, Copy)]
struct Gap {
    from: f64,
    to: f64,
    reason: &'static str,
    /// Utterances lost in it, told when it closes: the stream's count matches the pool's counters.
    utterances: u64,
}

/// One session's outcomes, put back in order.
pub struct Ledger {
    info: SessionInfo,
    next: u64,
    waiting: BTreeMap<u64, (Span, Outcome)>,
    gap: Option<Gap>,
    gaps: u64,
    /// The session's utterance count once the call has ended: a gap open when the last of them settles is
    /// closed then.
    total: Option<u64>,
    /// Transcribed utterances released in order, kept for [`Self::take_released`] when asked for (a
    /// Transcription Connector sends them back to the client too).
    released: Option<Vec<(Span, Vec<Segment>)>>,
}

fn millis(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

impl Ledger {
    pub fn new(info: SessionInfo) -> Self {
        Self { info, next: 0, waiting: BTreeMap::new(), gap: None, gaps: 0, total: None, released: None }
    }

    /// A ledger that also keeps what it releases for [`Self::take_released`].
    pub fn keeping_released(self) -> Self {
        Self { released: Some(Vec::new()), ..self }
    }

    /// The transcribed utterances released since the last call, in utterance order.
    pub fn take_released(&mut self) -> Vec<(Span, Vec<Segment>)> {
        self.released.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Records utterance `seq`'s outcome; returns the events now due, in utterance order.
    pub fn settle(&mut self, seq: u64, span: Span, outcome: Outcome) -> Vec<Outgoing> {
        self.waiting.insert(seq, (span, outcome));
        let mut out = Vec::new();
        while let Some((span, outcome)) = self.waiting.remove(&self.next) {
            match outcome {
                Outcome::Transcribed(segments) => {
                    if let Some(gap) = self.gap.take() {
                        out.push(self.gap_event(gap, "recovered"));
                    }
                    out.extend(segments.iter().enumerate().map(|(i, s)| self.transcript(self.next, i, span, s)));
                    if let Some(released) = self.released.as_mut() {
                        released.push((span, segments));
                    }
                }
                Outcome::Lost(reason) => match self.gap.as_mut() {
                    Some(gap) => {
                        gap.to = gap.to.max(span.end);
                        gap.utterances += 1;
                    }
                    None => {
                        let gap = Gap { from: span.start, to: span.end, reason, utterances: 1 };
                        self.gaps += 1;
                        self.gap = Some(gap);
                        out.push(self.gap_event(gap, "unavailable"));
                    }
                },
            }
            self.next += 1;
        }
        if self.total.is_some_and(|total| self.next >= total) {
            out.extend(self.close_at_end());
        }
        out
    }

    /// The end of the call, after `total` utterances: a gap still open is closed with what it covered, or,
    /// when some are still to settle, once the last of them has.
    pub fn finish(&mut self, total: u64) -> Vec<Outgoing> {
        self.total = Some(total);
        if self.next < total { Vec::new() } else { self.close_at_end().into_iter().collect() }
    }

    fn close_at_end(&mut self) -> Option<Outgoing> {
        self.gap.take().map(|gap| self.gap_event(gap, "call_ended"))
    }

    fn at(&self, seconds: f64) -> String {
        iso(&(self.info.started_at + chrono::Duration::milliseconds((seconds * 1000.0) as i64)))
    }

    fn transcript(&self, seq: u64, index: usize, span: Span, s: &Segment) -> Outgoing {
        let offset = span.start + s.start_seconds.min(span.end - span.start).max(0.0);
        let mut body = json!({
            "provider": PROVIDER,
            "call_id": self.info.call_id,
            "event_id": format!("audiohook:{}:utterance:{seq}:{index}", self.info.session_id),
            "event_type": "transcript",
            "speaker": self.info.roles.get(span.channel).copied().unwrap_or_default(),
            "text": s.text,
            "timestamp": self.at(offset),
            "metadata": {
                "source": "live_transcription",
                "session_id": self.info.session_id,
                "offset_seconds": millis(offset),
                "duration_seconds": millis((s.end_seconds - s.start_seconds).max(0.0)),
            },
        });
        if let Some(c) = s.confidence {
            body["confidence"] = json!(c);
        }
        Outgoing::event(object(body))
    }

    /// No text, sentiment or dead-air keys: the realtime engine stores it without raising alerts or risk.
    fn gap_event(&self, gap: Gap, state: &str) -> Outgoing {
        let body = json!({
            "provider": PROVIDER,
            "call_id": self.info.call_id,
            "event_id": format!("audiohook:{}:gap:{}:{state}", self.info.session_id, self.gaps),
            "event_type": "transcription_gap",
            "speaker": "",
            "text": "",
            "timestamp": self.at(if state == "unavailable" { gap.from } else { gap.to }),
            "metadata": {
                "source": "live_transcription",
                "session_id": self.info.session_id,
                "transcription": state,
                "reason": gap.reason,
                "from_seconds": millis(gap.from),
                "to_seconds": millis(gap.to),
                "utterances": gap.utterances,
            },
        });
        Outgoing::event(object(body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The one place tests spell a `Segment` out.
    fn said(start_seconds: f64, end_seconds: f64, text: &str) -> Segment {
        Segment {
            start_seconds,
            end_seconds,
            text: text.into(),
            confidence: Some(0.9),
            speaker: None,
            words: Vec::new(),
        }
    }

    fn ledger() -> Ledger {
        let started_at = chrono::DateTime::parse_from_rfc3339("2025-01-01T10:00:00Z").unwrap().to_utc();
        Ledger::new(SessionInfo {
            call_id: "c1".into(),
            session_id: "s1".into(),
            roles: vec!["customer", "agent"],
            started_at,
        })
    }

    fn span(channel: usize, start: f64, end: f64) -> Span {
        Span { channel, start, end, voiced: (start, end) }
    }

    fn brief(out: &[Outgoing]) -> Vec<(String, String, String, Value)> {
        out.iter()
            .map(|o| {
                let b = &o.body;
                let s = |k: &str| b[k].as_str().unwrap_or_default().to_string();
                let when = b["metadata"]["offset_seconds"].clone();
                (
                    s("event_type"),
                    s("speaker"),
                    s("text"),
                    if when.is_null() { b["metadata"]["transcription"].clone() } else { when },
                )
            })
            .collect()
    }

    #[test]
    fn transcripts_are_released_in_utterance_order_on_the_call_timeline() {
        let mut l = ledger();
        let agent = Outcome::Transcribed(vec![said(0.2, 1.4, "How can I help?")]);
        assert!(l.settle(1, span(1, 3.0, 5.0), agent).is_empty(), "waits for utterance 0");
        let customer = Outcome::Transcribed(vec![said(0.5, 1.0, "Hello."), said(1.2, 2.0, "I need a supervisor.")]);
        let out = l.settle(0, span(0, 0.8, 3.1), customer);
        assert_eq!(
            brief(&out),
            [
                ("transcript".into(), "customer".into(), "Hello.".into(), json!(1.3)),
                ("transcript".into(), "customer".into(), "I need a supervisor.".into(), json!(2.0)),
                ("transcript".into(), "agent".into(), "How can I help?".into(), json!(3.2)),
            ]
        );
        let first = &out[0].body;
        assert_eq!(
            (first["timestamp"].as_str(), first["confidence"].as_f64()),
            (Some("2025-01-01T10:00:01.300000Z"), Some(0.9))
        );
        assert_eq!(first["event_id"], "audiohook:s1:utterance:0:0");
        assert_eq!(first["metadata"]["source"], "live_transcription");
        assert!(l.settle(2, span(0, 6.0, 7.0), Outcome::Transcribed(Vec::new())).is_empty(), "silence says nothing");
        assert!(l.take_released().is_empty(), "kept only when asked for");
    }

    #[test]
    fn a_connectors_ledger_keeps_the_released_utterances_in_order() {
        let mut l = ledger().keeping_released();
        l.settle(1, span(1, 3.0, 5.0), Outcome::Transcribed(vec![said(0.2, 1.4, "How can I help?")]));
        assert!(l.take_released().is_empty(), "waits for utterance 0");
        l.settle(0, span(0, 0.8, 3.1), Outcome::Lost("unavailable"));
        l.settle(2, span(0, 6.0, 7.0), Outcome::Transcribed(Vec::new()));
        let released: Vec<(f64, usize)> = l.take_released().iter().map(|(s, said)| (s.start, said.len())).collect();
        assert_eq!(released, [(3.0, 1), (6.0, 0)], "a lost utterance has nothing to send back");
        assert!(l.take_released().is_empty());
    }

    #[test]
    fn a_gap_is_announced_once_and_closed_on_recovery_or_at_the_end() {
        let mut l = ledger();
        let out = l.settle(0, span(0, 1.0, 2.0), Outcome::Lost("unavailable"));
        assert_eq!(brief(&out), [("transcription_gap".into(), "".into(), "".into(), json!("unavailable"))]);
        assert_eq!(out[0].body["metadata"]["reason"], "unavailable");
        assert!(l.settle(1, span(1, 2.5, 4.0), Outcome::Lost("queue_full")).is_empty(), "the same gap goes on");
        let out = l.settle(2, span(0, 5.0, 6.0), Outcome::Transcribed(vec![said(0.0, 1.0, "Back.")]));
        assert_eq!(brief(&out)[0].3, json!("recovered"));
        let m = &out[0].body["metadata"];
        assert_eq!((m["from_seconds"].as_f64(), m["to_seconds"].as_f64()), (Some(1.0), Some(4.0)));
        assert_eq!(out[1].body["text"], "Back.");
        assert!(l.finish(3).is_empty(), "no gap open");

        let mut l = ledger();
        l.settle(0, span(0, 1.0, 2.0), Outcome::Lost("unavailable"));
        let out = l.finish(1);
        assert_eq!(
            (brief(&out)[0].3.clone(), out[0].body["event_id"].clone()),
            (json!("call_ended"), json!("audiohook:s1:gap:1:call_ended"))
        );
        let m = &out[0].body["metadata"];
        assert_eq!((m["from_seconds"].as_f64(), m["utterances"].as_u64()), (Some(1.0), Some(1)));

        // Losses that settle after the end are announced and closed when the last utterance has settled.
        let mut l = ledger();
        assert!(l.finish(3).is_empty(), "utterances 0 to 2 are still to settle");
        let out = l.settle(1, span(0, 3.0, 4.0), Outcome::Lost("stale"));
        assert!(out.is_empty(), "waits for utterance 0");
        let out = l.settle(0, span(1, 1.0, 2.5), Outcome::Lost("stale"));
        assert_eq!(brief(&out), [("transcription_gap".into(), "".into(), "".into(), json!("unavailable"))]);
        let out = l.settle(2, span(1, 5.0, 6.0), Outcome::Lost("stale"));
        assert_eq!(brief(&out), [("transcription_gap".into(), "".into(), "".into(), json!("call_ended"))]);
        let m = &out[0].body["metadata"];
        assert_eq!((m["from_seconds"].as_f64(), m["to_seconds"].as_f64()), (Some(1.0), Some(6.0)));
        assert_eq!((m["utterances"].as_u64(), m["reason"].as_str()), (Some(3), Some("stale")));
    }
}
