//! LLM enrichment against `FakeChatCompletions`, an OpenAI-compatible chat completions server on loopback
//! (an axum route here) that checks the bearer key, the model and JSON mode: a good reply merged into a
//! real embedded analysis, a busy server, an unreadable reply and a timeout.

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use shared::analysis::engine::{AnalysisInput, analyze};
use shared::analysis::llm::{LlmClient, LlmError, LlmSettings, enrich};
use shared::analysis::llm_prompt::{Prompt, PromptInput};
use shared::analysis::tags::TagRules;
use shared::outbound::openai_api::OpenAiApi;
use shared::speech::transcript::Entry;
use std::time::Duration;

fn reply_content() -> String {
    let content = json!({
        "summary": {"short": "The customer was charged twice and the agent refunded the duplicate.",
                    "bullets": ["Duplicate internet plan charge", "Refund issued today"]},
        "sentiment": {"overall": "positive", "customer": "negative", "agent": 0.7, "confidence": 0.9},
        "topics": ["duplicate charge", "refund"],
        "action_items": ["Refund the duplicate charge", "Email a confirmation"],
        "resolution": {"status": "escalated", "next_steps": ["Confirm the refund landed"]},
        "qa_pairs": [{"question": "Can you refund it?", "answer": "Yes, today."}],
        "compliance_flags": ["no recording disclosure"],
        "speaker_roles": {"0": "Customer"}
    });
    format!("```json\n{content}\n```")
}

/// Answers by the requested model; checks the key, JSON mode and the prompt on the way.
async fn fake_chat_completions(headers: HeaderMap, Json(body): Json<Value>) -> (StatusCode, String) {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer llm-key") {
        return (StatusCode::UNAUTHORIZED, json!({"error": {"message": "Incorrect API key"}}).to_string());
    }
    assert_eq!(body["response_format"], json!({"type": "json_object"}));
    assert_eq!(body["temperature"], 0);
    assert_eq!(body["messages"][0]["role"], "system");
    let user = body["messages"][1]["content"].as_str().unwrap_or_default();
    assert!(user.contains("Focus on: issue description") && user.contains("\nTranscript:\n[00:00 - 00:04] 0: "));
    let choice = |content: &str| {
        json!({"id": "c1", "model": body["model"], "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": content}}]})
        .to_string()
    };
    match body["model"].as_str().unwrap_or_default() {
        "good" => (StatusCode::OK, choice(&reply_content())),
        "busy" => (StatusCode::TOO_MANY_REQUESTS, json!({"error": {"message": "Rate limit reached"}}).to_string()),
        "garbage" => (StatusCode::OK, choice("I am sorry, I cannot produce JSON today.")),
        "not-chat" => (StatusCode::OK, "<html>gateway</html>".into()),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            (StatusCode::OK, choice("{}"))
        }
        _ => (StatusCode::NOT_FOUND, json!({"error": {"message": "model not found"}}).to_string()),
    }
}

async fn server() -> String {
    let app = axum::Router::new().route("/v1/chat/completions", post(fake_chat_completions));
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", socket.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
    base
}

fn client(base: &str, key: &str, model: &str) -> LlmClient {
    LlmClient::new(LlmSettings {
        api: OpenAiApi {
            base_url: base.into(),
            api_key: Some(key.into()),
            model: model.into(),
            timeout: Duration::from_millis(700),
        },
        max_transcript_chars: 12_000,
    })
    .unwrap()
}

fn e(speaker: &str, start: f64, text: &str) -> Entry {
    Entry::new(speaker, start, start + 4.0, text)
}

fn call() -> Vec<Entry> {
    vec![
        e("0", 0.0, "Thank you for calling Acme, how can I help you today?"),
        e("1", 5.0, "I was charged twice for my internet plan and I want a refund."),
        e("0", 10.0, "I'm sorry about that. I will refund the duplicate charge today."),
        e("1", 15.0, "Okay, thank you."),
    ]
}

