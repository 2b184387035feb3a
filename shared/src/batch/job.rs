//! What a batch job message says. Locally (and for API uploads) the body is `{"call_id": ...}`; on AWS an
//! object created under `uploads/` sends S3's event notification through SQS, with URL-encoded keys.

use serde_json::Value;
use thiserror::Error;

/// The uploads prefix that triggers processing.
pub const UPLOADS_PREFIX: &str = "uploads/";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobTarget {
    Call(String),
    /// An object under `uploads/` (`uploads/<call id>/<file>`), decoded.
    Object(String),
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("not a batch job message: {0}")]
pub struct JobError(pub &'static str);

/// `{"call_id": id}` as the queue carries it.
pub fn call_job(call_id: &str) -> String {
    serde_json::json!({"call_id": call_id}).to_string()
}

/// Decodes S3's form-style URL encoding (`+` is a space, `%XX` a byte).
fn s3_key(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The calls or uploaded objects a message asks to process. S3's test event (sent when a notification is
/// configured) and object events outside `uploads/` ask for nothing.
pub fn parse(body: &str) -> Result<Vec<JobTarget>, JobError> {
    let v: Value = serde_json::from_str(body).map_err(|_| JobError("body is not JSON"))?;
    if let Some(id) = v.get("call_id").and_then(Value::as_str) {
        return Ok(vec![JobTarget::Call(id.to_string())]);
    }
    if v.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Vec::new());
    }
    let records = v.get("Records").and_then(Value::as_array).ok_or(JobError("no call_id and no S3 Records"))?;
    let mut targets = Vec::new();
    for r in records {
        if !r["eventName"].as_str().is_some_and(|n| n.starts_with("ObjectCreated")) {
            continue;
        }
        let raw = r["s3"]["object"]["key"].as_str().ok_or(JobError("S3 record without an object key"))?;
        let key = s3_key(raw).ok_or(JobError("S3 object key is not valid URL encoding"))?;
        if key.starts_with(UPLOADS_PREFIX) {
            targets.push(JobTarget::Object(key));
        }
    }
    Ok(targets)
}

/// The call id and file name of an upload key (`uploads/<id>/<file>`).
pub fn split_upload_key(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix(UPLOADS_PREFIX)?;
    let (id, file) = rest.split_once('/')?;
    (!id.is_empty() && !file.is_empty() && !file.contains('/')).then_some((id, file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_jobs() {
        assert_eq!(parse(&call_job("2026")).unwrap(), [JobTarget::Call("2026".into())]);
        assert!(parse("[1]").is_err());
        assert!(parse("not json").is_err());
    }

    #[test]
    fn s3_notifications() {
        let body = r#"{"Records":[
            {"eventName":"ObjectCreated:Put","s3":{"object":{"key":"uploads/20260210101520123456/my+call%281%29.mp3","size":10}}},
            {"eventName":"ObjectCreated:Put","s3":{"object":{"key":"outputs/x/analysis.json"}}},
            {"eventName":"ObjectRemoved:Delete","s3":{"object":{"key":"uploads/1/a.wav"}}}]}"#;
        assert_eq!(parse(body).unwrap(), [JobTarget::Object("uploads/20260210101520123456/my call(1).mp3".into())]);
        assert_eq!(parse(r#"{"Event":"s3:TestEvent","Bucket":"b"}"#).unwrap(), []);
        assert!(
            parse(r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"object":{"key":"uploads/%zz"}}}]}"#).is_err()
        );
    }

    #[test]
    fn upload_keys() {
        assert_eq!(split_upload_key("uploads/1/a.wav"), Some(("1", "a.wav")));
        assert_eq!(split_upload_key("uploads/1/x/a.wav"), None);
        assert_eq!(split_upload_key("uploads//a.wav"), None);
        assert_eq!(split_upload_key("live/1/a"), None);
    }
}
