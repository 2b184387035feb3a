//! CloudWatch Embedded Metric Format documents (pure): a flush's readings packed into JSON log lines
//! CloudWatch Logs turns into metrics. One document holds one set of dimension values, each metric name at
//! most once and at most [`MAX_METRICS`] of them; a histogram's samples go as arrays of at most
//! [`MAX_VALUES`]. Every series carries the `Service` dimension alone (what alarms and autoscaling use), and
//! a labelled one also `Service` with its labels (the breakdown).

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Metrics one EMF document may declare.
pub const MAX_METRICS: usize = 100;
/// Values one metric may carry in one document.
pub const MAX_VALUES: usize = 100;
/// The dimension every metric carries: the function's or container's role.
pub const SERVICE: &str = "Service";

/// What one series holds at a flush.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// A counter's increase since the last flush, or a gauge's value.
    Number(f64),
    /// A histogram's samples since the last flush.
    Samples(Vec<f64>),
}

/// One series at a flush: its name, labels (sorted by key) and reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub reading: Reading,
}

/// Where the documents go in CloudWatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub namespace: String,
    pub service: String,
}

/// One metric value in a document.
struct Entry {
    name: String,
    value: Value,
}

/// The documents of one flush at `timestamp_ms`. Histograms without samples are left out: an empty array
/// is no value at all.
pub fn documents(target: &Target, timestamp_ms: i64, series: Vec<Series>) -> Vec<Value> {
    let mut groups: BTreeMap<Vec<(String, String)>, Vec<Entry>> = BTreeMap::new();
    for s in series {
        let entries = groups.entry(s.labels).or_default();
        match s.reading {
            Reading::Number(v) => entries.push(Entry { name: s.name, value: json!(v) }),
            Reading::Samples(values) => {
                for chunk in values.chunks(MAX_VALUES) {
                    entries.push(Entry { name: s.name.clone(), value: json!(chunk) });
                }
            }
        }
    }
    let mut out = Vec::new();
    for (labels, entries) in groups {
        for packed in pack(entries) {
            out.push(document(target, timestamp_ms, &labels, packed));
        }
    }
    out
}

/// Entries into documents: each name once per document, at most [`MAX_METRICS`] names.
fn pack(entries: Vec<Entry>) -> Vec<Vec<Entry>> {
    let mut docs: Vec<Vec<Entry>> = Vec::new();
    for entry in entries {
        let room = docs.iter().position(|d| d.len() < MAX_METRICS && d.iter().all(|e| e.name != entry.name));
        match room {
            Some(i) => docs[i].push(entry),
            None => docs.push(vec![entry]),
        }
    }
    docs
}

fn document(target: &Target, timestamp_ms: i64, labels: &[(String, String)], entries: Vec<Entry>) -> Value {
    let mut dimensions = vec![json!([SERVICE])];
    if !labels.is_empty() {
        let mut set = vec![SERVICE.to_string()];
        set.extend(labels.iter().map(|(k, _)| k.clone()));
        dimensions.push(json!(set));
    }
    let metrics: Vec<Value> =
        entries.iter().map(|e| json!({"Name": e.name, "Unit": super::names::unit_of(&e.name)})).collect();
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({"Timestamp": timestamp_ms, "CloudWatchMetrics": [{
            "Namespace": target.namespace, "Dimensions": dimensions, "Metrics": metrics,
        }]}),
    );
    root.insert(SERVICE.into(), json!(target.service));
    for (k, v) in labels {
        root.insert(k.clone(), json!(v));
    }
    for e in entries {
        root.insert(e.name, e.value);
    }
    Value::Object(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target { namespace: "CallAnalytics".into(), service: "listener".into() }
    }

    fn number(name: &str, labels: &[(&str, &str)], v: f64) -> Series {
        let labels = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Series { name: name.into(), labels, reading: Reading::Number(v) }
    }

    #[test]
    fn a_labelled_series_is_under_service_alone_and_with_its_labels() {
        let docs = documents(&target(), 7, vec![number("a_total", &[("outcome", "accepted")], 3.0)]);
        assert_eq!(docs.len(), 1);
        let d = &docs[0];
        assert_eq!(d["_aws"]["Timestamp"], 7);
        let directive = &d["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "CallAnalytics");
        assert_eq!(directive["Dimensions"], json!([["Service"], ["Service", "outcome"]]));
        assert_eq!(directive["Metrics"], json!([{"Name": "a_total", "Unit": "Count"}]));
        assert_eq!(
            (d["Service"].clone(), d["outcome"].clone(), d["a_total"].clone()),
            (json!("listener"), json!("accepted"), json!(3.0))
        );
    }

    #[test]
    fn label_sets_get_their_own_documents_and_unlabelled_ones_share_one() {
        let docs = documents(
            &target(),
            0,
            vec![
                number("a_total", &[("outcome", "accepted")], 1.0),
                number("a_total", &[("outcome", "failed")], 2.0),
                number("b_bytes", &[], 5.0),
                number("c_seconds", &[], 6.0),
            ],
        );
        assert_eq!(docs.len(), 3);
        let plain = docs.iter().find(|d| d.get("outcome").is_none()).unwrap();
        assert_eq!(plain["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["Service"]]));
        assert_eq!((plain["b_bytes"].clone(), plain["c_seconds"].clone()), (json!(5.0), json!(6.0)));
    }

    #[test]
    fn past_a_hundred_metrics_or_values_a_document_is_split() {
        let many: Vec<Series> = (0..250).map(|i| number(&format!("m{i}_total"), &[], 1.0)).collect();
        let docs = documents(&target(), 0, many);
        assert_eq!(
            docs.iter()
                .map(|d| d["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().unwrap().len())
                .collect::<Vec<_>>(),
            [100, 100, 50]
        );
        let samples = Series { name: "h_seconds".into(), labels: vec![], reading: Reading::Samples(vec![0.5; 250]) };
        let docs = documents(&target(), 0, vec![samples]);
        let sizes: Vec<usize> = docs.iter().map(|d| d["h_seconds"].as_array().unwrap().len()).collect();
        assert_eq!(sizes, [100, 100, 50]);
        assert!(
            documents(
                &target(),
                0,
                vec![Series { name: "h".into(), labels: vec![], reading: Reading::Samples(vec![]) }]
            )
            .is_empty()
        );
    }
}
