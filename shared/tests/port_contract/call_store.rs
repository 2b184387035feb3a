//! `CallStore` contract: conditional writes, idempotency, ordering, pagination, acknowledgement, live audio.

use serde_json::json;
use shared::ports::{AlertQuery, AppendOutcome, CallQuery, CallStore, CommitOutcome, EventCommit};
use shared::realtime::domain::{AlertType, CallState, NewAlert, NewEvent, Severity};
use shared::realtime::live_audio::{AudioFormat, ChunkRef, LiveAppend, LiveHead, TRIM_BATCH};
use shared::values::timestamps::{Timestamp, parse_iso};
use std::collections::BTreeMap;
use std::sync::Arc;

fn at(secs: u32) -> Timestamp {
    parse_iso("2026-02-10T10:00:00Z").unwrap() + chrono::Duration::seconds(i64::from(secs))
}

pub fn state(call_id: &str, updated: u32) -> CallState {
    CallState {
        call_id: call_id.into(),
        provider: "genesys".into(),
        status: "active".into(),
        created_at: at(0),
        updated_at: at(updated),
        agent_id: Some("agent-7".into()),
        customer_id: None,
        last_speaker: Some("customer".into()),
        last_text: "héllo — ünïcode".into(),
        sentiment_score: -0.123456789,
        sentiment_samples: 3,
        risk_score: 0.7444,
        risk_updated_at: Some(at(updated)),
        metadata: json!({"queue": "billing", "metrics": {"dead_air_seconds": 4}}).as_object().unwrap().clone(),
        last_alert_at: BTreeMap::from([(AlertType::DeadAir, at(1)), (AlertType::HighRiskScore, at(2))]),
        last_alert_severity: BTreeMap::from([(AlertType::DeadAir, Severity::Medium)]),
        dead_air_counted_seconds: 21.5,
        event_count: 9,
    }
}

fn event(occurred: u32, text: &str) -> NewEvent {
    NewEvent {
        occurred_at: at(occurred),
        event_type: "transcript".into(),
        speaker: Some("agent".into()),
        text: text.into(),
        sentiment: Some(0.25),
        confidence: None,
        metadata: json!({"n": occurred}).as_object().unwrap().clone(),
    }
}

fn alert(kind: AlertType, created: u32) -> NewAlert {
    NewAlert {
        alert_type: kind,
        severity: Severity::High,
        message: format!("{} at {created}", kind.as_str()),
        created_at: at(created),
        metadata: json!({"k": 1}).as_object().unwrap().clone(),
    }
}

/// A commit of `s`; `expected` is the (version, updated_at) it was computed from (`None`: a new call).
fn commit(s: CallState, expected: Option<(u64, Timestamp)>, key: Option<&str>) -> EventCommit {
    EventCommit {
        state: s,
        expected_version: expected.map(|e| e.0),
        previous_updated_at: expected.map(|e| e.1),
        event: None,
        alerts: vec![],
        idempotency_key: key.map(str::to_string),
    }
}

/// The stored (version, updated_at) of a call.
async fn current(store: &Arc<dyn CallStore>, call_id: &str) -> (u64, Timestamp) {
    let v = store.load_call(call_id, None).await.unwrap().state.expect("call exists");
    (v.version, v.value.updated_at)
}

/// A version that is not the stored one.
fn stale((v, t): (u64, Timestamp)) -> Option<(u64, Timestamp)> {
    Some((v + 100, t))
}

pub async fn conditional_writes(store: Arc<dyn CallStore>) {
    let loaded = store.load_call("cw-1", None).await.unwrap();
    assert!(loaded.state.is_none() && !loaded.duplicate);
    assert!(matches!(
        store.commit_event(commit(state("cw-1", 1), None, None)).await.unwrap(),
        CommitOutcome::Applied { .. }
    ));
    let v1 = current(&store, "cw-1").await;
    assert_eq!(store.commit_event(commit(state("cw-1", 2), None, None)).await.unwrap(), CommitOutcome::Conflict);
    assert_eq!(store.commit_event(commit(state("cw-1", 2), stale(v1), None)).await.unwrap(), CommitOutcome::Conflict);
    assert!(matches!(
        store.commit_event(commit(state("cw-1", 3), Some(v1), None)).await.unwrap(),
        CommitOutcome::Applied { .. }
    ));
    let after = store.load_call("cw-1", None).await.unwrap().state.unwrap();
    assert_ne!(after.version, v1.0);
    assert_eq!(after.value, state("cw-1", 3), "every field round-trips");
    assert_eq!(store.commit_event(commit(state("cw-1", 4), Some(v1), None)).await.unwrap(), CommitOutcome::Conflict);
}

