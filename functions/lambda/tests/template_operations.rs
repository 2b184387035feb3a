//! What real AWS enforces on the running stack and no emulator shows: keys and tokens stay out of every
//! environment (they are read from Secrets Manager), every function behind the HTTP API stops before the
//! API's 30 s integration limit, a listener task is replaced in minutes, and one connector runs however
//! many listener tasks do.

mod common;

use common::deployment::Deployment;
use common::{functions, references, seconds, str_of, template};
use serde_yaml::Value;
use std::collections::BTreeSet;

/// Every environment variable the stack sets, as (where, name, value): the Globals', each function's own
/// and each container's (both branches of an `!If`).
fn environments(t: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    let mut mapping = |at: String, vars: &Value| {
        for (k, v) in vars.as_mapping().into_iter().flatten() {
            out.push((at.clone(), str_of(k).to_string(), v.clone()));
        }
    };
    mapping("Globals".into(), &t["Globals"]["Function"]["Environment"]["Variables"]);
    for (name, f) in functions(t) {
        mapping(name, &f["Properties"]["Environment"]["Variables"]);
    }
    for (name, r) in t["Resources"].as_mapping().unwrap() {
        if r["Type"] != "AWS::ECS::TaskDefinition" {
            continue;
        }
        for c in containers(&r["Properties"]["ContainerDefinitions"]) {
            for e in c["Environment"].as_sequence().into_iter().flatten() {
                out.push((
                    format!("{}/{}", str_of(name), str_of(&c["Name"])),
                    str_of(&e["Name"]).into(),
                    e["Value"].clone(),
                ));
            }
        }
    }
    out
}

/// The container definitions in `list`, with those inside an `!If` (either branch).
fn containers(list: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for c in list.as_sequence().into_iter().flatten() {
        match c {
            Value::Tagged(t) if t.tag == "!If" => {
                out.extend(t.value.as_sequence().unwrap()[1..].iter().filter(|b| b.get("Name").is_some()));
            }
            c => out.push(c),
        }
    }
    out
}

/// Whether any text in `v` is a dynamic reference to a secret (CloudFormation resolves it into the value).
fn resolves_a_secret(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("{{resolve:secretsmanager:") || s.contains("{{resolve:ssm-secure:"),
        Value::Tagged(t) => resolves_a_secret(&t.value),
        Value::Sequence(s) => s.iter().any(resolves_a_secret),
        Value::Mapping(m) => m.values().any(resolves_a_secret),
        _ => false,
    }
}

/// Every name `v` references (both branches of an `!If`).
fn referenced(v: &Value) -> BTreeSet<String> {
    let mut refs = Vec::new();
    references(v, "", None, &mut refs);
    refs.into_iter().map(|(name, _)| name).collect()
}

/// A function's environment, and a task definition's `Environment`, is shown to anyone allowed to read
/// the function's or the service's configuration and kept in every deployment's record: no key or token
/// may be there, whether a NoEcho parameter's value or a secret CloudFormation resolves into it. They are
/// named by ARN (`<NAME>_SECRET_ARN`) and read at start, each by a function allowed to read that secret.
#[test]
fn no_environment_holds_a_key_or_token() {
    let t = template();
    let no_echo: BTreeSet<String> = t["Parameters"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, p)| p["NoEcho"].as_bool() == Some(true))
        .map(|(k, _)| str_of(k).to_string())
        .collect();
    assert!(no_echo.contains("SttApiKey") && no_echo.contains("LlmApiKey"), "{no_echo:?}");
    let env = environments(&t);
    assert!(env.len() > 30, "found only {} variables", env.len());
    for (at, name, value) in &env {
        let leaked: Vec<String> = referenced(value).into_iter().filter(|r| no_echo.contains(r)).collect();
        assert!(leaked.is_empty(), "{at}: {name} holds the NoEcho {leaked:?}");
        assert!(!resolves_a_secret(value), "{at}: {name} resolves a secret into the environment");
        let secret_like = ["_KEY", "_TOKEN", "_SECRET", "_PASSWORD"].iter().any(|s| name.ends_with(s));
        assert!(!secret_like, "{at}: {name} is a key or token in the environment");
    }

    // Each secret a function's environment names, the function may read.
    let global = &t["Globals"]["Function"]["Environment"]["Variables"];
    for (name, f) in functions(&t) {
        let own = &f["Properties"]["Environment"]["Variables"];
        let mut readable = BTreeSet::new();
        for r in referenced(&f["Properties"]["Policies"]) {
            let resource = &t["Resources"][r.as_str()];
            if resource["Type"] == "AWS::IAM::ManagedPolicy" {
                readable.extend(referenced(&resource["Properties"]["PolicyDocument"]));
            }
            readable.insert(r);
        }
        for vars in [global, own] {
            for (var, value) in
                vars.as_mapping().into_iter().flatten().filter(|(k, _)| str_of(k).ends_with("_SECRET_ARN"))
            {
                for secret in referenced(value) {
                    assert!(readable.contains(&secret), "{name} cannot read {secret} ({var:?})");
                }
            }
        }
    }

    // The listener transcribes live: its key reaches it as an ECS secret, and only when one is given.
    let audiohook = &t["Resources"]["ListenerTaskDefinition"]["Properties"]["ContainerDefinitions"][0];
    let secrets = |given: &[(&str, &str)]| -> Vec<String> {
        let chosen = Deployment::new(&t, given).chosen(&audiohook["Secrets"]);
        chosen.as_sequence().unwrap().iter().filter_map(|s| s["Name"].as_str().map(String::from)).collect()
    };
    assert!(secrets(&[("SttApiKey", "sk-1")]).contains(&"STT_API_KEY".to_string()));
    assert!(!secrets(&[]).contains(&"STT_API_KEY".to_string()));
}

