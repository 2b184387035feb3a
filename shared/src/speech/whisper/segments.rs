//! Whisper's segments as the call's: times mapped back through the cut silences, a segment split where it
//! spans one (whisper reads talk on both sides of a shortened pause as one segment, which in a stereo call
//! would swallow the other side's turn), whisper's sound markers and bare punctuation dropped. Pure: the
//! engine extracts tokens.
//!
//! A segment is split between sentences, not by each token's time. whisper.cpp's token times are loose near
//! a segment's end: on the AudioHook reference call the "you" of "How can I help you?" was stamped 0.01 s
//! past the cut and the "?" 0.36 s past it, a reply's "Thank you" half a second early; a split by token time
//! put those words in the other side's next turn and left a full stop as an entry of its own. On that call
//! each sentence's span as a whole lies mostly in the stretch it was said in. (whisper.cpp's DTW token
//! times, tried with tiny.en's alignment heads, still put that "?" past the cut.) When whisper ran two turns
//! into one sentence, it is split between its clauses, and a clause between its words only when words were
//! heard clearly on both sides of the cut: so a one-word clause stamped past a cut ("…, thanks.") can still
//! land in the next turn.

use super::squeeze::Squeezed;
use crate::speech::{Segment, Word};
use std::ops::Range;

/// A word starting this far from a cut was said on its side: whisper's token times near a cut were up to
/// 0.7 s off on the reference call (the stretch on each side keeps 0.4 s of the pause).
const CLEAR_SECONDS: f64 = 1.0;

/// What ends a unit placed in one stretch, coarsest first: a sentence, a clause, a word.
const LEVELS: [fn(&str) -> bool; 3] =
    [|text| closes(text, &['.', '?', '!']), |text| closes(text, &['.', '?', '!', ',', ';', ':']), |_| true];

/// One text token of a whisper segment: its times in the shortened audio, its bytes and probability.
#[derive(Debug, Clone)]
pub struct Token {
    pub t0: f64,
    pub t1: f64,
    pub bytes: Vec<u8>,
    pub probability: f32,
}

impl Token {
    /// Whether it holds (part of) a word rather than only punctuation or space.
    fn is_word(&self) -> bool {
        String::from_utf8_lossy(&self.bytes).chars().any(char::is_alphanumeric)
    }
}

/// One segment as whisper decoded it: its bounds in the shortened audio and its text tokens.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub start: f64,
    pub end: f64,
    pub tokens: Vec<Token>,
}

/// The call's segments for whisper's `decoded` ones, in order. Each unit (a sentence, see `units`) goes to
/// the stretch between cuts its span overlaps most, never to one before the unit before it (so words stay
/// in order), and its times are held inside that stretch; a segment's units in one stretch stay one
/// segment, whose confidence is the mean probability of its tokens.
pub fn call_segments(decoded: &[Decoded], heard: &Squeezed) -> Vec<Segment> {
    let mut earliest = 0;
    let mut out = Vec::new();
    for segment in decoded {
        let mut runs: Vec<(usize, Range<usize>)> = Vec::new();
        for unit in units(&segment.tokens, 0..segment.tokens.len(), 0, heard) {
            earliest = stretch(&segment.tokens[unit.clone()], heard).max(earliest);
            match runs.last_mut() {
                Some((region, run)) if *region == earliest => run.end = unit.end,
                _ => runs.push((earliest, unit)),
            }
        }
        let last = runs.len().saturating_sub(1);
        out.extend(runs.into_iter().enumerate().filter_map(|(i, (region, run))| {
            let tokens = &segment.tokens[run];
            let from = if i == 0 { segment.start } else { tokens[0].t0 };
            let to = if i == last { segment.end } else { tokens[tokens.len() - 1].t1 };
            let (start_seconds, end_seconds) = (heard.original(region, from), heard.original(region, to));
            let bytes: Vec<u8> = tokens.iter().flat_map(|t| t.bytes.iter().copied()).collect();
            let confidence = tokens.iter().map(|t| f64::from(t.probability)).sum::<f64>() / tokens.len() as f64;
            Some(Segment {
                start_seconds,
                end_seconds: end_seconds.max(start_seconds),
                text: spoken(&String::from_utf8_lossy(&bytes))?,
                confidence: Some(confidence.clamp(0.0, 1.0)),
                speaker: None,
                words: words(tokens, |t| heard.original(region, t)),
            })
        }));
    }
    out
}

