//! The Transcription Connector's `transcript` entity for one utterance, as Genesys' reference connector
//! shapes it: its place on the stream's timeline, its channel, the words heard with their
//! confidence and, where the engine gives them, their own times. Pure: the ledger says what was heard where.

use super::transcripts::Span;
use serde_json::{Value, json};
use shared::speech::Segment;

/// Whisper stamps tokens in centiseconds and sometimes gives two words one start; Genesys wants every
/// token's offset distinct within a transcript, so a repeat is placed this much after the one before.
const TOKEN_STEP_SECONDS: f64 = 0.01;

/// `PT<seconds>S`, to the millisecond (never negative, never an exponent).
pub fn duration(seconds: f64) -> String {
    format!("PT{}S", (seconds.max(0.0) * 1000.0).round() / 1000.0)
}

/// The entity for an utterance at `span` whose audio the engine heard as `segments` (times from the
/// utterance's start); `None` when nothing was said. Its offset and duration are where speech was heard
/// (the voice activity detector's, without the pre-roll and hangover the engine was also given).
pub fn transcript(id: &str, span: &Span, segments: &[Segment]) -> Option<Value> {
    let text = segments.iter().map(|s| s.text.trim()).filter(|t| !t.is_empty()).collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return None;
    }
    let mut last: Option<f64> = None;
    let tokens: Vec<Value> = segments
        .iter()
        .flat_map(|s| &s.words)
        .map(|w| {
            let at = span.start + w.start_seconds;
            let at = last.map_or(at, |before| at.max(before + TOKEN_STEP_SECONDS));
            last = Some(at);
            json!({"type": "word", "value": w.text, "confidence": w.confidence,
                "offset": duration(at), "duration": duration(span.start + w.end_seconds - at)})
        })
        .collect();
    let known: Vec<f64> = segments.iter().filter_map(|s| s.confidence).collect();
    let mut alternative = json!({"interpretations": [{"type": "display", "transcript": text, "tokens": tokens}]});
    if !known.is_empty() {
        alternative["confidence"] = json!((known.iter().sum::<f64>() / known.len() as f64).clamp(0.0, 1.0));
    }
    let (from, to) = span.voiced;
    Some(json!({"type": "transcript", "data": {
        "id": id,
        "channelId": span.channel,
        "isFinal": true,
        "offset": duration(from),
        "duration": duration(to - from),
        "alternatives": [alternative],
    }}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::speech::Word;

    fn word(start_seconds: f64, end_seconds: f64, text: &str) -> Word {
        Word { start_seconds, end_seconds, text: text.into(), confidence: 0.8 }
    }

    #[test]
    fn an_utterance_becomes_one_entity_on_the_streams_timeline() {
        let span = Span { channel: 1, start: 6.5, end: 10.0, voiced: (6.7, 9.3) };
        let words = vec![word(0.3, 0.6, "My"), word(0.6, 0.6, "name"), word(0.55, 1.0, "is")];
        let segments = [
            Segment {
                start_seconds: 0.2,
                end_seconds: 1.0,
                text: " My name is".into(),
                confidence: Some(0.9),
                speaker: None,
                words,
            },
            Segment {
                start_seconds: 1.2,
                end_seconds: 2.7,
                text: "John.".into(),
                confidence: Some(0.7),
                speaker: None,
                words: vec![],
            },
        ];
        let entity = transcript("u1", &span, &segments).unwrap();
        let data = &entity["data"];
        assert_eq!(entity["type"], "transcript");
        assert_eq!((&data["id"], &data["channelId"], &data["isFinal"]), (&json!("u1"), &json!(1), &json!(true)));
        assert_eq!((data["offset"].as_str(), data["duration"].as_str()), (Some("PT6.7S"), Some("PT2.6S")));
        let alternative = &data["alternatives"][0];
        assert!((alternative["confidence"].as_f64().unwrap() - 0.8).abs() < 1e-9);
        let interpretation = &alternative["interpretations"][0];
        assert_eq!(
            (&interpretation["type"], &interpretation["transcript"]),
            (&json!("display"), &json!("My name is John."))
        );
        let tokens: Vec<(&str, &str, &str)> = interpretation["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["value"].as_str().unwrap(), t["offset"].as_str().unwrap(), t["duration"].as_str().unwrap()))
            .collect();
        // Word times from the utterance's start (6.5 s); a word stamped with or before the one before it
        // comes 10 ms after it.
        assert_eq!(tokens, [("My", "PT6.8S", "PT0.3S"), ("name", "PT7.1S", "PT0S"), ("is", "PT7.11S", "PT0.39S")]);
    }

    #[test]
    fn nothing_said_is_no_entity_and_unknown_confidence_is_left_out() {
        let span = Span { channel: 0, start: 0.0, end: 1.0, voiced: (0.2, 0.8) };
        assert!(transcript("u", &span, &[]).is_none());
        let blank = Segment {
            start_seconds: 0.0,
            end_seconds: 1.0,
            text: " ".into(),
            confidence: None,
            speaker: None,
            words: vec![],
        };
        assert!(transcript("u", &span, std::slice::from_ref(&blank)).is_none());
        let said = Segment { text: "Hello".into(), ..blank };
        let entity = transcript("u", &span, &[said]).unwrap();
        let alternative = &entity["data"]["alternatives"][0];
        assert!(alternative.get("confidence").is_none(), "{alternative}");
        assert_eq!(alternative["interpretations"][0]["tokens"], json!([]), "no word times from this engine");
        assert_eq!(duration(-0.1), "PT0S");
        assert_eq!(duration(12.3456), "PT12.346S");
    }
}
