//! The encoder window for a short piece of audio. whisper.cpp encodes a 30 s window (1,500 positions of
//! 20 ms) whatever the audio's length, so a 4 s live utterance costs as much as 30 s of speech. Telling it
//! to encode only the audio's length plus a margin (`audio_ctx`) cut tiny.en's cost per second of live
//! speech about 4.5× on the espeak-ng script of the benchmarks (24 utterances), with as many of the
//! script's words heard. The margin matters: with 1 s whisper repeated a sentence in 9 of 24 utterances
//! (72 words too many), with 0.5 s it fell back to sampling and cost as much as the full window; with 2 s
//! it heard 192 of 224 words with 20 extra, against 180 and 24 with the full window.
//! Pure: the engine applies it.

/// Encoder positions per second of audio (one per 20 ms).
const POSITIONS_PER_SECOND: f64 = 50.0;
/// Positions of whisper's full 30 s window.
const FULL: usize = 1_500;
/// Silence encoded past the last sample: with less, whisper read the short window's end as more speech.
const MARGIN_SECONDS: f64 = 2.0;

/// `audio_ctx` for `samples` at `rate`: the positions covering them plus [`MARGIN_SECONDS`], or 0 (whisper's
/// full window) when that reaches 30 s.
pub fn audio_ctx(samples: usize, rate: u32) -> i32 {
    let seconds = samples as f64 / f64::from(rate.max(1)) + MARGIN_SECONDS;
    let positions = (seconds * POSITIONS_PER_SECOND).ceil() as usize;
    if positions >= FULL { 0 } else { positions as i32 }
}

/// Text tokens one segment of a sized window may decode before whisper ends it: a fixed allowance plus
/// [`TOKENS_PER_SECOND`] per second of audio.
const BASE_TOKENS: usize = 32;
/// About twice what English speech needs (2.5–3 words, 3–4 tokens a second, plus timestamp tokens).
const TOKENS_PER_SECOND: usize = 8;

/// `max_tokens` for a sized window over `samples` at `rate`. With the window sized to the audio, whisper
/// kept decoding one short fragment (the piece an `update` cuts out of an utterance in Genesys' compliance
/// recording) until the request timed out: a core busy for 20 s, and the session's `close` waiting for
/// it (2 of the suite's 8 connector tests timed out; 8/8 with the cap). Capping the tokens bounds a run by
/// its audio's length.
pub fn max_tokens(samples: usize, rate: u32) -> i32 {
    let seconds = samples / rate.max(1) as usize;
    i32::try_from(BASE_TOKENS + TOKENS_PER_SECOND * seconds).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_cap_grows_with_whole_seconds_of_audio() {
        assert_eq!(max_tokens(0, 16_000), 32);
        assert_eq!(max_tokens(16_000 * 15, 16_000), 152, "15 s, the longest live utterance");
        assert_eq!(max_tokens(16_000 * 15 + 8_000, 16_000), 152, "whole seconds only");
    }

    #[test]
    fn short_audio_gets_its_length_and_the_margin() {
        assert_eq!(audio_ctx(16_000 * 4, 16_000), 300, "4 s + 2 s = 300 positions of 20 ms");
        assert_eq!(audio_ctx(1, 16_000), 101, "a partial position counts whole");
        assert_eq!(audio_ctx(0, 16_000), 100);
    }

    #[test]
    fn audio_near_or_past_30_s_keeps_the_full_window() {
        assert_eq!(audio_ctx(16_000 * 27, 16_000), 1_450);
        assert_eq!(audio_ctx(16_000 * 28, 16_000), 0);
        assert_eq!(audio_ctx(16_000 * 600, 16_000), 0);
    }
}
