//! Sample-rate conversion to the STT provider's rate (and to RNNoise's 48 kHz), with `rubato`'s windowed-sinc
//! resampler: going down from 44.1 or 48 kHz to 16 kHz, anything above the new Nyquist frequency must be
//! filtered out first or it folds back into the speech band as noise the recogniser hears.

use super::AudioError;
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Async, FixedAsync, Resampler, SincInterpolationParameters, SincInterpolationType, WindowFunction};

/// Filter taps: 128 with a Blackman-Harris window gives a sharp cutoff just below the lower Nyquist rate and
/// keeps aliasing under the 16-bit noise floor; longer filters only slow the batch worker down.
const SINC_LEN: usize = 128;
/// Frames handed to the resampler per step; any size works, this one keeps its buffers small.
const CHUNK_FRAMES: usize = 1024;

/// `samples` at `from` Hz, converted to `to` Hz (same duration, lined up with the input).
pub fn resample(samples: &[f32], from: u32, to: u32) -> Result<Vec<f32>, AudioError> {
    if from == to || samples.is_empty() {
        return Ok(samples.to_vec());
    }
    let failed = |e: &dyn std::fmt::Display| AudioError::Conversion(e.to_string());
    let params = SincInterpolationParameters::new(SINC_LEN, WindowFunction::BlackmanHarris2)
        .oversampling_factor(256)
        .interpolation(SincInterpolationType::Linear);
    let ratio = f64::from(to) / f64::from(from);
    let mut resampler =
        Async::<f32>::new_sinc(ratio, 1.0, &params, CHUNK_FRAMES, 1, FixedAsync::Input).map_err(|e| failed(&e))?;
    let input = InterleavedSlice::new(samples, 1, samples.len()).map_err(|e| failed(&e))?;
    let output = resampler.process_all(&input, samples.len(), None).map_err(|e| failed(&e))?;
    Ok(output.take_data())
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

    #[test]
    fn same_rate_and_empty_input_pass_through() {
        assert_eq!(resample(&[0.1, 0.2], 16_000, 16_000).unwrap(), vec![0.1, 0.2]);
        assert!(resample(&[], 8_000, 16_000).unwrap().is_empty());
    }
}
