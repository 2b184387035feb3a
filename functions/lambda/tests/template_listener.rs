//! The listener's tasks feed the realtime service in-process on AWS (`listener/src/storage.rs`): no HTTP API
//! request and no Lambda invocation per audio chunk. So their role allows what the ingest functions do on the
//! table, the live chunks and the WebSocket connections, and no more; they get the WebSocket callback to
//! push through; and they get no ingest URL (which would turn HTTP forwarding back on) and no ingest token.

mod common;

use common::{str_of, template};
use serde_yaml::Value;
use std::collections::BTreeSet;

/// A resource as its text: a `!GetAtt` path, a `!Sub` string or a literal.
fn text(v: &Value) -> String {
    match v {
        Value::Tagged(t) => str_of(&t.value).to_string(),
        v => str_of(v).to_string(),
    }
}

/// Every (action, resource) the role's policies allow.
fn allowed(role: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for policy in role["Properties"]["Policies"].as_sequence().unwrap() {
        for statement in policy["PolicyDocument"]["Statement"].as_sequence().unwrap() {
            assert_eq!(statement["Effect"], "Allow");
            let one = |v: &Value| v.as_sequence().cloned().unwrap_or_else(|| vec![v.clone()]);
            for action in one(&statement["Action"]) {
                for resource in one(&statement["Resource"]) {
                    out.insert((str_of(&action).to_string(), text(&resource)));
                }
            }
        }
    }
    out
}

#[test]
fn the_listener_role_allows_the_in_process_ingest_and_no_more() {
    let t = template();
    let allowed = allowed(&t["Resources"]["ListenerTaskRole"]);
    let on = |resource: &str| -> BTreeSet<&str> {
        allowed.iter().filter(|(_, r)| r == resource).map(|(a, _)| a.as_str()).collect()
    };
    let table = ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:GetItem"]
        .into_iter()
        .chain(["dynamodb:PutItem", "dynamodb:Query"]);
    assert_eq!(on("Table.Arn"), table.collect());
    assert_eq!(on("${Bucket.Arn}/live/*"), BTreeSet::from(["s3:DeleteObject", "s3:PutObject"]));
    assert_eq!(on("${Bucket.Arn}/recordings/*"), BTreeSet::from(["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]));
    let push =
        "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${WebSocketApi}/prod/POST/@connections/*";
    assert_eq!(on(push), BTreeSet::from(["execute-api:ManageConnections"]));
    let elsewhere: BTreeSet<_> = allowed
        .iter()
        .filter(|(_, r)| {
            !["Table.Arn", "${Bucket.Arn}/live/*", "${Bucket.Arn}/recordings/*", push].contains(&r.as_str())
        })
        .cloned()
        .collect();
    let protection = "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task/${ListenerCluster}/*";
    let expected = [("s3:ListBucket", "Bucket.Arn"), ("ecs:UpdateTaskProtection", protection)];
    assert_eq!(elsewhere, expected.iter().map(|(a, r)| (a.to_string(), r.to_string())).collect::<BTreeSet<_>>());
}

/// `listener::forward::HTTP_TARGET_SETTINGS` (any of them turns HTTP forwarding on) and the ingest token.
const NO_INGEST: [&str; 5] = [
    "REALTIME_INGEST_URL",
    "GENESYS_AUDIOHOOK_TARGET_AUDIO_INGEST_URL",
    "GENESYS_AUDIOHOOK_TARGET_EVENT_INGEST_URL",
    "GENESYS_TARGET_INGEST_URL",
    "REALTIME_INGEST_TOKEN",
];

#[test]
fn the_listener_tasks_push_through_the_websocket_api_and_name_no_ingest() {
    let t = template();
    for task in ["ListenerTaskDefinition", "ConnectorTaskDefinition"] {
        let container = &t["Resources"][task]["Properties"]["ContainerDefinitions"][0];
        let names = |list: &str| -> Vec<String> {
            let entries = container[list].as_sequence().unwrap();
            entries.iter().filter_map(|e| e.get("Name").map(|n| str_of(n).to_string())).collect()
        };
        let env = names("Environment");
        for needed in ["TABLE_NAME", "BUCKET_NAME", "WEBSOCKET_CALLBACK_URL", "REALTIME_RETENTION_DAYS"] {
            assert!(env.iter().any(|n| n == needed), "{task}: no {needed} in {env:?}");
        }
        for http in NO_INGEST {
            assert!(!env.iter().chain(&names("Secrets")).any(|n| n == http), "{task}: {http} set");
        }
    }
    let secrets = &t["Resources"]["ListenerExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"];
    let readable = format!("{secrets:?}");
    assert!(!readable.contains("IngestTokenSecret"), "the tasks need not read the ingest token: {readable}");
}
