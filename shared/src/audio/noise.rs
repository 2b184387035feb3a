//! Noise suppression before STT with `nnnoiseless` (RNNoise in pure Rust): call-centre recordings carry
//! headset hiss and open-office babble, which cost the recogniser words. RNNoise works on 48 kHz audio in
//! 10 ms frames of 16-bit-range floats. A track (already at the target rate) goes up to [`RATE`], through the
//! model and back down a block at a time, and is written back in place: the 48 kHz stage costs a few blocks
//! of memory, not three times the track. The model hears the track band-limited to the target rate's Nyquist
//! frequency (8 kHz at 16 kHz), as it does any telephony call; what it removes above that would be filtered
//! out on the way down anyway.

use super::AudioError;
use super::resample::Stream;
use super::sample::{to_f32, to_i16};
use nnnoiseless::DenoiseState;

/// The only rate RNNoise's model was trained for.
pub const RATE: u32 = 48_000;
const FRAME: usize = DenoiseState::FRAME_SIZE;
/// RNNoise's samples are 16-bit values held in `f32`.
const SCALE: f32 = 32_768.0;
/// Target-rate frames read per step of [`suppress_track`]: 100 ms.
const BLOCK_SECONDS: f64 = 0.1;

/// `track` (16-bit at `rate`) with the noise suppressed, in place, the same length and lined up.
pub fn suppress_track(track: &mut [i16], rate: u32) -> Result<(), AudioError> {
    let (mut up, mut down, mut model) = (Stream::new(rate, RATE)?, Stream::new(RATE, rate)?, Suppressor::new());
    let block = ((BLOCK_SECONDS * f64::from(rate)) as usize).max(1);
    let (mut input, mut at_48k, mut clean, mut back) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut written = 0;
    for start in (0..track.len()).step_by(block) {
        let end = (start + block).min(track.len());
        input.clear();
        input.extend(track[start..end].iter().map(|s| to_f32(*s)));
        up.push(&input, &mut at_48k)?;
        model.push(&at_48k, &mut clean);
        down.push(&clean, &mut back)?;
        // Every stage lags its input (filter delays, RNNoise's frame), so what comes back never reaches past
        // what has been read: writing it over the track is safe.
        debug_assert!(written + back.len() <= end);
        written = write_back(track, written, &back);
        at_48k.clear();
        clean.clear();
        back.clear();
    }
    up.finish(&mut at_48k)?;
    model.push(&at_48k, &mut clean);
    model.finish(&mut clean);
    down.push(&clean, &mut back)?;
    down.finish(&mut back)?;
    write_back(track, written, &back);
    Ok(())
}

/// Writes `samples` over `track` from `at` (what runs past its end is the resamplers' rounding); returns
/// where the next write starts.
fn write_back(track: &mut [i16], at: usize, samples: &[f32]) -> usize {
    let room = track.len().saturating_sub(at);
    track[at..at + room.min(samples.len())].iter_mut().zip(samples).for_each(|(t, s)| *t = to_i16(*s));
    at + room.min(samples.len())
}

/// RNNoise over a 48 kHz stream, fed as it comes. Its output is lined up with its input: each output frame is
/// the previous input frame (overlap-add), so the first output frame (the model warming up) is dropped and
/// [`Suppressor::finish`] feeds one extra frame of silence to flush the last real one out.
struct Suppressor {
    state: Box<DenoiseState<'static>>,
    /// Input waiting for a whole frame, already scaled.
    frame: Vec<f32>,
    output: [f32; FRAME],
    warmed_up: bool,
    consumed: usize,
    emitted: usize,
}

impl Suppressor {
    fn new() -> Self {
        Self {
            state: DenoiseState::new(),
            frame: Vec::with_capacity(FRAME),
            output: [0.0; FRAME],
            warmed_up: false,
            consumed: 0,
            emitted: 0,
        }
    }

    /// Feeds `samples` (48 kHz, -1..1) and appends to `out` the frames they complete.
    fn push(&mut self, samples: &[f32], out: &mut Vec<f32>) {
        self.consumed += samples.len();
        for s in samples {
            self.frame.push(s * SCALE);
            if self.frame.len() == FRAME {
                self.run(out);
            }
        }
    }

    /// Flushes what is left, so `out` has received exactly as many samples as were pushed.
    fn finish(mut self, out: &mut Vec<f32>) {
        if !self.frame.is_empty() {
            self.frame.resize(FRAME, 0.0);
            self.run(out);
        }
        self.frame.resize(FRAME, 0.0);
        self.run(out);
        let excess = self.emitted.saturating_sub(self.consumed);
        out.truncate(out.len().saturating_sub(excess));
    }

