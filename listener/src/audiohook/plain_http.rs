//! Plain HTTP on the AudioHook port, for requests that are not WebSocket upgrades: the load balancer's
//! health check, the metrics scrape, the seed's liveness answer on the AudioHook paths, and 404 elsewhere.

use super::handshake::Head;
use super::server::{Config, session_settings};
use serde_json::{Value, json};
use shared::process::metrics::{self, PROMETHEUS_CONTENT_TYPE};
use shared::settings::secret::{Secret, constant_time_eq};

/// Plain HTTP health on the AudioHook port (the load balancer's check): `{"ok": …}` for anyone, the whole
/// status document only with the supervisor token, since the port faces the internet.
pub const HEALTH_PATH: &str = "/healthz";
/// The process's metrics as Prometheus text, on the AudioHook port beside `/healthz`: only with the
/// supervisor token, since the port faces the internet.
pub const METRICS_PATH: &str = "/metrics";

/// A plain HTTP answer.
pub(super) struct Answer {
    pub status: u16,
    pub reason: &'static str,
    pub headers: &'static [(&'static str, &'static str)],
    pub content_type: &'static str,
    pub body: String,
}

impl Answer {
    fn json(status: u16, reason: &'static str, body: &Value) -> Self {
        Self { status, reason, headers: &[], content_type: "application/json", body: body.to_string() }
    }

    fn not_found() -> Self {
        Self::json(404, "Not Found", &json!({"detail": "Not found"}))
    }
}

/// Answers a plain HTTP request; `None` when the head is an upgrade to go ahead with.
pub(super) fn answer(head: &Head, cfg: &Config) -> Option<Answer> {
    if head.path() == HEALTH_PATH && !head.is_upgrade() {
        let (healthy, status) = (cfg.health)();
        let body = if bearer_matches(head, cfg.health_token.as_ref()) { status } else { json!({"ok": healthy}) };
        return Some(if healthy {
            Answer::json(200, "OK", &body)
        } else {
            Answer::json(503, "Service Unavailable", &body)
        });
    }
    if head.path() == METRICS_PATH && !head.is_upgrade() {
        return Some(metrics_answer(head, cfg));
    }
    let Some(settings) = session_settings(cfg, head.path()) else { return Some(Answer::not_found()) };
    if !head.is_upgrade() {
        // The seed's liveness answer on the AudioHook paths.
        let service = if settings.connector { "genesys_transcription_connector" } else { "genesys_audiohook_listener" };
        return Some(Answer::json(200, "OK", &json!({"ok": true, "service": service, "path": head.path()})));
    }
    None
}

/// `GET /metrics`: 401 without the supervisor token. With no token configured nobody could ever be let in,
/// so the path does not exist (404, as any unknown path), rather than inviting guesses with a 401; likewise
/// when the process installed no Prometheus exporter.
fn metrics_answer(head: &Head, cfg: &Config) -> Answer {
    let Some(token) = cfg.health_token.as_ref() else { return Answer::not_found() };
    if !bearer_matches(head, Some(token)) {
        let mut a = Answer::json(401, "Unauthorized", &json!({"detail": "Missing or invalid supervisor token"}));
        a.headers = &[("WWW-Authenticate", "Bearer")];
        return a;
    }
    match metrics::installed().and_then(|m| m.render()) {
        Some(body) => Answer { status: 200, reason: "OK", headers: &[], content_type: PROMETHEUS_CONTENT_TYPE, body },
        None => Answer::not_found(),
    }
}

/// Whether the request carries `Authorization: Bearer <token>` with `token` (compared in constant time).
fn bearer_matches(head: &Head, token: Option<&Secret>) -> bool {
    let sent = head.header("authorization").and_then(|v| v.trim().split_once(' '));
    match (sent, token) {
        (Some((scheme, sent)), Some(token)) if scheme.eq_ignore_ascii_case("bearer") => {
            constant_time_eq(sent.trim(), token.expose())
        }
        _ => false,
    }
}
