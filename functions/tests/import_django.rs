//! `call-analytics import-django` as an operator runs it: a database with the Django system's four tables
//! (awkward rows included) and its upload and output files in a temp dir, the real binary importing it into
//! a DATA_DIR, `call-analytics serve` on that DATA_DIR answering for it over HTTP, and a second import that
//! finds everything there and changes nothing.

mod common;
#[cfg(feature = "aws")]
#[path = "../../shared/tests/moto/mod.rs"]
mod moto;

use common::{SUPERVISOR, serve_binary};
use rusqlite::Connection;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

/// The tables as Django's migrations created them on SQLite.
const OLD_SCHEMA: &str = r#"
CREATE TABLE "call" ("id" varchar(64) NOT NULL PRIMARY KEY, "filename" text NOT NULL, "storage_path" text NOT NULL,
  "status" varchar(32) NOT NULL, "created_at" datetime NOT NULL, "updated_at" datetime NOT NULL,
  "duration_seconds" real NULL, "language_code" varchar(32) NULL, "stt_model" varchar(128) NULL,
  "with_diarization" bool NULL, "num_speakers" integer NULL, "prompt" text NULL, "prompt_pack" varchar(64) NULL,
  "glossary_terms" text NULL, "transcript_text_path" text NULL, "transcript_json_path" text NULL,
  "analysis_json_path" text NULL, "qa_json_path" text NULL, "summary_json_path" text NULL, "raw_llm_path" text NULL,
  "error_message" text NULL);
CREATE TABLE "realtime_call" ("call_id" varchar(128) NOT NULL PRIMARY KEY, "provider" varchar(64) NOT NULL,
  "status" varchar(32) NOT NULL, "created_at" datetime NOT NULL, "updated_at" datetime NOT NULL,
  "agent_id" varchar(128) NULL, "customer_id" varchar(128) NULL, "last_speaker" varchar(32) NULL,
  "last_text" text NOT NULL, "sentiment_score" real NOT NULL, "risk_score" real NOT NULL, "metadata" text NOT NULL);
CREATE TABLE "realtime_event" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "occurred_at" datetime NOT NULL,
  "event_type" varchar(64) NOT NULL, "speaker" varchar(32) NULL, "text" text NOT NULL, "sentiment" real NULL,
  "confidence" real NULL, "metadata" text NOT NULL,
  "realtime_call_id" varchar(128) NOT NULL REFERENCES "realtime_call" ("call_id") DEFERRABLE INITIALLY DEFERRED);
CREATE TABLE "supervisor_alert" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "created_at" datetime NOT NULL,
  "alert_type" varchar(64) NOT NULL, "severity" varchar(16) NOT NULL, "message" text NOT NULL,
  "acknowledged" bool NOT NULL, "acknowledged_at" datetime NULL, "metadata" text NOT NULL,
  "realtime_call_id" varchar(128) NOT NULL REFERENCES "realtime_call" ("call_id") DEFERRABLE INITIALLY DEFERRED);
CREATE TABLE "django_migrations" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "app" varchar(255) NOT NULL,
  "name" varchar(255) NOT NULL, "applied" datetime NOT NULL);
"#;

