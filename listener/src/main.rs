//! `listener`: the Genesys Cloud container (AudioHook server and notifications connector).
//!
//! The workspace member exists so the container image, the SAM template and CI have a stable place to
//! build it; the subcommands land with the AudioHook and connector issues. Until then every subcommand
//! says so and exits non-zero, so nobody mistakes it for a working listener.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "listener", version, about = "Genesys Cloud AudioHook server and notifications connector")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Genesys AudioHook WebSocket server (not yet available).
    Audiohook,
    /// Genesys notifications connector (not yet available).
    Connector,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    eprintln!("listener {:?}: not available in this release yet", cli.command);
    ExitCode::from(2)
}
