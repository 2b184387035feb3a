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
    /// Which stretch between cuts `t` seconds into the shortened audio falls in (0 before the first cut).
    pub fn region(&self, t: f64) -> usize {
        self.joins.partition_point(|(at, _)| *at <= t)
    }

    /// Where stretch `region` starts and ends in the shortened audio (the last one never ends).
    pub fn bounds(&self, region: usize) -> (f64, f64) {
        let start = self.before(region).map_or(0.0, |(at, _)| at);
        (start, self.joins.get(region).map_or(f64::INFINITY, |(at, _)| *at))
    }

    /// The call's time of `t` seconds into the shortened audio, as a time of stretch `region`: one outside
    /// it (whisper places times loosely around a cut) is held to the stretch's nearer end, so what was
    /// decided to be said there is timed there.
    pub fn original(&self, region: usize, t: f64) -> f64 {
        let (start, end) = self.bounds(region);
        t.clamp(start, end) + self.before(region).map_or(0.0, |(_, removed)| removed)
    }

    /// The cut that stretch `region` follows.
    fn before(&self, region: usize) -> Option<(f64, f64)> {
        self.joins[..region.min(self.joins.len())].last().copied()
    }
}

/// `samples` at `rate` with every quiet run longer than [`MIN_GAP_SECONDS`] shortened to twice
/// [`KEEP_SECONDS`] (once at the very start or end).
pub fn squeeze(samples: &[f32], rate: u32) -> Squeezed {
    let frame = ((f64::from(rate) * FRAME_SECONDS) as usize).max(1);
    let levels: Vec<f32> = samples.chunks(frame).map(rms).collect();
    let threshold = (loud_level(&levels) * QUIET_SHARE).max(SILENCE_RMS);
    let frames = |seconds: f64| (seconds / FRAME_SECONDS).round() as usize;
    let (min_gap, keep) = (frames(MIN_GAP_SECONDS), frames(KEEP_SECONDS));
    let mut out = Squeezed { samples: Vec::with_capacity(samples.len()), joins: Vec::new() };
    // Samples taken out so far, and the frame looked at.
    let (mut removed, mut i) = (0usize, 0);
    while i < levels.len() {
        let quiet = levels[i..].iter().take_while(|l| **l < threshold).count();
        if quiet >= min_gap {
            // Silence before the first words keeps only its end, silence after the last only its start.
            let (head, tail) = match (i == 0, i + quiet == levels.len()) {
                (true, _) => (0, keep),
                (false, true) => (keep, 0),
                (false, false) => (keep, keep),
            };
            let end = ((i + quiet) * frame).min(samples.len());
            let (cut, resume) = ((i + head) * frame, ((i + quiet - tail) * frame).min(end));
            out.samples.extend_from_slice(&samples[i * frame..cut]);
            removed += resume - cut;
            out.joins.push((out.samples.len() as f64 / f64::from(rate), removed as f64 / f64::from(rate)));
            out.samples.extend_from_slice(&samples[resume..end]);
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
        let join = s.joins[0].0;
        assert!((join - 1.4).abs() < 0.03, "{join}");
        assert_eq!((s.region(0.5), s.region(join - 0.01), s.region(join), s.region(5.5)), (0, 0, 1, 1));
        assert_eq!(s.bounds(0), (0.0, join));
        assert_eq!(s.bounds(1), (join, f64::INFINITY));
        assert_eq!(s.original(0, 0.5), 0.5);
        assert!((s.original(0, 1.3) - 1.3).abs() < 1e-9, "the pause kept before the cut");
        assert!((s.original(1, 1.9) - 11.1).abs() < 0.03, "the second talk starts at 11 s");
        assert!((s.original(1, 5.5) - 14.7).abs() < 0.03, "{}", s.original(1, 5.5));
        assert!((s.original(0, 1.7) - 1.4).abs() < 0.03, "a time past the cut held to its stretch's end");
        assert!((s.original(1, 1.1) - 10.6).abs() < 0.03, "a time before the cut held to its stretch's start");
        assert!((s.original(1, join) - 10.6).abs() < 0.03, "the cut itself, from after it");
        assert!((s.original(0, join) - 1.4).abs() < 0.03, "and from before it");
    }

    #[test]
    fn speech_and_short_pauses_are_untouched() {
        let input = audio(&[(3.0, true), (1.5, false), (3.0, true)]);
        let s = squeeze(&input, RATE);
        assert_eq!(s.samples, input);
        assert_eq!((s.region(6.0), s.original(0, 6.0)), (0, 6.0));
    }

    #[test]
    fn silence_alone_becomes_a_short_pause_and_nothing_panics() {
        let s = squeeze(&audio(&[(30.0, false)]), RATE);
        assert!((s.samples.len() as f64 / f64::from(RATE) - 0.4).abs() < 0.05);
        assert!((s.original(s.region(0.4), 0.4) - 30.0).abs() < 0.05);
        let late = squeeze(&audio(&[(4.0, false), (2.0, true), (5.0, false)]), RATE);
        assert!((late.samples.len() as f64 / f64::from(RATE) - 2.8).abs() < 0.05, "0.4 s before, 0.4 s after");
        assert_eq!(late.bounds(0), (0.0, 0.0), "nothing before the leading silence");
        assert_eq!(late.region(0.0), 1);
        assert!((late.original(1, 0.0) - 3.6).abs() < 0.03, "talk after leading silence starts late");
        assert!((late.original(1, 2.4) - 6.0).abs() < 0.03, "{}", late.original(1, 2.4));
        assert!(squeeze(&[], RATE).samples.is_empty());
        for extra in [1, 7, 319] {
            let mut ragged = audio(&[(1.0, true), (3.0, false)]);
            ragged.extend(std::iter::repeat_n(0.0, extra));
            let s = squeeze(&ragged, RATE);
            assert!((s.samples.len() as f64 / f64::from(RATE) - 1.4).abs() < 0.05, "a ragged end: {extra}");
        }
        assert_eq!(squeeze(&[0.5; 7], RATE).samples, vec![0.5; 7], "less than a frame");
    }

    proptest::proptest! {
        /// Any layout of talk and silence, with any ragged end: never a panic, never longer, stretches that
        /// tile the shortened audio, and times that map back in order within the original length.
        #[test]
        fn any_layout_squeezes_and_maps_in_order(
            spans in proptest::collection::vec((0.0f64..4.0, proptest::bool::ANY), 0..8),
            extra in 0usize..400,
        ) {
            let mut input = audio(&spans);
            input.extend(std::iter::repeat_n(0.0, extra));
            let s = squeeze(&input, RATE);
            proptest::prop_assert!(s.samples.len() <= input.len());
            let (seconds, total) = (s.samples.len() as f64 / f64::from(RATE), input.len() as f64 / f64::from(RATE));
            let mut last = 0.0;
            for step in 0..=50 {
                let t = seconds * f64::from(step) / 50.0;
                let region = s.region(t);
                let (start, end) = s.bounds(region);
                proptest::prop_assert!(start <= t && t < end, "{t} in {region}: {start}..{end}");
                let (call, past) = (s.original(region, t), s.original(region.saturating_sub(1), t));
                proptest::prop_assert!(call >= last - 1e-9 && past <= call + 1e-9 && call <= total + 1e-6);
                last = call;
            }
        }
    }
}