const DONE: &str = "20260210101520123456";
const FAILED: &str = "20260211090000000001";
const AUDIO: &[u8] = b"RIFF fake audio bytes, copied as they are";

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// The rows, awkward ones included. Realtime: naive times, NULLs, an unclamped sentiment and confidence,
/// alerts acknowledged with and without a time, an alert whose event is not there, an unreadable event
/// time, a severity nobody knows, an id no storage key can hold, and an event whose call is gone (SQLite
/// enforces foreign keys only when a connection asks). Batch: a completed call whose outputs were written
/// under another machine's absolute root, a failed one whose upload is gone, one in a status nobody
/// knows, one with no creation time.
fn old_rows() -> String {
    let out = |name: &str| format!("'/srv/old-host/data/outputs/{DONE}/{name}'");
    let (json, txt, analysis, qa, summary, raw) = (
        out("transcript.json"),
        out("transcript.txt"),
        out("analysis.json"),
        out("qa.json"),
        out("summary.json"),
        out("analysis_raw.txt"),
    );
    format!(
        r#"
INSERT INTO realtime_call VALUES
  ('genesys-1', 'genesys', 'active', '2026-02-10 10:00:00', '2026-02-10 10:05:00.250000', 'agent-7', 'cust-9',
   'customer', 'I want a manager', -0.412, 0.81, '{{"queue":"billing"}}'),
  ('plain-2', 'generic', 'ended', '2026-02-09 08:00:00', '2026-02-09 08:01:00', NULL, NULL, NULL, '', 0.0, 0.0, '{{}}'),
  ('bad id/with slash', 'generic', 'active', '2026-02-09 08:00:00', '2026-02-09 08:00:00', NULL, NULL, NULL, '',
   0.0, 0.0, '{{}}');
PRAGMA foreign_keys = OFF;
INSERT INTO realtime_event (id, occurred_at, event_type, speaker, text, sentiment, confidence, metadata,
  realtime_call_id) VALUES
  (1, '2026-02-10 10:00:00', 'transcript', 'agent', 'Thank you for calling', 0.3, 0.9, '{{}}', 'genesys-1'),
  (2, '2026-02-10 10:02:00.5', 'transcript', 'customer', 'This is terrible', -1.7, 1.4, '{{"source":"genesys"}}',
   'genesys-1'),
  (3, '2026-02-10 10:05:00.25', 'transcript', 'customer', 'I want a manager', NULL, NULL, '{{}}', 'genesys-1'),
  (4, 'not a time', 'transcript', NULL, 'lost', NULL, NULL, '{{}}', 'plain-2'),
  (5, '2026-02-09 08:00:30', 'call_end', NULL, '', NULL, NULL, '{{}}', 'plain-2'),
  (6, '2026-02-09 08:00:30', 'transcript', NULL, '', NULL, NULL, '{{}}', 'ghost-call');
INSERT INTO supervisor_alert (id, created_at, alert_type, severity, message, acknowledged, acknowledged_at,
  metadata, realtime_call_id) VALUES
  (1, '2026-02-10 10:02:00.5', 'negative_sentiment', 'high', 'Negative sentiment detected (-1.70) in live call.',
   1, '2026-02-10 10:03:00', '{{"sentiment":-1.7,"threshold":-0.45,"event_id":2}}', 'genesys-1'),
  (2, '2026-02-10 10:05:00.25', 'escalation_keyword', 'medium', 'Escalation keywords detected: manager', 0, NULL,
   '{{"keywords":["manager"],"event_id":3}}', 'genesys-1'),
  (3, '2026-02-10 10:05:00.25', 'high_risk_score', 'critical', 'Live risk score crossed threshold (0.81).', 1, NULL,
   '{{"risk_score":0.81,"event_id":99}}', 'genesys-1'),
  (4, '2026-02-09 08:00:30', 'dead_air', 'low', 'quiet', 0, NULL, '{{}}', 'plain-2');
INSERT INTO "call" VALUES
  ('{DONE}', 'call one.wav', 'data/uploads/{DONE}_call one.wav', 'completed', '2026-02-10 10:15:20.123456',
   '2026-02-10 10:17:00', 61.5, 'en-IN', 'saarika:v2', 1, 2, NULL, 'support', '', {txt}, {json}, {analysis}, {qa},
   {summary}, {raw}, NULL);
INSERT INTO "call" (id, filename, storage_path, status, created_at, updated_at, error_message) VALUES
  ('{FAILED}', 'gone.mp3', 'data/uploads/{FAILED}_gone.mp3', 'failed', '2026-02-11 09:00:00', '2026-02-11 09:00:05',
   'Sarvam job failed: 401'),
  ('20260212090000000002', 'x.wav', 'data/uploads/x.wav', 'archived', '2026-02-12 09:00:00', '2026-02-12 09:00:00',
   NULL),
  ('20260213090000000003', 'y.wav', 'data/uploads/y.wav', 'queued', '', '', NULL);
"#
    )
}

