use super::*;
use crate::import_django::row::Cell;
use shared::values::timestamps::parse_iso;

fn row(pairs: &[(&str, Cell)]) -> Row {
    Row::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
}

fn text(s: &str) -> Cell {
    Cell::Text(s.into())
}

fn call_row() -> Row {
    row(&[
        ("call_id", text("c-1")),
        ("created_at", text("2026-02-10 10:00:00")),
        ("updated_at", Cell::Null),
        ("sentiment_score", Cell::Real(-2.5)),
        ("risk_score", Cell::Real(0.5)),
        ("metadata", text("{}")),
    ])
}

fn alert_row(id: i64, kind: &str, at: &str, acknowledged: i64, event_id: i64) -> Row {
    row(&[
        ("id", Cell::Int(id)),
        ("alert_type", text(kind)),
        ("severity", text("medium")),
        ("created_at", text(at)),
        ("acknowledged", Cell::Int(acknowledged)),
        ("metadata", Cell::Text(format!(r#"{{"event_id":{event_id}}}"#))),
    ])
}

#[test]
fn alerts_go_with_the_event_that_raised_them_and_set_the_cooldowns() {
    let event =
        row(&[("id", Cell::Int(7)), ("occurred_at", text("2026-02-10 10:00:01")), ("sentiment", Cell::Real(-0.9))]);
    let alerts =
        [alert_row(1, "dead_air", "2026-02-10 10:00:01", 1, 7), alert_row(2, "dead_air", "2026-02-10 10:03:00", 0, 99)];
    let (plan, skipped) = realtime_call(&call_row(), &[event], &alerts).unwrap();
    assert!(skipped.is_empty());
    assert_eq!(plan.events[0].alerts.len(), 1);
    assert_eq!(plan.events[0].alerts[0].acknowledged_at, parse_iso("2026-02-10T10:00:01Z"), "no time: its creation");
    assert!(!plan.events[0].alerts[0].alert.metadata.contains_key("event_id"));
    assert_eq!(plan.loose_alerts.len(), 1);
    assert_eq!(plan.state.last_alert_at[&AlertType::DeadAir], parse_iso("2026-02-10T10:03:00Z").unwrap());
    assert_eq!((plan.state.sentiment_score, plan.state.sentiment_samples), (-1.0, 1));
    assert_eq!(plan.state.updated_at, plan.state.created_at, "a NULL updated_at is the creation time");
    assert_eq!(plan.state.risk_updated_at, None, "the stored risk is shown undecayed");
}

#[test]
fn a_call_is_expired_only_past_a_retention_that_is_set() {
    let (plan, _) = realtime_call(&call_row(), &[], &[]).unwrap();
    let later = |days| plan.state.updated_at + chrono::Duration::days(days);
    assert!(expired(&plan.state, later(91), 90));
    assert!(!expired(&plan.state, later(89), 90));
    assert!(!expired(&plan.state, later(10_000), 0));
}

#[test]
fn batch_files_are_looked_for_where_stored_then_where_the_old_system_put_them() {
    let r = row(&[
        ("id", text("20260210101520123456")),
        ("filename", text("a b.wav")),
        ("storage_path", text("data/uploads/20260210101520123456_a b.wav")),
        ("status", text("completed")),
        ("created_at", text("2026-02-10 10:15:20.123456")),
        ("analysis_json_path", text("/elsewhere/analysis.json")),
        ("num_speakers", Cell::Int(-1)),
    ]);
    let plan = batch_call(&r, Path::new("/old")).unwrap();
    assert_eq!(plan.call.upload_key, "uploads/20260210101520123456/a_b.wav");
    assert_eq!(plan.upload.candidates, [PathBuf::from("/old/data/uploads/20260210101520123456_a b.wav")]);
    let analysis = plan.artifacts.iter().find(|a| a.key.ends_with("/analysis.json")).unwrap();
    assert_eq!(
        analysis.candidates,
        [
            PathBuf::from("/elsewhere/analysis.json"),
            PathBuf::from("/old/data/outputs/20260210101520123456/analysis.json")
        ]
    );
    assert_eq!((plan.call.status, plan.call.progress, plan.call.attempts), (BatchStatus::Completed, 100, 1));
    assert_eq!(plan.call.options.num_speakers, None);
    let unknown = row(&[("id", text("1")), ("status", text("done")), ("created_at", text("2026-02-10 10:15:20"))]);
    assert_eq!(batch_call(&unknown, Path::new("/old")).unwrap_err(), "unknown status \"done\"");
}
