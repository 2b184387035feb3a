//! The metrics the template reads (alarms, dashboard, scaling), for the monitoring tests: the series the
//! code publishes and the AWS metrics read, what each alarm reads, and whether a read names a real series.

use super::{functions, references, resources_of, str_of};
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The series the code publishes (`call_analytics_*`, see the metrics list in the docs) with their labels,
/// which EMF writes as dimensions beside `Service`.
pub const SERIES: &[(&str, &[&str])] = &[
    ("call_analytics_ingest_requests_total", &["endpoint", "outcome"]),
    ("call_analytics_ingest_request_duration_seconds", &["endpoint"]),
    ("call_analytics_alerts_raised_total", &["type", "severity"]),
    ("call_analytics_push_connections", &[]),
    ("call_analytics_push_messages_total", &[]),
    ("call_analytics_push_lagged_total", &[]),
    ("call_analytics_audiohook_sessions_open", &[]),
    ("call_analytics_audiohook_sessions_opened_total", &[]),
    ("call_analytics_audiohook_sessions_refused_total", &["reason"]),
    ("call_analytics_audiohook_audio_seconds_total", &[]),
    ("call_analytics_spool_bytes", &[]),
    ("call_analytics_spool_oldest_age_seconds", &[]),
    ("call_analytics_forward_retries_total", &[]),
    ("call_analytics_live_transcription_queue_depth", &[]),
    ("call_analytics_live_transcription_dropped_total", &[]),
    ("call_analytics_live_transcription_latency_seconds", &[]),
    ("call_analytics_batch_jobs_total", &["state"]),
    ("call_analytics_batch_stage_duration_seconds", &["stage"]),
    ("call_analytics_stt_request_duration_seconds", &["provider"]),
    ("call_analytics_stt_failures_total", &["provider"]),
    ("call_analytics_llm_request_duration_seconds", &[]),
    ("call_analytics_llm_failures_total", &[]),
];

/// The AWS metrics the template reads, by namespace, with the dimensions each is read by.
pub const AWS_METRICS: &[(&str, &str, &[&str])] = &[
    ("AWS/Lambda", "Errors", &["FunctionName"]),
    ("AWS/Lambda", "Throttles", &["FunctionName"]),
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible", &["QueueName"]),
    ("AWS/ApplicationELB", "UnHealthyHostCount", &["TargetGroup", "LoadBalancer"]),
    ("AWS/ApplicationELB", "HealthyHostCount", &["TargetGroup", "LoadBalancer"]),
];

/// A listener deployment's required values.
pub const LISTENER: [(&str, &str); 5] = [
    ("ListenerImage", "123.dkr.ecr.us-east-1.amazonaws.com/listener:1"),
    ("VpcId", "vpc-1"),
    ("SubnetIds", "subnet-1,subnet-2"),
    ("ListenerCertificateArn", "arn:cert"),
    ("GenesysAudioHookSecretArn", "arn:secret"),
];

/// One metric an alarm, a widget or the scaling policy reads: its namespace (`None` = the stack's, where
/// the code's EMF lines land), name, and dimensions by name with their values.
#[derive(Debug, Clone)]
pub struct Read {
    pub namespace: Option<String>,
    pub name: String,
    pub dimensions: BTreeMap<String, Value>,
}

/// A namespace as the template writes it: the stack's (`!Ref AWS::StackName`) is `None`.
pub fn namespace(v: &Value) -> Option<String> {
    match v {
        Value::Tagged(t) if t.tag == "!Ref" && t.value == "AWS::StackName" => None,
        other => Some(str_of(other).to_string()),
    }
}

pub fn read(metric: &Value) -> Read {
    let dimensions = metric["Dimensions"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|d| (str_of(&d["Name"]).to_string(), d["Value"].clone()))
        .collect();
    Read { namespace: namespace(&metric["Namespace"]), name: str_of(&metric["MetricName"]).into(), dimensions }
}

/// Every metric an alarm reads: its own, or each of its metric-math inputs.
pub fn alarm_reads(alarm: &Value) -> Vec<Read> {
    let p = &alarm["Properties"];
    match p["Metrics"].as_sequence() {
        Some(queries) => {
            queries.iter().filter(|q| !q["MetricStat"].is_null()).map(|q| read(&q["MetricStat"]["Metric"])).collect()
        }
        None => vec![read(p)],
    }
}

pub fn alarms(t: &Value) -> BTreeMap<String, Value> {
    resources_of(t, "AWS::CloudWatch::Alarm")
}

/// The resource a dimension's value names (`!Ref X`, `!GetAtt X.Attr`), if any.
pub fn named(v: &Value) -> Option<String> {
    let mut refs = Vec::new();
    references(v, "", None, &mut refs);
    refs.into_iter().map(|(name, _)| name).find(|n| !n.starts_with("AWS::"))
}

/// Whether a `Read` is a series the code publishes (with exactly its labels beside `Service`, for a service
/// that exists) or an AWS metric read by its dimensions.
pub fn check_series(read: &Read, services: &BTreeSet<String>, at: &str) {
    let dims: Vec<&str> = read.dimensions.keys().map(String::as_str).collect();
    match &read.namespace {
        None => {
            let (_, labels) = SERIES
                .iter()
                .find(|(name, _)| *name == read.name)
                .unwrap_or_else(|| panic!("{at}: no series {} is published", read.name));
            let mut expected: Vec<&str> = labels.iter().copied().chain(["Service"]).collect();
            expected.sort();
            assert_eq!(dims, expected, "{at}: {} is published with Service and {labels:?}", read.name);
            let service = read.dimensions["Service"].as_str().map(String::from);
            assert!(
                service.as_ref().is_some_and(|s| services.contains(s)),
                "{at}: no service {service:?} publishes {}",
                read.name
            );
        }
        Some(ns) => {
            let (_, _, by) = AWS_METRICS
                .iter()
                .find(|(n, m, _)| n == ns && *m == read.name)
                .unwrap_or_else(|| panic!("{at}: {ns} {} is not a metric this template knows", read.name));
            let mut by: Vec<&str> = by.to_vec();
            by.sort();
            assert_eq!(dims, by, "{at}: {ns} {} by {dims:?}", read.name);
        }
    }
}

/// Every `METRICS_SERVICE` the stack sets: each function's and each container's.
pub fn services(t: &Value) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = functions(t)
        .values()
        .filter_map(|f| f["Properties"]["Environment"]["Variables"]["METRICS_SERVICE"].as_str().map(String::from))
        .collect();
    for r in t["Resources"].as_mapping().unwrap().values().filter(|r| r["Type"] == "AWS::ECS::TaskDefinition") {
        for c in r["Properties"]["ContainerDefinitions"].as_sequence().unwrap() {
            let env = c["Environment"].as_sequence().unwrap();
            out.extend(env.iter().filter(|e| e["Name"] == "METRICS_SERVICE").map(|e| str_of(&e["Value"]).to_string()));
        }
    }
    out
}
