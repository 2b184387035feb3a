//! The template under every choice its parameters allow: nothing a deployment creates points at a
//! resource that deployment leaves out (a `Ref` to a conditional resource from an unconditional one
//! fails only when CloudFormation creates the stack, which neither linter evaluates), the web UI is an
//! option the API stack deploys without, and the Rules refuse a speech or LLM provider without its key.

mod common;

use common::deployment::Deployment;
use common::{functions, generated, names, references, str_of, template};
use serde_yaml::Value;
use std::collections::{BTreeSet, HashMap};

const WEB_UI: [&str; 4] = ["WebBucket", "WebOriginAccessControl", "WebDistribution", "WebBucketPolicy"];

/// Every combination of values for the parameters the Conditions read: their allowed values, or for free
/// text empty (not for a number, which CloudFormation never passes empty), set, and every value a
/// condition compares it with.
fn every_deployment(t: &Value) -> Vec<Vec<(String, String)>> {
    let mut refs = Vec::new();
    references(&t["Conditions"], "", None, &mut refs);
    let params: BTreeSet<String> =
        refs.into_iter().map(|(name, _)| name).filter(|n| !t["Parameters"][n.as_str()].is_null()).collect();
    let mut combos = vec![Vec::new()];
    for p in params {
        let values: BTreeSet<String> = match t["Parameters"][p.as_str()]["AllowedValues"].as_sequence() {
            Some(allowed) => allowed.iter().map(|v| str_of(v).to_string()).collect(),
            None => {
                let empty = (t["Parameters"][p.as_str()]["Type"] != "Number").then(String::new);
                empty.into_iter().chain(["set".into()]).chain(compared_with(&t["Conditions"], &p)).collect()
            }
        };
        combos = combos
            .iter()
            .flat_map(|c| values.iter().map(|v| [c.clone(), vec![(p.clone(), v.clone())]].concat()))
            .collect();
    }
    combos
}

/// The literals an `!Equals` in `v` compares parameter `p` with.
fn compared_with(v: &Value, p: &str) -> Vec<String> {
    match v {
        Value::Tagged(t) if t.tag == "!Equals" => {
            let pair = t.value.as_sequence().unwrap();
            let is_p = |x: &Value| matches!(x, Value::Tagged(r) if r.tag == "!Ref" && r.value.as_str() == Some(p));
            match (&pair[0], &pair[1]) {
                (a, Value::String(lit)) | (Value::String(lit), a) if is_p(a) => vec![lit.clone()],
                _ => Vec::new(),
            }
        }
        Value::Tagged(t) => compared_with(&t.value, p),
        Value::Mapping(m) => m.values().flat_map(|x| compared_with(x, p)).collect(),
        Value::Sequence(s) => s.iter().flat_map(|x| compared_with(x, p)).collect(),
        _ => Vec::new(),
    }
}

/// Names referenced, each with where.
type References = Vec<(String, String)>;

/// The conditions of the `!If`s in `v`: what decides which of its references a deployment has.
fn if_conditions(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Tagged(t) => {
            if t.tag == "!If" {
                out.insert(str_of(&t.value[0]).to_string());
            }
            if_conditions(&t.value, out);
        }
        Value::Mapping(m) => m.values().for_each(|x| if_conditions(x, out)),
        Value::Sequence(s) => s.iter().for_each(|x| if_conditions(x, out)),
        _ => {}
    }
}

