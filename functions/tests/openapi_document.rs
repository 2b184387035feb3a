//! The published OpenAPI document matches the routes the server really has, and its security claims hold.

mod common;

use common::TestServer;
use serde_json::Value;
use std::collections::BTreeSet;

/// Every route the app serves (method and path). Adding a route means documenting it.
const ROUTES: [(&str, &str); 27] = [
    ("post", "/api/realtime/events"),
    ("post", "/api/realtime/audio/chunk"),
    ("get", "/api/realtime/calls"),
    ("get", "/api/realtime/calls/{call_id}/snapshot"),
    ("get", "/api/realtime/calls/{call_id}/audio"),
    ("get", "/api/realtime/calls/{call_id}/audio/meta"),
    ("get", "/api/realtime/alerts"),
    ("post", "/api/realtime/alerts/{alert_id}/ack"),
    ("post", "/api/realtime/ws-ticket"),
    ("get", "/api/integrations/genesys/health"),
    ("get", "/api/integrations/genesys/audiohook/health"),
    ("post", "/api/calls"),
    ("post", "/api/calls/upload-url"),
    ("get", "/api/calls"),
    ("get", "/api/calls/{call_id}"),
    ("get", "/api/calls/{call_id}/detail"),
    ("get", "/api/calls/{call_id}/transcript"),
    ("get", "/api/calls/{call_id}/audio"),
    ("get", "/api/calls/{call_id}/export"),
    ("post", "/api/calls/bulk"),
    ("post", "/api/glossary"),
    ("get", "/api/metrics"),
    ("get", "/api/insights"),
    ("get", "/ws"),
    ("get", "/api/openapi.json"),
    ("get", "/healthz"),
    ("get", "/metrics"),
];

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn document_matches_the_routes() {
    let s = TestServer::start().await;
    let resp = s.http.get(s.url("/api/openapi.json")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let doc: Value = resp.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));

    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(p, ops)| ops.as_object().unwrap().keys().map(move |m| (m.clone(), p.clone())))
        .collect();
    let served: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert_eq!(documented, served);

    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected ref {r}"));
        assert!(doc["components"]["schemas"].get(name).is_some(), "dangling {r}");
    }

    for (method, path) in ROUTES {
        let url = s.url(&path.replace("{call_id}", "doc-call").replace("{alert_id}", "1"));
        let resp = match method {
            "post" => s.http.post(url).send().await.unwrap(),
            _ => s.http.get(url).send().await.unwrap(),
        };
        let status = resp.status().as_u16();
        assert!(status != 404 && status != 405, "{method} {path} answered {status}");
        let secured = doc["paths"][path][method]["security"].as_array().is_some_and(|s| !s.is_empty());
        assert_eq!(status == 401, secured, "{method} {path}: documented security vs answered {status}");
    }
    s.stop().await;
}

/// The routes that hand out audio say how they answer on AWS, where no Lambda response may carry it: a 307
/// to a presigned storage URL, or with `link` that URL as JSON.
#[test]
fn audio_routes_document_their_storage_redirect() {
    let doc: Value = serde_json::from_str(functions::routes::openapi::DOCUMENT).unwrap();
    for path in ["/api/calls/{call_id}/audio", "/api/realtime/calls/{call_id}/audio"] {
        let op = &doc["paths"][path]["get"];
        let redirect = &op["responses"]["307"];
        assert!(
            redirect["headers"]["Location"].is_object() && redirect["headers"]["Cache-Control"].is_object(),
            "{path}"
        );
        let params: Vec<&str> =
            op["parameters"].as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
        assert!(params.contains(&"link"), "{path}: {params:?}");
        let json = &op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"];
        assert_eq!(json, "#/components/schemas/AudioLink", "{path}");
    }
}
