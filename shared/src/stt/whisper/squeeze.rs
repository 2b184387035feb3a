//! Long silences taken out before whisper reads a channel. In a stereo call each side is quiet while the
//! other talks, and whisper spends as much on a silent 30 s window as on speech (and now and then "hears"
//! words in one). A quiet run longer than [`MIN_GAP_SECONDS`] keeps [`KEEP_SECONDS`] at each end, so
//! whisper still hears a pause; [`Squeezed::original`] takes a time in the shortened audio back to the
//! call's. Pure: the engine applies it.

/// Frames of 20 ms are judged quiet or not.
const FRAME_SECONDS: f64 = 0.02;
/// Quiet runs at least this long are shortened.
const MIN_GAP_SECONDS: f64 = 2.0;
/// Kept at each end of a shortened run.
const KEEP_SECONDS: f64 = 0.4;
/// A frame is quiet below this share of the loud level (the 98th percentile of frame levels): −20 dB.
const QUIET_SHARE: f32 = 0.1;
/// Below this RMS a frame is quiet whatever the level (about −70 dBFS: digital silence, line hiss).
const SILENCE_RMS: f32 = 3e-4;

/// Audio with its long silences shortened.
#[derive(Debug, Clone, PartialEq)]
pub struct Squeezed {
    pub samples: Vec<f32>,
    /// Where the shortened audio skips ahead: (time in it, seconds taken out up to there), in time order.
    joins: Vec<(f64, f64)>,
}

impl Squeezed {
    /// The call's time of `t` seconds into the shortened audio. A time right at a join is where the pause
    /// was cut for the `end` of a segment, where it resumes for a start.
    pub fn original(&self, t: f64, end: bool) -> f64 {
        let before = self.joins.partition_point(|(at, _)| if end { *at < t } else { *at <= t });
        t + before.checked_sub(1).map_or(0.0, |i| self.joins[i].1)
    }
}

/// `samples` at `rate` with every quiet run longer than [`MIN_GAP_SECONDS`] shortened to twice
/// [`KEEP_SECONDS`].
pub fn squeeze(samples: &[f32], rate: u32) -> Squeezed {
    let frame = ((f64::from(rate) * FRAME_SECONDS) as usize).max(1);
    let levels: Vec<f32> = samples.chunks(frame).map(rms).collect();
    let threshold = (loud_level(&levels) * QUIET_SHARE).max(SILENCE_RMS);
    let (min_gap, keep) = ((MIN_GAP_SECONDS / FRAME_SECONDS) as usize, (KEEP_SECONDS / FRAME_SECONDS) as usize);
    let seconds_per_frame = frame as f64 / f64::from(rate);
    let mut out = Squeezed { samples: Vec::with_capacity(samples.len()), joins: Vec::new() };
    let (mut removed, mut i) = (0usize, 0);
    while i < levels.len() {
        let quiet = levels[i..].iter().take_while(|l| **l < threshold).count();
        if quiet >= min_gap {
            out.samples.extend_from_slice(&samples[i * frame..(i + keep) * frame]);
            removed += quiet - 2 * keep;
            out.joins.push((out.samples.len() as f64 / f64::from(rate), removed as f64 * seconds_per_frame));
            let resume = i + quiet - keep;
            out.samples.extend_from_slice(&samples[resume * frame..((i + quiet) * frame).min(samples.len())]);
            i += quiet;
        } else {
            let run = quiet.max(1);
            out.samples.extend_from_slice(&samples[i * frame..((i + run) * frame).min(samples.len())]);
            i += run;
        }
    }
    out
}

fn rms(frame: &[f32]) -> f32 {
    (frame.iter().map(|s| s * s).sum::<f32>() / frame.len().max(1) as f32).sqrt()
}

/// The 98th percentile of the frame levels: speech even when a side talks little, robust to a few clicks.
fn loud_level(levels: &[f32]) -> f32 {
    let mut sorted = levels.to_vec();
    sorted.sort_by(f32::total_cmp);
    sorted.get(sorted.len() * 98 / 100).copied().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 16_000;

    /// `(seconds, loud)` spans, loud ones a 300 Hz tone at 0.3, quiet ones hiss at 1e-4.
    fn audio(spans: &[(f64, bool)]) -> Vec<f32> {
        let mut out = Vec::new();
        for (seconds, loud) in spans {
            let n = (seconds * f64::from(RATE)) as usize;
            out.extend((0..n).map(|i| {
                let t = i as f32 / RATE as f32;
                if *loud { 0.3 * (t * 300.0 * std::f32::consts::TAU).sin() } else { 1e-4 * (t * 7000.0).sin() }
            }));
        }
        out
    }

    #[test]
    fn long_silences_shrink_and_times_map_back() {
        let s = squeeze(&audio(&[(1.0, true), (10.0, false), (2.0, true), (1.0, false), (1.0, true)]), RATE);
        // 10 s of quiet keeps 0.8 s; the 1 s pause is left alone.
        assert!((s.samples.len() as f64 / f64::from(RATE) - 5.8).abs() < 0.05, "{}", s.samples.len());
        assert_eq!(s.original(0.5, false), 0.5);
        assert!((s.original(1.3, false) - 1.3).abs() < 1e-9, "before the join");
        assert!((s.original(1.9, false) - 11.1).abs() < 0.03, "the second talk starts at 11 s");
        assert!((s.original(5.5, true) - 14.7).abs() < 0.03, "{}", s.original(5.5, true));
        let join = s.joins[0].0;
        assert!((s.original(join, true) - 1.4).abs() < 0.03, "an end at the cut stays before it");
        assert!((s.original(join, false) - 10.6).abs() < 0.03, "a start at the cut comes after it");
    }

    #[test]
    fn speech_and_short_pauses_are_untouched() {
        let input = audio(&[(3.0, true), (1.5, false), (3.0, true)]);
        let s = squeeze(&input, RATE);
        assert_eq!(s.samples, input);
        assert_eq!(s.original(6.0, true), 6.0);
    }

    #[test]
    fn silence_alone_becomes_a_short_pause_and_nothing_panics() {
        let s = squeeze(&audio(&[(30.0, false)]), RATE);
        assert!((s.samples.len() as f64 / f64::from(RATE) - 0.8).abs() < 0.05);
        assert!((s.original(0.8, true) - 30.0).abs() < 0.05);
        assert!(squeeze(&[], RATE).samples.is_empty());
        assert_eq!(squeeze(&[0.5; 7], RATE).samples, vec![0.5; 7], "less than a frame");
    }
}