pub async fn idempotency(store: Arc<dyn CallStore>) {
    store.commit_event(commit(state("id-1", 1), None, Some("k"))).await.unwrap();
    let v = current(&store, "id-1").await;
    assert_eq!(
        store.commit_event(commit(state("id-1", 2), Some(v), Some("k"))).await.unwrap(),
        CommitOutcome::Duplicate
    );
    assert!(store.load_call("id-1", Some("k")).await.unwrap().duplicate);
    assert!(!store.load_call("id-1", Some("other")).await.unwrap().duplicate);
    // Keys are per call.
    assert!(matches!(
        store.commit_event(commit(state("id-2", 1), None, Some("k"))).await.unwrap(),
        CommitOutcome::Applied { .. }
    ));
    // A conflicting commit must not consume its key.
    assert_eq!(
        store.commit_event(commit(state("id-1", 3), stale(v), Some("k2"))).await.unwrap(),
        CommitOutcome::Conflict
    );
    assert!(!store.load_call("id-1", Some("k2")).await.unwrap().duplicate);
    assert!(matches!(
        store.commit_event(commit(state("id-1", 3), Some(v), Some("k2"))).await.unwrap(),
        CommitOutcome::Applied { .. }
    ));
}

/// Commits arriving together each stand alone, whatever the store does to serve them together (the embedded
/// store commits them in one transaction): of racing commits on one version exactly one applies, a lost race
/// consumes no key and stores no event, a repeated key applies once, and the commits of other calls all apply.
pub async fn concurrent_commits(store: Arc<dyn CallStore>) {
    store.commit_event(commit(state("cc-race", 1), None, None)).await.unwrap();
    let v = current(&store, "cc-race").await;
    let racing = (0..6u32).map(|i| {
        let mut c = commit(state("cc-race", 2 + i), Some(v), Some(&format!("race-{i}")));
        c.event = Some(event(2 + i, &format!("race {i}")));
        c.alerts = vec![alert(AlertType::DeadAir, 2 + i)];
        store.commit_event(c)
    });
    let repeated = (0..4u32).map(|i| {
        let mut c = commit(state("cc-key", 1 + i), None, Some("same"));
        c.event = Some(event(1 + i, "same key"));
        store.commit_event(c)
    });
    let others = (0..10u32).map(|i| {
        let mut c = commit(state(&format!("cc-other-{i}"), 1), None, Some("k"));
        c.event = Some(event(1, "other"));
        store.commit_event(c)
    });
    let (racing, repeated, others) = tokio::join!(
        futures_util::future::join_all(racing),
        futures_util::future::join_all(repeated),
        futures_util::future::join_all(others)
    );
    let applied =
        |outcomes: &[CommitOutcome]| outcomes.iter().filter(|o| matches!(o, CommitOutcome::Applied { .. })).count();
    let racing: Vec<CommitOutcome> = racing.into_iter().map(Result::unwrap).collect();
    assert_eq!(applied(&racing), 1, "{racing:?}");
    assert!(racing.iter().all(|o| matches!(o, CommitOutcome::Applied { .. } | CommitOutcome::Conflict)));
    let winner = racing.iter().position(|o| matches!(o, CommitOutcome::Applied { .. })).unwrap();
    for i in 0..6 {
        let used = store.load_call("cc-race", Some(&format!("race-{i}"))).await.unwrap().duplicate;
        assert_eq!(used, i == winner, "only the applied commit's key is used");
    }
    let texts: Vec<String> =
        store.recent_events("cc-race", 10).await.unwrap().into_iter().map(|e| e.event.text).collect();
    assert_eq!(texts, [format!("race {winner}")]);
    assert_eq!(store.recent_alerts("cc-race", 10).await.unwrap().len(), 1);
    let repeated: Vec<CommitOutcome> = repeated.into_iter().map(Result::unwrap).collect();
    assert_eq!(applied(&repeated), 1, "{repeated:?}");
    assert_eq!(store.recent_events("cc-key", 10).await.unwrap().len(), 1);
    for (i, outcome) in others.into_iter().enumerate() {
        assert!(matches!(outcome.unwrap(), CommitOutcome::Applied { event: Some(_), .. }));
        assert_eq!(store.recent_events(&format!("cc-other-{i}"), 10).await.unwrap().len(), 1);
    }
}

