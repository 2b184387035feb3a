//! Sample-rate conversion to the STT provider's rate (and to RNNoise's 48 kHz and back), with `rubato`'s
//! windowed-sinc resampler: going down from 44.1 or 48 kHz to 16 kHz, anything above the new Nyquist frequency
//! must be filtered out first or it folds back into the speech band as noise the recogniser hears.
//! It streams: audio is fed as it is decoded and only the converted samples are kept, so memory follows the
//! rate converted to, not the rate of the upload (an hour at 384 kHz would otherwise be held whole first).

use super::AudioError;
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, FixedAsync, Indexing, Resampler, SincInterpolationParameters, SincInterpolationType, WindowFunction,
};

/// Filter taps: 128 with a Blackman-Harris window gives a sharp cutoff just below the lower Nyquist rate and
/// keeps aliasing under the 16-bit noise floor; longer filters only slow the batch worker down.
const SINC_LEN: usize = 128;
/// Frames handed to the resampler per step; any size works, this one keeps its buffers small.
const CHUNK_FRAMES: usize = 1024;

/// `samples` at `from` Hz, converted to `to` Hz (same duration, lined up with the input): a whole clip
/// through one [`Stream`].
pub fn resample(samples: &[f32], from: u32, to: u32) -> Result<Vec<f32>, AudioError> {
    let mut stream = Stream::new(from, to)?;
    let mut out = Vec::with_capacity((samples.len() as f64 * f64::from(to) / f64::from(from)).ceil() as usize);
    stream.push(samples, &mut out)?;
    stream.finish(&mut out)?;
    Ok(out)
}

/// How many frames `frames` at `from` Hz become at `to` Hz: what a [`Stream`] gives out in all.
pub fn output_frames(frames: u64, from: u32, to: u32) -> u64 {
    (ratio(from, to) * frames as f64).ceil() as u64
}

fn ratio(from: u32, to: u32) -> f64 {
    f64::from(to) / f64::from(from)
}

/// One channel converted as it arrives. The output is exactly what resampling the whole clip at once gives
/// (`rubato`'s `process_all`): the filter's start-up delay is dropped, and [`Stream::finish`] flushes the tail
/// so the output lasts as long as the input. Holds one chunk of input and one of output.
pub struct Stream {
    /// `None` when the rates are equal: samples pass through untouched.
    resampler: Option<Async<f32>>,
    from: u32,
    to: u32,
    /// Input waiting for a whole chunk.
    pending: Vec<f32>,
    /// One chunk's output.
    chunk_out: Vec<f32>,
    /// Output frames still to drop: what is left of the filter's delay.
    delay: usize,
    consumed: u64,
    emitted: u64,
}

impl Stream {
    pub fn new(from: u32, to: u32) -> Result<Self, AudioError> {
        let (resampler, delay, chunk_out) = if from == to {
            (None, 0, Vec::new())
        } else {
            let params = SincInterpolationParameters::new(SINC_LEN, WindowFunction::BlackmanHarris2)
                .oversampling_factor(256)
                .interpolation(SincInterpolationType::Linear);
            let r = Async::<f32>::new_sinc(ratio(from, to), 1.0, &params, CHUNK_FRAMES, 1, FixedAsync::Input)
                .map_err(|e| failed(&e))?;
            let (delay, out) = (r.output_delay(), vec![0.0; r.output_frames_max()]);
            (Some(r), delay, out)
        };
        Ok(Self {
            resampler,
            from,
            to,
            pending: Vec::with_capacity(CHUNK_FRAMES),
            chunk_out,
            delay,
            consumed: 0,
            emitted: 0,
        })
    }

    /// Feeds `input` and appends to `out` whatever output it completes.
    pub fn push(&mut self, mut input: &[f32], out: &mut Vec<f32>) -> Result<(), AudioError> {
        self.consumed += input.len() as u64;
        if self.resampler.is_none() {
            out.extend_from_slice(input);
            self.emitted += input.len() as u64;
            return Ok(());
        }
        while !input.is_empty() {
            if self.pending.is_empty() && input.len() >= CHUNK_FRAMES {
                // Whole chunks straight from the caller's buffer, without a copy.
                self.process(&input[..CHUNK_FRAMES], None, out)?;
                input = &input[CHUNK_FRAMES..];
                continue;
            }
            let take = (CHUNK_FRAMES - self.pending.len()).min(input.len());
            self.pending.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.pending.len() == CHUNK_FRAMES {
                let chunk = std::mem::take(&mut self.pending);
                self.process(&chunk, None, out)?;
                self.pending = chunk;
                self.pending.clear();
            }
        }
        Ok(())
    }

