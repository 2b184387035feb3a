//! Call exports in the seed's shapes: JSON documents and CSV files, with every
//! CSV cell quoted as needed and neutralised against formula injection (a cell a spreadsheet would run as
//! a formula gets a leading `'`).

use serde_json::{Value, json};

/// The batch call fields exports carry.
#[derive(Debug, Clone, PartialEq)]
pub struct CallInfo {
    pub id: String,
    pub filename: String,
    pub status: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    pub language_code: String,
    pub stt_model: String,
}

pub const INSIGHTS_HEADER: [&str; 9] = [
    "call_id",
    "filename",
    "summary_short",
    "sentiment_overall",
    "sentiment_customer",
    "sentiment_agent",
    "topics",
    "action_items",
    "resolution_status",
];
pub const TRANSCRIPT_HEADER: [&str; 4] = ["speaker_id", "start_time_seconds", "end_time_seconds", "transcript"];

/// One CSV cell: formula-looking text defused (numbers such as `-0.6` stay numbers), quoted when it holds
/// a comma, quote or line break.
pub fn cell(value: &str) -> String {
    let formula = value.starts_with(['=', '+', '-', '@', '\t', '\r']) && value.parse::<f64>().is_err();
    let defused = if formula { format!("'{value}") } else { value.to_string() };
    if defused.contains([',', '"', '\n', '\r']) { format!("\"{}\"", defused.replace('"', "\"\"")) } else { defused }
}

/// Rows as CSV text (CRLF line ends, as the seed's Python `csv` wrote them).
pub fn csv<R: AsRef<[String]>>(header: &[&str], rows: &[R]) -> String {
    let mut out = header.iter().map(|h| cell(h)).collect::<Vec<_>>().join(",") + "\r\n";
    for row in rows {
        out.push_str(&row.as_ref().iter().map(|c| cell(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

fn text_of(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The insights row of one call (the seed's fields; any JSON where it expected a string is written as JSON
/// instead of failing the export).
pub fn insights_row(call: &CallInfo, analysis: &Value) -> Vec<String> {
    let summary = &analysis["summary"];
    let short = match summary {
        Value::String(s) => s.clone(),
        _ => text_of(if summary["short"].is_null() { &summary["summary"] } else { &summary["short"] }),
    };
    let list = |key: &str, item: fn(&Value) -> String| {
        analysis[key].as_array().map(|a| a.iter().map(item).collect::<Vec<_>>().join("; ")).unwrap_or_default()
    };
    let action = |a: &Value| match a {
        Value::Object(o) => text_of(o.get("description").or_else(|| o.get("text")).unwrap_or(a)),
        other => text_of(other),
    };
    let sentiment = &analysis["sentiment"];
    vec![
        call.id.clone(),
        call.filename.clone(),
        short,
        text_of(&sentiment["overall"]),
        text_of(&sentiment["customer"]),
        text_of(&sentiment["agent"]),
        list("topics", text_of),
        list("action_items", action),
        text_of(&analysis["resolution"]["status"]),
    ]
}

/// Transcript rows from `transcript.json`.
pub fn transcript_rows(transcript: &Value) -> Vec<Vec<String>> {
    transcript["entries"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    ["speaker_id", "start_time_seconds", "end_time_seconds", "transcript"]
                        .iter()
                        .map(|k| text_of(&e[*k]))
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The single-call JSON export for `scope` (`transcript` or `insights`).
pub fn call_json(call: &CallInfo, scope: &str, transcript: &Value, analysis: &Value) -> Value {
    let transcript_scope = scope == "transcript";
    json!({
        "call": {"id": call.id, "filename": call.filename, "status": call.status, "created_at": call.created_at,
                 "language_code": call.language_code, "stt_model": call.stt_model},
        "transcript": if transcript_scope { transcript.clone() } else { Value::Null },
        "analysis": if transcript_scope { Value::Null } else { analysis.clone() },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> CallInfo {
        CallInfo {
            id: "c1".into(),
            filename: "support, call.wav".into(),
            status: "completed".into(),
            created_at: "2026-11-30T10:00:00.000000Z".into(),
            language_code: "en-IN".into(),
            stt_model: "whisper-1".into(),
        }
    }

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a, b"), "\"a, b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
        assert_eq!(cell("+1 555"), "'+1 555");
        assert_eq!((cell("-2"), cell("-0.25")), ("-2".into(), "-0.25".into()), "numbers stay numbers");
        assert_eq!(cell("-2+3"), "'-2+3");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("line\nbreak"), "\"line\nbreak\"");
    }

    #[test]
    fn insights_and_transcript_csv() {
        let analysis = json!({"summary": {"short": "Refund agreed"}, "sentiment": {"overall": "negative", "customer": -0.6, "agent": 0.3},
            "topics": ["refund", 42], "action_items": [{"description": "Send email"}, {"text": "=cmd"}, "Call back"],
            "resolution": {"status": "resolved"}});
        let row = insights_row(&call(), &analysis);
        assert_eq!(
            row,
            [
                "c1",
                "support, call.wav",
                "Refund agreed",
                "negative",
                "-0.6",
                "0.3",
                "refund; 42",
                "Send email; =cmd; Call back",
                "resolved"
            ]
        );
        let text = csv(&INSIGHTS_HEADER, &[row]);
        assert!(text.starts_with("call_id,filename,summary_short,"));
        assert!(text.contains(",\"support, call.wav\",") && text.contains(",-0.6,"), "{text}");
        assert!(text.contains("Send email; =cmd; Call back"), "a formula inside a cell is harmless: {text}");
        assert!(text.ends_with("resolved\r\n"));
        let summary_string = insights_row(&call(), &json!({"summary": "Whole text"}));
        assert_eq!(summary_string[2], "Whole text");
        let t = json!({"entries": [{"speaker_id": "0", "start_time_seconds": 0.5, "end_time_seconds": 2.0, "transcript": "Hi"}]});
        assert_eq!(transcript_rows(&t), [vec!["0".to_string(), "0.5".into(), "2.0".into(), "Hi".into()]]);
        assert_eq!(
            csv(&TRANSCRIPT_HEADER, &transcript_rows(&t)),
            "speaker_id,start_time_seconds,end_time_seconds,transcript\r\n0,0.5,2.0,Hi\r\n"
        );
    }

    #[test]
    fn json_export_by_scope() {
        let j = call_json(&call(), "transcript", &json!({"entries": []}), &json!({"topics": []}));
        assert_eq!((j["transcript"]["entries"].is_array(), j["analysis"].is_null()), (true, true));
        let j = call_json(&call(), "insights", &json!({}), &json!({"topics": ["x"]}));
        assert_eq!((j["transcript"].is_null(), j["analysis"]["topics"][0].as_str()), (true, Some("x")));
        assert_eq!(j["call"]["stt_model"], "whisper-1");
    }
}
