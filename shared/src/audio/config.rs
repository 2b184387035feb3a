//! Audio preparation settings (`AUDIO_*`, `ENABLE_NOISE_SUPPRESSION`, `STT_CHUNK_SECONDS`), read once from the
//! environment into one typed struct, every value bounded so a typo cannot make a worker run out of memory.

use crate::settings::env::{self, EnvError, EnvSource};

/// The lowest `AUDIO_MAX_DECODED_BYTES`: half a minute of a stereo call at 16 kHz, so a typo cannot refuse
/// every recording.
const MIN_DECODED_BYTES: usize = 1_000_000;

#[derive(Debug, Clone, PartialEq)]
pub struct AudioConfig {
    /// `AUDIO_MAX_BYTES` (500000000, at least 1024): the largest upload decoded.
    pub max_bytes: usize,
    /// `AUDIO_MAX_SECONDS` (14400 = 4 h, 1 s to 24 h): decoding stops with an error past this.
    pub max_seconds: f64,
    /// `AUDIO_MAX_DECODED_BYTES` (1000000000, at least 1000000): the most a recording may take once decoded
    /// (16-bit at the target rate, both channels), checked from the header and again as samples arrive. The
    /// default lets the 4 h limit through at 16 kHz in stereo (921.6 MB); a higher target rate meets it sooner.
    /// A call's memory is about this plus the upload (see `audio`), and each batch worker may hold one.
    pub max_decoded_bytes: usize,
    /// `AUDIO_TARGET_SAMPLE_RATE` (16000, 8000 to 48000): the rate of every piece sent to the STT provider.
    pub target_rate: u32,
    /// `AUDIO_CHANNEL_ROLES` (`customer,agent`): the speaker of channel 0 and of channel 1 of a stereo call.
    pub channel_roles: [String; 2],
    /// `ENABLE_NOISE_SUPPRESSION` (true): RNNoise over each speaker track before STT.
    pub noise_suppression: bool,
    /// `STT_CHUNK_SECONDS` (600, 30 to 3600): the longest piece sent to the STT provider in one request.
    pub chunk_seconds: f64,
}

impl Default for AudioConfig {
    fn default() -> Self {
        Self {
            max_bytes: 500_000_000,
            max_seconds: 4.0 * 3600.0,
            max_decoded_bytes: 1_000_000_000,
            target_rate: 16_000,
            channel_roles: ["customer".to_string(), "agent".to_string()],
            noise_suppression: true,
            chunk_seconds: 600.0,
        }
    }
}

impl AudioConfig {
    pub fn from_env(e: &dyn EnvSource) -> Result<Self, EnvError> {
        let d = Self::default();
        let roles = env::lower_list(e, "AUDIO_CHANNEL_ROLES", &d.channel_roles.join(","));
        let channel_roles: [String; 2] = roles.try_into().map_err(|_| EnvError {
            name: "AUDIO_CHANNEL_ROLES".into(),
            value: env::string(e, "AUDIO_CHANNEL_ROLES").unwrap_or_default(),
            expected: "pair of roles for channel 0 and channel 1, e.g. customer,agent",
        })?;
        Ok(Self {
            max_bytes: env::parsed(e, "AUDIO_MAX_BYTES", d.max_bytes, "whole number")?.max(1024),
            max_seconds: env::float(e, "AUDIO_MAX_SECONDS", d.max_seconds)?.clamp(1.0, 24.0 * 3600.0),
            max_decoded_bytes: env::parsed(e, "AUDIO_MAX_DECODED_BYTES", d.max_decoded_bytes, "whole number")?
                .max(MIN_DECODED_BYTES),
            target_rate: env::parsed(e, "AUDIO_TARGET_SAMPLE_RATE", d.target_rate, "whole number")?
                .clamp(8_000, 48_000),
            channel_roles,
            noise_suppression: env::parsed(e, "ENABLE_NOISE_SUPPRESSION", d.noise_suppression, "true or false")?,
            chunk_seconds: env::float(e, "STT_CHUNK_SECONDS", d.chunk_seconds)?.clamp(30.0, 3600.0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        assert_eq!(AudioConfig::from_env(&[("UNRELATED", "1")]).unwrap(), AudioConfig::default());
    }

    #[test]
    fn reads_and_bounds_values() {
        let c = AudioConfig::from_env(&[
            ("AUDIO_CHANNEL_ROLES", " Agent , Customer "),
            ("AUDIO_MAX_SECONDS", "999999"),
            ("AUDIO_MAX_DECODED_BYTES", "5"),
            ("AUDIO_TARGET_SAMPLE_RATE", "100"),
            ("ENABLE_NOISE_SUPPRESSION", "false"),
            ("STT_CHUNK_SECONDS", "1"),
        ])
        .unwrap();
        assert_eq!(c.channel_roles, ["agent".to_string(), "customer".to_string()]);
        assert_eq!(c.max_seconds, 24.0 * 3600.0);
        assert_eq!(c.max_decoded_bytes, 1_000_000);
        assert_eq!(c.target_rate, 8_000);
        assert!(!c.noise_suppression);
        assert_eq!(c.chunk_seconds, 30.0);
    }

    #[test]
    fn rejects_garbage() {
        let err = AudioConfig::from_env(&[("AUDIO_CHANNEL_ROLES", "agent")]).unwrap_err();
        assert_eq!((err.name.as_str(), err.value.as_str()), ("AUDIO_CHANNEL_ROLES", "agent"));
        assert!(AudioConfig::from_env(&[("AUDIO_CHANNEL_ROLES", "a,b,c")]).is_err());
        assert!(AudioConfig::from_env(&[("ENABLE_NOISE_SUPPRESSION", "maybe")]).is_err());
        assert!(AudioConfig::from_env(&[("AUDIO_MAX_BYTES", "-5")]).is_err());
        assert!(AudioConfig::from_env(&[("AUDIO_MAX_DECODED_BYTES", "1GB")]).is_err());
    }
}
