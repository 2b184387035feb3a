//! The AudioHook listener inside the one local process: the same service as the `listener` container,
//! fed straight into this process's realtime service. It listens on loopback unless
//! `GENESYS_AUDIOHOOK_HOST` says otherwise, and without configured credentials it generates an API key
//! and client secret once and keeps them in `DATA_DIR/audiohook.json` (mode 0600).

use crate::local_secrets::{SecretSource, stored};
use crate::server::ServeError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use listener::audiohook::config::AudiohookConfig;
use serde::{Deserialize, Serialize};
use shared::settings::env::{self, EnvSource, WithDefaults};
use shared::settings::secret::Secret;
use shared::speech::SttConfig;
use std::collections::HashMap;
use std::path::Path;

/// `GENESYS_AUDIOHOOK_STREAM_MEMORY_BYTES` default in the one local process: 64 KiB, about 2 s of a stereo
/// session's audio (32 KB/s of PCM and 512 bytes counted per chunk), against the listener container's 1 MiB.
/// In-process the ingest is this very process, so a backlog only grows while the process is out of CPU or
/// its store is stalled: then every session's backlog grew together to 1 MiB (measured 0.8-1.0 MiB resident
/// per session with the store locked for 12 s, 660-748 MiB at 1,000 sessions on 2 cores). Past the bound a
/// session's backlog goes to the spool on disk (`GENESYS_AUDIOHOOK_SPOOL_MAX_BYTES`), delivered in order.
pub const STREAM_MEMORY_BYTES: usize = 64 * 1024;

/// Generated AudioHook credentials, printed by the start that generates them so they can be put in the
/// Genesys integration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratedKeys {
    pub api_key: String,
    /// Base64, as Genesys takes it.
    pub client_secret: String,
}

/// The settings, and where the keys came from; `None` with `GENESYS_AUDIOHOOK_ENABLED=false`.
/// Live transcription defaults to `stt`, the process's batch provider, so the offline default (whisper
/// when a model is installed) transcribes live calls too. `supervisor_token` is the process's own (set or
/// generated): it also unlocks the whole status document on the AudioHook port's `/healthz`.
pub fn config(
    e: &dyn EnvSource,
    data_dir: &Path,
    stt: &SttConfig,
    supervisor_token: Option<&str>,
) -> Result<Option<(AudiohookConfig, SecretSource<GeneratedKeys>)>, ServeError> {
    let enabled: bool = env::parsed(e, "GENESYS_AUDIOHOOK_ENABLED", true, "true or false")?;
    if !enabled {
        return Ok(None);
    }
    let mut defaults = HashMap::from([
        ("GENESYS_AUDIOHOOK_HOST".to_string(), "127.0.0.1".to_string()),
        ("DATA_DIR".to_string(), data_dir.display().to_string()),
        ("STT_PROVIDER".to_string(), stt.provider().to_string()),
        ("GENESYS_AUDIOHOOK_STREAM_MEMORY_BYTES".to_string(), STREAM_MEMORY_BYTES.to_string()),
    ]);
    let configured = ["GENESYS_AUDIOHOOK_API_KEY", "GENESYS_AUDIOHOOK_CLIENT_SECRET", "GENESYS_AUDIOHOOK_CREDENTIALS"]
        .iter()
        .any(|n| env::string(e, n).is_some());
    let source = if configured {
        SecretSource::Environment
    } else {
        let kept = stored(data_dir, "audiohook.json", |token| {
            Ok(GeneratedKeys { api_key: token()?, client_secret: STANDARD.encode(token()?) })
        })?;
        defaults.insert("GENESYS_AUDIOHOOK_API_KEY".into(), kept.secrets.api_key.clone());
        defaults.insert("GENESYS_AUDIOHOOK_CLIENT_SECRET".into(), kept.secrets.client_secret.clone());
        kept.source(GeneratedKeys::clone)
    };
    let mut cfg = AudiohookConfig::from_env(&WithDefaults { base: e, defaults })?;
    cfg.supervisor_token = supervisor_token.map(Secret::from);
    Ok(Some((cfg, source)))
}