/// The old system's folder: `data/db/call_analytics.db`, `data/uploads/…`, `data/outputs/<id>/…`.
fn old_system(root: &Path) -> std::path::PathBuf {
    let db = root.join("data/db/call_analytics.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let c = Connection::open(&db).unwrap();
    c.execute_batch(OLD_SCHEMA).unwrap();
    c.execute_batch(&old_rows()).unwrap();
    write(&root.join(format!("data/uploads/{DONE}_call one.wav")), AUDIO);
    let outputs = root.join("data/outputs").join(DONE);
    let transcript = json!({"generated_at": "2026-02-10T10:17:00Z", "entries": [
        {"speaker_id": "chunk1_0", "start_time_seconds": 0.0, "end_time_seconds": 2.5, "transcript": "Hello, how can I help"},
        {"speaker_id": "chunk1_1", "start_time_seconds": 2.5, "end_time_seconds": 6.0, "transcript": "I need a refund"}],
        "speaker_stats": {}});
    write(&outputs.join("transcript.json"), transcript.to_string().as_bytes());
    write(&outputs.join("transcript.txt"), b"[00:00 - 00:02] chunk1_0: Hello, how can I help\n");
    let analysis = json!({"summary": {"short": "Customer wants a refund", "bullets": []},
        "sentiment": {"overall": "negative", "customer": "negative", "agent": "neutral", "confidence": 0.8},
        "topics": ["refund"], "action_items": ["process refund"], "resolution": {"status": "Pending"},
        "qa_pairs": [{"question": "Refund?", "answer": "Yes"}], "speaker_roles": {"chunk1_0": "Agent"}});
    write(&outputs.join("analysis.json"), analysis.to_string().as_bytes());
    write(&outputs.join("qa.json"), br#"[{"question": "Refund?", "answer": "Yes"}]"#);
    write(&outputs.join("summary.json"), br#"{"short": "Customer wants a refund", "bullets": []}"#);
    write(&outputs.join("analysis_raw.txt"), b"{raw reply}");
    db
}

/// Runs `call-analytics import-django` with `args` and `env` (besides DATA_DIR and the retention of 0).
fn import_with(data_dir: &Path, old_root: &Path, db: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_call-analytics"))
        .args(["import-django", "--db"])
        .arg(db)
        .arg("--data-root")
        .arg(old_root)
        .args(args)
        .env("DATA_DIR", data_dir)
        .env("REALTIME_RETENTION_DAYS", "0")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn import(data_dir: &Path, old_root: &Path, db: &Path) -> (bool, String) {
    import_with(data_dir, old_root, db, &[], &[])
}

async fn get(http: &reqwest::Client, base: &str, path: &str) -> Value {
    let r = http.get(format!("{base}{path}")).bearer_auth(SUPERVISOR).send().await.unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

/// Everything the API shows of the imported data, to compare runs.
async fn seen(base: &str) -> Value {
    let http = reqwest::Client::new();
    let mut out = json!({
        "realtime": get(&http, base, "/api/realtime/calls?limit=100").await,
        "alerts": get(&http, base, "/api/realtime/alerts?limit=100").await,
        "batch": get(&http, base, "/api/calls").await,
    });
    for id in ["genesys-1", "plain-2"] {
        out[id] = get(&http, base, &format!("/api/realtime/calls/{id}/snapshot")).await;
    }
    for id in [DONE, FAILED] {
        out[id] = get(&http, base, &format!("/api/calls/{id}/detail")).await;
    }
    out
}

fn line<'a>(text: &'a str, kind: &str) -> &'a str {
    text.lines().find(|l| l.trim_start().starts_with(kind)).unwrap_or_else(|| panic!("no {kind} line in {text}"))
}

fn quiet_serve(dir: &Path) -> (std::process::Child, String) {
    serve_binary(dir, &[("REALTIME_RETENTION_DAYS", "0"), ("REALTIME_CALL_IDLE_MINUTES", "0")])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_old_systems_calls_are_imported_once_and_served() {
    let (old, data) = (tempfile::TempDir::new().unwrap(), tempfile::TempDir::new().unwrap());
    let db = old_system(old.path());
    let (ok, first) = import(data.path(), old.path(), &db);
    assert!(ok, "{first}");
    assert!(line(&first, "batch calls").contains("2 imported        0 already present        2 skipped"), "{first}");
    assert!(line(&first, "realtime calls").contains("2 imported        0 already present        1 skipped"), "{first}");
    assert!(line(&first, "events").contains("4 imported        0 already present        2 skipped"), "{first}");
    assert!(line(&first, "alerts").contains("3 imported        0 already present        1 skipped"), "{first}");
    for reason in [
        "skipped call 20260212090000000002: unknown status \"archived\"",
        "skipped call 20260213090000000003: created_at is empty",
        "skipped realtime call bad id/with slash: Invalid call_id",
        "skipped event 4: occurred_at is not a time: \"not a time\"",
        "skipped event 6: its call \"ghost-call\" is not in realtime_call",
        "skipped alert 4: unknown severity \"low\"",
        &format!("warning: call {FAILED}: upload not found"),
    ] {
        assert!(first.contains(reason), "{reason:?} not in {first}");
    }

    let (mut server, base) = quiet_serve(data.path());
    let (refused, why) = import(data.path(), old.path(), &db);
    assert!(!refused && why.contains("in use by another call-analytics process"), "{why}");
    let before = seen(&base).await;

    let calls = before["realtime"]["calls"].as_array().unwrap();
    let ids: Vec<&str> = calls.iter().map(|c| c["call_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["genesys-1", "plain-2"]);
    let c = &calls[0];
    assert_eq!(
        (c["status"].as_str(), c["risk_score"].as_f64(), c["sentiment_score"].as_f64()),
        (Some("active"), Some(0.81), Some(-0.412))
    );
    assert_eq!((c["agent_id"].as_str(), c["event_count"].as_u64()), (Some("agent-7"), Some(3)));
    assert_eq!(c["updated_at"], "2026-02-10T10:05:00.250000Z");
    assert_eq!(calls[1]["agent_id"], Value::Null);

    let snap = &before["genesys-1"];
    let events = snap["events"].as_array().unwrap();
    let texts: Vec<&str> = events.iter().map(|e| e["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["Thank you for calling", "This is terrible", "I want a manager"]);
    assert_eq!((events[1]["sentiment"].as_f64(), events[1]["confidence"].as_f64()), (Some(-1.0), Some(1.0)));
    assert_eq!(events[1]["occurred_at"], "2026-02-10T10:02:00.500000Z");
    let alerts = snap["alerts"].as_array().unwrap();
    let by_type = |t: &str| alerts.iter().find(|a| a["type"] == t).unwrap_or_else(|| panic!("no {t} in {alerts:?}"));
    let negative = by_type("negative_sentiment");
    assert_eq!(
        (negative["acknowledged"].as_bool(), negative["acknowledged_at"].as_str()),
        (Some(true), Some("2026-02-10T10:03:00.000000Z"))
    );
    assert_eq!(negative["metadata"]["event_id"], events[1]["id"], "linked to the imported event");
    assert_eq!(by_type("escalation_keyword")["acknowledged"], false);
    let risk = by_type("high_risk_score");
    assert_eq!(
        (risk["acknowledged_at"].as_str(), risk["metadata"].get("event_id")),
        (Some("2026-02-10T10:05:00.250000Z"), None)
    );
    assert_eq!(before["plain-2"]["events"].as_array().unwrap().len(), 1);

    let batch = before["batch"]["calls"].as_array().unwrap();
    assert_eq!(batch.iter().map(|c| c["id"].as_str().unwrap()).collect::<Vec<_>>(), [FAILED, DONE]);
    let done = &before[DONE];
    assert_eq!((done["status"].as_str(), done["has_audio"].as_bool()), (Some("completed"), Some(true)));
    assert_eq!(done["created_at"], "2026-02-10T10:15:20.123456Z");
    assert_eq!(done["analysis"]["summary"]["short"], "Customer wants a refund");
    assert_eq!(done["transcript"]["entries"][1]["transcript"], "I need a refund");
    assert_eq!(done["qa"][0]["answer"], "Yes");
    assert_eq!(done["digest"]["topics"], json!(["refund"]));
    assert_eq!(done["options"]["prompt_pack"], "support");
    let failed = &before[FAILED];
    assert_eq!(
        (failed["status"].as_str(), failed["error_message"].as_str(), failed["has_audio"].as_bool()),
        (Some("failed"), Some("Sarvam job failed: 401"), Some(false))
    );
    let http = reqwest::Client::new();
    let audio = http.get(format!("{base}/api/calls/{DONE}/audio")).bearer_auth(SUPERVISOR).send().await.unwrap();
    assert_eq!(audio.bytes().await.unwrap().as_ref(), AUDIO);
    let export = get(&http, &base, &format!("/api/calls/{DONE}/export?format=json&scope=transcript")).await;
    assert_eq!(export["transcript"]["entries"][0]["speaker_id"], "chunk1_0");
    let csv = http.get(format!("{base}/api/calls/{DONE}/export?format=csv&scope=analysis")).bearer_auth(SUPERVISOR);
    let csv = csv.send().await.unwrap().text().await.unwrap();
    assert!(csv.contains("Customer wants a refund") && csv.contains("refund"), "{csv}");
    server.kill().unwrap();
    server.wait().unwrap();

    let (ok, second) = import(data.path(), old.path(), &db);
    assert!(ok, "{second}");
    assert!(line(&second, "batch calls").contains("0 imported        2 already present        2 skipped"), "{second}");
    assert!(
        line(&second, "realtime calls").contains("0 imported        2 already present        1 skipped"),
        "{second}"
    );
    assert!(line(&second, "events").contains("0 imported        4 already present        2 skipped"), "{second}");
    assert!(line(&second, "alerts").contains("0 imported        3 already present        1 skipped"), "{second}");
    let (mut server, base) = quiet_serve(data.path());
    assert_eq!(seen(&base).await, before, "the second import changed what the API shows");
    server.kill().unwrap();
    server.wait().unwrap();
}

/// The same importer through the AWS adapters (`--target aws`), against moto: the same counts, and a second
/// run that finds everything there.
#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_import_goes_through_the_aws_adapters() {
    use shared::adapters::aws::{DynamoStore, S3BlobStore};
    use shared::ports::{AlertQuery, BatchStore, BlobStore, CallStore};
    let (old, data) = (tempfile::TempDir::new().unwrap(), tempfile::TempDir::new().unwrap());
    let db = old_system(old.path());
    let moto = moto::Moto::start();
    let sdk = moto::sdk(&moto.endpoint).await;
    let settings = moto::fixture(&sdk, &moto.endpoint, "imported").await;
    let env = [
        ("TABLE_NAME", "imported"),
        ("BUCKET_NAME", "imported"),
        ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
    ];
    let aws = |env: &[(&str, &str)]| import_with(data.path(), old.path(), &db, &["--target", "aws"], env);
    let (ok, first) = aws(&env);
    assert!(ok, "{first}");
    assert!(line(&first, "realtime calls").contains("2 imported        0 already present        1 skipped"), "{first}");
    assert!(line(&first, "batch calls").contains("2 imported        0 already present        2 skipped"), "{first}");
    let (ok, second) = aws(&env);
    assert!(ok, "{second}");
    assert!(line(&second, "events").contains("0 imported        4 already present        2 skipped"), "{second}");
    assert!(!data.path().join("call_analytics.db").exists(), "nothing written to DATA_DIR");

    let store = DynamoStore::new(&sdk, &settings);
    assert_eq!(store.recent_events("genesys-1", 40).await.unwrap().len(), 3);
    let query = AlertQuery { call_id: Some("genesys-1".into()), open_only: false, limit: 10 };
    let alerts = store.list_alerts(&query).await.unwrap();
    assert_eq!(alerts.iter().filter(|a| a.acknowledged_at.is_some()).count(), 2, "{alerts:?}");
    let done = store.get_batch_call(DONE).await.unwrap().unwrap().value;
    assert_eq!(done.status, shared::batch::BatchStatus::Completed);
    let blobs = S3BlobStore::new(&sdk, &settings);
    assert_eq!(blobs.get(&done.upload_key).await.unwrap().as_deref(), Some(AUDIO));
    assert!(blobs.get(&format!("outputs/{DONE}/analysis.json")).await.unwrap().is_some());
}
