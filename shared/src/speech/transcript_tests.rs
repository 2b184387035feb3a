use super::*;
use chrono::TimeZone;

fn entry(speaker: &str, start: f64, end: f64, text: &str) -> Entry {
    Entry::new(speaker, start, end, text)
}

#[test]
fn imports_the_seed_shapes_with_aliases_and_bounds() {
    let seed = json!({"entries": [{"speaker_id": "chunk1_0", "start_time_seconds": 0.5, "end_time_seconds": 2, "transcript": " hello "}]});
    assert_eq!(import(&seed).unwrap(), [entry("chunk1_0", 0.5, 2.0, "hello")]);
    let sarvam = json!({"diarized_transcript": {"entries": [{"speaker": 1, "start": "3", "end": 1, "text": "hi"}]}});
    assert_eq!(import(&sarvam).unwrap(), [entry("1", 3.0, 3.0, "hi")], "end clamped to start");
    assert_eq!(import(&json!([{"transcript": "x", "start_time": -4}])).unwrap(), [entry("speaker", 0.0, 0.0, "x")]);
    assert_eq!(import(&json!({"text": "no entries"})), Err(TranscriptError::Shape));
    assert_eq!(import(&json!([1])), Err(TranscriptError::Entry(0, "must be an object")));
    assert_eq!(import(&json!([{"start": "soon"}])), Err(TranscriptError::Entry(0, "times must be numbers")));
    assert_eq!(import(&json!([{"transcript": 5}])), Err(TranscriptError::Entry(0, "text must be a string")));
    let long = "a".repeat(MAX_ENTRY_CHARS + 1);
    assert_eq!(import(&json!([{"transcript": long}])), Err(TranscriptError::Entry(0, "text is too long")));
    let many: Vec<Value> = (0..=MAX_ENTRIES).map(|_| json!({})).collect();
    assert_eq!(import(&Value::Array(many)), Err(TranscriptError::TooManyEntries));
}

#[test]
fn json_with_speaker_stats_and_text_lines() {
    let entries = [
        entry("agent", 0.0, 61.5, "Thanks for calling"),
        entry("customer", 62.0, 3700.0, "I need help"),
        entry("agent", 3700.0, 3699.0, ""),
    ];
    let at = chrono::Utc.with_ymd_and_hms(2026, 11, 30, 10, 0, 0).unwrap();
    let j = to_json(&entries, at);
    assert_eq!(j["generated_at"], "2026-11-30T10:00:00.000000Z");
    assert_eq!(j["speaker_stats"]["agent"], json!({"duration": 61.5, "words": 3}));
    assert_eq!(j["speaker_stats"]["customer"]["words"], 3);
    assert_eq!(j["entries"][1]["transcript"], "I need help");
    assert_eq!(to_text(&entries), "[00:00 - 01:01] agent: Thanks for calling\n[01:02 - 61:40] customer: I need help\n");
}

#[test]
fn cleanup_removes_fillers_and_stutters_and_drops_empty_entries() {
    let c = Cleanup::new(true, DEFAULT_FILLERS);
    let out = c.apply(&[
        entry("a", 0.0, 1.0, "Um, I I need, you know, the the refund."),
        entry("b", 1.0, 2.0, "uh huh"),
        entry("a", 2.0, 3.0, "Okay"),
        entry("b", 3.0, 4.0, "I like likeable people"),
    ]);
    let texts: Vec<&str> = out.iter().map(|e| e.transcript.as_str()).collect();
    assert_eq!(texts, ["I need, the refund", "I likeable people"]);
    assert_eq!(Cleanup::new(false, DEFAULT_FILLERS).apply(&[entry("a", 0.0, 1.0, "um")]).len(), 1, "off: unchanged");
    let c = Cleanup::from_env(&[("FILLER_WORDS", "basically\nbasically, so")]).unwrap();
    assert_eq!(c.apply(&[entry("a", 0.0, 1.0, "So basically it works")])[0].transcript, "it works");
    assert!(!Cleanup::from_env(&[("ENABLE_PRE_LLM_CLEANUP", "false")]).unwrap().enabled);
}

#[test]
fn confidence_is_written_only_when_known() {
    let mut e = entry("agent", 0.0, 1.0, "hello");
    assert!(serde_json::to_value(&e).unwrap().get("confidence").is_none(), "the seed's shape");
    e.confidence = Some(0.75);
    let written = serde_json::to_value(&e).unwrap();
    assert_eq!(written["confidence"], 0.75);
    assert_eq!(serde_json::from_value::<Entry>(written).unwrap(), e, "read back");
}

#[test]
fn imported_confidence_is_kept_and_checked() {
    let with = json!([{"speaker": "agent", "start": 0, "end": 1, "text": "hi", "confidence": 0.42}]);
    assert_eq!(import(&with).unwrap()[0].confidence, Some(0.42));
    let without = json!([{"speaker": "agent", "start": 0, "end": 1, "text": "hi", "confidence": null}]);
    assert_eq!(import(&without).unwrap()[0].confidence, None);
    for bad in [json!(1.5), json!(-0.1), json!("high")] {
        let entry = json!([{"speaker": "agent", "start": 0, "end": 1, "text": "hi", "confidence": bad}]);
        assert_eq!(import(&entry), Err(TranscriptError::Entry(0, "confidence must be 0 to 1")), "{bad}");
    }
}

/// Found by fuzzing (`transcript_import_from_the_grammar`): a speaker cut to 64 characters could end in the
/// whitespace the cut left, so the same transcript read back from our own `transcript.json` named another
/// speaker ("a…a " became "a…a"). The cut speaker is trimmed too.
#[test]
fn a_cut_speaker_reads_back_the_same() {
    let doc = json!([{"speaker_id": format!("{} second word", "a".repeat(63)), "transcript": "hi"}]);
    let entries = import(&doc).unwrap();
    assert_eq!(entries[0].speaker_id, "a".repeat(63));
    let written = to_json(&entries, chrono::DateTime::from_timestamp(0, 0).unwrap());
    assert_eq!(import(&written).unwrap(), entries);
}
