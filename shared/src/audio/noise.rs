//! Noise suppression before STT with `nnnoiseless` (RNNoise in pure Rust): call-centre recordings carry
//! headset hiss and open-office babble, which cost the recogniser words. RNNoise works on 48 kHz audio in
//! 10 ms frames of 16-bit-range floats; the caller resamples to [`RATE`] first.

use nnnoiseless::DenoiseState;

/// The only rate RNNoise's model was trained for.
pub const RATE: u32 = 48_000;
const FRAME: usize = DenoiseState::FRAME_SIZE;
/// RNNoise's samples are 16-bit values held in `f32`.
const SCALE: f32 = 32_768.0;

/// `samples` (48 kHz, -1..1) with the noise suppressed, the same length and lined up with the input: the last
/// frame is zero-padded, and since each output frame is the previous input frame (overlap-add), one extra
/// frame of silence is fed and the first output frame (the model warming up) dropped.
pub fn suppress(samples: &[f32]) -> Vec<f32> {
    let mut state = DenoiseState::new();
    let mut out = Vec::with_capacity(samples.len() + FRAME);
    let (mut input, mut output) = ([0.0f32; FRAME], [0.0f32; FRAME]);
    // The extra empty frame at the end is the silence that flushes the last real frame out.
    for (i, frame) in samples.chunks(FRAME).chain(std::iter::once(&[][..])).enumerate() {
        input.fill(0.0);
        input.iter_mut().zip(frame).for_each(|(x, s)| *x = s * SCALE);
        state.process_frame(&mut output, &input);
        if i > 0 {
            out.extend(output.iter().map(|v| v / SCALE));
        }
    }
    out.truncate(samples.len());
    out
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
}
