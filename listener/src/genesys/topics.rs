//! Which notification topics to subscribe to: manual topics and ids, and the preset
//! builder's selection of queues and users from the REST pages, as pure functions; plus sharding so no
//! channel carries more than `MAX_TOPICS_PER_CHANNEL` (Genesys refuses more than 1,000 per socket).

use serde::Serialize;
use serde_json::Value;
use shared::settings::env::{self, EnvError, EnvSource};
use std::collections::BTreeSet;

/// Topics per channel, with headroom under Genesys' 1,000.
pub const MAX_TOPICS_PER_CHANNEL: usize = 900;
/// The seed stops paging after this many pages.
pub const MAX_PAGES: u32 = 50;
pub const PAGE_SIZE: u32 = 100;

/// What the preset builder discovers (`GENESYS_TOPIC_BUILDER_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Mode {
    pub queues: bool,
    pub users: bool,
}

impl Mode {
    /// The seed's reading: `manual`/`off`/`none`/empty → nothing; queue and user words select one side;
    /// anything else means both.
    pub fn parse(text: &str) -> Self {
        match text.trim().to_ascii_lowercase().as_str() {
            "manual" | "off" | "none" | "" => Self { queues: false, users: false },
            "queues" | "queue" => Self { queues: true, users: false },
            "users" | "user" => Self { queues: false, users: true },
            _ => Self { queues: true, users: true },
        }
    }
}

/// Topic settings (seed names and defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct TopicSettings {
    /// `GENESYS_SUBSCRIPTION_TOPICS`.
    pub manual: Vec<String>,
    /// `GENESYS_QUEUE_IDS`, `GENESYS_USER_IDS`.
    pub queue_ids: Vec<String>,
    pub user_ids: Vec<String>,
    /// `GENESYS_TOPIC_BUILDER_MODE` (queues_users).
    pub mode_name: String,
    pub mode: Mode,
    /// `GENESYS_TOPIC_BUILDER_QUEUE_NAME_FILTERS`, `_USER_NAME_FILTERS`, `_USER_EMAIL_DOMAIN_FILTERS`.
    pub queue_filters: Vec<String>,
    pub user_filters: Vec<String>,
    pub email_domains: Vec<String>,
    /// `GENESYS_TOPIC_BUILDER_MAX_QUEUES` (25), `_MAX_USERS` (50); 0 disables that discovery.
    pub max_queues: usize,
    pub max_users: usize,
    /// `GENESYS_TOPIC_BUILDER_REFRESH_SECONDS` (900, at least 60).
    pub refresh_seconds: u64,
}

fn list(e: &dyn EnvSource, name: &str) -> Vec<String> {
    env::string(e, name)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl TopicSettings {
    pub fn from_env(e: &dyn EnvSource) -> Result<Self, EnvError> {
        let mode_name =
            env::string(e, "GENESYS_TOPIC_BUILDER_MODE").unwrap_or_else(|| "queues_users".into()).to_lowercase();
        let lower = |name| list(e, name).into_iter().map(|s| s.to_lowercase()).collect::<Vec<_>>();
        Ok(Self {
            manual: list(e, "GENESYS_SUBSCRIPTION_TOPICS"),
            queue_ids: list(e, "GENESYS_QUEUE_IDS"),
            user_ids: list(e, "GENESYS_USER_IDS"),
            mode: Mode::parse(&mode_name),
            mode_name,
            queue_filters: lower("GENESYS_TOPIC_BUILDER_QUEUE_NAME_FILTERS"),
            user_filters: lower("GENESYS_TOPIC_BUILDER_USER_NAME_FILTERS"),
            email_domains: lower("GENESYS_TOPIC_BUILDER_USER_EMAIL_DOMAIN_FILTERS")
                .into_iter()
                .map(|d| d.trim_start_matches('@').to_string())
                .collect(),
            max_queues: env::parsed(e, "GENESYS_TOPIC_BUILDER_MAX_QUEUES", 25, "whole number")?,
            max_users: env::parsed(e, "GENESYS_TOPIC_BUILDER_MAX_USERS", 50, "whole number")?,
            refresh_seconds: env::parsed(e, "GENESYS_TOPIC_BUILDER_REFRESH_SECONDS", 900, "whole number")?.max(60),
        })
    }

    /// Manual topics plus the topics of the configured queue and user ids.
    pub fn manual_topics(&self) -> Vec<String> {
        let mut topics = self.manual.clone();
        topics.extend(self.queue_ids.iter().map(|id| queue_topic(id)));
        topics.extend(self.user_ids.iter().map(|id| user_topic(id)));
        topics
    }
}

pub fn queue_topic(id: &str) -> String {
    format!("v2.routing.queues.{id}.conversations.calls")
}

pub fn user_topic(id: &str) -> String {
    format!("v2.users.{id}.conversations.calls")
}

/// A discovered queue or user (names and e-mails stay out of heartbeats; they are for the preview).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
}

fn field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

fn name_passes(name: &str, filters: &[String]) -> bool {
    filters.is_empty() || filters.iter().any(|f| name.to_lowercase().contains(f.as_str()))
}

/// The queue an entity of `GET /api/v2/routing/queues` describes, if it has an id and a name that passes.
pub fn queue_of(entity: &Value, s: &TopicSettings) -> Option<Found> {
    let (id, name) = (field(entity, "id")?, field(entity, "name")?);
    name_passes(name, &s.queue_filters).then(|| Found { id: id.into(), name: name.into(), email: None })
}

/// The user an entity of `GET /api/v2/users` describes, if it passes the name and e-mail-domain filters.
pub fn user_of(entity: &Value, s: &TopicSettings) -> Option<Found> {
    let id = field(entity, "id")?;
    let name = field(entity, "name").unwrap_or_default();
    let email = field(entity, "email").map(str::to_lowercase);
    let domain_ok = s.email_domains.is_empty()
        || email.as_deref().is_some_and(|e| s.email_domains.iter().any(|d| e.ends_with(&format!("@{d}"))));
    (name_passes(name, &s.user_filters) && domain_ok).then(|| Found { id: id.into(), name: name.into(), email })
}

/// Whether paging stops after `page` (the seed's rules: the last page, a short or empty page, page 50).
pub fn last_page(page: u32, body: &Value) -> bool {
    let items = body.get("entities").and_then(Value::as_array).map_or(0, Vec::len);
    let count = body.get("pageCount").and_then(Value::as_u64).unwrap_or(0);
    items == 0 || items < PAGE_SIZE as usize || u64::from(page) >= count || page >= MAX_PAGES
}

/// The final list: the sorted union, without duplicates.
pub fn union(manual: Vec<String>, preset: Vec<String>) -> Vec<String> {
    manual.into_iter().chain(preset).collect::<BTreeSet<_>>().into_iter().collect()
}

/// Topics split into channels of at most `MAX_TOPICS_PER_CHANNEL`.
pub fn shard(topics: &[String]) -> Vec<Vec<String>> {
    topics.chunks(MAX_TOPICS_PER_CHANNEL).map(<[String]>::to_vec).collect()
}

#[cfg(test)]
#[path = "topics_tests.rs"]
mod tests;
