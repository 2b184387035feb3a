//! AudioHook settings from the environment: the seed's names and defaults, plus
//! credentials, spool and recording settings; every one is in docs/settings.md.

use super::admission::{DEFAULT_MAX_HANDSHAKES, DEFAULT_MAX_SESSIONS, Limits};
use super::chunker::FlushRules;
use super::pipeline::PipelineSettings;
use super::protection;
use super::signature::Credentials;
use super::transcription::LiveConfig;
use crate::forward::IngestUrls;
use shared::settings::env::{self, EnvError, EnvSource};
use shared::settings::secret::Secret;
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum ConfigError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(
        "no AudioHook credentials: set GENESYS_AUDIOHOOK_API_KEY and GENESYS_AUDIOHOOK_CLIENT_SECRET, or GENESYS_AUDIOHOOK_CREDENTIALS=key:secret,..."
    )]
    NoCredentials,
    #[error("{0}: each entry needs an API key and a non-empty base64 client secret")]
    BadCredentials(&'static str),
    #[error("LIVE_TRANSCRIPTION_ENABLED=true needs a speech-to-text provider: set STT_PROVIDER")]
    NoSttProvider,
    #[error("GENESYS_AUDIOHOOK_TRANSCRIPTION_PATH must differ from GENESYS_AUDIOHOOK_PATH")]
    SamePaths,
}

#[derive(Debug, Clone)]
pub struct ForwardConfig {
    pub urls: IngestUrls,
    /// `GENESYS_AUDIOHOOK_TARGET_INGEST_TOKEN`, else `GENESYS_TARGET_INGEST_TOKEN`, else `REALTIME_INGEST_TOKEN`.
    pub token: String,
    /// `GENESYS_AUDIOHOOK_HTTP_TIMEOUT_SECONDS` (20).
    pub http_timeout: Duration,
    /// `GENESYS_AUDIOHOOK_RETRY_BACKOFF_SECONDS` (1.5): first retry delay, doubled per failure up to 30 s.
    pub backoff: Duration,
    /// `GENESYS_AUDIOHOOK_SPOOL_DIR` (`DATA_DIR/spool/audiohook`).
    pub spool_dir: PathBuf,
    /// `GENESYS_AUDIOHOOK_SPOOL_MAX_BYTES` (1 GiB): disk for backlogs while the ingest is down.
    pub spool_max_bytes: u64,
    /// `GENESYS_AUDIOHOOK_STREAM_MEMORY_BYTES` (1 MiB): backlog per session kept in memory before spooling.
    pub stream_memory_bytes: usize,
}

#[derive(Debug, Clone)]
pub struct AudiohookConfig {
    /// `GENESYS_AUDIOHOOK_HOST` (0.0.0.0).
    pub host: String,
    /// `GENESYS_AUDIOHOOK_PORT` (9011).
    pub port: u16,
    /// `GENESYS_AUDIOHOOK_PATH` (/audiohook/ws): a leading `/` added, a trailing one removed.
    pub path: String,
    /// `GENESYS_AUDIOHOOK_TRANSCRIPTION_PATH` (/audiohook/transcription): the Transcription Connector's
    /// path, served while live transcription is on; normalised as `path`.
    pub transcription_path: String,
    /// `GENESYS_AUDIOHOOK_TRANSCRIPTION_HANGOVER_MS` (300): the pause that ends an utterance on the
    /// Transcription Connector's path. Shorter than live transcription's 600 ms: Genesys shows agents phrase
    /// by phrase, and its reference connector (and compliance suite) cut at pauses of about 0.3–0.4 s.
    pub transcription_hangover_ms: u64,
    pub credentials: Credentials,
    /// `GENESYS_AUDIOHOOK_SUPPORTED_LANGUAGES` (en-US): offered when `open` asks.
    pub supported_languages: Vec<String>,
    pub forward: ForwardConfig,
    pub pipeline: PipelineSettings,
    pub live: LiveConfig,
    /// `GENESYS_AUDIOHOOK_HEARTBEAT_SECONDS` (15).
    pub heartbeat_every: Duration,
    /// `GENESYS_AUDIOHOOK_MAX_SESSIONS` (2000) connections at once, of which at most
    /// `GENESYS_AUDIOHOOK_MAX_HANDSHAKES` (100) in their handshake.
    pub limits: Limits,
    /// `SUPERVISOR_TOKEN`: shows the whole status document on `/healthz`; unset, only `{"ok": …}` is served.
    pub supervisor_token: Option<Secret>,
    /// ECS scale-in protection while sessions are open: only on ECS (`ECS_AGENT_URI` set).
    pub protection: Option<protection::Settings>,
}

