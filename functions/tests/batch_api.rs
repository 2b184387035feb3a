//! The batch API on the real local server (SQLite file, folder blobs, in-process worker): transcript
//! uploads through the queue to artifacts, the dashboard's reads, exports, bulk actions and bad input.

mod common;

use common::{SUPERVISOR, TestServer, next_json};
use futures_util::SinkExt;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

fn support_call() -> Value {
    json!({"entries": [
        {"speaker_id": "0", "start_time_seconds": 0.0, "end_time_seconds": 4.0, "transcript": "Thank you for calling Acme, how can I help you today?"},
        {"speaker_id": "1", "start_time_seconds": 5.0, "end_time_seconds": 9.0, "transcript": "I was charged twice for my internet plan and I want a refund. Let me talk to your supervisor."},
        {"speaker_id": "0", "start_time_seconds": 10.0, "end_time_seconds": 14.0, "transcript": "I'm sorry about that, I understand. Let me check the internet plan billing."},
        {"speaker_id": "1", "start_time_seconds": 15.0, "end_time_seconds": 19.0, "transcript": "=HYPERLINK(\"http://evil\") the internet plan was charged twice."},
        {"speaker_id": "0", "start_time_seconds": 20.0, "end_time_seconds": 24.0, "transcript": "I will refund the duplicate charge today and send you a confirmation email."},
        {"speaker_id": "1", "start_time_seconds": 25.0, "end_time_seconds": 28.0, "transcript": "Okay, thank you, that works."}
    ]})
}

fn transcript_form(name: &str, transcript: &Value, fields: &[(&str, &str)]) -> Form {
    let mut form =
        Form::new().part("file", Part::bytes(transcript.to_string().into_bytes()).file_name(name.to_string()));
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    form
}

