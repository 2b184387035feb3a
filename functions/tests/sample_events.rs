//! The sample ingest events in `events/` are real requests for our API: replaying each one's method, path,
//! headers and body against the local server succeeds.

mod common;

use common::TestServer;
use serde_json::Value;

#[tokio::test]
async fn sample_events_are_accepted() {
    let server = TestServer::start().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let mut replayed = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        // Ingest samples replay over HTTP here; every sample also runs through its Lambda in lambda_handlers.rs.
        if event["version"] != "2.0" || event["headers"].get("x-cloud-token").is_none() {
            continue;
        }
        assert_eq!(event["requestContext"]["http"]["method"], "POST", "{}", path.display());
        let route = event["rawPath"].as_str().unwrap();
        assert_eq!(event["routeKey"], format!("POST {route}"));
        let token = event["headers"]["x-cloud-token"].as_str().unwrap();
        assert_eq!(token, "replace-me", "samples must not carry real tokens");
        let resp = server
            .http
            .post(server.url(route))
            .header("X-Cloud-Token", common::INGEST)
            .header("content-type", "application/json")
            .body(event["body"].as_str().unwrap().to_string())
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(status, 200, "{}: {body}", path.display());
        assert_eq!(body["ok"], true);
        replayed += 1;
    }
    assert!(replayed >= 2, "expected the ingest samples, replayed {replayed}");
    server.stop().await;
}