    fn run(&mut self, out: &mut Vec<f32>) {
        self.state.process_frame(&mut self.output, &self.frame);
        self.frame.clear();
        if self.warmed_up {
            out.extend(self.output.iter().map(|v| v / SCALE));
            self.emitted += FRAME;
        }
        self.warmed_up = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic white noise (xorshift), -amplitude..amplitude.
    fn white_noise(n: usize, amplitude: f32) -> Vec<f32> {
        let mut x = 0x9E37_79B9u32;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x as f32 / u32::MAX as f32 * 2.0 - 1.0) * amplitude
            })
            .collect()
    }

    /// A whole clip through one [`Suppressor`].
    fn suppress(samples: &[f32]) -> Vec<f32> {
        let (mut model, mut out) = (Suppressor::new(), Vec::new());
        model.push(samples, &mut out);
        model.finish(&mut out);
        out
    }

    fn energy(s: &[f32]) -> f32 {
        s.iter().map(|v| v * v).sum()
    }

    #[test]
    fn white_noise_loses_most_of_its_energy() {
        // Hiss at about -35 dBFS for 5 s: RNNoise adapts within a second or two, then removes almost all of it.
        let noise = white_noise(RATE as usize * 5, 0.03);
        let out = suppress(&noise);
        assert!(energy(&out) < energy(&noise) * 0.2, "{} vs {}", energy(&out), energy(&noise));
        let tail = out.len() / 2;
        assert!(energy(&out[tail..]) < energy(&noise[tail..]) * 0.05);
    }

    #[test]
    fn the_length_is_kept_whatever_the_frame_alignment() {
        for n in [0, 7, FRAME, FRAME * 3, FRAME * 3 + 1, RATE as usize + 123] {
            assert_eq!(suppress(&white_noise(n, 0.03)).len(), n);
        }
    }

    #[test]
    fn output_is_lined_up_with_the_input() {
        // A loud sweep passes through almost untouched; it matches the input best with no shift either way.
        let sweep: Vec<f32> = (0..RATE as usize)
            .map(|i| {
                let t = i as f32 / RATE as f32;
                0.3 * (std::f32::consts::TAU * (200.0 * t + 400.0 * t * t)).sin()
            })
            .collect();
        let out = suppress(&sweep);
        let matching = |lag: i32| -> f32 {
            let (a, b) =
                if lag >= 0 { (&sweep[..], &out[lag as usize..]) } else { (&out[..], &sweep[(-lag) as usize..]) };
            a.iter().zip(b).map(|(x, y)| x * y).sum()
        };
        let best = (-(FRAME as i32)..=FRAME as i32).max_by(|a, b| matching(*a).total_cmp(&matching(*b))).unwrap();
        assert!(best.abs() <= 2, "output is shifted by {best} samples");
        assert!((energy(&out) / energy(&sweep) - 1.0).abs() < 0.1);
    }

    #[test]
    fn fed_in_pieces_it_gives_what_it_gives_fed_at_once() {
        let noise = white_noise(RATE as usize / 2 + 77, 0.03);
        let (mut model, mut out) = (Suppressor::new(), Vec::new());
        for piece in noise.chunks(333) {
            model.push(piece, &mut out);
        }
        model.finish(&mut out);
        assert_eq!(out, suppress(&noise));
    }

    #[test]
    fn a_track_is_cleaned_in_place_as_the_whole_clip_chain_would_clean_it() {
        for rate in [16_000, 8_000, 22_050] {
            let noise = white_noise(rate as usize * 2 + 5, 0.03);
            let mut track: Vec<i16> = noise.iter().map(|v| to_i16(*v)).collect();
            let heard: Vec<f32> = track.iter().map(|s| to_f32(*s)).collect();
            let up = crate::audio::resample::resample(&heard, rate, RATE).unwrap();
            let mut whole = crate::audio::resample::resample(&suppress(&up), RATE, rate).unwrap();
            whole.truncate(track.len());
            let expected: Vec<i16> = whole.iter().map(|v| to_i16(*v)).collect();
            suppress_track(&mut track, rate).unwrap();
            assert_eq!(track.len(), noise.len(), "{rate}");
            assert!(track == expected, "{rate}: the in-place track differs from the whole-clip chain");
            let cleaned: Vec<f32> = track.iter().map(|s| to_f32(*s)).collect();
            assert!(energy(&cleaned) < energy(&heard) * 0.5, "{rate}: {} vs {}", energy(&cleaned), energy(&heard));
        }
    }
}