pub async fn events_and_alerts(store: Arc<dyn CallStore>) {
    let mut c = commit(state("ea-1", 1), None, None);
    c.event = Some(event(50, "late"));
    c.alerts = vec![alert(AlertType::NegativeSentiment, 1), alert(AlertType::EscalationKeyword, 1)];
    let CommitOutcome::Applied { event: Some(stored), alerts } = store.commit_event(c).await.unwrap() else {
        panic!("not applied")
    };
    assert_eq!(alerts.len(), 2);
    for a in &alerts {
        assert_eq!(a.call_id, "ea-1");
        assert_eq!(a.alert.metadata["event_id"], json!(stored.id), "alerts link to their event row");
        assert!(a.acknowledged_at.is_none());
    }
    let mut v = current(&store, "ea-1").await;
    for (i, t) in [10u32, 30, 20].into_iter().enumerate() {
        let mut c = commit(state("ea-1", 2 + i as u32), Some(v), None);
        c.event = Some(event(t, &format!("at {t}")));
        c.alerts = vec![alert(AlertType::DeadAir, 10 + t)];
        store.commit_event(c).await.unwrap();
        v = current(&store, "ea-1").await;
    }
    // A commit without an event row still stores its alerts.
    let mut c = commit(state("ea-1", 9), Some(v), None);
    c.alerts = vec![alert(AlertType::HighRiskScore, 99)];
    let CommitOutcome::Applied { event: None, alerts } = store.commit_event(c).await.unwrap() else {
        panic!("expected no event")
    };
    assert_eq!(alerts[0].alert.metadata.get("event_id"), None);

    let texts: Vec<String> = store.recent_events("ea-1", 3).await.unwrap().into_iter().map(|e| e.event.text).collect();
    assert_eq!(texts, ["at 20", "at 30", "late"], "newest 3 by occurred_at, oldest first");
    let recent = store.recent_alerts("ea-1", 2).await.unwrap();
    assert_eq!(recent.iter().map(|a| a.alert.created_at).collect::<Vec<_>>(), [at(99), at(40)]);
    assert!(store.recent_events("nobody", 5).await.unwrap().is_empty());
}

pub async fn alert_listing_and_ack(store: Arc<dyn CallStore>) {
    let mut c = commit(state("ak-1", 1), None, None);
    c.alerts = vec![alert(AlertType::DeadAir, 500), alert(AlertType::EscalationKeyword, 501)];
    let CommitOutcome::Applied { alerts, .. } = store.commit_event(c).await.unwrap() else { panic!() };
    let (first, second) = (alerts[0].id, alerts[1].id);
    assert!(store.acknowledge_alert(i64::MAX, at(600)).await.unwrap().is_none());
    let (acked, changed) = store.acknowledge_alert(first, at(600)).await.unwrap().unwrap();
    assert!(changed);
    assert_eq!(acked.acknowledged_at, Some(at(600)));
    let (again, changed) = store.acknowledge_alert(first, at(700)).await.unwrap().unwrap();
    assert!(!changed);
    assert_eq!(again.acknowledged_at, Some(at(600)), "the first acknowledgement time stays");

    let q = |open_only, limit| AlertQuery { call_id: Some("ak-1".into()), open_only, limit };
    let ids = |v: Vec<shared::realtime::domain::Alert>| v.into_iter().map(|a| a.id).collect::<Vec<_>>();
    assert_eq!(ids(store.list_alerts(&q(false, 10)).await.unwrap()), [second, first]);
    assert_eq!(ids(store.list_alerts(&q(true, 10)).await.unwrap()), [second]);
    assert_eq!(ids(store.list_alerts(&q(false, 1)).await.unwrap()), [second]);
}