#[test]
fn no_deployment_references_a_resource_it_leaves_out() {
    let t = template();
    let combos = every_deployment(&t);
    let made = generated(&t);
    assert!(combos.len() >= 3 * 5 * 2usize.pow(6), "only {} combinations", combos.len());
    // Every entry that can reference something, with the conditions that decide what.
    let mut entries: Vec<(String, &Value, BTreeSet<String>)> = vec![("Globals".into(), &t["Globals"], BTreeSet::new())];
    for section in ["Resources", "Outputs"] {
        for (name, entry) in t[section].as_mapping().unwrap() {
            entries.push((format!("{section}/{}", str_of(name)), entry, BTreeSet::new()));
        }
    }
    for (_, entry, deciding) in &mut entries {
        if_conditions(entry, deciding);
    }
    // What a deployment creates and references depends on its conditions alone, and an entry's references
    // on its `!If`s' conditions: each outcome of them is checked, and walked, once.
    let conditions = names(&t["Conditions"]);
    let mut outcomes = BTreeSet::new();
    let mut walked: HashMap<(usize, Vec<bool>), References> = HashMap::new();
    for combo in combos {
        let given: Vec<(&str, &str)> = combo.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let d = Deployment::new(&t, &given);
        if !outcomes.insert(conditions.iter().map(|c| d.condition(c)).collect::<Vec<bool>>()) {
            continue;
        }
        let created: BTreeSet<&str> =
            t["Resources"].as_mapping().unwrap().iter().filter(|(_, r)| d.exists(r)).map(|(k, _)| str_of(k)).collect();
        let branch = |c: &str| d.condition(c);
        for (i, (at, entry, deciding)) in entries.iter().enumerate().filter(|(_, (_, e, _))| d.exists(e)) {
            let key = (i, deciding.iter().map(|c| d.condition(c)).collect());
            let refs = walked.entry(key).or_insert_with(|| {
                let mut refs = Vec::new();
                references(entry, at, Some(&branch), &mut refs);
                let depends = d.chosen(&entry["DependsOn"]);
                let depends = depends.as_sequence().cloned().unwrap_or_else(|| vec![depends.clone()]);
                refs.extend(
                    depends.iter().filter_map(Value::as_str).map(|r| (r.to_string(), format!("{at}/DependsOn"))),
                );
                refs
            });
            for (name, at) in refs.iter() {
                let resource = !t["Resources"][name.as_str()].is_null();
                let exists = !resource || created.contains(name.as_str());
                assert!(exists, "with {given:?}: {at} refers to {name}, not created");
                let by_sam = made.get(name).is_none_or(|owner| d.exists(owner));
                assert!(by_sam, "with {given:?}: {at} refers to {name}, which SAM does not make without its function");
            }
        }
    }
}

