//! What cfn-lint and `sam validate --lint` do not check in `template.yaml` (both run in `make test`): every
//! reference resolves (they miss a bad `Ref` inside environment variables), the runtime and WebSocket
//! protocol are real values, every Lambda binary is deployed once, every route the code serves is routed
//! with the right authorizer, every sample event targets a route that exists, the functions get the
//! settings they require, and the job queue's timings fit the batch worker's.

mod common;

use common::{functions, generated, names, references, root, seconds, str_of, template};
use serde_json::Value as Json;
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};

#[test]
fn every_reference_resolves() {
    let t = template();
    let defined: BTreeSet<String> =
        names(&t["Parameters"]).into_iter().chain(names(&t["Resources"])).chain(generated(&t).into_keys()).collect();
    let conditions = names(&t["Conditions"]);
    let mut refs = Vec::new();
    references(&t, "", None, &mut refs);
    assert!(refs.len() > 50, "the walk found only {} references", refs.len());
    for (name, at) in refs {
        let known = defined.contains(&name) || conditions.contains(&name) || name.starts_with("AWS::");
        assert!(known, "{at}: reference to undefined {name:?}");
    }
    for (name, res) in t["Resources"].as_mapping().unwrap() {
        if let Some(c) = res.get("Condition") {
            assert!(conditions.contains(str_of(c)), "{name:?}: undefined condition {c:?}");
        }
    }
}

#[test]
fn runtime_and_protocols_are_real_values() {
    let t = template();
    let f = &t["Globals"]["Function"];
    assert_eq!((str_of(&f["Runtime"]), str_of(&f["Handler"])), ("provided.al2023", "bootstrap"));
    let ws: Vec<&Value> =
        t["Resources"].as_mapping().unwrap().values().filter(|r| r["Type"] == "AWS::ApiGatewayV2::Api").collect();
    assert_eq!(ws.len(), 1);
    assert_eq!(str_of(&ws[0]["Properties"]["ProtocolType"]), "WEBSOCKET");
    let arch: BTreeSet<&str> =
        t["Parameters"]["Architecture"]["AllowedValues"].as_sequence().unwrap().iter().map(str_of).collect();
    assert_eq!(arch, BTreeSet::from(["x86_64", "arm64"]));
}

#[test]
fn every_lambda_binary_is_deployed_once_by_cargo_lambda() {
    let t = template();
    let manifest: toml_bins::Manifest = toml_bins::read(&root().join("functions/lambda/Cargo.toml"));
    let mut deployed = Vec::new();
    for (name, f) in functions(&t) {
        assert_eq!(str_of(&f["Metadata"]["BuildMethod"]), "rust-cargolambda", "{name}");
        deployed.push(str_of(&f["Metadata"]["BuildProperties"]["Binary"]).to_string());
    }
    deployed.sort();
    assert_eq!(deployed, manifest.bins, "template functions vs functions/lambda binaries");
    assert_eq!(str_of(&t["Globals"]["Function"]["CodeUri"]), "functions/lambda");
}

/// (METHOD, path) → whether the route sits behind the JWT authorizer, for every HTTP API event.
fn http_routes(t: &Value) -> BTreeMap<(String, String), bool> {
    let mut routes = BTreeMap::new();
    for (name, f) in functions(t) {
        for (_, event) in f["Properties"]["Events"].as_mapping().into_iter().flatten() {
            if event["Type"] != "HttpApi" {
                continue;
            }
            let p = &event["Properties"];
            let key = (str_of(&p["Method"]).to_uppercase(), str_of(&p["Path"]).to_string());
            let jwt = p["Auth"]["Authorizer"].as_str() == Some("SupervisorJwt");
            assert!(routes.insert(key.clone(), jwt).is_none(), "{name}: {key:?} routed twice");
        }
    }
    routes
}

#[test]
fn every_served_route_is_routed_with_its_documented_authorization() {
    let t = template();
    let doc: Json =
        serde_json::from_str(&std::fs::read_to_string(root().join("functions/openapi.json")).unwrap()).unwrap();
    let mut documented = BTreeMap::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        if path == "/ws" {
            continue; // the local push; on AWS it is the WebSocket API
        }
        for (method, op) in ops.as_object().unwrap() {
            let supervisor =
                op["security"].as_array().into_iter().flatten().any(|s| s.get("supervisorBearer").is_some());
            documented.insert((method.to_uppercase(), path.clone()), supervisor);
        }
    }
    assert_eq!(http_routes(&t), documented);
}

#[test]
fn websocket_routes_cover_the_protocol() {
    let t = template();
    let keys: BTreeSet<&str> = t["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::ApiGatewayV2::Route")
        .map(|r| str_of(&r["Properties"]["RouteKey"]))
        .collect();
    assert_eq!(keys, BTreeSet::from(["$connect", "$disconnect", "$default", "subscribe", "unsubscribe"]));
}

