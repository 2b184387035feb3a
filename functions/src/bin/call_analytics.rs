//! `call-analytics`: the whole platform as one local process.

use clap::{Parser, Subcommand};
use functions::local_audiohook;
use functions::server::{CredentialSource, LocalServer, ServeConfig};
use listener::genesys::connector::ConnectorConfig;
use shared::env::ProcessEnv;
use shared::logging::{self, LogConfig};
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
}

async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let stop = shared::shutdown::signal();
    let cfg = ServeConfig::from_env(&ProcessEnv)?;
    let mut server = LocalServer::build(&cfg)?;
    let audiohook = local_audiohook::config(&ProcessEnv, &cfg.data_dir)?;
    let listener = tokio::net::TcpListener::bind(cfg.http_addr).await?;
    let addr = listener.local_addr()?;
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
    if let Some((ah, generated)) = audiohook {
        let socket = tokio::net::TcpListener::bind((ah.host.as_str(), ah.port)).await?;
        println!("  AudioHook: ws://{}{}", socket.local_addr()?, ah.path);
        if let Some(keys) = generated {
            println!("    api key:       {}", keys.api_key);
            println!("    client secret: {}", keys.client_secret);
            println!(
                "    (kept in {}; set GENESYS_AUDIOHOOK_API_KEY / _CLIENT_SECRET to choose your own)",
                cfg.data_dir.join("audiohook.json").display()
            );
        }
        server = server.with_audiohook(ah, socket);
    }
    if shared::env::string(&ProcessEnv, "GENESYS_CLIENT_ID").is_some() {
        let cfg = ConnectorConfig::from_env(&ProcessEnv)?;
        println!("  Genesys connector: {} ({} topic mode)", cfg.api.api_base, cfg.topics.mode_name);
        server = server.with_connector(cfg);
    }
    tracing::info!(%addr, "serving");
    server.serve(listener, stop).await?;
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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("call-analytics: {e}");
            ExitCode::FAILURE
        }
    }
}
