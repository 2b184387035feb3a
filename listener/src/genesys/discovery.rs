//! The preset topic builder's REST side: pages through queues and active users with the Genesys API and
//! keeps what `topics` selects, up to the configured counts.

use super::api::{Api, ApiError};
use super::topics::{Found, PAGE_SIZE, TopicSettings, last_page, queue_of, queue_topic, union, user_of, user_topic};
use reqwest::Method;
use serde_json::{Value, json};
use shared::values::timestamps::{Timestamp, iso};

/// What the builder found, for `build-topics` and the connector (names and e-mails stay out of heartbeats).
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    pub mode: String,
    pub generated_at: Timestamp,
    pub manual_topic_count: usize,
    pub preset_topic_count: usize,
    /// The final list: manual and preset topics, sorted, without duplicates.
    pub topics: Vec<String>,
    pub queues: Vec<Found>,
    pub users: Vec<Found>,
}

/// The topics of the discovered queues and users, queues first.
fn preset_topics(queues: &[Found], users: &[Found]) -> Vec<String> {
    queues.iter().map(|q| queue_topic(&q.id)).chain(users.iter().map(|u| user_topic(&u.id))).collect()
}

impl Preview {
    /// The seed's `builder` document: the preset builder's own result, with queue and user names and the
    /// users' e-mails (empty when Genesys has none), its topics sorted.
    pub fn builder(&self) -> Value {
        let mut topics = preset_topics(&self.queues, &self.users);
        topics.sort();
        let queues: Vec<Value> = self.queues.iter().map(|q| json!({"id": q.id, "name": q.name})).collect();
        let users: Vec<Value> = self
            .users
            .iter()
            .map(|u| json!({"id": u.id, "name": u.name, "email": u.email.as_deref().unwrap_or_default()}))
            .collect();
        json!({"mode": self.mode, "generated_at": iso(&self.generated_at), "topics": topics,
               "queues": queues, "users": users})
    }

    /// What `build-topics` prints (the seed's shape): counts, the builder's result and the final list.
    pub fn summary(&self) -> Value {
        json!({"mode": self.mode, "manual_topic_count": self.manual_topic_count,
               "preset_topic_count": self.preset_topic_count, "total_topics": self.topics.len(),
               "builder": self.builder(), "topics": self.topics})
    }

    /// What `build-topics --output-file` writes (the seed's shape): the final list, counts and the builder.
    pub fn file(&self) -> Value {
        json!({"topics": self.topics, "manual_topic_count": self.manual_topic_count,
               "preset_topic_count": self.preset_topic_count, "builder": self.builder()})
    }
}

/// Pages `path` (ending in `?` or `&`) until `max` entities pass `select` or the pages end.
async fn collect(
    api: &Api,
    path: &str,
    max: usize,
    select: impl Fn(&Value) -> Option<Found>,
) -> Result<Vec<Found>, ApiError> {
    let mut found = Vec::new();
    let mut page = 1;
    while found.len() < max {
        let body = api.call(Method::GET, &format!("{path}pageSize={PAGE_SIZE}&pageNumber={page}"), None).await?.body;
        let entities = body.get("entities").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        found.extend(entities.iter().filter_map(&select).take(max - found.len()));
        if last_page(page, &body) {
            break;
        }
        page += 1;
    }
    Ok(found)
}

/// Manual topics plus, per the mode, the discovered queues' and users' topics.
pub async fn build(api: &Api, s: &TopicSettings) -> Result<Preview, ApiError> {
    let manual = s.manual_topics();
    let queues = if s.mode.queues && s.max_queues > 0 {
        collect(api, "/api/v2/routing/queues?", s.max_queues, |e| queue_of(e, s)).await?
    } else {
        Vec::new()
    };
    let users = if s.mode.users && s.max_users > 0 {
        collect(api, "/api/v2/users?state=active&", s.max_users, |e| user_of(e, s)).await?
    } else {
        Vec::new()
    };
    let preset = preset_topics(&queues, &users);
    Ok(Preview {
        mode: s.mode_name.clone(),
        generated_at: chrono::Utc::now(),
        manual_topic_count: manual.len(),
        preset_topic_count: preset.len(),
        topics: union(manual, preset),
        queues,
        users,
    })
}
