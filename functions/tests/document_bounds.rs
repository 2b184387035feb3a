//! Bounds the OpenAPI document states, held by the real server alike: lengths counted in characters as sent
//! (JSON Schema's `maxLength`), every alias of a transcript field checked, a multipart form read to its end.
//! `scripts/schemathesis.sh` checks the whole document; these pin the places where server and document
//! once disagreed.

mod common;

use common::{SUPERVISOR, TestServer};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

/// A string field of 128 characters (the document's `maxLength`) with a space around it is 130 as sent.
#[tokio::test]
async fn short_fields_count_what_was_sent_before_trimming() {
    let s = TestServer::start().await;
    let at_limit = "p".repeat(128);
    let (status, v) = s.post_event(&json!({"call_id": "bounds-1", "provider": at_limit, "text": "hi"})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let padded = format!(" {at_limit} ");
    let (status, v) = s.post_event(&json!({"call_id": "bounds-1", "provider": padded, "text": "hi"})).await;
    assert_eq!((status, v), (StatusCode::BAD_REQUEST, json!({"detail": "provider is longer than 128 characters"})));
    s.stop().await;
}

/// `event_id` is at most 200 characters, whatever their UTF-8 length.
#[tokio::test]
async fn event_ids_are_bounded_in_characters() {
    let s = TestServer::start().await;
    let accented = "é".repeat(200);
    let (status, v) = s.post_event(&json!({"call_id": "bounds-2", "text": "hi", "event_id": accented})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (_, again) = s.post_event(&json!({"call_id": "bounds-2", "text": "hi", "event_id": accented})).await;
    assert_eq!(again["duplicate"], true, "{again}");
    let (status, _) = s.post_event(&json!({"call_id": "bounds-2", "event_id": "é".repeat(201)})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    s.stop().await;
}

/// A filename of 512 characters is taken even when it is longer in bytes (locally: 501, no S3 to presign).
#[tokio::test]
async fn upload_url_filenames_are_bounded_in_characters() {
    let s = TestServer::start().await;
    let name = format!("{}.wav", "é".repeat(508));
    let resp = s.post_json("/api/calls/upload-url", &json!({"filename": name})).await;
    assert_eq!(resp.status(), StatusCode::NOT_IMPLEMENTED);
    let resp = s.post_json("/api/calls/upload-url", &json!({"filename": format!("é{name}")})).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    s.stop().await;
}

fn transcript_part() -> Part {
    let entries = json!({"entries": [{"speaker_id": "0", "start_time_seconds": 0, "end_time_seconds": 2, "transcript": "hello"}]});
    Part::bytes(entries.to_string().into_bytes()).file_name("call.json")
}

/// `glossary_terms` takes 8000 characters; three-byte ones fit the form's per-field limit too.
#[tokio::test]
async fn the_longest_glossary_terms_fit_the_upload_form() {
    let s = TestServer::start().await;
    let terms = "€".repeat(8000);
    let form = Form::new().part("file", transcript_part()).text("glossary_terms", terms);
    let (status, v) = s.post_form("/api/calls", form).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    s.stop().await;
}

/// An alias that is not read must still be well-formed: the document gives each key its type.
#[tokio::test]
async fn every_alias_of_a_transcript_field_is_checked() {
    let s = TestServer::start().await;
    let entries = json!([{"transcript": "hello", "text": 5}]);
    let form = Form::new().part("file", Part::bytes(entries.to_string().into_bytes()).file_name("call.json"));
    let (status, v) = s.post_form("/api/calls", form).await;
    assert_eq!(
        (status, v),
        (StatusCode::BAD_REQUEST, json!({"detail": "Transcript file: entry 0: text must be a string"}))
    );
    s.stop().await;
}

/// A part whose name holds a control character breaks the form's headers: refused even after `file`.
#[tokio::test]
async fn a_glossary_form_broken_after_its_file_is_refused() {
    let s = TestServer::start().await;
    let form = |second_name: &str| {
        format!(
            "--B\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nAcme,FiberMax\r\n\
             --B\r\nContent-Disposition: form-data; name=\"{second_name}\"\r\n\r\nx\r\n--B--\r\n"
        )
    };
    let post = |body: String| {
        s.http
            .post(s.url("/api/glossary"))
            .bearer_auth(SUPERVISOR)
            .header("content-type", "multipart/form-data; boundary=B")
            .body(body)
            .send()
    };
    let ok = post(form("note")).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let broken = post(form("a\u{18}b")).await.unwrap();
    assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
    let body: Value = broken.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().starts_with("Invalid multipart form"), "{body}");
    s.stop().await;
}
