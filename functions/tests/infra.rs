//! What no build here checks in `infra/` (there is no Docker engine or systemd in the test environment):
//! the images' final stages and the systemd unit, read as text.

use std::path::Path;

fn infra(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The instructions of a Dockerfile's last stage (from its last `FROM`), continuation lines joined.
fn final_stage(dockerfile: &str) -> String {
    let joined = dockerfile.replace("\\\n", " ");
    let instructions: Vec<&str> = joined.lines().filter(|l| !l.trim_start().starts_with('#')).collect();
    let last_from = instructions.iter().rposition(|l| l.starts_with("FROM ")).expect("a FROM");
    instructions[last_from..].join("\n")
}

/// Packages an `apt-get install` in the stage installs.
fn installed(stage: &str) -> Vec<&str> {
    stage
        .lines()
        .flat_map(|line| line.split("&&"))
        .filter_map(|cmd| cmd.split_once("apt-get install"))
        .flat_map(|(_, args)| args.split_whitespace().filter(|a| !a.starts_with('-')))
        .collect()
}

/// Every HTTPS call the processes make (speech to text, LLM, Genesys, AWS) checks the server against the
/// system's CA certificates; a slim image without them fails every one.
#[test]
fn every_runtime_image_installs_ca_certificates() {
    for name in ["Dockerfile", "listener.Dockerfile"] {
        let stage = final_stage(&infra(name));
        assert!(installed(&stage).contains(&"ca-certificates"), "infra/{name} final stage:\n{stage}");
    }
}

/// The settings in the systemd unit's `[Service]` section, as `Key=value` lines.
fn service_settings(unit: &str) -> Vec<&str> {
    let section = unit.split("\n[").find(|s| s.starts_with("Service]")).expect("a [Service] section");
    section.lines().skip(1).map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect()
}

/// Call data, generated secrets and logs are the service user's alone, whatever the process does itself:
/// systemd creates the state and logs folders 0700 and starts the process with umask 077.
#[test]
fn the_systemd_unit_keeps_data_and_logs_private() {
    let unit = infra("call-analytics.service");
    let settings = service_settings(&unit);
    for wanted in ["UMask=0077", "StateDirectoryMode=0700", "LogsDirectoryMode=0700"] {
        assert!(settings.contains(&wanted), "{wanted} missing from [Service]: {settings:#?}");
    }
}
