//! `listener`: the Genesys Cloud container. `audiohook` serves Genesys AudioHook; `connector` forwards Genesys
//! notifications; `all` runs both in one process; `simulate` plays a WAV file into an AudioHook endpoint as
//! Genesys would; `build-topics` shows what the connector would subscribe to.

use clap::{Parser, Subcommand};
use listener::commands::{self, Listen, Target};
use listener::simulate::{self, Options};
use shared::process::logging::{self, LogConfig};
use shared::settings::env::ProcessEnv;
use std::path::PathBuf;
use std::process::ExitCode;
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
        #[command(flatten)]
        listen: Listen,
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
        /// Put the call on hold: AT:SECONDS, e.g. 15:60 pauses the stream for 60 s after 15 s of audio
        /// (repeatable, in order).
        #[arg(long = "hold")]
        holds: Vec<simulate::Hold>,
    },
    /// Genesys notifications connector (settings from GENESYS_*; flags override them).
    Connector {
        /// Connect and map, but forward nothing (logged instead).
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        log_level: Option<String>,
    },
    /// AudioHook and the connector in one process, stopped together (settings as for each). If either fails,
    /// the other is stopped gracefully and the exit code is 1.
    All {
        /// Both services accept, map and answer, but forward and record nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        listen: Listen,
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        log_level: Option<String>,
    },
    /// Print the topics the connector would subscribe to (manual plus discovered queues and users).
    BuildTopics {
        /// queues, users, queues_users (default from GENESYS_TOPIC_BUILDER_MODE) or manual.
        #[arg(long)]
        mode: Option<String>,
        /// Keep queues whose name contains this (repeatable).
        #[arg(long)]
        queue_filter: Vec<String>,
        /// Keep users whose name contains this (repeatable).
        #[arg(long)]
        user_filter: Vec<String>,
        /// Keep users whose e-mail is in this domain (repeatable).
        #[arg(long)]
        email_domain: Vec<String>,
        #[arg(long)]
        max_queues: Option<usize>,
        #[arg(long)]
        max_users: Option<usize>,
        /// Print `GENESYS_SUBSCRIPTION_TOPICS=...` instead of JSON.
        #[arg(long)]
        as_env: bool,
        /// Also write the full preview (with queue and user names) to this file.
        #[arg(long)]
        output_file: Option<PathBuf>,
    },
}

/// Success, or the error on stderr after the subcommand's name and exit code 1.
fn exit(command: &str, result: Result<(), impl std::fmt::Display>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("listener {command}: {e}");
            ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    // Before anything is written: recordings, the spool and the heartbeat store under DATA_DIR, and logs.
    shared::process::private_files::keep_new_files_private();
    let cli = Cli::parse();
    let mut log = LogConfig::from_env(&ProcessEnv);
    if let Command::Audiohook { log_level: Some(level), .. }
    | Command::Connector { log_level: Some(level), .. }
    | Command::All { log_level: Some(level), .. } = &cli.command
    {
        log.level = level.clone();
    }
    let _guard = match logging::init(&log) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("listener: cannot open LOG_DIR: {e}");
            return ExitCode::FAILURE;
        }
    };
    shared::settings::retired::warn_in_use(&ProcessEnv);
    match cli.command {
        Command::Audiohook { dry_run, listen, .. } => exit("audiohook", commands::audiohook(dry_run, listen).await),
        Command::Simulate {
            uri,
            api_key,
            client_secret,
            wav,
            sessions,
            organization_id,
            speed,
            stagger_ms,
            probe,
            holds,
        } => {
            let opts = Options { uri, api_key, client_secret, organization_id, speed, frame_ms: 100, probe, holds };
            match commands::simulate(opts, wav, sessions, Duration::from_millis(stagger_ms)).await {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::FAILURE,
                Err(e) => {
                    eprintln!("listener simulate: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Connector { dry_run, target, .. } => exit("connector", commands::connector(dry_run, target).await),
        Command::All { dry_run, listen, target, .. } => exit("all", commands::all(dry_run, listen, target).await),
        Command::BuildTopics {
            mode,
            queue_filter,
            user_filter,
            email_domain,
            max_queues,
            max_users,
            as_env,
            output_file,
        } => {
            let choice = commands::TopicChoice { mode, queue_filter, user_filter, email_domain, max_queues, max_users };
            exit("build-topics", commands::build_topics(choice, as_env, output_file).await)
        }
    }
}
