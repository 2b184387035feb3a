//! Whisper's segments as the call's: times mapped back through the cut silences, a segment split where it
//! spans one (whisper reads talk on both sides of a shortened pause as one sentence, which in a stereo call
//! would swallow the other side's turn), whisper's sound markers dropped. Pure: the engine extracts tokens.

use super::squeeze::Squeezed;
use crate::stt::Segment;

/// One text token of a whisper segment: its times in the shortened audio, its bytes and probability.
#[derive(Debug, Clone)]
pub struct Token {
    pub t0: f64,
    pub t1: f64,
    pub bytes: Vec<u8>,
    pub probability: f32,
}

/// The call's segments for one whisper segment from `start` to `end` (seconds into the shortened audio);
/// the confidence of each is the mean probability of its tokens.
pub fn call_segments(start: f64, end: f64, tokens: &[Token], heard: &Squeezed) -> Vec<Segment> {
    let mut groups: Vec<&[Token]> = Vec::new();
    let mut rest = tokens;
    while let Some(first) = rest.first() {
        let region = heard.region(first.t0.midpoint(first.t1));
        let n = rest.iter().take_while(|t| heard.region(t.t0.midpoint(t.t1)) == region).count();
        groups.push(&rest[..n]);
        rest = &rest[n..];
    }
    let last = groups.len().saturating_sub(1);
    groups
        .iter()
        .enumerate()
        .filter_map(|(i, group)| {
            let from = if i == 0 { start } else { group[0].t0 };
            let to = if i == last { end } else { group[group.len() - 1].t1 };
            let bytes: Vec<u8> = group.iter().flat_map(|t| t.bytes.iter().copied()).collect();
            let confidence = group.iter().map(|t| f64::from(t.probability)).sum::<f64>() / group.len() as f64;
            let (start_seconds, end_seconds) = (heard.original(from, false), heard.original(to, true));
            Some(Segment {
                start_seconds,
                end_seconds: end_seconds.max(start_seconds),
                text: spoken(&String::from_utf8_lossy(&bytes))?,
                confidence: Some(confidence.clamp(0.0, 1.0)),
                speaker: None,
            })
        })
        .collect()
}

/// The words of a segment's text without whisper's sound markers (`[BLANK_AUDIO]`, `[MUSIC]`, a whole
/// `(silence)`), which would otherwise reach transcripts and analysis as if someone had said them.
fn spoken(text: &str) -> Option<String> {
    let mut words = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find(']') else { break };
        words.push_str(&rest[..open]);
        rest = &rest[open + close + 1..];
    }
    words.push_str(rest);
    let words = words.split_whitespace().collect::<Vec<_>>().join(" ");
    let marker = words.starts_with('(') && words.ends_with(')') && !words[1..].contains('(');
    (!words.is_empty() && !marker).then_some(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stt::whisper::squeeze::squeeze;

    const RATE: u32 = 16_000;

    /// Talk from 0 to 2 s, 20 s of digital silence, talk from 22 to 24 s: one cut, at 2.4 s shortened.
    fn heard() -> Squeezed {
        let tone = |seconds: usize| (0..seconds * RATE as usize).map(|i| 0.3 * (i as f32 * 0.12).sin());
        let samples: Vec<f32> = tone(2).chain(std::iter::repeat_n(0.0, 20 * RATE as usize)).chain(tone(2)).collect();
        squeeze(&samples, RATE)
    }

    fn token(t0: f64, t1: f64, text: &str, probability: f32) -> Token {
        Token { t0, t1, bytes: text.as_bytes().to_vec(), probability }
    }

    #[test]
    fn a_segment_across_a_cut_silence_becomes_two_at_the_calls_times() {
        let tokens = [
            token(0.1, 0.6, " Thank", 0.9),
            token(0.6, 1.5, " you.", 0.7),
            token(3.3, 3.9, " I need", 0.5),
            token(3.9, 4.6, " help.", 0.3),
        ];
        let out = call_segments(0.0, 4.8, &tokens, &heard());
        let summary: Vec<(f64, f64, &str, f64)> = out
            .iter()
            .map(|s| {
                (
                    (s.start_seconds * 10.0).round() / 10.0,
                    (s.end_seconds * 10.0).round() / 10.0,
                    s.text.as_str(),
                    s.confidence.unwrap(),
                )
            })
            .collect();
        assert_eq!(summary.len(), 2, "{out:?}");
        assert_eq!((summary[0].0, summary[0].1, summary[0].2), (0.0, 1.5, "Thank you."));
        assert_eq!((summary[1].0, summary[1].1, summary[1].2), (22.5, 24.0, "I need help."));
        assert!((summary[0].3 - 0.8).abs() < 1e-6 && (summary[1].3 - 0.4).abs() < 1e-6, "{summary:?}");
    }

    #[test]
    fn a_segment_on_one_side_stays_whole() {
        let tokens = [token(0.1, 0.6, " Hello", 0.8), token(0.6, 1.2, " there.", 0.6)];
        let out = call_segments(0.0, 1.4, &tokens, &heard());
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].text.as_str(), out[0].start_seconds, out[0].end_seconds), ("Hello there.", 0.0, 1.4));
        assert!(call_segments(0.0, 1.0, &[], &heard()).is_empty(), "no tokens, no words");
        assert!(call_segments(0.0, 1.0, &[token(0.0, 1.0, " [BLANK_AUDIO]", 0.9)], &heard()).is_empty());
    }

    #[test]
    fn sound_markers_are_not_words() {
        assert_eq!(spoken(" I was charged twice. [BLANK_AUDIO]").as_deref(), Some("I was charged twice."));
        assert_eq!(spoken("[MUSIC PLAYING] hello  [SOUND] there").as_deref(), Some("hello there"));
        assert_eq!(spoken(" [BLANK_AUDIO]"), None);
        assert_eq!(spoken("(silence)"), None);
        assert_eq!(spoken("  "), None);
        assert_eq!(spoken("(laughs) that is fine (really)").as_deref(), Some("(laughs) that is fine (really)"));
        assert_eq!(spoken("an open [bracket").as_deref(), Some("an open [bracket"));
    }
}