#[test]
fn the_api_deploys_without_the_web_ui_by_default() {
    let t = template();
    let p = &t["Parameters"]["DeployWebUi"];
    assert_eq!((str_of(&p["Default"]), p["AllowedValues"].as_sequence().unwrap().len()), ("false", 2));
    let resources = t["Resources"].as_mapping().unwrap();
    let (off, on) = (Deployment::new(&t, &[]), Deployment::new(&t, &[("DeployWebUi", "true")]));
    for name in WEB_UI {
        assert!(!off.exists(&t["Resources"][name]) && on.exists(&t["Resources"][name]), "{name}");
    }
    // Only the web UI itself is left out: every function, the APIs and the user pool stay.
    let dropped: Vec<&str> =
        resources.iter().filter(|(_, r)| !off.exists(r) && on.exists(r)).map(|(k, _)| str_of(k)).collect();
    assert_eq!(dropped, WEB_UI);
    for output in ["WebUrl", "WebBucketName"] {
        assert!(!off.exists(&t["Outputs"][output]) && on.exists(&t["Outputs"][output]), "{output}");
    }

    // Without it, sign-in returns to the origin named for CORS, else to the local process.
    let client = &t["Resources"]["UserPoolClient"]["Properties"];
    let cors = &t["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]["AllowOrigins"];
    assert_eq!(off.chosen(&client["CallbackURLs"]), serde_yaml::from_str::<Value>("[http://localhost:8009/]").unwrap());
    assert_eq!(off.chosen(cors), serde_yaml::from_str::<Value>("[http://localhost:8009]").unwrap());
    let named = Deployment::new(&t, &[("CorsAllowOrigin", "https://ui.example.com")]);
    assert_eq!(
        named.chosen(&client["LogoutURLs"]),
        serde_yaml::from_str::<Value>("[!Sub '${CorsAllowOrigin}/']").unwrap()
    );
    assert_eq!(named.chosen(cors), serde_yaml::from_str::<Value>("[!Ref CorsAllowOrigin]").unwrap());
    let any = Deployment::new(&t, &[("CorsAllowOrigin", "*")]);
    assert_eq!(any.chosen(&client["CallbackURLs"]), off.chosen(&client["CallbackURLs"]), "* is no place to return to");
    let web = on.chosen(&client["CallbackURLs"]);
    assert_eq!(web, serde_yaml::from_str::<Value>("[!Sub 'https://${WebDistribution.DomainName}/']").unwrap());
}

/// Which parameters each refusal names, for the values given (and a listener's required network settings).
fn refused(given: &[(&str, &str)]) -> Vec<String> {
    let t = template();
    let listener = [("VpcId", "vpc-1"), ("SubnetIds", "subnet-1,subnet-2"), ("ListenerCertificateArn", "arn:cert")];
    let all: Vec<(&str, &str)> = listener
        .into_iter()
        .chain([("GenesysAudioHookSecretArn", "arn:secret")])
        .chain(given.iter().copied())
        .collect();
    Deployment::new(&t, &all).refusals()
}

/// Parameter values of one deployment.
type Given<'a> = &'a [(&'a str, &'a str)];

#[test]
fn rules_refuse_a_provider_without_the_key_it_needs() {
    let key = ("SttApiKey", "sk-1");
    let listener = ("ListenerImage", "123.dkr.ecr.us-east-1.amazonaws.com/listener:1");
    let accepted: &[Given] = &[
        &[],
        &[("SttProvider", "sarvam"), key],
        &[("SttProvider", "openai"), key],
        &[("SttProvider", "openai"), ("SttBaseUrl", "http://whisper.internal:8000")],
        &[("ListenerSttProvider", "sarvam")], // no listener deployed: nothing calls Sarvam
        &[listener, ("ListenerSttProvider", "sarvam"), key],
        &[listener, ("ListenerSttProvider", "whisper")],
        &[("LlmProvider", "openai"), ("LlmApiKey", "sk-2")],
        &[("LlmProvider", "openai"), ("LlmBaseUrl", "http://llm.internal:8000")],
    ];
    for given in accepted {
        assert_eq!(refused(given), Vec::<String>::new(), "{given:?}");
    }
    // Values, then the parameter the refusal names and the choice it names.
    let refusing: &[(Given, &str, &str)] = &[
        (&[("SttProvider", "sarvam")], "SttApiKey", "SttProvider sarvam"),
        (&[("SttProvider", "openai")], "SttApiKey", "SttProvider openai"),
        (&[("SttProvider", "openai"), ("SttBaseUrl", "")], "SttApiKey", "SttProvider openai"),
        (&[listener, ("ListenerSttProvider", "sarvam")], "SttApiKey", "ListenerSttProvider sarvam"),
        (&[listener, ("ListenerSttProvider", "openai")], "SttApiKey", "ListenerSttProvider openai"),
        (&[("LlmProvider", "openai")], "LlmApiKey", "LlmProvider openai"),
    ];
    for (given, parameter, choice) in refusing {
        let why = refused(given);
        assert_eq!(why.len(), 1, "{given:?}: {why:?}");
        assert!(why[0].contains(parameter) && why[0].contains(choice), "{given:?}: {why:?}");
    }
}

/// The provider settings and keys are in the environment of what calls the providers only: the batch
/// worker (and the listener's live transcription), not every function.
#[test]
fn provider_settings_reach_only_the_batch_worker_and_the_listener() {
    let t = template();
    // STT_MODEL is also the model recorded on an uploaded call that names none, so every function has it.
    let provider = |name: &str| name != "STT_MODEL" && ["STT_", "SARVAM_", "LLM_"].iter().any(|p| name.starts_with(p));
    let global = names(&t["Globals"]["Function"]["Environment"]["Variables"]);
    assert!(!global.iter().any(|v| provider(v)), "every function gets {global:?}");
    for (name, f) in functions(&t) {
        let own: Vec<String> =
            names(&f["Properties"]["Environment"]["Variables"]).into_iter().filter(|v| provider(v)).collect();
        let expected = if name == "BatchWorkerFunction" { 8 } else { 0 };
        assert_eq!(own.len(), expected, "{name}: {own:?}");
    }
    // The listener's keys come from ECS as Secrets (see template_operations.rs), its settings as variables.
    let listener = &t["Resources"]["ListenerTaskDefinition"]["Properties"]["ContainerDefinitions"][0];
    let named = |list: &str| -> Vec<String> {
        let entries = Deployment::new(&t, &[("SttApiKey", "sk-1")]).chosen(&listener[list]);
        entries.as_sequence().unwrap().iter().map(|e| str_of(&e["Name"]).to_string()).filter(|n| provider(n)).collect()
    };
    assert_eq!(named("Environment"), ["STT_PROVIDER", "STT_BASE_URL"]);
    assert_eq!(named("Secrets"), ["STT_API_KEY", "SARVAM_API_KEY"]);
}
