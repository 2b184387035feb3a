//! Reading one Sarvam batch output file (JSON) into timed segments, pure so every shape is tested
//! without a server. Diarized output carries `diarized_transcript.entries` (or top-level `entries`) with
//! speakers. The seed read only those, so with diarization off it produced no transcript at all; here the
//! non-diarized shapes count too: `timestamps` (parallel `words` / `start_time_seconds` /
//! `end_time_seconds` lists, one item per phrase), `segments` (`{text, start, end}`), and failing both the
//! bare `transcript`, as one segment spanning the whole piece.

use super::{Segment, SttError};
use crate::speech::transcript::{MAX_ENTRIES, MAX_ENTRY_CHARS};
use serde_json::{Map, Value};

fn first<'a>(o: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().find_map(|k| o.get(*k).filter(|v| !v.is_null()))
}

fn seconds(v: Option<&Value>) -> Option<f64> {
    let x = match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }?;
    x.is_finite().then_some(x)
}

fn bounded_text(v: Option<&Value>) -> Option<String> {
    let t = v?.as_str()?.trim();
    (!t.is_empty()).then(|| t.chars().take(MAX_ENTRY_CHARS).collect())
}

/// A segment with its times made sane: start ≥ 0, end ≥ start.
fn segment(text: String, start: Option<f64>, end: Option<f64>, speaker: Option<String>) -> Segment {
    let start = start.unwrap_or(0.0).max(0.0);
    Segment {
        start_seconds: start,
        end_seconds: end.unwrap_or(start).max(start),
        text,
        confidence: None,
        speaker,
        words: Vec::new(),
    }
}

fn speaker(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().chars().take(64).collect()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn diarized(entries: &[Value]) -> Vec<Segment> {
    entries
        .iter()
        .filter_map(Value::as_object)
        .filter_map(|o| {
            let text = bounded_text(first(o, &["transcript", "text"]))?;
            let start = seconds(first(o, &["start_time_seconds", "start_time", "start"]));
            let end = seconds(first(o, &["end_time_seconds", "end_time", "end"]));
            Some(segment(text, start, end, speaker(first(o, &["speaker_id", "speaker"]))))
        })
        .take(MAX_ENTRIES)
        .collect()
}

fn timestamped(t: &Map<String, Value>) -> Option<Vec<Segment>> {
    let list = |key| t.get(key).and_then(Value::as_array);
    let (words, starts, ends) = (list("words")?, list("start_time_seconds")?, list("end_time_seconds")?);
    Some(
        words
            .iter()
            .enumerate()
            .filter_map(|(i, w)| {
                Some(segment(bounded_text(Some(w))?, seconds(starts.get(i)), seconds(ends.get(i)), None))
            })
            .take(MAX_ENTRIES)
            .collect(),
    )
}

fn entries_of(o: &Map<String, Value>) -> Option<&Vec<Value>> {
    o.get("diarized_transcript").and_then(|d| d.get("entries")).or_else(|| o.get("entries")).and_then(Value::as_array)
}

/// The segments of one output file; `piece_seconds` (the audio's length, when known) spans a bare
/// transcript. An output with no transcript at all is an unreadable answer.
pub fn segments(output: &Value, piece_seconds: Option<f64>) -> Result<Vec<Segment>, SttError> {
    let o = output.as_object().ok_or_else(|| SttError::BadAnswer("output is not a JSON object".into()))?;
    if let Some(entries) = entries_of(o).filter(|e| !e.is_empty()) {
        return Ok(diarized(entries));
    }
    if let Some(found) = o.get("timestamps").and_then(Value::as_object).and_then(timestamped) {
        if !found.is_empty() {
            return Ok(found);
        }
    }
    if let Some(list) = o.get("segments").and_then(Value::as_array).filter(|l| !l.is_empty()) {
        return Ok(diarized(list));
    }
    match o.get("transcript") {
        Some(Value::String(_)) => Ok(bounded_text(o.get("transcript"))
            .map(|t| segment(t, Some(0.0), piece_seconds, None))
            .into_iter()
            .collect()),
        _ if entries_of(o).is_some() => Ok(Vec::new()),
        _ => Err(SttError::BadAnswer("output has no transcript or entries".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diarized_entries_keep_speakers_and_sane_times() {
        let out = json!({"transcript": "hi there. hello", "diarized_transcript": {"entries": [
            {"transcript": " hi there. ", "start_time_seconds": 0.5, "end_time_seconds": 2.0, "speaker_id": "0"},
            {"transcript": "hello", "start_time_seconds": "3", "end_time_seconds": 2.5, "speaker_id": 1},
            {"transcript": "   ", "start_time_seconds": 4.0, "speaker_id": "0"},
            {"text": "legacy keys", "start": -1.0, "speaker": "SPEAKER_02"}]}});
        let s = segments(&out, Some(60.0)).unwrap();
        assert_eq!(s.len(), 3, "blank entries are dropped");
        assert_eq!((s[0].text.as_str(), s[0].start_seconds, s[0].end_seconds), ("hi there.", 0.5, 2.0));
        assert_eq!((s[1].speaker.as_deref(), s[1].start_seconds, s[1].end_seconds), (Some("1"), 3.0, 3.0));
        assert_eq!((s[2].speaker.as_deref(), s[2].start_seconds), (Some("SPEAKER_02"), 0.0));
        let top = json!({"entries": [{"transcript": "a", "speaker_id": "7"}]});
        assert_eq!(segments(&top, None).unwrap()[0].speaker.as_deref(), Some("7"));
    }

    #[test]
    fn without_diarization_there_are_still_segments() {
        let timed = json!({"transcript": "one two", "timestamps": {"words": ["one", "two"],
            "start_time_seconds": [0.0, 1.5], "end_time_seconds": [1.4, 3.0]}});
        let s = segments(&timed, Some(9.0)).unwrap();
        assert_eq!(
            s.iter().map(|s| (s.text.as_str(), s.end_seconds)).collect::<Vec<_>>(),
            [("one", 1.4), ("two", 3.0)]
        );
        assert!(s.iter().all(|s| s.speaker.is_none()));
        let segs = json!({"segments": [{"text": "seg", "start": 1.0, "end": 2.0}]});
        assert_eq!(segments(&segs, None).unwrap()[0].end_seconds, 2.0);
        let bare = json!({"transcript": " the whole piece ", "timestamps": null, "diarized_transcript": null});
        let s = segments(&bare, Some(42.5)).unwrap();
        assert_eq!((s[0].text.as_str(), s[0].start_seconds, s[0].end_seconds), ("the whole piece", 0.0, 42.5));
        assert_eq!(segments(&json!({"transcript": ""}), None).unwrap(), []);
        assert_eq!(segments(&json!({"entries": []}), None).unwrap(), [], "silence is not an error");
    }

    #[test]
    fn unreadable_outputs() {
        assert!(matches!(segments(&json!([1]), None), Err(SttError::BadAnswer(_))));
        assert!(matches!(segments(&json!({"status": "ok"}), None), Err(SttError::BadAnswer(_))));
        assert!(matches!(segments(&json!({"transcript": 5}), None), Err(SttError::BadAnswer(_))));
        let long = "x".repeat(MAX_ENTRY_CHARS + 10);
        assert_eq!(segments(&json!({"transcript": long}), None).unwrap()[0].text.len(), MAX_ENTRY_CHARS);
    }
}
