//! The dashboard over batch calls: filters, pagination, the metrics block, the
//! seven-day chart and the insights. Pure functions over records; the digest on each record replaces the
//! seed's per-request read of every `analysis.json`.

use super::record::{BatchCall, BatchStatus};
use chrono::{Duration, NaiveDate};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// Page sizes the dashboard offers; anything else becomes the first.
pub const PAGE_SIZES: [usize; 3] = [10, 20, 50];

/// The dashboard's query (`q`, `status`, `date_from`, `date_to`, `topic`, `role`, `page`, `page_size`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub q: Option<String>,
    pub status: Option<String>,
    pub date_from: Option<NaiveDate>,
    pub date_to: Option<NaiveDate>,
    pub topic: Option<String>,
    pub role: Option<String>,
}

fn non_empty(v: Option<&String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// A date filter that is neither empty nor a date (the seed ignored it and showed every call).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} must be a date (YYYY-MM-DD)")]
pub struct BadDate(pub &'static str);

/// `YYYY-MM-DD` (a longer ISO time is cut to its date, as the seed did); empty is no filter.
fn date(q: &HashMap<String, String>, key: &'static str) -> Result<Option<NaiveDate>, BadDate> {
    match non_empty(q.get(key)) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s.get(..10).unwrap_or(&s), "%Y-%m-%d").map(Some).map_err(|_| BadDate(key)),
    }
}

impl Filter {
    /// From query parameters: `status=all` and empty values are no filter; a date that is not one is refused.
    pub fn from_query(q: &HashMap<String, String>) -> Result<Self, BadDate> {
        Ok(Self {
            q: non_empty(q.get("q")).map(|s| s.to_lowercase()),
            status: non_empty(q.get("status")).map(|s| s.to_lowercase()).filter(|s| s != "all"),
            date_from: date(q, "date_from")?,
            date_to: date(q, "date_to")?,
            topic: non_empty(q.get("topic")).map(|s| s.to_lowercase()),
            role: non_empty(q.get("role")).map(|s| s.to_lowercase()),
        })
    }

    pub fn matches(&self, c: &BatchCall) -> bool {
        let day = c.created_at.date_naive();
        let digest = c.digest.clone().unwrap_or_default();
        self.status.as_ref().is_none_or(|s| c.status.as_str() == s)
            && self.date_from.is_none_or(|d| day >= d)
            && self.date_to.is_none_or(|d| day <= d)
            && self.q.as_ref().is_none_or(|q| {
                let hay = format!(
                    "{} {} {} {} {}",
                    c.id,
                    c.filename,
                    c.options.language_code,
                    c.options.stt_model,
                    c.status.as_str()
                );
                hay.to_lowercase().contains(q)
            })
            && self.topic.as_ref().is_none_or(|t| digest.topics.iter().any(|x| x.to_lowercase().contains(t)))
            && self.role.as_ref().is_none_or(|r| digest.roles.iter().any(|x| x.to_lowercase() == *r))
    }
}

/// One page of `calls` (already filtered, newest first): `page` clamped to [1, total_pages].
pub fn paginate(calls: &[BatchCall], page: usize, page_size: usize) -> (Vec<BatchCall>, usize, usize) {
    let size = if PAGE_SIZES.contains(&page_size) { page_size } else { PAGE_SIZES[0] };
    let pages = calls.len().div_ceil(size).max(1);
    let page = page.clamp(1, pages);
    (calls.iter().skip((page - 1) * size).take(size).cloned().collect(), page, pages)
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

fn most_common<'a>(values: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for v in values.filter(|v| !v.is_empty()) {
        *counts.entry(v).or_default() += 1;
    }
    counts.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0))).map(|(v, _)| v.to_string())
}

/// The metrics block over `filtered`; `total_all` counts every call.
pub fn metrics(filtered: &[BatchCall], total_all: usize) -> Value {
    let count = |s: &[BatchStatus]| filtered.iter().filter(|c| s.contains(&c.status)).count();
    let durations: Vec<f64> = filtered.iter().filter_map(|c| c.duration_seconds).filter(|d| *d > 0.0).collect();
    let avg = (!durations.is_empty()).then(|| round(durations.iter().sum::<f64>() / durations.len() as f64, 2));
    json!({
        "total": filtered.len(),
        "completed": count(&[BatchStatus::Completed]),
        "processing": count(&[BatchStatus::Queued, BatchStatus::Processing]),
        "failed": count(&[BatchStatus::Failed]),
        "avg_duration": avg,
        "top_model": most_common(filtered.iter().map(|c| c.options.stt_model.as_str())),
        "top_language": most_common(filtered.iter().map(|c| c.options.language_code.as_str())),
        "recent_count": filtered.len().min(10),
        "total_all": total_all,
    })
}

