//! The Genesys connector inside the one local process, against the fake Genesys service of the listener's
//! tests (`FakeGenesys`, on loopback): a call notification lands in the same store and the connector's
//! heartbeat makes its health endpoint healthy.

mod common;
#[path = "../../listener/tests/support/mod.rs"]
mod support;

use common::TestServer;
use support::genesys::Script;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_reach_the_local_store() {
    let (_g, base) = support::genesys::start(&[Script::NotifyAndHold("6a0d6f9e-3c1b-4f7a-9e2d-5c4b3a291807")]).await;
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool").display().to_string();
    let mut settings: Vec<(String, String)> = support::genesys::env(&base).into_iter().collect();
    settings.extend([
        ("GENESYS_SUBSCRIPTION_TOPICS".to_string(), "v2.routing.queues.q1.conversations.calls".to_string()),
        ("GENESYS_TOPIC_BUILDER_MODE".into(), "manual".into()),
        ("GENESYS_CONNECTOR_SPOOL_DIR".into(), spool),
        ("GENESYS_CONNECTOR_HEARTBEAT_SECONDS".into(), "1".into()),
    ]);
    let extra: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let s = TestServer::start_with(&extra).await;
    let call = "6a0d6f9e-3c1b-4f7a-9e2d-5c4b3a291807";
    let snapshot = s.get_until(&format!("/api/realtime/calls/{call}/snapshot"), |v| v["event_count"] == 1).await;
    assert_eq!(
        (snapshot["event_count"].as_u64(), snapshot["provider"].as_str()),
        (Some(1), Some("genesys_cloud")),
        "{snapshot}"
    );
    let health = s.get_until("/api/integrations/genesys/health", |h| h["status"]["forwarded_events"] == 1).await;
    assert_eq!((health["healthy"].as_bool(), health["state"].as_str()), (Some(true), Some("running")), "{health}");
    s.stop().await;
}
