//! Every Lambda function's handler, fed its sample event from `events/` through `lambda_http`'s own event
//! parsing, on the AWS adapters against moto (DynamoDB, S3) and a fake API Gateway Management API for push:
//! ingest → push → snapshot → alerts → ack, plus the other functions and the JWT requirement.
#![cfg(feature = "aws")]

mod lambda_env;
#[path = "../../shared/tests/moto/mod.rs"]
mod moto;

use functions::lambda::{LambdaConfig, app_state};
use functions::routes::{alerts, calls, health, ingest, live_audio, openapi};
use lambda_env::{fixture, functions_on_moto, functions_on_moto_with, invoke, sqs_event};
use serde_json::{Value, json};
use shared::adapters::aws::DynamoStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_function_handles_its_sample_event() {
    let (_moto, state, store, posts) = functions_on_moto("lambdas").await;
    let now = chrono::Utc::now();
    store.connect("supervisor-1", now).await.unwrap();
    assert!(store.subscribe("supervisor-1", Some("demo-call-1"), 100, now).await.unwrap().is_some());

    let (status, v) = invoke(&state, ingest::events_router, &fixture("ingest-event")).await;
    assert_eq!(status, 200, "{v}");
    let kinds: Vec<&str> = v["alerts"].as_array().unwrap().iter().map(|a| a["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["negative_sentiment", "escalation_keyword", "high_risk_score"]);
    let pushed: Vec<Value> = posts.lock().unwrap().iter().map(|(_, b)| serde_json::from_str(b).unwrap()).collect();
    let pushed: Vec<&str> = pushed.iter().map(|m| m["type"].as_str().unwrap()).collect();
    assert_eq!(pushed, ["realtime_event", "supervisor_alert", "supervisor_alert", "supervisor_alert"]);

    let (status, v) = invoke(&state, ingest::audio_router, &fixture("ingest-audio-chunk")).await;
    assert_eq!((status, &v["audio"]["chunk_count"]), (200, &Value::from(1)), "{v}");

    let (status, snap) = invoke(&state, calls::snapshot_router, &fixture("snapshot")).await;
    assert_eq!((status, snap["call_id"].as_str()), (200, Some("demo-call-1")), "{snap}");
    assert_eq!(snap["alerts"].as_array().unwrap().len(), 3);
    let (status, list) = invoke(&state, calls::calls_router, &fixture("calls")).await;
    assert_eq!((status, list["calls"][0]["call_id"].as_str()), (200, Some("demo-call-1")));
    let (status, _) = invoke(&state, live_audio::live_audio_router, &fixture("live-audio")).await;
    assert_eq!(status, 307, "on S3 the live window is a redirect to it (lambda_payloads.rs)");

    let (status, open) = invoke(&state, alerts::alerts_router, &fixture("alerts")).await;
    assert_eq!((status, open["alerts"].as_array().unwrap().len()), (200, 3));
    let id = open["alerts"][0]["id"].as_i64().unwrap();
    let mut ack = fixture("alert-ack");
    for pointer in ["/rawPath", "/requestContext/http/path"] {
        *ack.pointer_mut(pointer).unwrap() = Value::from(format!("/api/realtime/alerts/{id}/ack"));
    }
    ack["pathParameters"]["alert_id"] = Value::from(id.to_string());
    let (status, acked) = invoke(&state, alerts::ack_router, &ack).await;
    assert_eq!((status, &acked["alert"]["acknowledged"]), (200, &Value::from(true)), "{acked}");
    let (_, open) = invoke(&state, alerts::alerts_router, &fixture("alerts")).await;
    assert_eq!(open["alerts"].as_array().unwrap().len(), 2);

    let (status, h) = invoke(&state, health::health_router, &fixture("health")).await;
    assert_eq!((status, h["state"].as_str()), (200, Some("not_running")));
    let (status, doc) = invoke(&state, |_| openapi::openapi_router(), &fixture("openapi")).await;
    assert_eq!((status, doc["openapi"].as_str()), (200, Some("3.1.0")));

    // Without the authorizer's claims (the route was not behind the JWT authorizer) supervisors are refused,
    // and the ingest token is still checked.
    let mut bare = fixture("snapshot");
    bare["requestContext"].as_object_mut().unwrap().remove("authorizer");
    assert_eq!(invoke(&state, calls::snapshot_router, &bare).await.0, 401);
    let mut forged = fixture("ingest-event");
    forged["headers"]["x-cloud-token"] = Value::from("wrong");
    assert_eq!(invoke(&state, ingest::events_router, &forged).await.0, 401);
}

/// A speech-to-text provider missing its key (`SttProvider=sarvam`, no `SttApiKey`) is the batch worker's
/// problem alone: the other functions do not read the provider's settings, so ingest still starts and
/// serves; the worker refuses at its cold start, naming the missing variable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_batch_worker_needs_the_speech_provider_key() {
    let sarvam = [("STT_PROVIDER", "sarvam")];
    let (_moto, state, _store, _posts) = functions_on_moto_with("providers", &sarvam).await;
    let (status, v) = invoke(&state, ingest::events_router, &fixture("ingest-event")).await;
    assert_eq!(status, 200, "{v}");
    let env = [
        ("TABLE_NAME", "t"),
        ("BUCKET_NAME", "b"),
        ("REALTIME_INGEST_TOKEN", "k"),
        ("WEBSOCKET_CALLBACK_URL", "https://example.invalid/prod"),
        ("JOB_QUEUE_URL", "https://example.invalid/q"),
        ("STT_PROVIDER", "sarvam"),
    ];
    let refused = LambdaConfig::batch_worker_from_env(&env).unwrap_err();
    assert_eq!(refused.name, "SARVAM_API_KEY");
}

/// On AWS the ingest token and the providers' keys are not in the functions' environment: it names their
/// Secrets Manager secrets (`<NAME>_SECRET_ARN`) and the container reads them at its cold start, ahead of
/// any plain variable. A secret that cannot be read fails the start, naming the setting and the secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settings_loader_reads_the_token_and_keys_from_secrets_manager() {
    use functions::lambda_secrets::resolve;
    let moto = moto::Moto::start();
    let sdk = moto::sdk(&moto.endpoint).await;
    moto::fixture(&sdk, &moto.endpoint, "secrets").await;
    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    let create = |name: &str, value: &str| sm.create_secret().name(name).secret_string(value).send();
    let token = create("ingest-token", "replace-me").await.unwrap().arn.unwrap();
    let key = create("stt-key", "sk-from-the-secret").await.unwrap().arn.unwrap();
    let env = [
        ("TABLE_NAME", "secrets"),
        ("BUCKET_NAME", "secrets"),
        ("REALTIME_INGEST_TOKEN", "a-stale-plain-value"),
        ("REALTIME_INGEST_TOKEN_SECRET_ARN", token.as_str()),
        ("WEBSOCKET_CALLBACK_URL", "https://example.invalid/prod"),
        ("JOB_QUEUE_URL", "https://example.invalid/q"),
        ("STT_PROVIDER", "sarvam"),
        // As the template gives the batch worker both: one secret for either provider.
        ("STT_API_KEY_SECRET_ARN", key.as_str()),
        ("SARVAM_API_KEY_SECRET_ARN", key.as_str()),
    ];
    let cfg = LambdaConfig::batch_worker_from_env(&resolve(&env, &sm).await.unwrap()).unwrap();
    match &cfg.services.stt {
        shared::speech::SttConfig::Sarvam(s) => assert_eq!(s.api_key.expose(), "sk-from-the-secret"),
        other => panic!("{other:?}"),
    }
    let logged = format!("{cfg:?}");
    assert!(!logged.contains("sk-from-the-secret") && !logged.contains("replace-me"), "{logged}");
    // The sample event's token is the secret's: accepted; the stale plain value is not the token.
    let state = app_state(&cfg, &sdk).unwrap();
    assert_eq!(invoke(&state, ingest::events_router, &fixture("ingest-event")).await.0, 200);
    let mut stale = fixture("ingest-event");
    stale["headers"]["x-cloud-token"] = Value::from("a-stale-plain-value");
    assert_eq!(invoke(&state, ingest::events_router, &stale).await.0, 401);

    let gone = token.replace("ingest-token", "deleted-token");
    let refused = resolve(&[("REALTIME_INGEST_TOKEN_SECRET_ARN", gone.as_str())], &sm).await.err().unwrap().to_string();
    assert!(refused.starts_with("REALTIME_INGEST_TOKEN: ") && refused.contains(&gone), "{refused}");
}

