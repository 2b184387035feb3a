//! What the template watches: an alarm on every dead-letter queue, function, listener health and spool and
//! the batch worker's failures, each existing only with what it watches and notifying the optional topic;
//! and the EMF settings that put the code's metrics where the alarms, the dashboard and the scaling policy
//! read them.

mod common;

use common::deployment::Deployment;
use common::metrics::{LISTENER, alarm_reads, alarms, check_series, named, namespace, services};
use common::{functions, generated, template};
use serde_yaml::Value;
use std::collections::BTreeMap;

/// The code's metrics reach CloudWatch as EMF lines in the logs of every function and of the listener, in
/// the stack's namespace, each under its own `Service` (a function's binary; `listener` for the AudioHook
/// task, which the alarms and the scaling policy read).
#[test]
fn every_function_and_the_listener_publish_into_the_stack_namespace() {
    let t = template();
    let global = &t["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(global["METRICS_EMF"].as_str(), Some("true"));
    assert_eq!(namespace(&global["METRICS_NAMESPACE"]), None, "{:?}", global["METRICS_NAMESPACE"]);
    for (name, f) in functions(&t) {
        let service = &f["Properties"]["Environment"]["Variables"]["METRICS_SERVICE"];
        assert_eq!(service, &f["Metadata"]["BuildProperties"]["Binary"], "{name}: METRICS_SERVICE is its binary");
    }
    for (task, service) in [("ListenerTaskDefinition", "listener"), ("ConnectorTaskDefinition", "connector")] {
        let env = &t["Resources"][task]["Properties"]["ContainerDefinitions"][0]["Environment"];
        let var = |n: &str| env.as_sequence().unwrap().iter().find(|e| e["Name"] == n).map(|e| e["Value"].clone());
        assert_eq!(var("METRICS_EMF"), Some(Value::String("true".into())), "{task}");
        assert_eq!(var("METRICS_NAMESPACE").map(|v| namespace(&v)), Some(None), "{task}");
        assert_eq!(var("METRICS_SERVICE"), Some(Value::String(service.into())), "{task}");
    }
}

/// An alarm is worth having only if someone hears it: with `AlarmTopicArn` every alarm notifies it when it
/// goes off and when it recovers; without it (the default) alarms have no actions. Every alarm also says
/// what missing data means for it.
#[test]
fn every_alarm_notifies_the_topic_when_one_is_given() {
    let t = template();
    assert_eq!(t["Parameters"]["AlarmTopicArn"]["Default"].as_str(), Some(""));
    let all = alarms(&t);
    assert!(all.len() >= 20, "only {} alarms", all.len());
    let without = Deployment::new(&t, &[]);
    let with = Deployment::new(&t, &[("AlarmTopicArn", "arn:aws:sns:us-east-1:123456789012:ops")]);
    let topic: Value = serde_yaml::from_str("[!Ref AlarmTopicArn]").unwrap();
    let none: Value = serde_yaml::from_str("!Ref AWS::NoValue").unwrap();
    for (name, alarm) in &all {
        let p = &alarm["Properties"];
        for actions in ["AlarmActions", "OKActions"] {
            assert_eq!(with.chosen(&p[actions]), topic, "{name}: {actions}");
            assert_eq!(without.chosen(&p[actions]), none, "{name}: {actions}");
        }
        let missing = p["TreatMissingData"].as_str().unwrap_or_else(|| panic!("{name}: no TreatMissingData"));
        assert!(["breaching", "notBreaching", "ignore", "missing"].contains(&missing), "{name}: {missing}");
        assert!(p["AlarmDescription"].as_str().is_some_and(|d| !d.is_empty()), "{name}: no description");
    }
}

/// Whether some alarm reads `metric` in `namespace` with the dimension `dimension` naming `resource`, and
/// carries `condition`.
fn watched(
    t: &Value,
    metric: &str,
    namespace: &str,
    dimension: &str,
    resource: &str,
    condition: Option<&Value>,
) -> bool {
    alarms(t).values().any(|a| {
        a.get("Condition") == condition
            && alarm_reads(a).iter().any(|r| {
                r.name == metric
                    && r.namespace.as_deref() == Some(namespace)
                    && r.dimensions.get(dimension).and_then(named).as_deref() == Some(resource)
            })
    })
}

/// What goes wrong unseen has an alarm: a message in any dead-letter queue, any function's errors and
/// throttles, an unhealthy listener task or none healthy, the listener's spool growing, a batch job failed.
/// Each alarm has the condition of what it watches, so it exists exactly when that does.
#[test]
fn every_dead_letter_queue_function_and_listener_failure_has_an_alarm() {
    let t = template();
    let resources = t["Resources"].as_mapping().unwrap();
    let mut queues: BTreeMap<String, Option<Value>> =
        generated(&t).into_iter().map(|(queue, owner)| (queue, owner.get("Condition").cloned())).collect();
    assert!(queues.contains_key("GenesysEventsFunctionGenesysQueue"), "{queues:?}");
    for (_, q) in resources.iter().filter(|(_, r)| r["Type"] == "AWS::SQS::Queue") {
        if let Some(dlq) = named(&q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]) {
            queues.insert(dlq.clone(), t["Resources"][dlq.as_str()].get("Condition").cloned());
        }
    }
    assert!(queues.contains_key("JobDeadLetterQueue"), "{queues:?}");
    for (queue, condition) in &queues {
        let metric = "ApproximateNumberOfMessagesVisible";
        assert!(watched(&t, metric, "AWS/SQS", "QueueName", queue, condition.as_ref()), "no alarm on {queue}");
    }
    for (name, f) in functions(&t) {
        for metric in ["Errors", "Throttles"] {
            let condition = f.get("Condition");
            assert!(
                watched(&t, metric, "AWS/Lambda", "FunctionName", &name, condition),
                "no alarm on {name}'s {metric}"
            );
        }
    }
    let listener: Value = serde_yaml::from_str("DeployListener").unwrap();
    for metric in ["UnHealthyHostCount", "HealthyHostCount"] {
        let on = watched(&t, metric, "AWS/ApplicationELB", "TargetGroup", "ListenerTargetGroup", Some(&listener));
        assert!(on, "no alarm on the listener's {metric}");
    }
    // The code's own series: the listener's spool and the batch worker's failed jobs.
    let emf = |metric: &str, service: &str, condition: Option<&Value>| {
        alarms(&t).values().any(|a| {
            a.get("Condition") == condition
                && alarm_reads(a).iter().any(|r| {
                    r.namespace.is_none() && r.name == metric && r.dimensions["Service"].as_str() == Some(service)
                })
        })
    };
    assert!(emf("call_analytics_spool_bytes", "listener", Some(&listener)));
    assert!(emf("call_analytics_spool_oldest_age_seconds", "listener", Some(&listener)));
    assert!(emf("call_analytics_batch_jobs_total", "batch-worker", None));
    let failed = alarms(&t).values().flat_map(alarm_reads).any(|r| {
        r.name == "call_analytics_batch_jobs_total"
            && r.dimensions.get("state").and_then(Value::as_str) == Some("failed")
    });
    assert!(failed, "the batch alarm counts failed jobs");

    // Every metric an alarm reads exists, with the dimensions it is published by.
    let services = services(&t);
    for (name, alarm) in alarms(&t) {
        for r in alarm_reads(&alarm) {
            check_series(&r, &services, &name);
        }
    }
}

/// The stack without a listener (the default) has no listener alarm, nor anything that reads what only
/// the listener publishes; with one, every listener alarm exists.
#[test]
fn no_listener_alarm_without_a_listener() {
    let t = template();
    let off = Deployment::new(&t, &[]);
    let on = Deployment::new(&t, &LISTENER);
    assert_eq!(on.refusals(), Vec::<String>::new());
    let mut listener_alarms = 0;
    for (name, alarm) in alarms(&t) {
        let reads_listener = alarm_reads(&alarm).iter().any(|r| {
            r.dimensions.get("Service").and_then(Value::as_str) == Some("listener")
                || r.dimensions.values().filter_map(named).any(|n| n.starts_with("Listener"))
        });
        if reads_listener {
            listener_alarms += 1;
            assert!(!off.exists(&alarm), "{name} exists without a listener");
            assert!(on.exists(&alarm), "{name} is missing with a listener");
        } else {
            assert!(off.exists(&alarm) || alarm.get("Condition").is_some(), "{name}");
        }
    }
    assert_eq!(listener_alarms, 4);
}
