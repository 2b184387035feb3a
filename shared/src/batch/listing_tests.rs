use super::*;
use crate::batch::record::{BatchCall, CallOptions, Digest};
use crate::values::timestamps::parse_iso;

fn call(id: &str, day: &str, status: BatchStatus, digest: Option<Digest>) -> BatchCall {
    let at = parse_iso(&format!("{day}T10:00:00Z")).unwrap();
    let options = CallOptions { language_code: "en-IN".into(), stt_model: "whisper-1".into(), ..Default::default() };
    let mut c = BatchCall::new(id.into(), format!("{id}.wav"), String::new(), options, at);
    c.status = status;
    c.digest = digest;
    c.duration_seconds = Some(60.0);
    c
}

fn digest(topics: &[&str], sentiment: f64, resolution: &str, breach: bool) -> Option<Digest> {
    Some(Digest {
        topics: topics.iter().map(|t| t.to_string()).collect(),
        roles: vec!["Agent".into(), "Customer".into()],
        sentiment_overall: Some(sentiment),
        resolution_status: Some(resolution.into()),
        sla_breach: breach,
        talk_ratio: Some(0.4),
        interruptions: Some(1.0),
        empathy: Some(0.5),
        auto_tags: vec![],
    })
}

fn sample() -> Vec<BatchCall> {
    vec![
        call("c3", "2026-02-10", BatchStatus::Completed, digest(&["refund", "billing"], -0.5, "resolved", true)),
        call("c2", "2026-02-09", BatchStatus::Completed, digest(&["refund"], 0.25, "unresolved", false)),
        call("c1", "2026-02-01", BatchStatus::Failed, None),
    ]
}

fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn ids(f: &Filter) -> Vec<String> {
    sample().iter().filter(|c| f.matches(c)).map(|c| c.id.clone()).collect()
}

#[test]
fn the_dashboard_filters() {
    assert_eq!(ids(&Filter::from_query(&query(&[("status", "all")])).unwrap()), ["c3", "c2", "c1"]);
    assert_eq!(ids(&Filter::from_query(&query(&[("status", "Failed")])).unwrap()), ["c1"]);
    assert_eq!(
        ids(&Filter::from_query(&query(&[("date_from", "2026-02-09"), ("date_to", "2026-02-09")])).unwrap()),
        ["c2"]
    );
    assert_eq!(Filter::from_query(&query(&[("date_from", "not a date")])), Err(BadDate("date_from")));
    assert_eq!(ids(&Filter::from_query(&query(&[("date_to", " ")])).unwrap()), ["c3", "c2", "c1"]);
    assert_eq!(ids(&Filter::from_query(&query(&[("topic", "BILL")])).unwrap()), ["c3"]);
    assert_eq!(ids(&Filter::from_query(&query(&[("role", "customer")])).unwrap()), ["c3", "c2"]);
    assert_eq!(ids(&Filter::from_query(&query(&[("q", "C2.WAV")])).unwrap()), ["c2"]);
}

#[test]
fn pages_are_clamped() {
    let calls = sample();
    let (rows, page, pages) = paginate(&calls, 9, 2);
    assert_eq!((rows.len(), page, pages), (3, 1, 1), "page size 2 is not offered: 10 is used");
    let many: Vec<BatchCall> =
        (0..25).map(|i| call(&format!("x{i}"), "2026-02-10", BatchStatus::Queued, None)).collect();
    let (rows, page, pages) = paginate(&many, 7, 10);
    assert_eq!((rows.len(), page, pages, rows[0].id.as_str()), (5, 3, 3, "x20"));
}

#[test]
fn metrics_and_the_week() {
    let calls = sample();
    let m = metrics(&calls[..2], 3);
    assert_eq!((m["total"].as_u64(), m["completed"].as_u64(), m["total_all"].as_u64()), (Some(2), Some(2), Some(3)));
    assert_eq!((m["avg_duration"].as_f64(), m["top_model"].as_str()), (Some(60.0), Some("whisper-1")));
    let today = NaiveDate::from_ymd_opt(2026, 2, 10).unwrap();
    let d = daily_counts(&calls, today);
    assert_eq!(d["labels"][6], "Feb 10");
    assert_eq!(d["values"], json!([0, 0, 0, 0, 0, 1, 1]));
}

#[test]
fn insights_over_digests() {
    let today = NaiveDate::from_ymd_opt(2026, 2, 10).unwrap();
    let i = insights(&sample(), today);
    assert_eq!(i["topics"], json!({"labels": ["refund", "billing"], "values": [2, 1]}));
    assert_eq!(i["resolution_rate"], 50.0);
    assert_eq!(i["sla_breaches"], 1);
    assert_eq!(i["sentiment"]["labels"], json!(["2026-02-09", "2026-02-10"]));
    assert_eq!(i["sentiment"]["values"], json!([0.25, -0.5]));
    assert_eq!(i["topic_heatmap"]["rows"][0], json!({"topic": "refund", "levels": [0, 0, 0, 0, 0, 4, 4]}));
    assert_eq!(i["agent"]["talk_ratio"], 0.4);
}
