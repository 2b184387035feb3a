//! The `listener` subcommands behind the thin `main.rs`: settings from the environment, flags on top.

use crate::audiohook::config::{AudiohookConfig, normalize_path};
use crate::audiohook::service;
use crate::forward::{Delivery, DryRun, HttpIngest, Ingest, IngestUrls};
use crate::genesys::{
    self,
    api::{Api, ApiSettings},
    connector::ConnectorConfig,
    topics::{Mode, TopicSettings},
};
use crate::simulate::{self as sim, Audio, Options};
use shared::env::ProcessEnv;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub async fn audiohook(
    dry_run: bool,
    host: Option<String>,
    port: Option<u16>,
    path: Option<String>,
) -> Result<(), Box<dyn std::error::Error>> {
    let stop = shared::shutdown::signal();
    let mut cfg = AudiohookConfig::from_env(&ProcessEnv)?;
    cfg.host = host.unwrap_or(cfg.host);
    cfg.port = port.unwrap_or(cfg.port);
    cfg.path = path.map_or(cfg.path, |p| normalize_path(&p));
    let ports = crate::ports::from_env(&ProcessEnv).await?;
    let ingest: Arc<dyn Ingest> = if dry_run {
        Arc::new(DryRun)
    } else {
        let f = &cfg.forward;
        Arc::new(HttpIngest::new(f.urls.clone(), f.token.clone(), f.http_timeout)?)
    };
    let socket = tokio::net::TcpListener::bind((cfg.host.as_str(), cfg.port)).await?;
    tracing::info!(addr = %socket.local_addr()?, path = %cfg.path, dry_run, "audiohook: listening");
    service::run(cfg, socket, ingest, ports, Delivery::from_dry_run(dry_run), stop).await;
    Ok(())
}

pub async fn connector(dry_run: bool, target_ingest_url: Option<String>) -> Result<(), Box<dyn std::error::Error>> {
    let stop = shared::shutdown::signal();
    let mut cfg = ConnectorConfig::from_env(&ProcessEnv)?;
    cfg.ingest_url = target_ingest_url.unwrap_or(cfg.ingest_url);
    let ports = crate::ports::from_env(&ProcessEnv).await?;
    let ingest: Arc<dyn Ingest> = if dry_run {
        Arc::new(DryRun)
    } else {
        let urls = IngestUrls { audio: String::new(), events: cfg.ingest_url.clone() };
        Arc::new(HttpIngest::new(urls, cfg.ingest_token.clone(), cfg.api.timeout)?)
    };
    tracing::info!(dry_run, "genesys connector: starting");
    genesys::connector::run(cfg, ingest, ports.heartbeats, Delivery::from_dry_run(dry_run), stop).await?;
    Ok(())
}

/// `build-topics` flags that override the topic settings from the environment.
pub struct TopicChoice {
    pub mode: Option<String>,
    pub queue_filter: Vec<String>,
    pub user_filter: Vec<String>,
    pub email_domain: Vec<String>,
    pub max_queues: Option<usize>,
    pub max_users: Option<usize>,
}

pub async fn build_topics(
    c: TopicChoice,
    as_env: bool,
    output_file: Option<PathBuf>,
) -> Result<(), Box<dyn std::error::Error>> {
    let api = Api::new(ApiSettings::from_env(&ProcessEnv)?)?;
    let mut s = TopicSettings::from_env(&ProcessEnv)?;
    if let Some(mode) = c.mode {
        s.mode = Mode::parse(&mode);
        s.mode_name = mode.to_lowercase();
    }
    let lower =
        |v: Vec<String>| v.into_iter().map(|x| x.trim().to_lowercase()).filter(|x| !x.is_empty()).collect::<Vec<_>>();
    if !c.queue_filter.is_empty() {
        s.queue_filters = lower(c.queue_filter);
    }
    if !c.user_filter.is_empty() {
        s.user_filters = lower(c.user_filter);
    }
    if !c.email_domain.is_empty() {
        s.email_domains = lower(c.email_domain).into_iter().map(|d| d.trim_start_matches('@').to_string()).collect();
    }
    s.max_queues = c.max_queues.unwrap_or(s.max_queues);
    s.max_users = c.max_users.unwrap_or(s.max_users);
    let preview = genesys::discovery::build(&api, &s).await?;
    if let Some(path) = output_file {
        std::fs::write(&path, serde_json::to_string_pretty(&preview)?)?;
    }
    if as_env {
        println!("GENESYS_SUBSCRIPTION_TOPICS={}", preview.topics.join(","));
    } else {
        let summary = serde_json::json!({"mode": preview.mode, "manual_topic_count": preview.manual_topic_count,
            "preset_topic_count": preview.preset_topic_count, "total_topics": preview.topics.len(),
            "queues": preview.queues.len(), "users": preview.users.len(), "topics": preview.topics});
        println!("{}", serde_json::to_string_pretty(&summary)?);
    }
    Ok(())
}

pub async fn simulate(opts: Options, wav: PathBuf, count: usize, stagger: Duration) -> Result<bool, sim::SimError> {
    let audio = Arc::new(Audio::from_wav(&wav)?);
    let results = sim::sessions(Arc::new(opts), audio, count, stagger).await;
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