/// The reference server's fixed delay before answering a failed authentication.
pub const AUTH_FAILURE_DELAY: Duration = Duration::from_millis(500);

pub fn normalize_path(p: &str) -> String {
    format!("/{}", p.trim().trim_matches('/'))
}

fn credentials(e: &dyn EnvSource) -> Result<Credentials, ConfigError> {
    let mut creds = Credentials::default();
    let mut add = |key: &str, secret: &str, var: &'static str| {
        if key.trim().is_empty() || secret.trim().is_empty() {
            return Err(ConfigError::BadCredentials(var));
        }
        creds.insert(key, secret).map_err(|_| ConfigError::BadCredentials(var))
    };
    match (env::string(e, "GENESYS_AUDIOHOOK_API_KEY"), env::string(e, "GENESYS_AUDIOHOOK_CLIENT_SECRET")) {
        (Some(k), Some(s)) => add(&k, &s, "GENESYS_AUDIOHOOK_CLIENT_SECRET")?,
        (Some(_), None) | (None, Some(_)) => return Err(ConfigError::BadCredentials("GENESYS_AUDIOHOOK_API_KEY")),
        (None, None) => {}
    }
    for pair in env::string(e, "GENESYS_AUDIOHOOK_CREDENTIALS").unwrap_or_default().split(',') {
        if pair.trim().is_empty() {
            continue;
        }
        // Base64 has no ':', so the secret is what follows the last one.
        let (k, s) = pair.rsplit_once(':').ok_or(ConfigError::BadCredentials("GENESYS_AUDIOHOOK_CREDENTIALS"))?;
        add(k, s, "GENESYS_AUDIOHOOK_CREDENTIALS")?;
    }
    if creds.is_empty() { Err(ConfigError::NoCredentials) } else { Ok(creds) }
}

fn ingest_urls(e: &dyn EnvSource) -> IngestUrls {
    let base = env::string(e, "REALTIME_INGEST_URL").unwrap_or_else(|| "http://127.0.0.1:8009".into());
    let base = base.trim_end_matches('/');
    IngestUrls {
        audio: env::string(e, "GENESYS_AUDIOHOOK_TARGET_AUDIO_INGEST_URL")
            .unwrap_or_else(|| format!("{base}/api/realtime/audio/chunk")),
        events: env::string(e, "GENESYS_AUDIOHOOK_TARGET_EVENT_INGEST_URL")
            .or_else(|| env::string(e, "GENESYS_TARGET_INGEST_URL"))
            .unwrap_or_else(|| format!("{base}/api/realtime/events")),
    }
}

fn seconds(e: &dyn EnvSource, name: &str, default: f64) -> Result<Duration, EnvError> {
    let s = env::float(e, name, default)?;
    Duration::try_from_secs_f64(s.max(0.0)).map_err(|_| EnvError {
        name: name.into(),
        value: s.to_string(),
        expected: "number of seconds",
    })
}

/// The folder next to `dir` named like it with `suffix`: the recording's local parts stay out of the spool
/// folder, whose every entry is a backlog.
fn beside(dir: &std::path::Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    dir.with_file_name(name)
}

