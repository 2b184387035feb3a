//! Realtime settings (seed names and defaults, plus the new ones; every one is in
//! docs/settings.md), read once from the environment into one typed struct.

use crate::realtime::audio_chunk::{MAX_CHANNELS, SAMPLE_RATES};
use crate::settings::env::{self, EnvError, EnvSource};

/// Seed default escalation keywords.
pub const DEFAULT_KEYWORDS: &str = "manager,supervisor,escalate,cancel account,lawyer,legal,complaint,refund now";

#[derive(Debug, Clone, PartialEq)]
pub struct RealtimeConfig {
    /// `REALTIME_NEGATIVE_SENTIMENT_THRESHOLD` (-0.45).
    pub negative_sentiment_threshold: f64,
    /// `REALTIME_HIGH_RISK_THRESHOLD` (0.72).
    pub high_risk_threshold: f64,
    /// `REALTIME_ALERT_COOLDOWN_SECONDS` (75, at least 5).
    pub alert_cooldown_seconds: f64,
    /// `REALTIME_SUPERVISOR_KEYWORD_TRIGGERS`.
    pub keywords: Vec<String>,
    /// `REALTIME_RISK_HALF_LIFE_SECONDS` (27.1): the seed's ×0.88 per event at one event per 5 s.
    pub risk_half_life_seconds: f64,
    /// `REALTIME_AUDIO_WINDOW_SECONDS` (300, at least 30).
    pub audio_window_seconds: u32,
    /// `REALTIME_AUDIO_DEFAULT_SAMPLE_RATE` (16000).
    pub audio_default_sample_rate: u32,
    /// `REALTIME_AUDIO_DEFAULT_CHANNELS` (1).
    pub audio_default_channels: u16,
    /// `REALTIME_AUDIO_MAX_CHUNK_BYTES` (2000000, at least 8192): decoded PCM per chunk.
    pub audio_max_chunk_bytes: usize,
    /// `REALTIME_DEAD_AIR_RMS_THRESHOLD` (200): 16-bit RMS below which live audio counts as silence.
    pub dead_air_rms_threshold: f64,
    /// `REALTIME_MAX_TEXT_CHARS` (20000): longest event text accepted.
    pub max_text_chars: usize,
    /// `REALTIME_CALL_IDLE_MINUTES` (120): a call with no activity for this long is ended; 0 = never.
    pub call_idle_minutes: u64,
    /// `REALTIME_RETENTION_DAYS` (90): calls inactive this long are deleted with their data; 0 = keep.
    pub retention_days: u64,
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        Self {
            negative_sentiment_threshold: -0.45,
            high_risk_threshold: 0.72,
            alert_cooldown_seconds: 75.0,
            keywords: DEFAULT_KEYWORDS.split(',').map(str::to_string).collect(),
            risk_half_life_seconds: 27.1,
            audio_window_seconds: 300,
            audio_default_sample_rate: 16_000,
            audio_default_channels: 1,
            audio_max_chunk_bytes: 2_000_000,
            dead_air_rms_threshold: 200.0,
            max_text_chars: 20_000,
            call_idle_minutes: 120,
            retention_days: 90,
        }
    }
}