#[test]
fn every_sample_event_targets_a_route_that_exists() {
    let t = template();
    let http = http_routes(&t);
    let mut seen = 0;
    for entry in std::fs::read_dir(root().join("events")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let event: Json = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if event["detail-type"] == "Scheduled Event" {
            let scheduled = functions(&t).values().any(|f| {
                f["Properties"]["Events"].as_mapping().into_iter().flatten().any(|(_, e)| e["Type"] == "ScheduleV2")
            });
            assert!(scheduled, "{path:?}: no scheduled function");
            seen += 1;
            continue;
        }
        if event["source"].as_str().is_some_and(|s| s.starts_with("aws.partner/genesys.com/")) {
            let ruled = functions(&t).values().any(|f| {
                f["Properties"]["Events"].as_mapping().into_iter().flatten().any(|(_, e)| {
                    e["Type"] == "EventBridgeRule"
                        && e["Properties"]["Pattern"]["source"][0]["prefix"].as_str()
                            == Some("aws.partner/genesys.com/")
                })
            });
            assert!(ruled, "{path:?}: no function takes Genesys partner events");
            seen += 1;
            continue;
        }
        if event["Records"][0]["eventSource"] == "aws:sqs" {
            let polled = functions(&t).values().any(|f| {
                f["Properties"]["Events"].as_mapping().into_iter().flatten().any(|(_, e)| {
                    e["Type"] == "SQS"
                        && e["Properties"]["FunctionResponseTypes"][0].as_str() == Some("ReportBatchItemFailures")
                })
            });
            assert!(polled, "{path:?}: no function takes SQS batches with partial failures");
            seen += 1;
            continue;
        }
        let route = event["requestContext"]["routeKey"].as_str().unwrap_or_else(|| panic!("{path:?}: no routeKey"));
        if let Some((method, p)) = route.split_once(' ') {
            assert!(http.contains_key(&(method.into(), p.into())), "{path:?}: {route} is not routed");
        } else {
            assert!(["$connect", "$disconnect", "subscribe"].contains(&route), "{path:?}: {route}");
        }
        seen += 1;
    }
    assert!(seen >= 14, "only {seen} sample events");
}

#[test]
fn functions_get_the_settings_they_require() {
    let t = template();
    let vars = names(&t["Globals"]["Function"]["Environment"]["Variables"]);
    // The ingest token by its secret's ARN: read at each cold start (`functions::lambda_secrets`).
    let required =
        ["TABLE_NAME", "BUCKET_NAME", "REALTIME_INGEST_TOKEN_SECRET_ARN", "WEBSOCKET_CALLBACK_URL", "JOB_QUEUE_URL"];
    for required in required {
        assert!(vars.contains(required), "{required} is not set for the functions");
    }
}

/// AWS advises a queue visibility of at least six times the function timeout for a Lambda event source, so
/// a delivery the Lambda service retries is not handed to a second worker; batch housekeeping assumes the
/// same six leases (`shared::batch::worker::VISIBILITY_LEASES`) before taking up a call left processing,
/// and a job's lease (`BATCH_JOB_TIMEOUT_SECONDS`, 900 unless set) must cover one run of the worker. Every
/// delivery before the dead letter must also fit inside the queue's retention.
#[test]
fn the_job_queue_outlasts_the_batch_worker() {
    let t = template();
    let queue = &t["Resources"]["JobQueue"]["Properties"];
    let worker = &functions(&t)["BatchWorkerFunction"]["Properties"];
    let visibility = seconds(&queue["VisibilityTimeout"], "JobQueue VisibilityTimeout");
    let timeout = seconds(&worker["Timeout"], "BatchWorkerFunction Timeout");
    assert!(visibility >= 6 * timeout, "visibility {visibility} s is under six times the worker's {timeout} s");
    for name in ["BatchWorkerFunction", "HousekeepingFunction"] {
        let own = &functions(&t)[name]["Properties"]["Environment"]["Variables"]["BATCH_JOB_TIMEOUT_SECONDS"];
        let lease = [own, &t["Globals"]["Function"]["Environment"]["Variables"]["BATCH_JOB_TIMEOUT_SECONDS"]]
            .into_iter()
            .find_map(Value::as_str)
            .map_or(900, |v| v.parse().unwrap_or_else(|_| panic!("{name}: BATCH_JOB_TIMEOUT_SECONDS {v:?}")));
        assert!(lease >= timeout, "{name}: a {lease} s lease is shorter than the worker's {timeout} s");
    }
    let receives = queue["RedrivePolicy"]["maxReceiveCount"].as_u64().unwrap();
    assert_eq!(receives, 5, "maxReceiveCount is BATCH_MAX_ATTEMPTS's default (and the local queue's MAX_RECEIVES)");
    let retention = seconds(&queue["MessageRetentionPeriod"], "JobQueue MessageRetentionPeriod");
    assert!(receives * visibility < retention, "a job would expire before its last delivery");
}

/// Reserved concurrency comes out of the account's unreserved pool, which may not fall below 100: in a new
/// account (a quota of 10) any reservation fails the stack's creation. Housekeeping needs none: its sweep
/// changes each call with a conditional write, so two runs at once do each change once.
#[test]
fn no_function_reserves_concurrency() {
    for (name, f) in functions(&template()) {
        assert!(f["Properties"]["ReservedConcurrentExecutions"].is_null(), "{name} reserves concurrency");
    }
}