pub async fn call_listing(store: Arc<dyn CallStore>) {
    for i in 0..7u32 {
        let mut s = state(&format!("ls-{i}"), 1000 + i);
        s.status = if i % 3 == 0 { "ended".into() } else { "active".into() };
        store.commit_event(commit(s, None, None)).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.list_calls(&CallQuery { status: None, limit: 3, cursor }).await.unwrap();
        assert!(page.calls.len() <= 3);
        seen.extend(page.calls.into_iter().map(|c| c.call_id).filter(|id| id.starts_with("ls-")));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, (0..7).rev().map(|i| format!("ls-{i}")).collect::<Vec<_>>(), "newest first, each once");
    let ended = store.list_calls(&CallQuery { status: Some("ended".into()), limit: 50, cursor: None }).await.unwrap();
    let ended: Vec<String> = ended.calls.into_iter().map(|c| c.call_id).filter(|id| id.starts_with("ls-")).collect();
    assert_eq!(ended, ["ls-6", "ls-3", "ls-0"]);
}

const STEREO8K: AudioFormat = AudioFormat { sample_rate: 8000, channels: 2, sample_width: 2 };

/// Appends a one-second chunk to `call_id`'s window as the service does (read the head, plan, read the oldest
/// entries when the window is full, commit); returns what was written and the outcome.
pub async fn append_second(
    store: &dyn CallStore,
    call_id: &str,
    chunk_id: Option<&str>,
    occurred: u32,
    window_seconds: u32,
) -> (LiveAppend, AppendOutcome) {
    let loaded = store.load_live_audio(call_id, chunk_id).await.unwrap();
    let version = loaded.head.as_ref().map(|v| v.version);
    let head = loaded.head.map_or_else(|| LiveHead::new(call_id), |v| v.value);
    let entry = head.plan(chunk_id, STEREO8K, 32_000, at(occurred)).unwrap();
    let oldest = if head.needs_trim(&entry, STEREO8K, window_seconds) {
        store.live_audio_chunks(call_id, TRIM_BATCH).await.unwrap()
    } else {
        Vec::new()
    };
    let append = head.commit(entry, STEREO8K, &oldest, version, window_seconds, at(occurred));
    let outcome = store.append_live_audio(&append).await.unwrap();
    (append, outcome)
}

fn ids(chunks: &[ChunkRef]) -> Vec<&str> {
    chunks.iter().map(|c| c.id.as_str()).collect()
}