impl AudiohookConfig {
    pub fn from_env(e: &dyn EnvSource) -> Result<Self, ConfigError> {
        let data_dir = PathBuf::from(env::string(e, "DATA_DIR").unwrap_or_else(|| "data".into()));
        let spool_dir = env::string(e, "GENESYS_AUDIOHOOK_SPOOL_DIR")
            .map_or_else(|| data_dir.join("spool").join("audiohook"), PathBuf::from);
        let token = ["GENESYS_AUDIOHOOK_TARGET_INGEST_TOKEN", "GENESYS_TARGET_INGEST_TOKEN", "REALTIME_INGEST_TOKEN"]
            .iter()
            .find_map(|n| env::string(e, n))
            .unwrap_or_default();
        let path = normalize_path(&env::string(e, "GENESYS_AUDIOHOOK_PATH").unwrap_or_else(|| "/audiohook/ws".into()));
        let transcription_path = normalize_path(
            &env::string(e, "GENESYS_AUDIOHOOK_TRANSCRIPTION_PATH")
                .unwrap_or_else(|| "/audiohook/transcription".into()),
        );
        if path == transcription_path {
            return Err(ConfigError::SamePaths);
        }
        Ok(Self {
            host: env::string(e, "GENESYS_AUDIOHOOK_HOST").unwrap_or_else(|| "0.0.0.0".into()),
            port: env::parsed(e, "GENESYS_AUDIOHOOK_PORT", 9011, "port number")?,
            path,
            transcription_path,
            transcription_hangover_ms: env::parsed(
                e,
                "GENESYS_AUDIOHOOK_TRANSCRIPTION_HANGOVER_MS",
                300,
                "whole number",
            )?,
            credentials: credentials(e)?,
            supported_languages: env::string(e, "GENESYS_AUDIOHOOK_SUPPORTED_LANGUAGES")
                .unwrap_or_else(|| "en-US".into())
                .split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
            forward: ForwardConfig {
                urls: ingest_urls(e),
                token,
                http_timeout: seconds(e, "GENESYS_AUDIOHOOK_HTTP_TIMEOUT_SECONDS", 20.0)?,
                backoff: seconds(e, "GENESYS_AUDIOHOOK_RETRY_BACKOFF_SECONDS", 1.5)?.max(Duration::from_millis(50)),
                spool_dir: spool_dir.clone(),
                spool_max_bytes: env::parsed(e, "GENESYS_AUDIOHOOK_SPOOL_MAX_BYTES", 1 << 30, "whole number")?,
                stream_memory_bytes: env::parsed(e, "GENESYS_AUDIOHOOK_STREAM_MEMORY_BYTES", 1 << 20, "whole number")?,
            },
            pipeline: PipelineSettings {
                rules: FlushRules::new(
                    env::parsed(e, "GENESYS_AUDIOHOOK_FLUSH_INTERVAL_MS", 750, "whole number")?,
                    env::parsed(e, "GENESYS_AUDIOHOOK_MIN_CHUNK_DURATION_MS", 300, "whole number")?,
                    env::parsed(e, "GENESYS_AUDIOHOOK_MAX_CHUNK_DURATION_MS", 2000, "whole number")?,
                ),
                rms_threshold: env::float(e, "REALTIME_DEAD_AIR_RMS_THRESHOLD", 200.0)?,
                recording_part_seconds: env::parsed(e, "GENESYS_AUDIOHOOK_RECORDING_PART_SECONDS", 10, "whole number")?,
                recording_dir: env::string(e, "GENESYS_AUDIOHOOK_RECORDING_DIR")
                    .map_or_else(|| beside(&spool_dir, "-recordings"), PathBuf::from),
                queue_seconds: env::parsed(e, "GENESYS_AUDIOHOOK_SESSION_QUEUE_SECONDS", 30u32, "whole number")?.max(1),
                storage_timeout: seconds(e, "GENESYS_AUDIOHOOK_STORAGE_TIMEOUT_SECONDS", 10.0)?
                    .max(Duration::from_millis(100)),
            },
            live: LiveConfig::from_env(e)?,
            heartbeat_every: seconds(e, "GENESYS_AUDIOHOOK_HEARTBEAT_SECONDS", 15.0)?.max(Duration::from_secs(1)),
            limits: Limits::new(
                env::parsed(e, "GENESYS_AUDIOHOOK_MAX_SESSIONS", DEFAULT_MAX_SESSIONS, "whole number")?,
                env::parsed(e, "GENESYS_AUDIOHOOK_MAX_HANDSHAKES", DEFAULT_MAX_HANDSHAKES, "whole number")?,
            ),
            supervisor_token: env::string(e, "SUPERVISOR_TOKEN").map(Secret::from),
            protection: protection::Settings::from_env(e)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_credentials() {
        let c = AudiohookConfig::from_env(&[
            ("GENESYS_AUDIOHOOK_API_KEY", "k"),
            ("GENESYS_AUDIOHOOK_CLIENT_SECRET", "c2VjcmV0"),
        ])
        .unwrap();
        assert_eq!((c.host.as_str(), c.port, c.path.as_str()), ("0.0.0.0", 9011, "/audiohook/ws"));
        assert_eq!((c.transcription_path.as_str(), c.transcription_hangover_ms), ("/audiohook/transcription", 300));
        assert_eq!(c.forward.urls.audio, "http://127.0.0.1:8009/api/realtime/audio/chunk");
        assert_eq!(c.forward.spool_dir, PathBuf::from("data/spool/audiohook"));
        assert_eq!(c.pipeline.recording_dir, PathBuf::from("data/spool/audiohook-recordings"));
        assert_eq!(c.pipeline.rules, FlushRules::default());
        assert_eq!((c.pipeline.queue_seconds, c.pipeline.storage_timeout), (30, Duration::from_secs(10)));
        assert_eq!(c.limits, Limits { sessions: 2000, handshakes: 100 });
        let c = AudiohookConfig::from_env(&[
            ("GENESYS_AUDIOHOOK_CREDENTIALS", "a:c2VjcmV0, b:key:c2VjcmV0"),
            ("GENESYS_AUDIOHOOK_PATH", "hook/"),
            ("REALTIME_INGEST_URL", "https://api.example/"),
            ("REALTIME_INGEST_TOKEN", "t"),
            ("GENESYS_AUDIOHOOK_MAX_SESSIONS", "20"),
        ])
        .unwrap();
        assert_eq!(c.limits, Limits { sessions: 20, handshakes: 20 }, "no more handshakes than sessions");
        assert_eq!(format!("{:?}", c.credentials), "Credentials { api_keys: 2, .. }");
        assert_eq!((c.path.as_str(), c.forward.token.as_str()), ("/hook", "t"));
        assert_eq!(c.forward.urls.events, "https://api.example/api/realtime/events");
        assert_eq!(AudiohookConfig::from_env(&[]).unwrap_err(), ConfigError::NoCredentials);
        for bad in ["k", "k:", ":c2VjcmV0", "k:not base64!"] {
            let err = AudiohookConfig::from_env(&[("GENESYS_AUDIOHOOK_CREDENTIALS", bad)]).unwrap_err();
            assert_eq!(err, ConfigError::BadCredentials("GENESYS_AUDIOHOOK_CREDENTIALS"), "{bad}");
        }
        let err = AudiohookConfig::from_env(&[("GENESYS_AUDIOHOOK_API_KEY", "k")]).unwrap_err();
        assert_eq!(err, ConfigError::BadCredentials("GENESYS_AUDIOHOOK_API_KEY"));
        let c = AudiohookConfig::from_env(&[
            ("GENESYS_AUDIOHOOK_API_KEY", "k"),
            ("GENESYS_AUDIOHOOK_CLIENT_SECRET", "c2VjcmV0"),
            ("GENESYS_AUDIOHOOK_MAX_HANDSHAKES", "7"),
        ])
        .unwrap();
        assert_eq!(c.limits, Limits { sessions: 2000, handshakes: 7 });
        let same = [
            ("GENESYS_AUDIOHOOK_CREDENTIALS", "k:c2VjcmV0"),
            ("GENESYS_AUDIOHOOK_TRANSCRIPTION_PATH", "audiohook/ws/"),
        ];
        assert_eq!(AudiohookConfig::from_env(&same).unwrap_err(), ConfigError::SamePaths);
    }
}