/// A browser reads only the response headers CORS exposes: exports name their file in
/// `Content-Disposition`, so without it every export is saved as "export".
#[test]
fn cors_exposes_the_export_filename() {
    let t = template();
    let cors = &t["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"];
    let exposed: Vec<String> =
        cors["ExposeHeaders"].as_sequence().into_iter().flatten().map(|h| str_of(h).to_lowercase()).collect();
    assert!(exposed.iter().any(|h| h == "content-disposition"), "exposed: {exposed:?}");
}

/// The bucket's expiry rules each name a prefix of call data: a rule without one would also delete
/// `config/glossary.csv`, the glossary a supervisor uploaded, which is settings, not call data.
#[test]
fn bucket_expiry_keeps_the_glossary() {
    let t = template();
    let rules = t["Resources"]["Bucket"]["Properties"]["LifecycleConfiguration"]["Rules"].as_sequence().unwrap();
    let mut expiring = Vec::new();
    for rule in rules.iter().filter(|r| !r["ExpirationInDays"].is_null()) {
        let prefix = rule["Prefix"].as_str().unwrap_or_else(|| panic!("{:?} expires every object", rule["Id"]));
        assert!(!"config/glossary.csv".starts_with(prefix), "{prefix} expires the glossary");
        expiring.push(prefix);
    }
    for data in ["live/", "staging/", "uploads/", "outputs/", "recordings/"] {
        assert!(expiring.contains(&data), "{data} never expires: {expiring:?}");
    }
}

/// The UI `PUT`s uploads to the bucket and fetches audio from it by presigned links (a request through the
/// API carries at most 6 MB), from its own origin only, where sign-in returns: CloudFront's with the web UI,
/// else the origin named for CORS, else the local process. Never `*`, even when the API is open to any.
#[test]
fn the_bucket_lets_only_the_ui_origin_put_uploads_and_get_audio() {
    let t = template();
    let rules = t["Resources"]["Bucket"]["Properties"]["CorsConfiguration"]["CorsRules"].as_sequence();
    let rules = rules.expect("the bucket has CORS rules");
    assert_eq!(rules.len(), 1, "{rules:?}");
    let listed = |key: &str| -> BTreeSet<String> {
        rules[0][key].as_sequence().into_iter().flatten().map(|v| str_of(v).to_lowercase()).collect()
    };
    assert_eq!(listed("AllowedMethods"), BTreeSet::from(["get".into(), "put".into()]));
    assert_eq!(listed("AllowedHeaders"), BTreeSet::from(["content-type".into()]), "the PUT's content type");
    let cloudfront = "[!Sub 'https://${WebDistribution.DomainName}']";
    for (given, origins) in [
        (vec![], "[http://localhost:8009]"),
        (vec![("DeployWebUi", "true")], cloudfront),
        (vec![("DeployWebUi", "true"), ("CorsAllowOrigin", "*")], cloudfront),
        (vec![("CorsAllowOrigin", "https://ui.example.com")], "[!Ref CorsAllowOrigin]"),
        (vec![("CorsAllowOrigin", "*")], "[http://localhost:8009]"),
    ] {
        let chosen = common::deployment::Deployment::new(&t, &given).chosen(&rules[0]["AllowedOrigins"]);
        assert_eq!(chosen, serde_yaml::from_str::<Value>(origins).unwrap(), "with {given:?}");
    }
}

/// The live window is handed out as a link to a copy the live-audio function writes under `live/` (which
/// the bucket expires within a day): its role may put objects there, and nowhere else.
#[test]
fn the_live_audio_function_may_write_only_under_live() {
    let t = template();
    let policies = t["Resources"]["LiveAudioFunction"]["Properties"]["Policies"].as_sequence().unwrap();
    let puts: Vec<&Value> = policies
        .iter()
        .filter_map(|p| p["Statement"].as_sequence())
        .flatten()
        .filter(|s| s["Action"] == "s3:PutObject")
        .collect();
    assert_eq!(puts.len(), 1, "{policies:?}");
    assert_eq!(puts[0]["Resource"], serde_yaml::from_str::<Value>("!Sub '${Bucket.Arn}/live/*'").unwrap());
    assert!(policies.iter().all(|p| p.get("S3CrudPolicy").is_none() && p.get("S3WritePolicy").is_none()));
}

/// The `[[bin]]` names of a Cargo manifest (enough TOML for that, without a TOML parser).
mod toml_bins {
    use std::path::Path;

    pub struct Manifest {
        pub bins: Vec<String>,
    }

    pub fn read(path: &Path) -> Manifest {
        let text = std::fs::read_to_string(path).unwrap();
        let mut bins = Vec::new();
        let mut in_bin = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                in_bin = line == "[[bin]]";
            } else if in_bin && let Some(v) = line.strip_prefix("name = ") {
                bins.push(v.trim_matches('"').to_string());
            }
        }
        bins.sort();
        Manifest { bins }
    }
}