/// The WebSocket function fed its sample events: a ticket from the HTTP function opens one connection, the
/// connection subscribes, an ingest pushes to it, and `$disconnect` stops that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_function_connects_with_a_ticket_and_receives_pushes() {
    use functions::ws_lambda::handle;
    use lambda_http::aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
    let (_moto, state, store, posts) = functions_on_moto("websocket").await;
    let ws = |v: &Value| serde_json::from_value::<ApiGatewayWebsocketProxyRequest>(v.clone()).unwrap();
    let body = |r: &lambda_http::aws_lambda_events::apigw::ApiGatewayProxyResponse| -> Value {
        match &r.body {
            Some(lambda_http::Body::Text(t)) => serde_json::from_str(t).unwrap(),
            other => panic!("unexpected body {other:?}"),
        }
    };

    let (status, issued) = invoke(&state, functions::routes::tickets::ws_ticket_router, &fixture("ws-ticket")).await;
    assert_eq!((status, issued["expires_in"].as_i64()), (200, Some(60)), "{issued}");
    let ticket = issued["ticket"].as_str().unwrap();
    let mut connect = fixture("ws-connect");
    connect["queryStringParameters"]["ticket"] = Value::from(ticket);
    let r = handle(&store, &ws(&connect)).await;
    assert_eq!(r.status_code, 200, "{:?}", r.body);

    // The ticket is spent; none or a made-up one is refused.
    let mut again = connect.clone();
    again["requestContext"]["connectionId"] = Value::from("second-connection");
    assert_eq!(handle(&store, &ws(&again)).await.status_code, 401);
    again["queryStringParameters"]["ticket"] = Value::from("made-up");
    assert_eq!(handle(&store, &ws(&again)).await.status_code, 401);
    again["queryStringParameters"].as_object_mut().unwrap().clear();
    assert_eq!(handle(&store, &ws(&again)).await.status_code, 401);

    let r = handle(&store, &ws(&fixture("ws-subscribe"))).await;
    assert_eq!(body(&r), serde_json::json!({"type": "subscribed", "call_id": "demo-call-1", "all": false, "calls": 1}));
    let mut msg = fixture("ws-subscribe");
    for (text, kind) in [
        (r#"{"action":"ping"}"#, "pong"),
        ("not json", "error"),
        (r#"{"action":"subscribe","call_id":"../x"}"#, "error"),
    ] {
        msg["body"] = Value::from(text);
        assert_eq!(body(&handle(&store, &ws(&msg)).await)["type"], kind, "{text}");
    }

    let (status, _) = invoke(&state, ingest::events_router, &fixture("ingest-event")).await;
    assert_eq!(status, 200);
    let to: Vec<String> = posts.lock().unwrap().iter().map(|(id, _)| id.replace("%3D", "=")).collect();
    assert_eq!(to, vec!["Yf8kqcLDjoECJxA=".to_string(); 4], "the event and its three alerts");

    assert_eq!(handle(&store, &ws(&fixture("ws-disconnect"))).await.status_code, 200);
    assert!(store.subscribers("demo-call-1").await.unwrap().is_empty());
    posts.lock().unwrap().clear();
    let mut next = fixture("ingest-event");
    next["body"] = Value::from(r#"{"call_id":"demo-call-1","text":"still there?","event_id":"after-disconnect"}"#);
    assert_eq!(invoke(&state, ingest::events_router, &next).await.0, 200);
    assert!(posts.lock().unwrap().is_empty(), "nothing is pushed to a closed connection");
}

/// The scheduled housekeeping function on DynamoDB: a call quiet for longer than `CALL_IDLE_MINUTES` is
/// ended (and supervisors told), one still active is left alone. The service's clock is moved by the test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn housekeeping_function_ends_idle_calls() {
    use shared::adapters::aws::{ApiGatewayPush, S3BlobStore};
    use shared::ports::CallStore;
    use shared::realtime::RealtimeService;
    use std::sync::{Arc, Mutex};
    let moto = moto::Moto::start();
    let sdk = moto::sdk(&moto.endpoint).await;
    let settings = moto::fixture(&sdk, &moto.endpoint, "housekeeping").await;
    let (callback, posts) = moto::fake_management_api().await;
    let store = Arc::new(DynamoStore::new(&sdk, &settings));
    let clock = Arc::new(Mutex::new(chrono::Utc::now()));
    let c = clock.clone();
    let realtime = RealtimeService::with_clock(
        store.clone(),
        Arc::new(S3BlobStore::new(&sdk, &settings)),
        Arc::new(ApiGatewayPush::new(&sdk, store.clone(), &callback)),
        shared::realtime::config::RealtimeConfig::default(),
        Arc::new(move || *c.lock().unwrap()),
    );
    let ingest = |call: &str| {
        let e = serde_json::json!({"call_id": call, "text": "hello"});
        shared::realtime::normalize::normalize_event(e.as_object().unwrap(), 1000).unwrap()
    };
    realtime.ingest_normalized(&ingest("quiet-call")).await.unwrap();
    *clock.lock().unwrap() += chrono::Duration::minutes(100);
    realtime.ingest_normalized(&ingest("busy-call")).await.unwrap();
    store.connect("watcher", chrono::Utc::now()).await.unwrap();
    store.subscribe("watcher", None, 100, chrono::Utc::now()).await.unwrap();
    *clock.lock().unwrap() += chrono::Duration::minutes(21);

    let report = functions::lambda::sweep(&realtime).await.unwrap();
    assert_eq!(report, serde_json::json!({"ended": 1, "purged": 0}));
    let status = |call: &'static str| {
        let store = store.clone();
        async move { store.load_call(call, None).await.unwrap().state.unwrap().value.status }
    };
    assert_eq!((status("quiet-call").await.as_str(), status("busy-call").await.as_str()), ("ended", "active"));
    let pushed: Vec<Value> = posts.lock().unwrap().iter().map(|(_, b)| serde_json::from_str(b).unwrap()).collect();
    assert!(pushed.iter().any(|m| m["call_id"] == "quiet-call" && m["status"] == "ended"), "{pushed:?}");
    assert_eq!(functions::lambda::sweep(&realtime).await.unwrap()["ended"], 0, "a second pass finds nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn genesys_events_function_maps_partner_events_once() {
    let (_moto, state, _store, _posts) = functions_on_moto("genesys").await;
    let call = "5f0c9a34-8a1b-4e2c-9d3f-0b1a2c3d4e5f";
    for _delivery in 0..2 {
        // EventBridge delivers at least once: the second round must change nothing.
        let said =
            functions::lambda::genesys_events(&state.realtime, &fixture("genesys-eventbridge-transcription")).await;
        assert_eq!(said.unwrap()["ingested"], 2);
        functions::lambda::genesys_events(&state.realtime, &fixture("genesys-eventbridge-call-end")).await.unwrap();
    }
    let snapshot = state.realtime.snapshot(call).await.unwrap();
    assert_eq!((snapshot["status"].as_str(), snapshot["event_count"].as_u64()), (Some("ended"), Some(3)), "{snapshot}");
    let alerts: Vec<&str> = snapshot["alerts"].as_array().unwrap().iter().filter_map(|a| a["type"].as_str()).collect();
    assert!(alerts.contains(&"escalation_keyword"), "{alerts:?}");
}

/// The batch path on the AWS APIs: a file put under `uploads/` (straight into the bucket, and through a
/// presigned URL from the upload function) → S3 notification → SQS → the worker function → artifacts in S3
/// and the call completed in DynamoDB; a call that cannot be processed fails with its reason, not a retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_flow_through_s3_sqs_and_the_worker_to_artifacts() {
    let (_moto, state, _store, _posts) = functions_on_moto("batch").await;
    let transcript = json!({"entries": [
        {"speaker_id": "agent", "start_time_seconds": 0, "end_time_seconds": 3, "transcript": "Thank you for calling, how can I help?"},
        {"speaker_id": "customer", "start_time_seconds": 3, "end_time_seconds": 6, "transcript": "I want a refund or I will cancel, get me a supervisor."}
    ]});
    let direct = "20260210101520123456";
    state
        .batch
        .ports
        .blobs
        .put(&format!("uploads/{direct}/support call.json"), transcript.to_string().into_bytes())
        .await
        .unwrap();

    let (status, v) = invoke(&state, functions::routes::batch::upload_router, &fixture("calls-upload-url")).await;
    assert_eq!(status, 201, "{v}");
    let presigned = v["id"].as_str().unwrap().to_string();
    assert_eq!(v["stage"], "awaiting_upload");
    let put = reqwest::Client::new()
        .put(v["upload"]["url"].as_str().unwrap())
        .body(transcript.to_string())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.text().await.unwrap());
    state.batch.ports.blobs.put("uploads/20260210101520999999/silence.wav", vec![0; 64]).await.unwrap();

    let out = functions::lambda::batch_jobs(&state.batch, sqs_event(&state).await).await.unwrap();
    assert_eq!(out, json!({"batchItemFailures": []}));
    for id in [direct, presigned.as_str()] {
        let call = state.batch.get(id).await.unwrap().value;
        assert_eq!(call.status_json()["status"], "completed", "{id}");
        let detail = state.batch.detail(id).await.unwrap();
        assert_eq!(detail["analysis"]["speaker_roles"], json!({"agent": "Agent", "customer": "Customer"}));
        assert_eq!(detail["analysis"]["auto_tags"], json!(["billing", "churn risk", "escalation"]));
    }
    assert_eq!(state.batch.get(&presigned).await.unwrap().value.options.prompt_pack, "support");
    let failed = state.batch.get("20260210101520999999").await.unwrap().value;
    assert_eq!(
        failed.status_json()["error_message"],
        "The file is not a recording in a supported format (WAV, MP3, M4A/AAC, OGG/Vorbis or FLAC)"
    );
    assert!(
        state.batch.ports.queue.receive(10, std::time::Duration::from_secs(1)).await.unwrap().is_empty(),
        "every job was deleted"
    );
}