/// API Gateway's HTTP API stops waiting for an integration after its `TimeoutInMillis` (30 s, also the
/// most it allows) and answers 503 while the function runs on: a bulk action still deleting calls, the
/// client told it failed. Every function behind it must stop first (and bound its work to fit).
#[test]
fn every_function_behind_the_http_api_stops_before_the_integration_does() {
    let t = template();
    let default = seconds(&t["Globals"]["Function"]["Timeout"], "Globals Timeout");
    let mut checked = 0;
    for (name, f) in functions(&t) {
        let p = &f["Properties"];
        let timeout = if p["Timeout"].is_null() { default } else { seconds(&p["Timeout"], &name) };
        for (_, event) in p["Events"].as_mapping().into_iter().flatten().filter(|(_, e)| e["Type"] == "HttpApi") {
            let millis = event["Properties"]["TimeoutInMillis"].as_u64().unwrap_or(30_000);
            assert!(millis <= 30_000, "{name}: an HTTP API integration waits 30 s at most, not {millis} ms");
            assert!(timeout * 1000 < millis, "{name}: runs {timeout} s, its integration gives up after {millis} ms");
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} routes");
}

/// Replacing a listener task with calls open takes up to the target group's deregistration delay (open
/// AudioHook sessions go on, new ones go elsewhere; then the load balancer closes them; Genesys does not
/// reconnect them) and then the container's stop timeout (the listener hands on what it holds after
/// SIGTERM). The delay must let calls in progress end, and not hold a deployment up for an hour.
#[test]
fn a_listener_task_drains_its_calls_within_minutes() {
    let t = template();
    let attrs = t["Resources"]["ListenerTargetGroup"]["Properties"]["TargetGroupAttributes"].as_sequence().unwrap();
    let delay = attrs.iter().find(|a| a["Key"] == "deregistration_delay.timeout_seconds").expect("no delay");
    let delay = seconds(&delay["Value"], "deregistration delay");
    let audiohook = &t["Resources"]["ListenerTaskDefinition"]["Properties"]["ContainerDefinitions"][0];
    assert_eq!(str_of(&audiohook["Name"]), "audiohook");
    let stop = seconds(&audiohook["StopTimeout"], "StopTimeout");
    assert!(stop <= 120, "Fargate stops a container after 120 s at most, not {stop}");
    assert!(delay >= stop, "sessions get {delay} s, less than the {stop} s the stop gives them anyway");
    assert!(delay >= 900, "calls in progress longer than {delay} s are cut at every deployment");
    assert!(
        delay + stop <= 1_320,
        "a task with calls open takes {delay} + {stop} s to replace: deployments wait that long"
    );
}

/// The connector holds the org's one notification channel: it runs as its own service with one essential
/// task (restarted by ECS), never beside each AudioHook task, and a deployment never runs two at once.
#[test]
fn one_connector_runs_whatever_the_listener_count() {
    let t = template();
    let listener = [
        ("ListenerImage", "123.dkr.ecr.us-east-1.amazonaws.com/listener:1"),
        ("VpcId", "vpc-1"),
        ("SubnetIds", "subnet-1,subnet-2"),
        ("ListenerCertificateArn", "arn:cert"),
        ("GenesysAudioHookSecretArn", "arn:secret"),
        ("ListenerDesiredCount", "3"),
    ];
    for (enabled, expected) in [("true", 1), ("false", 0)] {
        let given: Vec<(&str, &str)> = listener
            .into_iter()
            .chain([("EnableGenesysConnector", enabled), ("GenesysOAuthSecretArn", "arn:oauth")])
            .collect();
        let d = Deployment::new(&t, &given);
        assert_eq!(d.refusals(), Vec::<String>::new());
        let mut connectors = 0;
        let mut tasks = 0;
        for (name, service) in
            t["Resources"].as_mapping().unwrap().iter().filter(|(_, r)| r["Type"] == "AWS::ECS::Service")
        {
            if !d.exists(service) {
                continue;
            }
            let p = &service["Properties"];
            let desired: u64 = str_of(&d.value(&p["DesiredCount"])).parse().unwrap();
            tasks += desired;
            let Value::Tagged(def) = &p["TaskDefinition"] else { panic!("{name:?}: TaskDefinition") };
            let defined = d.chosen(&t["Resources"][str_of(&def.value)]["Properties"]["ContainerDefinitions"]);
            let runs_connector =
                |c: &&Value| c["Command"].as_sequence().is_some_and(|cmd| cmd.iter().any(|a| a == "connector"));
            let here: Vec<&Value> = defined.as_sequence().unwrap().iter().filter(runs_connector).collect();
            if here.is_empty() {
                continue;
            }
            assert_eq!(defined.as_sequence().unwrap().len(), 1, "{name:?}: the connector shares its task");
            assert_eq!(
                here[0]["Essential"].as_bool(),
                Some(true),
                "{name:?}: ECS restarts only an essential container"
            );
            assert!(p["LoadBalancers"].is_null(), "{name:?}: the connector serves nothing");
            let most = p["DeploymentConfiguration"]["MaximumPercent"].as_u64().unwrap_or(200);
            assert!(most * desired <= 100, "{name:?}: a deployment runs two connectors");
            connectors += desired;
        }
        assert_eq!(connectors, expected, "EnableGenesysConnector={enabled}");
        assert_eq!(tasks, 3 + expected, "EnableGenesysConnector={enabled}");
    }
}