    /// Flushes the tail: after it `out` has received `ceil(ratio × input)` samples in all.
    pub fn finish(mut self, out: &mut Vec<f32>) -> Result<(), AudioError> {
        if self.resampler.is_none() {
            return Ok(());
        }
        let expected = output_frames(self.consumed, self.from, self.to);
        // The last partial chunk, then silence until the delayed output has all come out.
        let mut last = std::mem::take(&mut self.pending);
        let mut partial = Some(last.len()).filter(|n| *n > 0);
        last.resize(CHUNK_FRAMES, 0.0);
        while partial.is_some() || self.emitted < expected {
            self.process(&last, Some(partial.take().unwrap_or(0)), out)?;
        }
        // The last step's output runs past the end of the input: cut it there.
        let excess = usize::try_from(self.emitted - expected).unwrap_or(usize::MAX);
        out.truncate(out.len().saturating_sub(excess));
        Ok(())
    }

    fn process(&mut self, chunk: &[f32], partial: Option<usize>, out: &mut Vec<f32>) -> Result<(), AudioError> {
        let Some(resampler) = self.resampler.as_mut() else { return Ok(()) };
        let input = InterleavedSlice::new(chunk, 1, chunk.len()).map_err(|e| failed(&e))?;
        let capacity = self.chunk_out.len();
        let mut output = InterleavedSlice::new_mut(&mut self.chunk_out, 1, capacity).map_err(|e| failed(&e))?;
        let indexing = partial.map(|n| Indexing::new().partial_len(n));
        let (_, produced) =
            resampler.process_into_buffer(&input, &mut output, indexing.as_ref()).map_err(|e| failed(&e))?;
        let skip = self.delay.min(produced);
        self.delay -= skip;
        out.extend_from_slice(&self.chunk_out[skip..produced]);
        self.emitted += (produced - skip) as u64;
        Ok(())
    }
}

