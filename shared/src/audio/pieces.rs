//! Cutting a long track into pieces the STT provider accepts in one request (OpenAI takes 25 MB, about 13 min
//! of 16 kHz 16-bit mono). A cut in the middle of a word loses that word twice, so each cut goes at the
//! quietest moment of the last few seconds before the boundary; each piece keeps its offset so the
//! transcript's timestamps stay those of the whole call.

use super::Piece;
use crate::realtime::live_audio::AudioFormat;
use std::ops::Range;

/// How far before the boundary a quiet point is looked for (at most a quarter of a piece).
const QUIET_SEARCH_SECONDS: f64 = 5.0;
/// The span whose energy is compared: 20 ms, shorter than a syllable, longer than a pitch period.
const QUIET_WINDOW_SECONDS: f64 = 0.02;

/// `track` (at `rate`) as WAV pieces of at most `chunk_seconds`, each with its offset. They are made from the
/// end and the track shortened behind each, so its memory goes back as the pieces' comes in: the two together
/// never hold much more than the track alone.
pub fn cut(mut track: Vec<i16>, rate: u32, chunk_seconds: f64) -> Vec<Piece> {
    let mut pieces: Vec<Piece> = ranges(&track, rate, chunk_seconds)
        .into_iter()
        .rev()
        .map(|range| {
            let piece =
                Piece { offset_seconds: range.start as f64 / f64::from(rate), wav: wav(&track[range.clone()], rate) };
            track.truncate(range.start);
            track.shrink_to_fit();
            piece
        })
        .collect();
    pieces.reverse();
    pieces
}

/// Sample ranges of consecutive pieces, each at most `chunk_seconds` long, covering the whole track.
fn ranges(samples: &[i16], rate: u32, chunk_seconds: f64) -> Vec<Range<usize>> {
    let rate = f64::from(rate);
    let chunk = ((chunk_seconds * rate) as usize).max(1);
    let search = (QUIET_SEARCH_SECONDS * rate).min(chunk as f64 / 4.0) as usize;
    let window = ((QUIET_WINDOW_SECONDS * rate) as usize).clamp(1, search.max(1));
    let mut out = Vec::with_capacity(samples.len() / chunk + 1);
    let mut start = 0;
    while samples.len() - start > chunk {
        let boundary = start + chunk;
        let cut = quietest(&samples[boundary - search..boundary], window).map_or(boundary, |at| boundary - search + at);
        out.push(start..cut);
        start = cut;
    }
    out.push(start..samples.len());
    out
}

/// The middle of the quietest `window`-long span of `samples` (the latest one on a tie).
fn quietest(samples: &[i16], window: usize) -> Option<usize> {
    samples
        .chunks_exact(window)
        .enumerate()
        .map(|(i, w)| (i, w.iter().map(|v| i64::from(*v).pow(2)).sum::<i64>()))
        .reduce(|best, next| if next.1 <= best.1 { next } else { best })
        .map(|(i, _)| i * window + window / 2)
}

/// Mono 16-bit PCM WAV of `samples` at `rate`.
fn wav(samples: &[i16], rate: u32) -> Vec<u8> {
    crate::audio::wav::encode_samples(&AudioFormat { sample_rate: rate, channels: 1, sample_width: 2 }, samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 1000;

    fn loud(n: usize) -> Vec<i16> {
        (0..n).map(|i| if i % 2 == 0 { 16_000 } else { -16_000 }).collect()
    }

    #[test]
    fn short_tracks_are_one_piece() {
        assert_eq!(ranges(&loud(500), RATE, 60.0), vec![0..500]);
        assert_eq!(ranges(&loud(60_000), RATE, 60.0), vec![0..60_000]);
        assert_eq!(ranges(&[], RATE, 60.0), vec![0..0]);
    }

    #[test]
    fn pieces_cover_the_track_and_cut_at_the_quiet_point_before_each_boundary() {
        let mut samples = loud(150_000);
        // A pause 2 s before the first boundary (60 s) and none before the second.
        samples[57_900..58_100].fill(0);
        let pieces = ranges(&samples, RATE, 60.0);
        assert_eq!(pieces.len(), 3);
        assert!((57_900..58_100).contains(&pieces[0].end), "{pieces:?}");
        assert_eq!(pieces[1].start, pieces[0].end);
        assert!(pieces[1].len() <= 60_000 && pieces[1].len() >= 55_000, "{pieces:?}");
        assert_eq!(pieces[2].start, pieces[1].end);
        assert_eq!(pieces[2].end, 150_000);
    }

    #[test]
    fn constant_audio_is_cut_at_the_boundary() {
        let pieces = ranges(&vec![0; 130_000], RATE, 60.0);
        assert_eq!(pieces.iter().map(|r| r.end).collect::<Vec<_>>(), vec![59_990, 119_980, 130_000]);
    }

    #[test]
    fn pieces_are_mono_16_bit_wav_at_the_target_rate() {
        let samples = [0i16, 32767, -32768, 12_345];
        let wav = wav(&samples, 16_000);
        let (format, pcm) = crate::audio::wav::decode(&wav).unwrap();
        assert_eq!((format.sample_rate, format.channels), (16_000, 1));
        assert_eq!(pcm, samples.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>());
    }
}
