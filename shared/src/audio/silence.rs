//! Energy-based silence measurement on live 16-bit PCM, so dead air is detected from the audio itself
//! and not only from provider metadata.

/// Analysis window: 20 ms, the usual VAD frame.
const WINDOW_MS: u64 = 20;

/// What one chunk of audio says about silence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SilenceScan {
    pub duration_ms: u64,
    /// Silence at the end of the chunk (the whole chunk when `all_silent`).
    pub trailing_silence_ms: u64,
    pub all_silent: bool,
}

/// Scans interleaved s16le PCM in 20 ms windows; a window is silent when its RMS over all channels is
/// below `rms_threshold`.
pub fn scan(pcm: &[u8], channels: u16, sample_rate: u32, rms_threshold: f64) -> SilenceScan {
    scan_by(pcm.len() / 2, channels, sample_rate, rms_threshold, |i| i16::from_le_bytes([pcm[2 * i], pcm[2 * i + 1]]))
}

/// `scan` of one channel of interleaved samples already decoded (the listener measures each side).
pub fn scan_channel(
    samples: &[i16],
    channels: usize,
    channel: usize,
    sample_rate: u32,
    rms_threshold: f64,
) -> SilenceScan {
    let channels = channels.max(1);
    scan_by(samples.len() / channels, 1, sample_rate, rms_threshold, |i| samples[i * channels + channel])
}

fn scan_by(
    samples: usize,
    channels: u16,
    sample_rate: u32,
    rms_threshold: f64,
    sample: impl Fn(usize) -> i16,
) -> SilenceScan {
    let channels = usize::from(channels.max(1));
    let frames = samples / channels;
    let window_frames = (sample_rate as usize * WINDOW_MS as usize / 1000).max(1);
    let to_ms = |f: usize| (f as u64 * 1000) / u64::from(sample_rate.max(1));
    let mut trailing_frames = 0usize;
    let mut all_silent = true;
    for start in (0..frames).step_by(window_frames) {
        let end = (start + window_frames).min(frames);
        let range = start * channels..end * channels;
        let sum_sq: i64 = range.clone().map(|i| i64::from(sample(i)).pow(2)).sum();
        let rms = (sum_sq as f64 / range.len().max(1) as f64).sqrt();
        if rms < rms_threshold {
            trailing_frames += end - start;
        } else {
            trailing_frames = 0;
            all_silent = false;
        }
    }
    SilenceScan { duration_ms: to_ms(frames), trailing_silence_ms: to_ms(trailing_frames), all_silent }
}

#[cfg(test)]
pub(crate) fn tone(frames: usize, channels: u16, amplitude: i16) -> Vec<u8> {
    (0..frames * usize::from(channels))
        .flat_map(|i| {
            let v = if (i / 8) % 2 == 0 { amplitude } else { -amplitude };
            v.to_le_bytes()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_and_speech() {
        let quiet = scan(&tone(8000, 1, 20), 1, 8000, 200.0);
        assert_eq!(quiet, SilenceScan { duration_ms: 1000, trailing_silence_ms: 1000, all_silent: true });
        let loud = scan(&tone(8000, 2, 3000), 2, 8000, 200.0);
        assert_eq!((loud.all_silent, loud.trailing_silence_ms), (false, 0));
        let mut mixed = tone(4000, 1, 3000);
        mixed.extend(tone(4000, 1, 0));
        let m = scan(&mixed, 1, 8000, 200.0);
        assert_eq!((m.all_silent, m.trailing_silence_ms, m.duration_ms), (false, 500, 1000));
    }
}
