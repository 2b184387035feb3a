use super::*;
use crate::forward::Kind;
use serde_json::json;
use std::sync::Arc;

fn item(n: u64) -> Outgoing {
    let body = json!({"call_id": "c1", "chunk_id": format!("k{n}"), "audio_b64": "A".repeat(1000)});
    Outgoing { kind: Kind::Audio, body: body.as_object().unwrap().clone(), audio: None }
}

fn drain(o: &mut Outbox) -> Vec<String> {
    let mut seen = Vec::new();
    while let Some(i) = o.front().unwrap() {
        seen.push(i.body["chunk_id"].as_str().unwrap().to_string());
        o.pop_front();
    }
    seen
}

fn names(range: std::ops::Range<u64>) -> Vec<String> {
    range.map(|n| format!("k{n}")).collect()
}

#[test]
fn overflow_goes_to_disk_and_order_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let budget = Arc::new(SpoolBudget::new(dir.path().join("spool"), 1 << 20));
    let mut o = Outbox::new("s1", 3 * 1512, budget.clone());
    for n in 0..10 {
        o.push(item(n)).unwrap();
    }
    assert!(budget.used() > 0, "seven payloads are on disk");
    // Delivering one frees memory, but new payloads still queue behind the spooled ones.
    o.pop_front();
    o.push(item(10)).unwrap();
    assert_eq!(drain(&mut o), names(1..11));
    assert_eq!(budget.used(), 0);
    assert!(!dir.path().join("spool/s1.jsonl").exists(), "a delivered spool is removed");
    o.push(item(11)).unwrap();
    assert_eq!(budget.used(), 0, "back to memory once the disk backlog is gone");
    assert_eq!(drain(&mut o), names(11..12));
}

#[test]
fn a_full_spool_refuses_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let budget = Arc::new(SpoolBudget::new(dir.path().to_path_buf(), 1500));
    let mut o = Outbox::new("s1", 0, budget);
    o.push(item(0)).unwrap();
    assert!(matches!(o.push(item(1)), Err(SpoolError::Full(1500))));
    assert_eq!(drain(&mut o), names(0..1));
}

#[test]
fn persisted_backlog_resumes_in_order_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let budget = Arc::new(SpoolBudget::new(dir.path().to_path_buf(), 1 << 20));
    let mut o = Outbox::new("s1", 2 * 1512, budget.clone());
    for n in 0..5 {
        o.push(item(n)).unwrap();
    }
    o.pop_front();
    o.persist().unwrap();
    drop(o);
    // A crash can cut the last line short; a bad line in the middle is skipped, not fatal.
    let path = dir.path().join("s1.jsonl");
    let mut text = std::fs::read_to_string(&path).unwrap();
    let second = text.find('\n').unwrap() + 1;
    text.insert_str(second, "{not json}\n");
    text.push_str("{\"kind\":\"audio\",\"bo");
    std::fs::write(&path, text).unwrap();
    let fresh = Arc::new(SpoolBudget::new(dir.path().to_path_buf(), 1 << 20));
    let mut resumed = Outbox::resume(&path, fresh.clone()).unwrap();
    assert_eq!(drain(&mut resumed), names(1..5));
    assert_eq!(resumed.skipped, 1);
    assert!(!path.exists());
}

/// Two payloads in memory, three on disk behind them.
fn split_backlog(budget: &Arc<SpoolBudget>) -> Outbox {
    let mut o = Outbox::new("s1", 2 * 1512, budget.clone());
    for n in 0..5 {
        o.push(item(n)).unwrap();
    }
    o
}

fn line_len() -> u64 {
    serde_json::to_vec(&item(0)).unwrap().len() as u64 + 1
}

#[test]
fn a_persist_that_fails_keeps_every_item_already_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    // Room for the three spooled lines and one more: not for both payloads in memory.
    let budget = Arc::new(SpoolBudget::new(dir.path().to_path_buf(), 4 * line_len()));
    let mut o = split_backlog(&budget);
    assert!(matches!(o.persist(), Err(SpoolError::Full(_))));
    let path = dir.path().join("s1.jsonl");
    let fresh = Arc::new(SpoolBudget::new(dir.path().to_path_buf(), 1 << 20));
    assert_eq!(drain(&mut Outbox::resume(&path, fresh).unwrap()), names(2..5), "the spool file is untouched");
    assert_eq!(drain(&mut o), names(0..5), "and the outbox still holds everything, in order");
}

#[test]
fn a_persist_that_cannot_write_its_replacement_keeps_the_spool() {
    let dir = tempfile::tempdir().unwrap();
    let budget = Arc::new(SpoolBudget::new(dir.path().to_path_buf(), 1 << 20));
    let mut o = split_backlog(&budget);
    // The replacement is written beside the spool first; a directory in its place makes that fail.
    std::fs::create_dir(dir.path().join("s1.jsonl.new")).unwrap();
    assert!(matches!(o.persist(), Err(SpoolError::Io { .. })));
    let path = dir.path().join("s1.jsonl");
    let fresh = Arc::new(SpoolBudget::new(dir.path().to_path_buf(), 1 << 20));
    assert_eq!(drain(&mut Outbox::resume(&path, fresh).unwrap()), names(2..5));
    assert_eq!(drain(&mut o), names(0..5));
}

#[test]
fn persist_puts_memory_before_the_spooled_rest_and_keeps_the_budget_exact() {
    let dir = tempfile::tempdir().unwrap();
    let budget = Arc::new(SpoolBudget::new(dir.path().to_path_buf(), 1 << 20));
    let mut o = split_backlog(&budget);
    o.pop_front();
    o.persist().unwrap();
    o.persist().unwrap(); // nothing new in memory: a no-op
    assert_eq!(budget.used(), 4 * line_len());
    assert_eq!(drain(&mut o), names(1..5));
    assert_eq!(budget.used(), 0);
}

#[test]
fn audio_bytes_spool_as_base64_and_a_previous_release_spool_replays() {
    let dir = tempfile::tempdir().unwrap();
    let budget = Arc::new(SpoolBudget::new(dir.path().to_path_buf(), 1 << 20));
    let path = dir.path().join("s1.jsonl");
    // What the previous release wrote: the audio as `audio_b64` in the body.
    let earlier = r#"{"kind":"audio","body":{"audio_b64":"AAECAw==","call_id":"c1","chunk_id":"k0"}}"#;
    std::fs::write(&path, format!("{earlier}\n")).unwrap();
    let mut o = Outbox::resume(&path, budget.clone()).unwrap();
    let body = json!({"call_id": "c1", "chunk_id": "k1"}).as_object().unwrap().clone();
    o.push(Outgoing::audio(body, vec![4, 5, 6])).unwrap(); // behind the spooled line, so on disk too
    let written = std::fs::read_to_string(&path).unwrap();
    let second = r#"{"kind":"audio","body":{"audio_b64":"BAUG","call_id":"c1","chunk_id":"k1"}}"#;
    assert_eq!(written, format!("{earlier}\n{second}\n"), "the same line format as before");
    let mut seen = Vec::new();
    while let Some(i) = o.front().unwrap() {
        seen.push((i.body["chunk_id"].clone(), i.wire_body()["audio_b64"].clone()));
        o.pop_front();
    }
    assert_eq!(seen, [(json!("k0"), json!("AAECAw==")), (json!("k1"), json!("BAUG"))]);
}