impl RealtimeConfig {
    pub fn from_env(e: &dyn EnvSource) -> Result<Self, EnvError> {
        let d = Self::default();
        Ok(Self {
            negative_sentiment_threshold: env::float(
                e,
                "REALTIME_NEGATIVE_SENTIMENT_THRESHOLD",
                d.negative_sentiment_threshold,
            )?,
            high_risk_threshold: env::float(e, "REALTIME_HIGH_RISK_THRESHOLD", d.high_risk_threshold)?,
            alert_cooldown_seconds: env::float(e, "REALTIME_ALERT_COOLDOWN_SECONDS", d.alert_cooldown_seconds)?
                .max(5.0),
            keywords: env::lower_list(e, "REALTIME_SUPERVISOR_KEYWORD_TRIGGERS", DEFAULT_KEYWORDS),
            risk_half_life_seconds: env::float(e, "REALTIME_RISK_HALF_LIFE_SECONDS", d.risk_half_life_seconds)?
                .max(0.001),
            audio_window_seconds: env::parsed(
                e,
                "REALTIME_AUDIO_WINDOW_SECONDS",
                d.audio_window_seconds,
                "whole number",
            )?
            .max(30),
            audio_default_sample_rate: accepted(
                "REALTIME_AUDIO_DEFAULT_SAMPLE_RATE",
                env::parsed(e, "REALTIME_AUDIO_DEFAULT_SAMPLE_RATE", d.audio_default_sample_rate, "whole number")?,
                |r| SAMPLE_RATES.contains(r),
                "sample rate a chunk may have (8000 to 48000 Hz, e.g. 8000, 16000, 44100)",
            )?,
            audio_default_channels: accepted(
                "REALTIME_AUDIO_DEFAULT_CHANNELS",
                env::parsed(e, "REALTIME_AUDIO_DEFAULT_CHANNELS", d.audio_default_channels, "whole number")?.max(1),
                |c| *c <= MAX_CHANNELS,
                "channel count a chunk may have (1 or 2)",
            )?,
            audio_max_chunk_bytes: env::parsed(
                e,
                "REALTIME_AUDIO_MAX_CHUNK_BYTES",
                d.audio_max_chunk_bytes,
                "whole number",
            )?
            .max(8192),
            dead_air_rms_threshold: env::float(e, "REALTIME_DEAD_AIR_RMS_THRESHOLD", d.dead_air_rms_threshold)?,
            max_text_chars: env::parsed(e, "REALTIME_MAX_TEXT_CHARS", d.max_text_chars, "whole number")?.max(1),
            call_idle_minutes: env::parsed(e, "REALTIME_CALL_IDLE_MINUTES", d.call_idle_minutes, "whole number")?,
            retention_days: env::parsed(e, "REALTIME_RETENTION_DAYS", d.retention_days, "whole number")?,
        })
    }
}

/// `value` if `ok` says so, else an error naming the variable: a default outside what a chunk may say itself
/// would have every chunk that leaves the field out refused, for a field the client never sent.
fn accepted<T: ToString>(name: &str, value: T, ok: impl Fn(&T) -> bool, expected: &'static str) -> Result<T, EnvError> {
    if ok(&value) { Ok(value) } else { Err(EnvError { name: name.into(), value: value.to_string(), expected }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_seed() {
        let c = RealtimeConfig::from_env(&[("UNRELATED", "1")]).unwrap();
        assert_eq!(c, RealtimeConfig::default());
        assert_eq!(c.keywords.len(), 8);
    }

    #[test]
    fn reads_and_floors_values() {
        let c = RealtimeConfig::from_env(&[
            ("REALTIME_ALERT_COOLDOWN_SECONDS", "1"),
            ("REALTIME_AUDIO_WINDOW_SECONDS", "10"),
            ("REALTIME_SUPERVISOR_KEYWORD_TRIGGERS", " Boss , ,Angry "),
        ])
        .unwrap();
        assert_eq!(c.alert_cooldown_seconds, 5.0);
        assert_eq!(c.audio_window_seconds, 30);
        assert_eq!(c.keywords, vec!["boss", "angry"]);
    }

    #[test]
    fn rejects_garbage() {
        let err = RealtimeConfig::from_env(&[("REALTIME_HIGH_RISK_THRESHOLD", "high")]).unwrap_err();
        assert_eq!(err.name, "REALTIME_HIGH_RISK_THRESHOLD");
        assert!(RealtimeConfig::from_env(&[("REALTIME_HIGH_RISK_THRESHOLD", "NaN")]).is_err());
        let rate = RealtimeConfig::from_env(&[("REALTIME_AUDIO_DEFAULT_SAMPLE_RATE", "96000")]).unwrap_err();
        assert_eq!(rate.name, "REALTIME_AUDIO_DEFAULT_SAMPLE_RATE");
        assert!(RealtimeConfig::from_env(&[("REALTIME_AUDIO_DEFAULT_CHANNELS", "3")]).is_err());
        let ok = RealtimeConfig::from_env(&[("REALTIME_AUDIO_DEFAULT_SAMPLE_RATE", "8000")]).unwrap();
        assert_eq!(ok.audio_default_sample_rate, 8000);
    }
}
