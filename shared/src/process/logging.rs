//! Logging with `tracing`: pretty or JSON lines on stdout (`LOG_FORMAT`), level from `RUST_LOG` or
//! `LOG_LEVEL`, and optionally JSON lines in daily-rotated files under `LOG_DIR`.

use crate::settings::env::{self, EnvSource};
use std::path::PathBuf;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry, fmt};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// `LOG_FORMAT`: `pretty` (default) or `json`.
    pub json: bool,
    /// `LOG_LEVEL` (info), overridden by `RUST_LOG` when set.
    pub level: String,
    /// `LOG_DIR`: also write JSON logs to `call-analytics.log.YYYY-MM-DD` files here.
    pub dir: Option<PathBuf>,
}

impl LogConfig {
    pub fn from_env(e: &dyn EnvSource) -> Self {
        Self {
            json: env::string(e, "LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json")),
            level: env::string(e, "LOG_LEVEL").unwrap_or_else(|| "info".into()),
            dir: env::string(e, "LOG_DIR").map(PathBuf::from),
        }
    }
}

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// `LOG_LEVEL` as filter directives. whisper.cpp reports its buffer sizes at info on every transcription
/// (eight lines per live utterance), so its logs start at warn unless `LOG_LEVEL` names `whisper_rs`.
fn directives(level: &str) -> String {
    if level.contains("whisper_rs") { level.to_string() } else { format!("{level},whisper_rs=warn") }
}

/// Installs the global subscriber. Keep the returned guard alive: it flushes the file writer on drop.
pub fn init(cfg: &LogConfig) -> Result<Option<WorkerGuard>, std::io::Error> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(directives(&cfg.level)));
    let stdout: BoxedLayer = if cfg.json { fmt::layer().json().boxed() } else { fmt::layer().boxed() };
    let mut layers = vec![stdout];
    let mut guard = None;
    if let Some(dir) = &cfg.dir {
        std::fs::create_dir_all(dir)?;
        let (writer, g) = tracing_appender::non_blocking(tracing_appender::rolling::daily(dir, "call-analytics.log"));
        layers.push(fmt::layer().json().with_ansi(false).with_writer(writer).boxed());
        guard = Some(g);
    }
    // A second init (tests) keeps the first subscriber; that is fine.
    let _ = tracing_subscriber::registry().with(layers).with(filter).try_init();
    Ok(guard)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whisper_cpp_logs_start_at_warn_unless_asked_for() {
        assert_eq!(directives("info"), "info,whisper_rs=warn");
        assert_eq!(directives("functions=debug,info"), "functions=debug,info,whisper_rs=warn");
        assert_eq!(directives("debug,whisper_rs=info"), "debug,whisper_rs=info");
        assert!(EnvFilter::try_new(directives("debug")).is_ok());
    }
}
