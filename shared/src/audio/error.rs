//! Why a recording could not be prepared, in words fit for the call page: these messages are stored on the
//! call and shown to the person who uploaded it, so they say what is wrong with the file, not with the code.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum AudioError {
    #[error("The file is {} and the limit is {}; please upload a smaller or compressed recording",
        megabytes(*bytes), megabytes(*max_bytes))]
    TooLarge { bytes: usize, max_bytes: usize },
    #[error("The recording is longer than the {} limit", span(*max_seconds))]
    TooLong { max_seconds: f64 },
    #[error("The recording decodes to more than the {} limit; please upload a shorter recording or split it into parts",
        megabytes(*max_bytes))]
    DecodedTooLarge { max_bytes: usize },
    #[error("The file is empty or its audio has zero length")]
    Empty,
    #[error("The file is not a recording in a supported format (WAV, MP3, M4A/AAC, OGG/Vorbis or FLAC)")]
    Unrecognised,
    #[error("The file has no audio track")]
    NoAudioTrack,
    #[error("The recording uses an audio codec that is not supported ({0}); please convert it to WAV, MP3 or FLAC")]
    UnsupportedCodec(String),
    #[error("The recording is damaged and could not be decoded ({0})")]
    Corrupt(String),
    #[error("The recording's sample rate ({0} Hz) is outside the supported range of 4 to 384 kHz")]
    UnsupportedSampleRate(u32),
    #[error("The recording could not be converted for transcription ({0})")]
    Conversion(String),
    #[error("The recording ends abruptly; the upload may be incomplete")]
    Incomplete,
    #[error("The recording stops early ({} of the {} its header announces); the upload may be incomplete",
        span(*decoded_seconds), span(*expected_seconds))]
    Truncated { decoded_seconds: f64, expected_seconds: f64 },
}

fn megabytes(bytes: usize) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// A duration as a person would say it: `45 s`, `12 min 5 s`, `4 h`, `2 h 30 min`.
fn span(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) => format!("{s} s"),
        (0, m, 0) => format!("{m} min"),
        (0, m, s) => format!("{m} min {s} s"),
        (h, 0, _) => format!("{h} h"),
        (h, m, _) => format!("{h} h {m} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_speak_in_units_people_use() {
        let e = AudioError::TooLarge { bytes: 612_400_000, max_bytes: 500_000_000 };
        assert!(e.to_string().starts_with("The file is 612.4 MB and the limit is 500.0 MB"), "{e}");
        assert_eq!(
            AudioError::TooLong { max_seconds: 14_400.0 }.to_string(),
            "The recording is longer than the 4 h limit"
        );
        let d = AudioError::DecodedTooLarge { max_bytes: 15_000_000 };
        assert!(d.to_string().starts_with("The recording decodes to more than the 15.0 MB limit;"), "{d}");
        let t = AudioError::Truncated { decoded_seconds: 65.2, expected_seconds: 9_000.0 };
        assert!(t.to_string().contains("(1 min 5 s of the 2 h 30 min"), "{t}");
        assert_eq!(span(600.0), "10 min");
        assert_eq!(span(0.4), "0 s");
    }
}
