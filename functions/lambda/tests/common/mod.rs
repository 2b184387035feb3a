//! `template.yaml` read as data, for the template tests: its sections, its functions, every reference in
//! it, and (in `deployment`) what CloudFormation would make of it for given parameter values.
#![allow(dead_code)] // each test binary uses a different part

pub mod deployment;
pub mod metrics;

use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn template() -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(root().join("template.yaml")).unwrap()).unwrap()
}

pub fn names(section: &Value) -> BTreeSet<String> {
    section.as_mapping().map_or_else(BTreeSet::new, |m| m.keys().filter_map(|k| k.as_str().map(String::from)).collect())
}

pub fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("expected a string, got {v:?}"))
}

/// A whole number of seconds, as a template number or (in attribute lists) a numeric string.
pub fn seconds(v: &Value, what: &str) -> u64 {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("{what} is not a whole number of seconds: {v:?}"))
}

/// Logical id → resource, for every resource of type `kind`.
pub fn resources_of(t: &Value, kind: &str) -> BTreeMap<String, Value> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(k, r)| (str_of(k).to_string(), r.clone()))
        .collect()
}

/// Function name → its resource, for every `AWS::Serverless::Function`.
pub fn functions(t: &Value) -> BTreeMap<String, Value> {
    resources_of(t, "AWS::Serverless::Function")
}

/// The resources SAM makes for a function and the template may name: the dead-letter queue of an
/// EventBridge rule with `DeadLetterConfig: {Type: SQS}` (`QueueLogicalId`, else `<function><event>Queue`),
/// by logical id, with the function that owns it (and whose condition it has).
pub fn generated(t: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for (name, f) in functions(t) {
        for (event, e) in f["Properties"]["Events"].as_mapping().into_iter().flatten() {
            let dlq = &e["Properties"]["DeadLetterConfig"];
            if e["Type"] == "EventBridgeRule" && dlq["Type"] == "SQS" {
                let id = dlq["QueueLogicalId"]
                    .as_str()
                    .map_or_else(|| format!("{name}{}Queue", str_of(event)), String::from);
                out.insert(id, f.clone());
            }
        }
    }
    out
}

/// Every name a `!Ref`, `!GetAtt`, `!Condition` or `${...}` inside `!Sub` points at, with where it is.
/// With `branch`, an `!If` is followed only into the branch it takes (`branch` says whether its condition
/// holds), as CloudFormation resolves it for one deployment; without, into both.
pub fn references(v: &Value, at: &str, branch: Option<&dyn Fn(&str) -> bool>, out: &mut Vec<(String, String)>) {
    match v {
        Value::Tagged(t) => {
            let tag = t.tag.to_string();
            match (tag.as_str(), &t.value) {
                ("!Ref" | "!Condition", Value::String(name)) => out.push((name.clone(), at.into())),
                ("!GetAtt", Value::String(path)) => out.push((path.split('.').next().unwrap().into(), at.into())),
                ("!Sub", Value::String(text)) => sub_references(text, at, out),
                ("!If", Value::Sequence(s)) => {
                    if let Some(holds) = branch {
                        let taken = if holds(str_of(&s[0])) { &s[1] } else { &s[2] };
                        return references(taken, &format!("{at}/!If"), branch, out);
                    }
                }
                _ => {}
            }
            references(&t.value, at, branch, out);
        }
        Value::Mapping(m) => {
            for (k, v) in m {
                let key = k.as_str().unwrap_or("?");
                // The long forms, as single-key mappings.
                match (m.len(), key, v) {
                    (1, "Ref" | "Condition", Value::String(name)) => out.push((name.clone(), at.into())),
                    (1, "Fn::GetAtt", Value::String(p)) => out.push((p.split('.').next().unwrap().into(), at.into())),
                    (1, "Fn::Sub", Value::String(text)) => sub_references(text, at, out),
                    (1, "Fn::If", _) => assert!(branch.is_none(), "{at}: write Fn::If as !If"),
                    _ => {}
                }
                references(v, &format!("{at}/{key}"), branch, out);
            }
        }
        Value::Sequence(s) => s.iter().enumerate().for_each(|(i, x)| references(x, &format!("{at}/{i}"), branch, out)),
        _ => {}
    }
}

fn sub_references(text: &str, at: &str, out: &mut Vec<(String, String)>) {
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let end = rest[start..].find('}').map(|e| start + e).expect("unclosed ${ in !Sub");
        let name = &rest[start + 2..end];
        if !name.starts_with('!') {
            out.push((name.split('.').next().unwrap().into(), at.into()));
        }
        rest = &rest[end + 1..];
    }
}