/// The words among `tokens` (a token starting with a space starts one; punctuation stays with its word),
/// timed by `at` on the call's timeline; sound markers (`[BLANK_AUDIO]`) and bare punctuation are left out.
fn words(tokens: &[Token], at: impl Fn(f64) -> f64) -> Vec<Word> {
    let mut groups: Vec<&[Token]> = Vec::new();
    let mut begin = 0;
    for i in 1..=tokens.len() {
        if tokens.get(i).is_none_or(|t| t.bytes.starts_with(b" ")) {
            groups.push(&tokens[begin..i]);
            begin = i;
        }
    }
    groups
        .into_iter()
        .filter_map(|group| {
            let bytes: Vec<u8> = group.iter().flat_map(|t| t.bytes.iter().copied()).collect();
            let text = String::from_utf8_lossy(&bytes).trim().to_string();
            if text.starts_with('[') || !text.chars().any(char::is_alphanumeric) {
                return None;
            }
            let (from, to) = span(group)?;
            let confidence = group.iter().map(|t| f64::from(t.probability)).sum::<f64>() / group.len() as f64;
            let (start_seconds, end_seconds) = (at(from), at(to));
            let end_seconds = end_seconds.max(start_seconds);
            Some(Word { start_seconds, end_seconds, text, confidence: confidence.clamp(0.0, 1.0) })
        })
        .collect()
}

/// The units of `range` of a segment's tokens at `level` of [`LEVELS`]. A sentence whose span crosses a cut
/// is replaced by its clauses (whisper marks the pause of a cut it ran through with a comma, if not a full
/// stop), and a clause with words heard clearly on both sides of a cut by its words.
fn units(tokens: &[Token], range: Range<usize>, level: usize, heard: &Squeezed) -> Vec<Range<usize>> {
    pieces(&tokens[range.clone()], LEVELS[level])
        .into_iter()
        .map(|piece| range.start + piece.start..range.start + piece.end)
        .flat_map(|piece| {
            let unit = &tokens[piece.clone()];
            let finer = match level {
                0 => crosses(unit, heard),
                1 => straddles(unit, heard),
                _ => false,
            };
            if finer { units(tokens, piece, level + 1, heard) } else { vec![piece] }
        })
        .collect()
}

/// `tokens` cut after each token that `ends` a unit, has a word before it in the unit, and is followed by
/// the next word (a token starting with a space) or nothing: so "3.5" and "help@store.com" stay whole and
/// a word keeps its punctuation. Punctuation before any word joins the unit after it.
fn pieces(tokens: &[Token], ends: fn(&str) -> bool) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let (mut begin, mut has_word) = (0, false);
    for (i, token) in tokens.iter().enumerate() {
        has_word |= token.is_word();
        let next_word = tokens.get(i + 1).is_none_or(|next| next.bytes.starts_with(b" "));
        if (has_word && ends(&String::from_utf8_lossy(&token.bytes)) && next_word) || i + 1 == tokens.len() {
            out.push(begin..i + 1);
            (begin, has_word) = (i + 1, false);
        }
    }
    out
}

/// Whether `text` ends with one of `marks`, before any closing quote or bracket.
fn closes(text: &str, marks: &[char]) -> bool {
    text.trim_end_matches(['"', '\'', ')', ']']).ends_with(marks)
}

/// Whether a unit's span crosses a cut.
fn crosses(unit: &[Token], heard: &Squeezed) -> bool {
    span(unit).is_some_and(|(from, to)| heard.region(from) != heard.region(to))
}

/// Whether a unit has a word starting [`CLEAR_SECONDS`] or more before a cut and one that far after it.
fn straddles(unit: &[Token], heard: &Squeezed) -> bool {
    let mut starts = unit.iter().filter(|t| t.is_word()).map(|t| t.t0);
    let (Some(first), Some(last)) = (starts.next(), starts.next_back()) else { return false };
    heard.region(first + CLEAR_SECONDS) < heard.region(last - CLEAR_SECONDS)
}

/// The stretch between cuts that a unit's span overlaps most, the earlier on a tie; for a span of no length,
/// the stretch it lies in.
fn stretch(unit: &[Token], heard: &Squeezed) -> usize {
    let Some((from, to)) = span(unit) else { return 0 };
    let overlap = |region: usize| {
        let (start, end) = heard.bounds(region);
        (to.min(end) - from.max(start)).max(0.0)
    };
    let (first, last) = (heard.region(from), heard.region(to));
    (first..=last).rev().max_by(|a, b| overlap(*a).total_cmp(&overlap(*b))).unwrap_or(first)
}

/// A unit's span in the shortened audio: its first token's start to its last one's end.
fn span(unit: &[Token]) -> Option<(f64, f64)> {
    let (first, last) = (unit.first()?, unit.last()?);
    Some((first.t0, last.t1.max(first.t0)))
}