async fn upload(s: &TestServer, name: &str, fields: &[(&str, &str)]) -> String {
    let (status, v) = s.post_form("/api/calls", transcript_form(name, &support_call(), fields)).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["status"], "queued");
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transcript_upload_becomes_a_completed_call_with_the_seeds_artifacts() {
    let s = TestServer::start().await;
    let (mut ws, _) = tokio_tungstenite::connect_async(s.ws_url()).await.unwrap();
    ws.send(Message::Text(json!({"action": "subscribe"}).to_string().into())).await.unwrap();
    while next_json(&mut ws).await["type"] != "subscribed" {}
    let id = upload(&s, "support.json", &[("prompt_pack", "support"), ("glossary_terms", "Acme")]).await;
    let mut stages = Vec::new();
    loop {
        let m = next_json(&mut ws).await;
        if m["type"] == "call_update" {
            assert_eq!(m["call_id"], id.as_str());
            stages.push((m["stage"].as_str().unwrap().to_string(), m["progress"].as_u64().unwrap()));
            if m["status"] == "completed" {
                break;
            }
        }
    }
    let expected = [("processing", 10), ("analysis_start", 80), ("analysis_complete", 95), ("completed", 100)];
    assert_eq!(stages, expected.map(|(s, p)| (s.to_string(), p)), "call_update pushes in order");
    assert_eq!(id.len(), 20, "the seed's timestamp ids");
    let status = s.settled(&id).await;
    assert_eq!(
        status,
        json!({"id": id, "status": "completed", "error_message": null, "progress": 100, "stage": "completed"})
    );

    let (_, d) = s.get(&format!("/api/calls/{id}/detail")).await;
    assert_eq!(d["transcript"]["entries"].as_array().unwrap().len(), 6);
    assert_eq!(d["transcript"]["speaker_stats"]["0"]["words"], 37);
    let a = &d["analysis"];
    assert_eq!(a["speaker_roles"], json!({"0": "Agent", "1": "Customer"}));
    assert!(a["topics"].as_array().unwrap().iter().any(|t| t == "internet plan"), "{}", a["topics"]);
    assert_eq!(a["auto_tags"], json!(["billing", "escalation"]));
    assert_eq!((a["prompt_pack"].as_str(), a["glossary_terms"][0].as_str()), (Some("support"), Some("Acme")));
    assert_eq!(d["summary"], a["summary"]);
    assert_eq!(d["qa"], a["qa_pairs"]);
    for name in ["transcript.json", "transcript.txt", "analysis_input.txt", "analysis.json", "summary.json", "qa.json"]
    {
        assert!(s.data_dir.join(format!("blobs/outputs/{id}/{name}")).is_file(), "{name}");
    }

    let (_, list) = s.get("/api/calls?status=completed&topic=internet").await;
    assert_eq!(list["calls"][0]["id"], id);
    assert_eq!(list["calls"][0]["digest"]["roles"], json!(["Agent", "Customer"]));
    assert_eq!((list["metrics"]["total"].as_u64(), list["metrics"]["completed"].as_u64()), (Some(1), Some(1)));
    let (_, none) = s.get("/api/calls?topic=mortgage").await;
    assert_eq!(none["total"], 0);
    let (_, m) = s.get("/api/metrics").await;
    assert_eq!(m["values"][6], 1, "uploaded today: {m}");
    let (_, i) = s.get("/api/insights").await;
    assert_eq!(i["resolution_rate"], 100.0);
    assert!(i["topics"]["labels"].as_array().unwrap().iter().any(|t| t == "internet plan"));

    let csv = s.get_raw(&format!("/api/calls/{id}/export?format=csv&scope=transcript")).await;
    assert_eq!(csv.headers()["content-disposition"], format!("attachment; filename=call_{id}_transcript.csv"));
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("speaker_id,start_time_seconds,end_time_seconds,transcript\r\n"), "{text}");
    assert!(text.contains("\"'=HYPERLINK(\"\"http://evil\"\")"), "formula defused: {text}");
    let j: Value = s.get_raw(&format!("/api/calls/{id}/export")).await.json().await.unwrap();
    assert_eq!((j["call"]["id"].as_str(), j["transcript"].is_null()), (Some(id.as_str()), true));
    assert_eq!(j["analysis"]["speaker_roles"]["0"], "Agent");
    let (status, v) = s.get(&format!("/api/calls/{id}/export?format=xml")).await;
    assert_eq!((status, v), (StatusCode::BAD_REQUEST, json!({"detail": "Unsupported export format"})));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_actions_export_reprocess_and_delete_everything_under_the_id() {
    let s = TestServer::start().await;
    let a = upload(&s, "a.json", &[]).await;
    let b = upload(&s, "b.json", &[]).await;
    s.settled(&a).await;
    s.settled(&b).await;

    let resp = s.post_json("/api/calls/bulk", &json!({"action": "export_csv", "call_ids": [a, b, "unknown"]})).await;
    assert_eq!(resp.headers()["content-disposition"], "attachment; filename=calls_export.csv");
    let text = resp.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "call_id,filename,status,created_at,summary_short,sentiment_overall,sentiment_customer,sentiment_agent,topics,action_items,resolution_status"
    );
    assert_eq!(lines.len(), 3);
    let resp = s.post_json("/api/calls/bulk", &json!({"action": "EXPORT_TRANSCRIPT_CSV", "call_ids": [a]})).await;
    assert_eq!(resp.text().await.unwrap().lines().count(), 7);
    let docs: Value =
        s.post_json("/api/calls/bulk", &json!({"action": "export_json", "call_ids": [a]})).await.json().await.unwrap();
    assert_eq!(docs[0]["id"], a.as_str());
    assert_eq!(docs[0]["analysis"]["speaker_roles"]["1"], "Customer");

    let resp = s.post_json("/api/calls/bulk", &json!({"action": "reprocess", "call_ids": [a]})).await;
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"ok": true, "action": "reprocess", "count": 1}));
    assert_eq!(s.settled(&a).await["status"], "completed");

    // The same id also has realtime rows and live audio (a producer used the batch id).
    let (status, _) = s.post_event(&json!({"call_id": b, "text": "hello"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s
        .post_audio(
            &json!({"call_id": b, "chunk_id": "c1", "audio_b64": "AAAAAAAAAAAAAAAAAAAAAA==", "sample_rate": 8000}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // And listener recordings: the call's, a session's own (another format), a part not joined yet.
    let recordings = s.data_dir.join("blobs/recordings");
    for file in [format!("{b}.wav"), format!("{b}/s2.wav"), format!("{b}/s3/part-000000.wav")] {
        std::fs::create_dir_all(recordings.join(&file).parent().unwrap()).unwrap();
        std::fs::write(recordings.join(file), b"RIFF").unwrap();
    }
    let resp = s.post_json("/api/calls/bulk", &json!({"action": "delete", "call_ids": [b]})).await;
    assert_eq!(resp.json::<Value>().await.unwrap()["count"], 1);
    assert_eq!(s.get(&format!("/api/calls/{b}")).await.0, StatusCode::NOT_FOUND);
    let (_, snap) = s.get(&format!("/api/realtime/calls/{b}/snapshot")).await;
    assert_eq!((snap["status"].as_str(), snap["events"].as_array().map(Vec::len)), (Some("idle"), Some(0)), "{snap}");
    let leftovers: Vec<_> = walk(&s.data_dir.join("blobs")).into_iter().filter(|p| p.contains(&b)).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(s.get(&format!("/api/calls/{a}")).await.1["status"], "completed", "the other call is untouched");

    let resp = s.post_json("/api/calls/bulk", &json!({"action": "delete", "call_ids": ["nope"]})).await;
    assert_eq!(
        (resp.status(), resp.json::<Value>().await.unwrap()),
        (StatusCode::BAD_REQUEST, json!({"detail": "No calls selected"}))
    );
    let resp = s.post_json("/api/calls/bulk", &json!({"action": "shred", "call_ids": [a]})).await;
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"detail": "Unsupported bulk action"}));
    s.stop().await;
}

/// A bulk action runs inside its request, which the HTTP API on AWS abandons after 30 s: one names at most
/// 50 calls (the documented bound), and a request naming more is refused before any call is touched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_action_names_at_most_fifty_calls() {
    let s = TestServer::start().await;
    let a = upload(&s, "a.json", &[]).await;
    s.settled(&a).await;
    let ids =
        |n: usize| -> Vec<String> { std::iter::once(a.clone()).chain((1..n).map(|i| format!("other-{i}"))).collect() };

    let resp = s.post_json("/api/calls/bulk", &json!({"action": "export_csv", "call_ids": ids(50)})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.text().await.unwrap().lines().count(), 2, "the header and the one stored call");
    for action in ["export_csv", "delete"] {
        let resp = s.post_json("/api/calls/bulk", &json!({"action": action, "call_ids": ids(51)})).await;
        let status = resp.status();
        let body: Option<Value> = serde_json::from_str(&resp.text().await.unwrap()).ok();
        let refused = Some(json!({"detail": "At most 50 calls per bulk action"}));
        assert_eq!((status, body), (StatusCode::BAD_REQUEST, refused), "{action} of 51 calls");
    }
    assert_eq!(s.get(&format!("/api/calls/{a}")).await.1["status"], "completed", "the refused delete deleted nothing");
    s.stop().await;
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p.display().to_string()) }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_uploads_and_requests_get_clear_errors() {
    let s = TestServer::start().await;
    let cases: Vec<(Form, &str)> = vec![
        (Form::new().text("language_code", "en"), "Missing file"),
        (
            transcript_form("t.json", &json!({"entries": "nope"}), &[]),
            "Transcript file: transcript must be an object with \"entries\" (or a list of entries)",
        ),
        (
            Form::new().part("file", Part::bytes(b"{not json".to_vec()).file_name("t.json")),
            "Transcript file is not valid JSON",
        ),
        (
            transcript_form("t.json", &support_call(), &[("num_speakers", "lots")]),
            "num_speakers must be a whole number from 1 to 20",
        ),
    ];
    for (form, detail) in cases {
        let (status, v) = s.post_form("/api/calls", form).await;
        assert_eq!((status, v), (StatusCode::BAD_REQUEST, json!({"detail": detail})));
    }
    let direct = s.post_json("/api/calls/upload-url", &json!({"filename": "big.wav"})).await;
    assert_eq!(direct.status(), StatusCode::NOT_IMPLEMENTED, "the local folder takes no presigned uploads");
    assert_eq!(
        direct.json::<Value>().await.unwrap(),
        json!({"detail": "Direct uploads need S3; upload with POST /api/calls"})
    );
    let (_, list) = s.get("/api/calls").await;
    assert_eq!(list["total"], 0, "nothing stored for refused uploads");

    let anonymous = s.http.get(s.url("/api/calls")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    for path in ["/api/calls/..%2F..%2Fetc", "/api/calls/nope", "/api/calls/nope/audio"] {
        let (status, v) = s.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {v}");
    }

    let glossary = |text: &str| Form::new().part("file", Part::bytes(text.as_bytes().to_vec()).file_name("g.csv"));
    let (status, v) = s.post_form("/api/glossary", glossary("term\nAcme,FiberMax\n")).await;
    assert_eq!((status, v), (StatusCode::OK, json!({"ok": true, "terms": ["Acme", "FiberMax"]})));
    let (status, v) = s.post_form("/api/glossary", glossary("bad\u{0007}term")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let resp = s
        .http
        .post(s.url("/api/calls/bulk"))
        .bearer_auth(SUPERVISOR)
        .body("{")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    s.stop().await;
}