fn prompt(entries: &[Entry]) -> Prompt {
    Prompt::new(&PromptInput {
        entries,
        prompt_pack: "support",
        glossary: &[],
        context: None,
        max_transcript_chars: 12_000,
    })
}

#[tokio::test]
async fn a_good_reply_enriches_the_embedded_analysis() {
    let base = server().await;
    let entries = call();
    let (reply, raw) = client(&base, "llm-key", "good").complete(&prompt(&entries)).await.unwrap();
    assert_eq!(raw, reply_content(), "the raw reply is kept as it came, for analysis_raw.txt");
    assert_eq!(reply.dropped, ["speaker_roles: not asked for, ignored"]);

    let tags = TagRules::from_env(&[]).unwrap();
    let input = AnalysisInput {
        entries: &entries,
        duration_seconds: Some(700.0),
        prompt_pack: "support",
        glossary: &[],
        tags: &tags,
    };
    let mut a = analyze(&input);
    let before = a.analysis.clone();
    enrich(&mut a.analysis, &mut a.summary, &mut a.qa, &reply, "good");
    let v = &a.analysis;
    assert_eq!(v["summary"]["bullets"], json!(["Duplicate internet plan charge", "Refund issued today"]));
    assert_eq!(a.summary, v["summary"], "summary.json follows");
    assert_eq!(a.qa, json!([{"question": "Can you refund it?", "answer": "Yes, today."}]), "qa.json follows");
    assert_eq!(v["topics"], json!(["duplicate charge", "refund"]));
    assert_eq!(v["action_items"][1], "Email a confirmation");
    assert_eq!(v["resolution"], json!({"status": "escalated", "next_steps": ["Confirm the refund landed"]}));
    assert_eq!(v["sla"]["resolution_status"], "escalated", "the SLA reads the final resolution");
    assert_eq!(v["compliance_flags"], json!(["no recording disclosure"]));
    assert_eq!(
        (v["sentiment"]["overall"].as_str(), v["sentiment"]["customer"].as_str()),
        (Some("positive"), Some("negative"))
    );
    assert_eq!(v["sentiment"]["trend"], before["sentiment"]["trend"], "measured sentiment fields stay");
    for kept in [
        "speaker_roles",
        "speaker_roles_confidence",
        "speaker_names",
        "talk",
        "empathy",
        "auto_tags",
        "duration_seconds",
        "prompt_pack",
    ] {
        assert_eq!(v[kept], before[kept], "{kept} is the engine's");
    }
    assert_eq!(v["speaker_roles"]["0"], "Agent", "the LLM's extra speaker_roles never override the engine");
    assert_eq!(
        v["enrichment"],
        json!({"provider": "openai", "model": "good", "dropped": ["speaker_roles: not asked for, ignored"]})
    );
}

#[tokio::test]
async fn failures_split_into_retryable_and_not() {
    let base = server().await;
    let p = prompt(&call());
    let busy = client(&base, "llm-key", "busy").complete(&p).await.unwrap_err();
    assert!(matches!(&busy, LlmError::Unavailable(m) if m.contains("429")) && busy.is_retryable(), "{busy:?}");
    let garbage = client(&base, "llm-key", "garbage").complete(&p).await.unwrap_err();
    assert!(matches!(&garbage, LlmError::BadAnswer(m) if m.contains("no JSON object")), "{garbage:?}");
    assert!(matches!(client(&base, "llm-key", "not-chat").complete(&p).await, Err(LlmError::BadAnswer(_))));
    let key = client(&base, "wrong", "good").complete(&p).await.unwrap_err();
    assert!(matches!(&key, LlmError::Refused(m) if m.contains("401")) && !key.is_retryable(), "{key:?}");
    let slow = client(&base, "llm-key", "slow").complete(&p).await.unwrap_err();
    assert!(matches!(slow, LlmError::Unavailable(_)), "a timeout may heal: {slow:?}");
    assert!(matches!(
        client("http://127.0.0.1:9", "llm-key", "good").complete(&p).await,
        Err(LlmError::Unavailable(_))
    ));
}
