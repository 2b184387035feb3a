//! Settings of the Django system we replace that nothing here reads any more, each with what took its place.
//! A process started with one set (in the environment or `.env`) says so in its log, once, so a migrated
//! `.env` never changes behaviour silently; `docs/migration.md` lists every setting of that system.

use super::env::{EnvSource, string};

/// `(setting, what now)`, in the order of the old system's settings list.
pub const RETIRED: &[(&str, &str)] = &[
    ("APP_NAME", "gone (the old system did not use it either)"),
    ("UPLOADS_DIR", "everything lives under DATA_DIR (blobs/uploads), or S3 on AWS"),
    ("OUTPUTS_DIR", "everything lives under DATA_DIR (blobs/outputs), or S3 on AWS"),
    ("DB_PATH", "the SQLite file is DATA_DIR/call_analytics.db, or DynamoDB on AWS"),
    ("DATABASE_URL", "the SQLite file is DATA_DIR/call_analytics.db, or DynamoDB on AWS"),
    ("SARVAM_LLM_MODEL", "gone with the Sarvam chat analysis: LLM_PROVIDER, LLM_MODEL for the optional enrichment"),
    ("DIARIZATION", "SARVAM_DIARIZATION (the old one was never used)"),
    ("NUM_SPEAKERS", "SARVAM_NUM_SPEAKERS (the old one was never used)"),
    ("CHUNK_MINUTES", "STT_CHUNK_SECONDS"),
    ("NOISE_FRAME_SIZE", "gone: RNNoise has its own frame size"),
    ("NOISE_SAMPLE_RATE", "gone: RNNoise has its own rate"),
    ("ENABLE_ROLE_HEURISTICS", "gone: the embedded analysis always works out roles"),
    ("GLOSSARY_PATH", "the glossary is stored as config/glossary.csv, replaced through POST /api/glossary"),
    ("ROLE_CONFIDENCE_THRESHOLD", "gone with the Sarvam chat analysis"),
    ("SENTIMENT_CONFIDENCE_THRESHOLD", "gone with the Sarvam chat analysis"),
    ("ENABLE_FALLBACK_PROMPT", "gone with the Sarvam chat analysis"),
    ("REALTIME_AUDIO_DIR", "live audio lives under DATA_DIR (blobs/live), or S3 on AWS"),
    ("GENESYS_AUDIOHOOK_VERIFY_SSL", "gone: certificates are always verified"),
    ("GENESYS_AUDIOHOOK_RETRY_MAX_ATTEMPTS", "gone: forwarding retries until delivered, spooled meanwhile"),
    ("GENESYS_AUDIOHOOK_STATUS_PATH", "heartbeats are kept in the store (GENESYS_AUDIOHOOK_HEARTBEAT_SECONDS)"),
    ("GENESYS_VERIFY_SSL", "gone: certificates are always verified"),
    ("GENESYS_CONNECTOR_STATUS_PATH", "heartbeats are kept in the store (GENESYS_CONNECTOR_HEARTBEAT_SECONDS)"),
];

/// The retired settings `env` sets (non-blank), with what took their place.
pub fn in_use(env: &dyn EnvSource) -> Vec<(&'static str, &'static str)> {
    RETIRED.iter().copied().filter(|(name, _)| string(env, name).is_some()).collect()
}

/// Logs one warning per retired setting `env` sets (names only: a value may be a secret).
pub fn warn_in_use(env: &dyn EnvSource) {
    for (setting, now) in in_use(env) {
        tracing::warn!(setting, now, "a setting of the Django system is set but no longer read");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_what_is_set_and_what_replaced_it() {
        let env = [("CHUNK_MINUTES", "30"), ("GENESYS_VERIFY_SSL", " "), ("DATA_DIR", "x")];
        assert_eq!(in_use(&env), [("CHUNK_MINUTES", "STT_CHUNK_SECONDS")]);
    }
}