/// The window's head is versioned, entries come back in playing order (timestamp, then arrival), a chunk id
/// is stored once, and entries that leave the window are gone.
pub async fn live_audio_state(store: Arc<dyn CallStore>) {
    let empty = store.load_live_audio("lv-1", Some("c1")).await.unwrap();
    assert!(empty.head.is_none() && !empty.duplicate);
    assert!(store.live_audio_chunks("lv-1", 10).await.unwrap().is_empty());

    let (first, outcome) = append_second(store.as_ref(), "lv-1", Some("c1"), 5, 300).await;
    assert_eq!(outcome, AppendOutcome::Applied);
    let loaded = store.load_live_audio("lv-1", Some("c1")).await.unwrap();
    assert!(loaded.duplicate, "the chunk id is in the window");
    assert_eq!(loaded.head.as_ref().map(|h| &h.value), Some(&first.head));
    assert!(!store.load_live_audio("lv-1", Some("c2")).await.unwrap().duplicate);
    assert_eq!(store.append_live_audio(&first).await.unwrap(), AppendOutcome::Duplicate, "the same chunk again");
    let mut stale = first.clone();
    stale.entry = None;
    assert_eq!(store.append_live_audio(&stale).await.unwrap(), AppendOutcome::Conflict, "create twice");
    stale.expected_version = Some(loaded.head.unwrap().version + 100);
    assert_eq!(store.append_live_audio(&stale).await.unwrap(), AppendOutcome::Conflict, "stale version");

    // Arrival order is not playing order: an earlier chunk arriving later plays first.
    assert_eq!(append_second(store.as_ref(), "lv-1", Some("c0"), 2, 300).await.1, AppendOutcome::Applied);
    assert_eq!(append_second(store.as_ref(), "lv-1", None, 9, 300).await.1, AppendOutcome::Applied);
    let window = store.live_audio_chunks("lv-1", 10).await.unwrap();
    assert_eq!(ids(&window)[..2], ["c0", "c1"]);
    assert_eq!(window.len(), 3);
    assert_eq!(ids(&store.live_audio_chunks("lv-1", 1).await.unwrap()), ["c0"], "the oldest first, bounded");
    let head = store.load_live_audio("lv-1", None).await.unwrap().head.unwrap();
    assert_eq!((head.value.chunk_count, head.value.total_frames), (3, 24_000));

    // A 4 s window: each second from now on pushes the oldest out, and its chunk id is free again.
    let mut dropped = Vec::new();
    for (i, occurred) in (10..14).enumerate() {
        let (append, outcome) = append_second(store.as_ref(), "lv-1", Some(&format!("d{i}")), occurred, 4).await;
        assert_eq!(outcome, AppendOutcome::Applied);
        dropped.extend(append.dropped);
    }
    assert_eq!(ids(&dropped)[..2], ["c0", "c1"]);
    assert_eq!(ids(&store.live_audio_chunks("lv-1", 10).await.unwrap()), ["d0", "d1", "d2", "d3"]);
    assert!(!store.load_live_audio("lv-1", Some("c1")).await.unwrap().duplicate, "dropped chunks are gone");
    assert_eq!(store.load_live_audio("lv-1", None).await.unwrap().head.unwrap().value.chunk_count, 4);
}

pub async fn idle_and_purge(store: Arc<dyn CallStore>) {
    for (id, updated, status) in [("rt-old", 10, "active"), ("rt-ended", 20, "ended"), ("rt-new", 5000, "active")] {
        let mut s = state(id, updated);
        s.status = status.into();
        let mut c = commit(s, None, Some("k"));
        c.event = Some(event(updated, "x"));
        c.alerts = vec![alert(AlertType::DeadAir, updated)];
        store.commit_event(c).await.unwrap();
    }
    assert_eq!(append_second(store.as_ref(), "rt-old", Some("c1"), 10, 300).await.1, AppendOutcome::Applied);

    let idle = store.idle_calls(at(1000), 10).await.unwrap();
    assert_eq!(
        idle.iter().filter(|id| id.starts_with("rt-")).collect::<Vec<_>>(),
        ["rt-old"],
        "terminal and recent calls are not idle"
    );

    let purged = store.purge_calls(at(1000), 10).await.unwrap();
    let mut ids: Vec<&str> = purged.iter().map(|p| p.call_id.as_str()).filter(|id| id.starts_with("rt-")).collect();
    ids.sort();
    assert_eq!(ids, ["rt-ended", "rt-old"]);
    for id in ["rt-old", "rt-ended"] {
        let loaded = store.load_call(id, Some("k")).await.unwrap();
        assert!(loaded.state.is_none() && !loaded.duplicate, "{id}: state and idempotency keys gone");
        assert!(store.recent_events(id, 10).await.unwrap().is_empty());
        assert!(store.recent_alerts(id, 10).await.unwrap().is_empty());
        let live = store.load_live_audio(id, Some("c1")).await.unwrap();
        assert!(live.head.is_none() && !live.duplicate, "{id}: live-audio head and entries gone");
        assert!(store.live_audio_chunks(id, 10).await.unwrap().is_empty());
    }
    assert!(store.load_call("rt-new", None).await.unwrap().state.is_some());
    assert!(store.purge_calls(at(1000), 10).await.unwrap().iter().all(|p| !p.call_id.starts_with("rt-")));
}