fn failed(e: &dyn std::fmt::Display) -> AudioError {
    AudioError::Conversion(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f32, rate: u32, seconds: f32, amplitude: f32) -> Vec<f32> {
        let n = (rate as f32 * seconds) as usize;
        (0..n).map(|i| amplitude * (std::f32::consts::TAU * hz * i as f32 / rate as f32).sin()).collect()
    }

    /// RMS of the middle half, away from the filter's start-up and tail.
    fn rms(s: &[f32]) -> f32 {
        let mid = &s[s.len() / 4..s.len() * 3 / 4];
        (mid.iter().map(|v| v * v).sum::<f32>() / mid.len() as f32).sqrt()
    }

    /// Frequency from upward zero crossings over the middle half.
    fn frequency(s: &[f32], rate: u32) -> f32 {
        let mid = &s[s.len() / 4..s.len() * 3 / 4];
        let ups = mid.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
        ups as f32 * rate as f32 / mid.len() as f32
    }

    #[test]
    fn a_1_khz_tone_keeps_its_frequency_amplitude_and_length() {
        for (from, to) in [(44_100, 16_000), (48_000, 16_000), (8_000, 16_000), (16_000, 48_000)] {
            let input = tone(1000.0, from, 1.0, 0.5);
            let out = resample(&input, from, to).unwrap();
            assert_eq!(out.len(), to as usize, "{from}->{to}");
            assert!((frequency(&out, to) - 1000.0).abs() < 5.0, "{from}->{to}: {} Hz", frequency(&out, to));
            assert!((rms(&out) / rms(&input) - 1.0).abs() < 0.02, "{from}->{to}: {} vs {}", rms(&out), rms(&input));
        }
    }

    #[test]
    fn tones_above_the_new_nyquist_are_filtered_not_folded_back() {
        // 12 kHz at 48 kHz would alias to 4 kHz at 16 kHz without the anti-aliasing filter.
        let out = resample(&tone(12_000.0, 48_000, 1.0, 0.5), 48_000, 16_000).unwrap();
        assert!(rms(&out) < 0.5 * 0.001, "12 kHz leaked through at RMS {}", rms(&out));
        // 7 kHz sits in the filter's transition band just below the new 8 kHz Nyquist: attenuated, not removed.
        let out = resample(&tone(7_000.0, 48_000, 1.0, 0.5), 48_000, 16_000).unwrap();
        let level = rms(&out) / (0.5 / 2f32.sqrt());
        assert!(level > 0.3 && level < 0.9, "7 kHz kept at {level} of its level");
    }

    /// The whole clip at once, as `rubato`'s `process_all` does it (what `resample` did before it streamed),
    /// in steps of 32 frames: `process_all` (rubato 4.0) moves only as many frames as the delay it trims, which
    /// garbles the first step's output when that is longer than the delay, as it is with 1024 frames.
    fn whole_clip(samples: &[f32], from: u32, to: u32) -> Vec<f32> {
        let params = SincInterpolationParameters::new(SINC_LEN, WindowFunction::BlackmanHarris2)
            .oversampling_factor(256)
            .interpolation(SincInterpolationType::Linear);
        let ratio = f64::from(to) / f64::from(from);
        let mut r = Async::<f32>::new_sinc(ratio, 1.0, &params, 32, 1, FixedAsync::Input).unwrap();
        let input = InterleavedSlice::new(samples, 1, samples.len()).unwrap();
        r.process_all(&input, samples.len(), None).unwrap().take_data()
    }

    /// `samples` pushed in packets of the given sizes, in turn.
    fn streamed(samples: &[f32], from: u32, to: u32, packets: &[usize]) -> Vec<f32> {
        let mut stream = Stream::new(from, to).unwrap();
        let (mut out, mut rest) = (Vec::new(), samples);
        for size in packets.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (packet, tail) = rest.split_at((*size).min(rest.len()));
            stream.push(packet, &mut out).unwrap();
            rest = tail;
        }
        stream.finish(&mut out).unwrap();
        out
    }

    #[test]
    fn streaming_in_packets_of_any_size_gives_the_whole_clip_resample() {
        // Decoders hand out packets of 1152 (MP3), 1024 (AAC), 4096 or 65535 (FLAC) frames, or odd sizes.
        let packets: [&[usize]; 5] = [&[1152], &[1024], &[65_535], &[1, 7, 1023, 1025, 3000], &[CHUNK_FRAMES * 3]];
        for (from, to) in [(44_100, 16_000), (384_000, 16_000), (8_000, 16_000), (16_000, 48_000), (48_000, 22_050)] {
            for len in [0, 1, 1000, CHUNK_FRAMES * 4, from as usize / 2 + 17] {
                let input = tone(440.0, from, len as f32 / from as f32, 0.5);
                let whole = whole_clip(&input, from, to);
                for sizes in packets {
                    let out = streamed(&input, from, to, sizes);
                    assert_eq!(out.len(), whole.len(), "{from}->{to}, {len} frames in {sizes:?}");
                    let worst = out.iter().zip(&whole).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
                    assert!(worst < 1e-6, "{from}->{to}, {len} frames in {sizes:?}: off by {worst}");
                }
            }
        }
    }

    #[test]
    fn a_streamed_tone_keeps_its_frequency_amplitude_and_length() {
        let input = tone(1000.0, 384_000, 2.0, 0.5);
        let out = streamed(&input, 384_000, 16_000, &[4096]);
        assert_eq!(out.len(), 32_000);
        assert!((frequency(&out, 16_000) - 1000.0).abs() < 5.0, "{} Hz", frequency(&out, 16_000));
        assert!((rms(&out) / rms(&input) - 1.0).abs() < 0.02, "{} vs {}", rms(&out), rms(&input));
    }

    #[test]
    fn same_rate_and_empty_input_pass_through() {
        assert_eq!(resample(&[0.1, 0.2], 16_000, 16_000).unwrap(), vec![0.1, 0.2]);
        assert!(resample(&[], 8_000, 16_000).unwrap().is_empty());
    }
}