/// The words of a segment's text without whisper's sound markers (`[BLANK_AUDIO]`, `[MUSIC]`, a whole
/// `(silence)`), which would otherwise reach transcripts and analysis as if someone had said them; none
/// when no word is left.
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
    // Punctuation opening a segment ends the sentence before it; punctuation alone is nothing said.
    let words = words.trim_start_matches([',', '.', ';', ':', '?', '!']).trim_start();
    let marker = words.starts_with('(') && words.ends_with(')') && !words[1..].contains('(');
    (words.chars().any(char::is_alphanumeric) && !marker).then(|| words.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::speech::whisper::squeeze::squeeze;

    const RATE: u32 = 16_000;

    /// Talk from 0 to 2 s, 20 s of digital silence, talk from 22 to 24 s: one cut, at 2.4 s shortened (the
    /// talk after it from 2.8 s), 19.2 s taken out.
    fn heard() -> Squeezed {
        let tone = |seconds: usize| (0..seconds * RATE as usize).map(|i| 0.3 * (i as f32 * 0.12).sin());
        let samples: Vec<f32> = tone(2).chain(std::iter::repeat_n(0.0, 20 * RATE as usize)).chain(tone(2)).collect();
        squeeze(&samples, RATE)
    }

    fn token(t0: f64, t1: f64, text: &str, probability: f32) -> Token {
        Token { t0, t1, bytes: text.as_bytes().to_vec(), probability }
    }

    /// A whisper segment of `tokens` (`(t0, t1, text)`, probability 0.5).
    fn decoded(start: f64, end: f64, tokens: &[(f64, f64, &str)]) -> Decoded {
        Decoded { start, end, tokens: tokens.iter().map(|(t0, t1, text)| token(*t0, *t1, text, 0.5)).collect() }
    }

    /// Each segment's text and times to the tenth of a second.
    fn said(segments: &[Segment]) -> Vec<(&str, f64, f64)> {
        let tenth = |t: f64| (t * 10.0).round() / 10.0;
        segments.iter().map(|s| (s.text.as_str(), tenth(s.start_seconds), tenth(s.end_seconds))).collect()
    }

    #[test]
    fn a_segment_across_a_cut_silence_becomes_two_at_the_calls_times() {
        let tokens = vec![
            token(0.1, 0.6, " Thank", 0.9),
            token(0.6, 1.5, " you.", 0.7),
            token(3.3, 3.9, " I need", 0.5),
            token(3.9, 4.6, " help.", 0.3),
        ];
        let out = call_segments(&[Decoded { start: 0.0, end: 4.8, tokens }], &heard());
        assert_eq!(said(&out), [("Thank you.", 0.0, 1.5), ("I need help.", 22.5, 24.0)]);
        assert!((out[0].confidence.unwrap() - 0.8).abs() < 1e-6 && (out[1].confidence.unwrap() - 0.4).abs() < 1e-6);
    }

    /// As on the AudioHook reference call: the last word and the question mark stamped past the cut, in the
    /// pause kept after it, stay with their sentence and before the cut.
    #[test]
    fn a_last_word_stamped_past_the_cut_stays_with_its_sentence() {
        let question =
            [(0.1, 0.4, " How"), (0.4, 0.8, " can I"), (0.8, 1.5, " help"), (2.45, 2.45, " you"), (3.0, 3.0, "?")];
        let reply = decoded(3.4, 4.8, &[(3.5, 3.9, " Okay"), (3.9, 4.8, ".")]);
        let out = call_segments(&[decoded(0.0, 3.4, &question), reply], &heard());
        assert_eq!(said(&out), [("How can I help you?", 0.0, 2.4), ("Okay.", 22.6, 24.0)]);
    }

    /// A short reply stamped early, partly before the cut, goes where most of it was heard; a sentence
    /// stamped before one already placed after the cut stays after it, in order.
    #[test]
    fn a_sentence_goes_where_most_of_it_was_heard_and_words_keep_their_order() {
        let thanks = [(2.2, 2.25, " Thank"), (2.25, 2.6, " you"), (2.6, 3.0, ".")];
        assert_eq!(said(&call_segments(&[decoded(2.0, 3.0, &thanks)], &heard())), [("Thank you.", 21.6, 22.2)]);
        let backwards = [(2.6, 3.0, " Okay."), (1.0, 1.5, " Fine.")];
        let out = call_segments(&[decoded(2.5, 3.5, &backwards)], &heard());
        assert_eq!(said(&out), [("Okay. Fine.", 21.7, 22.7)]);
    }

    #[test]
    fn punctuation_alone_is_never_a_segment() {
        let stop = [(0.5, 1.5, " Okay"), (2.0, 3.6, ".")];
        assert_eq!(said(&call_segments(&[decoded(0.5, 3.6, &stop)], &heard())), [("Okay.", 0.5, 2.4)]);
        assert!(call_segments(&[decoded(3.0, 3.2, &[(3.0, 3.2, ".")])], &heard()).is_empty());
        let opening = [(3.0, 3.1, ","), (3.1, 3.5, " he"), (3.5, 4.0, " agreed.")];
        assert_eq!(said(&call_segments(&[decoded(3.0, 4.0, &opening)], &heard())), [("he agreed.", 22.2, 23.2)]);
    }

    #[test]
    fn units_end_at_a_words_punctuation() {
        let cut = |level: usize, tokens: &[&str]| -> Vec<Range<usize>> {
            pieces(&tokens.iter().map(|t| token(0.0, 0.0, t, 0.5)).collect::<Vec<_>>(), LEVELS[level])
        };
        let mail = [" Mail", " help", "@", "store", ".", "com", ".", " It", " costs", " 3", ".", "5", "!", " OK"];
        assert_eq!(cut(0, &mail), [0..7, 7..13, 13..14]);
        assert_eq!(
            cut(0, &[".", " Hi", "."]),
            [Range { start: 0, end: 3 }],
            "punctuation before any word joins the next sentence"
        );
        assert_eq!(cut(0, &[" He", " said", " \"no", ".\"", " Then"]), [0..4, 4..5]);
        assert_eq!(cut(1, &[" Front", ",", " left", ";", " fine", "."]), [0..2, 2..4, 4..6]);
        assert_eq!(cut(2, &[" help", " you", "?", " sure"]), [0..1, 1..3, 3..4], "a word keeps its punctuation");
        assert!(cut(0, &[]).is_empty());
    }

    /// Whisper ran two turns together without a full stop: the sentence is split between its clauses where
    /// words were heard clearly on both sides of the cut; without clauses, between its words.
    #[test]
    fn a_sentence_heard_on_both_sides_of_a_cut_is_split_between_clauses_or_words() {
        let listed = [(0.5, 0.9, " Front"), (0.9, 1.0, ","), (1.0, 1.4, " left"), (1.4, 2.9, ","), (3.0, 3.4, " side")];
        let listed = [&listed[..], &[(3.4, 3.5, ","), (3.5, 4.0, " right"), (4.0, 4.5, ".")]].concat();
        let out = call_segments(&[decoded(0.5, 4.5, &listed)], &heard());
        assert_eq!(said(&out), [("Front, left,", 0.5, 2.4), ("side, right.", 22.2, 23.7)]);
        let close =
            [(0.5, 1.0, " Unless"), (1.0, 2.2, " selfish"), (2.2, 2.3, ","), (2.3, 2.5, " he"), (2.5, 3.1, " might")];
        let out = call_segments(&[decoded(0.5, 3.1, &close)], &heard());
        assert_eq!(said(&out), [("Unless selfish,", 0.5, 2.3), ("he might", 21.6, 22.3)], "clauses near the cut");
        let words = [(0.5, 0.9, " front"), (1.0, 2.2, " left"), (3.0, 3.4, " side"), (3.5, 4.0, " right")];
        let out = call_segments(&[decoded(0.5, 4.0, &words)], &heard());
        assert_eq!(said(&out), [("front left", 0.5, 2.2), ("side right", 22.2, 23.2)]);
    }

    #[test]
    fn a_segment_on_one_side_stays_whole() {
        let tokens = [(0.1, 0.6, " Hello"), (0.6, 1.2, " there.")];
        assert_eq!(said(&call_segments(&[decoded(0.0, 1.4, &tokens)], &heard())), [("Hello there.", 0.0, 1.4)]);
        assert!(call_segments(&[decoded(0.0, 1.0, &[])], &heard()).is_empty(), "no tokens, no words");
        assert!(call_segments(&[decoded(0.0, 1.0, &[(0.0, 1.0, " [BLANK_AUDIO]")])], &heard()).is_empty());
    }

    #[test]
    fn words_keep_their_punctuation_and_the_calls_times() {
        let tokens = [(0.1, 0.6, " Thank"), (0.6, 0.9, " you"), (0.9, 1.0, "."), (3.3, 3.6, " I"), (3.6, 3.9, "'m")];
        let tokens = [&tokens[..], &[(3.9, 4.0, " ["), (4.0, 4.1, "BLANK_AUDIO"), (4.1, 4.2, "]")]].concat();
        let out = call_segments(&[decoded(0.0, 4.8, &tokens)], &heard());
        let words: Vec<Vec<(&str, f64, f64)>> = out
            .iter()
            .map(|s| {
                let tenth = |t: f64| (t * 10.0).round() / 10.0;
                s.words.iter().map(|w| (w.text.as_str(), tenth(w.start_seconds), tenth(w.end_seconds))).collect()
            })
            .collect();
        assert_eq!(words, [vec![("Thank", 0.1, 0.6), ("you.", 0.6, 1.0)], vec![("I'm", 22.5, 23.1)]]);
        assert!(out[0].words.iter().all(|w| (w.confidence - 0.5).abs() < 1e-6));
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
        assert_eq!(spoken(" ."), None);
        assert_eq!(spoken(" ?! ,"), None);
        assert_eq!(spoken(", he might").as_deref(), Some("he might"));
    }
}