/// The last seven UTC days ending `today`, oldest first.
fn last_week(today: NaiveDate) -> Vec<NaiveDate> {
    (0..7).rev().map(|i| today - Duration::days(i)).collect()
}

/// `/api/metrics`: calls created on each of the last seven days (`labels` like `Feb 10`).
pub fn daily_counts(calls: &[BatchCall], today: NaiveDate) -> Value {
    let days = last_week(today);
    let values: Vec<usize> =
        days.iter().map(|d| calls.iter().filter(|c| c.created_at.date_naive() == *d).count()).collect();
    json!({"labels": days.iter().map(|d| d.format("%b %d").to_string()).collect::<Vec<_>>(), "values": values})
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| round(values.iter().sum::<f64>() / values.len() as f64, 2))
}

/// Heat level 0–4 of `count` against its row's maximum.
fn level(count: usize, max: usize) -> u8 {
    let ratio = if max == 0 { 0.0 } else { count as f64 / max as f64 };
    [0.8, 0.6, 0.4, 0.2].iter().position(|t| ratio >= *t).map_or(0, |i| 4 - i as u8)
}

/// `/api/insights` over `filtered`: sentiment per day, top topics, the topic heatmap, resolution rate,
/// SLA breaches and the agent means.
pub fn insights(filtered: &[BatchCall], today: NaiveDate) -> Value {
    let digests: Vec<(&BatchCall, &super::record::Digest)> =
        filtered.iter().filter_map(|c| c.digest.as_ref().map(|d| (c, d))).collect();
    let mut by_day: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut topic_counts: HashMap<&str, usize> = HashMap::new();
    for (c, d) in &digests {
        if let Some(s) = d.sentiment_overall {
            by_day.entry(c.created_at.format("%Y-%m-%d").to_string()).or_default().push(s);
        }
        for t in &d.topics {
            *topic_counts.entry(t.as_str()).or_default() += 1;
        }
    }
    let mut top: Vec<(&str, usize)> = topic_counts.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    top.truncate(8);
    let days = last_week(today);
    let rows: Vec<Value> = top
        .iter()
        .map(|(topic, _)| {
            let counts: Vec<usize> = days
                .iter()
                .map(|day| {
                    digests
                        .iter()
                        .filter(|(c, d)| c.created_at.date_naive() == *day && d.topics.iter().any(|t| t == topic))
                        .count()
                })
                .collect();
            let max = counts.iter().copied().max().unwrap_or(0);
            json!({"topic": topic, "levels": counts.iter().map(|n| level(*n, max)).collect::<Vec<_>>()})
        })
        .collect();
    let statuses: Vec<&str> =
        digests.iter().filter_map(|(_, d)| d.resolution_status.as_deref()).filter(|s| !s.is_empty()).collect();
    let resolved = statuses.iter().filter(|s| s.eq_ignore_ascii_case("resolved")).count();
    let rate = (!statuses.is_empty()).then(|| round(resolved as f64 * 100.0 / statuses.len() as f64, 1));
    let agent = |f: fn(&super::record::Digest) -> Option<f64>| {
        mean(&digests.iter().filter_map(|(_, d)| f(d)).collect::<Vec<_>>())
    };
    json!({
        "sentiment": {
            "labels": by_day.keys().collect::<Vec<_>>(),
            "values": by_day.values().map(|v| mean(v)).collect::<Vec<_>>(),
        },
        "topics": {"labels": top.iter().map(|t| t.0).collect::<Vec<_>>(), "values": top.iter().map(|t| t.1).collect::<Vec<_>>()},
        "topic_heatmap": {"days": days.iter().map(|d| d.format("%Y-%m-%d").to_string()).collect::<Vec<_>>(), "rows": rows},
        "resolution_rate": rate,
        "sla_breaches": digests.iter().filter(|(_, d)| d.sla_breach).count(),
        "agent": {
            "talk_ratio": agent(|d| d.talk_ratio),
            "interruptions": agent(|d| d.interruptions),
            "empathy": agent(|d| d.empathy),
        },
    })
}

#[cfg(test)]
#[path = "listing_tests.rs"]
mod tests;
