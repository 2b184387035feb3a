//! The CloudWatch dashboard: its body parses once CloudFormation has substituted it, and every widget reads
//! a series the code publishes or an AWS metric of a resource the deployment has.

mod common;

use common::deployment::Deployment;
use common::metrics::{LISTENER, Read, check_series, services};
use common::{str_of, template};
use serde_json::Value as Json;
use serde_yaml::Value;
use std::collections::BTreeSet;

/// `text` with every `${...}` of a `!Sub` replaced by a sample value: the region, the stack's name, or a
/// resource's name that `d` creates (any other reference fails the test).
fn substituted(text: &str, t: &Value, d: &Deployment) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let end = start + rest[start..].find('}').unwrap();
        out.push_str(&rest[..start]);
        let name = &rest[start + 2..end];
        let value = match name {
            "AWS::Region" => "eu-west-1".to_string(),
            "AWS::StackName" => "call-analytics".to_string(),
            _ => {
                let resource = name.split('.').next().unwrap();
                let r = &t["Resources"][resource];
                assert!(!r.is_null() && d.exists(r), "the dashboard names {name}, which this deployment has not");
                format!("sample-{}", name.replace('.', "-"))
            }
        };
        out.push_str(&value);
        rest = &rest[end + 1..];
    }
    out + rest
}

/// The dashboard body for deployment `d`: its `!Join` of `!Sub` texts (the chosen `!If` branches),
/// substituted, as JSON.
fn dashboard(t: &Value, d: &Deployment) -> Json {
    let body = d.chosen(&t["Resources"]["Dashboard"]["Properties"]["DashboardBody"]);
    let Value::Tagged(join) = &body else { panic!("DashboardBody is not a !Join") };
    assert_eq!(join.tag, "!Join");
    let parts = join.value.as_sequence().unwrap();
    let mut text = String::new();
    for part in parts[1].as_sequence().unwrap() {
        match part {
            Value::Tagged(sub) if sub.tag == "!Sub" => text.push_str(&substituted(str_of(&sub.value), t, d)),
            Value::String(s) => text.push_str(s),
            other => panic!("dashboard part {other:?}"),
        }
    }
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("the dashboard body is not JSON ({e}):\n{text}"))
}

/// A SEARCH expression's metric schema and name: `SEARCH('{ns,dim,...} MetricName="name"', 'stat', period)`.
fn searched(expression: &str) -> Read {
    let schema = expression.split_once("SEARCH('{").and_then(|(_, r)| r.split_once('}')).map(|(s, _)| s);
    let schema: Vec<&str> =
        schema.unwrap_or_else(|| panic!("not a SEARCH with a schema: {expression}")).split(',').collect();
    let name = expression.split_once("MetricName=\"").and_then(|(_, r)| r.split_once('"')).map(|(n, _)| n);
    let name = name.unwrap_or_else(|| panic!("a SEARCH without an exact MetricName: {expression}"));
    // A namespace with characters other than letters and digits (a stack's name has hyphens) is quoted.
    let ns = schema[0].strip_prefix('"').and_then(|n| n.strip_suffix('"')).unwrap_or(schema[0]);
    assert!(ns.chars().all(char::is_alphanumeric) || schema[0].starts_with('"'), "unquoted namespace {ns}");
    let ns = (ns != "call-analytics").then(|| ns.to_string());
    // A SEARCH finds the series for any Service that publishes it: `*` stands for them.
    let dimensions = schema[1..].iter().map(|d| (d.to_string(), Value::String("*".into()))).collect();
    Read { namespace: ns, name: name.into(), dimensions }
}

/// A widget's metric line: `[namespace, name, dim, value, ..., {options}]`.
fn listed(line: &[Json]) -> Read {
    let ns = line[0].as_str().unwrap();
    let pairs: Vec<&str> = line[2..].iter().filter_map(Json::as_str).collect();
    assert!(pairs.len() % 2 == 0, "{line:?}: dimensions come in name, value pairs (no \"...\")");
    let dimensions = pairs.chunks(2).map(|p| (p[0].to_string(), Value::String(p[1].to_string()))).collect();
    Read {
        namespace: (ns != "call-analytics").then(|| ns.to_string()),
        name: line[1].as_str().unwrap().into(),
        dimensions,
    }
}

/// The dashboard parses as CloudWatch dashboard JSON once CloudFormation has substituted it, with and
/// without the listener, and every widget reads a series the code publishes (by its labels) or an AWS
/// metric of a resource the deployment has; together they show the main series.
#[test]
fn the_dashboard_reads_only_series_that_exist() {
    let t = template();
    let mut services = services(&t);
    services.insert("*".into());
    for (given, widgets) in [(&[][..], 6), (&LISTENER[..], 9)] {
        let d = Deployment::new(&t, given);
        let body = dashboard(&t, &d);
        let all = body["widgets"].as_array().unwrap();
        assert_eq!(all.len(), widgets, "with {given:?}");
        let mut shown = BTreeSet::new();
        for w in all {
            let title = w["properties"]["title"].as_str().unwrap();
            assert_eq!(w["type"], "metric", "{title}");
            assert_eq!(w["properties"]["region"], "eu-west-1", "{title}");
            for line in w["properties"]["metrics"].as_array().unwrap() {
                let line = line.as_array().unwrap();
                let read = match line[0].get("expression").and_then(Json::as_str) {
                    Some(e) => searched(e),
                    None => listed(line),
                };
                check_series(&read, &services, title);
                if read.namespace.is_none() && read.dimensions["Service"] != "*" {
                    assert_eq!(read.dimensions["Service"], "listener", "{title}");
                }
                shown.insert(read.name);
            }
        }
        let mut main = vec![
            "call_analytics_ingest_requests_total",
            "call_analytics_ingest_request_duration_seconds",
            "call_analytics_alerts_raised_total",
            "call_analytics_batch_jobs_total",
            "Errors",
            "ApproximateNumberOfMessagesVisible",
        ];
        if !given.is_empty() {
            main.extend([
                "call_analytics_audiohook_sessions_open",
                "call_analytics_audiohook_audio_seconds_total",
                "call_analytics_spool_bytes",
                "call_analytics_spool_oldest_age_seconds",
            ]);
        }
        for series in main {
            assert!(shown.contains(series), "the dashboard does not show {series}");
        }
    }
}
