//! `GET /api/calls/{id}/detail` and the transcript it links to. A transcript upload may be 20 MiB, and a
//! Lambda response carries at most 6 MB, so the detail carries the transcript inline only up to
//! [`INLINE_TRANSCRIPT_BYTES`]: past that, its first entries that fit, marked `transcript_truncated`, with
//! `transcript_url`, where the whole artifact is (on AWS a short-lived storage link, as for audio; locally
//! the file). The bound holds on both hosts, so the UI has one way to read a long transcript.

use super::service::{BatchService, list_row, output_key};
use crate::ports::delivery::{self, FileMeta, Handout};
use crate::realtime::ServiceError;
use serde_json::{Value, json};

/// Most bytes of transcript the detail carries inline, as sent: its JSON text escaped once more (a
/// Lambda response's body is a JSON string, where every quote takes two bytes). A quarter of Lambda's
/// 6 MB leaves room for the analysis, summary and Q&A beside it; about ten hours of speech.
pub const INLINE_TRANSCRIPT_BYTES: usize = 1536 * 1024;

/// The bytes `v` takes in a Lambda response body.
fn sent_len(v: &Value) -> usize {
    serde_json::to_string(&v.to_string()).map_or(usize::MAX, |s| s.len())
}

/// `transcript` whole when it takes at most `budget` bytes as sent, else with only the first entries that
/// fit; and whether it was cut.
pub fn inline_transcript(mut transcript: Value, budget: usize) -> (Value, bool) {
    if sent_len(&transcript) <= budget {
        return (transcript, false);
    }
    let Some(entries) = transcript.get_mut("entries").and_then(Value::as_array_mut) else {
        return (Value::Null, true);
    };
    let all = std::mem::take(entries);
    let mut used = sent_len(&transcript);
    let mut kept = Vec::new();
    for entry in all {
        // The entry without the quotes around it alone, and a comma before all but the first.
        used += sent_len(&entry) - 2 + usize::from(!kept.is_empty());
        if used > budget {
            break;
        }
        kept.push(entry);
    }
    transcript["entries"] = Value::Array(kept);
    (transcript, true)
}

impl BatchService {
    /// `GET /api/calls/{id}/detail`: the call with its transcript (bounded, see above), analysis, summary
    /// and Q&A.
    pub async fn detail(&self, id: &str) -> Result<Value, ServiceError> {
        let call = self.get(id).await?.value;
        let mut out = list_row(&call);
        let (transcript, cut) = inline_transcript(self.artifact(id, "transcript.json").await?, INLINE_TRANSCRIPT_BYTES);
        out["transcript"] = transcript;
        out["transcript_truncated"] = json!(cut);
        if cut {
            out["transcript_url"] = json!(format!("/api/calls/{id}/transcript"));
        }
        for (field, name) in [("analysis", "analysis.json"), ("summary", "summary.json"), ("qa", "qa.json")] {
            out[field] = self.artifact(id, name).await?;
        }
        out["options"] = serde_json::to_value(&call.options).unwrap_or_default();
        Ok(out)
    }

    /// `GET /api/calls/{id}/transcript`: the transcript artifact whole, a link to it where storage presigns
    /// (see `delivery`), else its bytes.
    pub async fn transcript(&self, id: &str) -> Result<Handout, ServiceError> {
        self.get(id).await?;
        let file = FileMeta::json(&format!("{id}_transcript.json"));
        let found = delivery::stored(self.ports.blobs.as_ref(), &output_key(id, "transcript.json"), file).await?;
        found.ok_or(ServiceError::NotFound("Transcript not found"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transcript(entries: usize, text: &str) -> Value {
        let entries: Vec<Value> = (0..entries)
            .map(|i| {
                json!({"speaker_id": "agent", "start_time_seconds": i,
            "end_time_seconds": i + 1, "transcript": text})
            })
            .collect();
        json!({"generated_at": "2026-02-10T10:00:00Z", "entries": entries, "speaker_stats": {}})
    }

    #[test]
    fn a_transcript_that_fits_is_whole() {
        let t = transcript(10, "hello");
        assert_eq!(inline_transcript(t.clone(), sent_len(&t)), (t, false));
        assert_eq!(inline_transcript(Value::Null, 10), (Value::Null, false));
    }

    #[test]
    fn a_long_one_keeps_the_first_entries_that_fit_as_sent() {
        // Quotes take two bytes each once escaped: the budget counts them so.
        let t = transcript(1000, &"\"".repeat(500));
        let (cut, truncated) = inline_transcript(t.clone(), 100_000);
        let kept = cut["entries"].as_array().unwrap();
        assert!(truncated && !kept.is_empty() && kept.len() < 1000, "{}", kept.len());
        assert!(sent_len(&cut) <= 100_000, "{}", sent_len(&cut));
        assert_eq!(kept[..], t["entries"].as_array().unwrap()[..kept.len()], "the first entries, unchanged");
        let one_more = json!({"entries": t["entries"].as_array().unwrap()[..=kept.len()], "generated_at": cut["generated_at"], "speaker_stats": {}});
        assert!(sent_len(&one_more) > 100_000, "as many as fit");
        assert_eq!(inline_transcript(json!("x".repeat(100)), 50), (Value::Null, true), "no entries: nothing inline");
    }
}
