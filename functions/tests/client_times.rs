//! Client times over a real socket and a real SQLite file: epoch numbers in any unit a provider sends, times
//! outside 1970–9999 refused naming the field, rows an older release stored past 9999 still readable, and an
//! ingest whose commit succeeded never answering 5xx.

mod common;

use common::TestServer;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn db(s: &TestServer) -> rusqlite::Connection {
    rusqlite::Connection::open(s.data_dir.join("call_analytics.db")).unwrap()
}

fn stored_times(s: &TestServer, call_id: &str) -> Vec<String> {
    let db = db(s);
    let mut stmt = db.prepare("SELECT occurred_at FROM realtime_event WHERE call_id = ?1 ORDER BY id").unwrap();
    stmt.query_map([call_id], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

#[tokio::test]
async fn epoch_seconds_milliseconds_and_microseconds_are_the_same_time() {
    let s = TestServer::start().await;
    for (i, ts) in
        [json!(1_764_590_000), json!(1_764_590_000_000_i64), json!(1_764_590_000_000_000_i64)].iter().enumerate()
    {
        let (status, v) = s.post_event(&json!({"call_id": "js", "text": format!("line {i}"), "timestamp": ts})).await;
        assert_eq!(status, StatusCode::OK, "{ts}: {v}");
    }
    assert_eq!(stored_times(&s, "js"), vec!["2025-12-01T11:53:20.000000Z"; 3]);
    let (status, snap) = s.get("/api/realtime/calls/js/snapshot").await;
    assert_eq!((status, snap["events"].as_array().map(Vec::len)), (StatusCode::OK, Some(3)), "{snap}");
    s.stop().await;
}

#[tokio::test]
async fn times_outside_1970_to_9999_are_refused_naming_the_field_and_nothing_is_stored() {
    let s = TestServer::start().await;
    let cases = [
        (json!({"call_id": "far", "text": "x", "timestamp": -5}), "timestamp is outside the years 1970 to 9999"),
        (json!({"call_id": "far", "text": "x", "occurred_at": 1e25}), "occurred_at is outside the years 1970 to 9999"),
        (
            json!({"call_id": "far", "text": "x", "timestamp": "next tuesday"}),
            "timestamp is not a time (an ISO 8601 string, or epoch seconds, milliseconds or microseconds)",
        ),
    ];
    for (body, detail) in cases {
        let (status, v) = s.post_event(&body).await;
        assert_eq!((status, v["detail"].as_str()), (StatusCode::BAD_REQUEST, Some(detail)), "{body}");
    }
    let chunk = json!({"call_id": "far", "audio_b64": "AAAAAAAAAAA=", "sample_rate": 8000, "timestamp": -1});
    let (status, v) = s.post_audio(&chunk).await;
    assert_eq!(
        (status, v["detail"].as_str()),
        (StatusCode::BAD_REQUEST, Some("timestamp is outside the years 1970 to 9999"))
    );
    assert!(stored_times(&s, "far").is_empty());
    let (_, snap) = s.get("/api/realtime/calls/far/snapshot").await;
    assert_eq!(snap["status"], "idle", "{snap}");
    s.stop().await;
}

#[tokio::test]
async fn a_row_stored_past_9999_by_an_older_release_leaves_its_call_readable() {
    let dir = tempfile::TempDir::new().unwrap();
    let s = TestServer::start_in(dir.path(), &[]).await;
    assert_eq!(s.post_event(&json!({"call_id": "old", "text": "first"})).await.0, StatusCode::OK);
    s.stop().await;
    // What the previous release wrote for `"timestamp": 1764590000000` (read as seconds), found by this one
    // when it starts (a running server is the only writer of its calls).
    rusqlite::Connection::open(dir.path().join("call_analytics.db"))
        .unwrap()
        .execute(
            "INSERT INTO realtime_event (call_id, occurred_at, event_type, speaker, text, metadata)
             VALUES ('old', '+57887-08-19T08:53:20.000000Z', 'transcript', 'agent', 'from the future', '{}')",
            [],
        )
        .unwrap();
    let s = TestServer::start_in(dir.path(), &[]).await;
    let (status, v) = s.post_event(&json!({"call_id": "old", "text": "after"})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, snap) = s.get("/api/realtime/calls/old/snapshot").await;
    assert_eq!(status, StatusCode::OK, "{snap}");
    let texts: Vec<&str> = snap["events"].as_array().unwrap().iter().filter_map(|e| e["text"].as_str()).collect();
    assert!(texts.contains(&"from the future") && texts.contains(&"after"), "{texts:?}");
    s.stop().await;
}

#[tokio::test]
async fn an_ingest_answers_its_commit_even_when_the_snapshot_read_fails() {
    let s = TestServer::start().await;
    assert_eq!(s.post_event(&json!({"call_id": "c", "text": "hello"})).await.0, StatusCode::OK);
    // Reading alerts now fails (the table is gone); writing an event without alerts still works. A call the
    // server has not written yet, so its snapshot is read from the file rather than kept from earlier writes.
    db(&s).execute_batch("ALTER TABLE supervisor_alert RENAME TO supervisor_alert_away").unwrap();
    let body = json!({"call_id": "c2", "text": "committed", "event_id": "e-1"});
    let (status, v) = s.post_event(&body).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["ok"], true);
    assert_eq!(v["snapshot"]["partial"], true, "{v}");
    assert_eq!(v["snapshot"]["events"][0]["text"], "committed");
    // The event is stored once, and a retry is a duplicate, not a second row.
    let (status, again) = s.post_event(&body).await;
    assert_eq!((status, &again["duplicate"]), (StatusCode::OK, &Value::Bool(true)), "{again}");
    let texts =
        db(&s).query_row("SELECT count(*) FROM realtime_event WHERE text = 'committed'", [], |r| r.get::<_, i64>(0));
    assert_eq!(texts.unwrap(), 1);
    s.stop().await;
}

#[tokio::test]
async fn dashboard_dates_that_are_not_dates_are_refused() {
    let s = TestServer::start().await;
    for path in ["/api/calls?date_from=yesterday", "/api/insights?date_to=2026-13-01"] {
        let (status, v) = s.get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {v}");
        assert!(v["detail"].as_str().unwrap().ends_with("must be a date (YYYY-MM-DD)"), "{v}");
    }
    for path in
        ["/api/calls?date_from=2026-02-09", "/api/calls?date_to=", "/api/insights?date_from=2026-02-09T10:00:00Z"]
    {
        assert_eq!(s.get(path).await.0, StatusCode::OK, "{path}");
    }
    s.stop().await;
}
