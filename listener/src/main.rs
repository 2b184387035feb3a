//! `listener`: the Genesys Cloud container. `audiohook` serves Genesys AudioHook; `simulate` plays a WAV
//! file into an AudioHook endpoint as Genesys would; `connector` lands with the notifications issue.

use clap::{Parser, Subcommand};
use listener::audiohook::config::{AudiohookConfig, normalize_path};
use listener::audiohook::service;
use listener::forward::{DryRun, HttpIngest, Ingest};
use listener::simulate::{self, Audio, Options};
use shared::env::ProcessEnv;
use shared::logging::{self, LogConfig};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "listener", version, about = "Genesys Cloud AudioHook server and notifications connector")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve Genesys AudioHook (settings from GENESYS_AUDIOHOOK_*; flags override them).
    Audiohook {
        /// Accept and answer sessions but forward and record nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        host: Option<String>,
        #[arg(long)]
        port: Option<u16>,
        #[arg(long)]
        path: Option<String>,
        /// Overrides LOG_LEVEL (trace, debug, info, warn, error).
        #[arg(long)]
        log_level: Option<String>,
    },
    /// Stream a WAV file into an AudioHook endpoint as Genesys would, and check the answers.
    Simulate {
        /// e.g. ws://127.0.0.1:9011/audiohook/ws or wss://listener.example.com/audiohook/ws
        #[arg(long)]
        uri: String,
        #[arg(long, env = "GENESYS_AUDIOHOOK_API_KEY")]
        api_key: String,
        /// Base64 client secret (empty: unsigned).
        #[arg(long, env = "GENESYS_AUDIOHOOK_CLIENT_SECRET", hide_env_values = true)]
        client_secret: String,
        /// 8 kHz 16-bit PCM WAV, mono or stereo (channel 1 customer, channel 2 agent).
        #[arg(long)]
        wav: PathBuf,
        #[arg(long, default_value_t = 1)]
        sessions: usize,
        #[arg(long, default_value = simulate::EXAMPLE_ORGANIZATION_ID)]
        organization_id: String,
        /// Pace: 1 = real time, 0 = as fast as possible.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Milliseconds between session starts.
        #[arg(long, default_value_t = 10)]
        stagger_ms: u64,
        /// Send Genesys' connection probe instead of a call.
        #[arg(long)]
        probe: bool,
    },
    /// Genesys notifications connector (not yet available).
    Connector,
}

async fn audiohook(
    dry_run: bool,
    host: Option<String>,
    port: Option<u16>,
    path: Option<String>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut cfg = AudiohookConfig::from_env(&ProcessEnv)?;
    cfg.host = host.unwrap_or(cfg.host);
    cfg.port = port.unwrap_or(cfg.port);
    cfg.path = path.map_or(cfg.path, |p| normalize_path(&p));
    let ports = listener::ports::from_env(&ProcessEnv).await?;
    let ingest: Arc<dyn Ingest> = if dry_run {
        Arc::new(DryRun)
    } else {
        let f = &cfg.forward;
        Arc::new(HttpIngest::new(f.urls.clone(), f.token.clone(), f.http_timeout)?)
    };
    let socket = tokio::net::TcpListener::bind((cfg.host.as_str(), cfg.port)).await?;
    tracing::info!(addr = %socket.local_addr()?, path = %cfg.path, dry_run, "audiohook: listening");
    service::run(cfg, socket, ingest, ports, dry_run, shared::shutdown::signal()).await;
    Ok(())
}

async fn simulate_cmd(
    opts: Options,
    wav: PathBuf,
    count: usize,
    stagger: Duration,
) -> Result<bool, simulate::SimError> {
    let audio = Arc::new(Audio::from_wav(&wav)?);
    let results = simulate::sessions(Arc::new(opts), audio, count, stagger).await;
    let mut ok = true;
    for r in &results {
        let opened = r.opened_after.map_or("-".into(), |d| format!("{:.1} ms", d.as_secs_f64() * 1000.0));
        match &r.outcome {
            Ok(()) => println!(
                "ok     session {} conversation {} opened {opened} frames {}",
                r.session_id, r.conversation_id, r.frames_sent
            ),
            Err(e) => {
                ok = false;
                println!(
                    "FAILED session {} conversation {} opened {opened} frames {}: {e}",
                    r.session_id, r.conversation_id, r.frames_sent
                );
            }
        }
    }
    let passed = results.iter().filter(|r| r.outcome.is_ok()).count();
    println!("{passed}/{} sessions succeeded", results.len());
    Ok(ok)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut log = LogConfig::from_env(&ProcessEnv);
    if let Command::Audiohook { log_level: Some(level), .. } = &cli.command {
        log.level = level.clone();
    }
    let _guard = match logging::init(&log) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("listener: cannot open LOG_DIR: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::Audiohook { dry_run, host, port, path, .. } => match audiohook(dry_run, host, port, path).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("listener audiohook: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Simulate { uri, api_key, client_secret, wav, sessions, organization_id, speed, stagger_ms, probe } => {
            let opts = Options { uri, api_key, client_secret, organization_id, speed, frame_ms: 100, probe };
            match simulate_cmd(opts, wav, sessions, Duration::from_millis(stagger_ms)).await {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::FAILURE,
                Err(e) => {
                    eprintln!("listener simulate: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Connector => {
            eprintln!("listener connector: not available in this release yet (the notifications connector issue)");
            ExitCode::from(2)
        }
    }
}
