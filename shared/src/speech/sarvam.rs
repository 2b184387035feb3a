//! Sarvam speech to text through its documented batch-job REST API (docs.sarvam.ai, "Batch - Initiate
//! Job / Upload Files / Start Job / Get Status / Download Results"), the flow the seed ran through the
//! Python SDK: create a job, upload the WAV to the presigned URL it returns, start, poll the status,
//! then fetch the JSON outputs. The batch API is used rather than the synchronous `POST /speech-to-text`
//! because only batch jobs diarize and accept pieces longer than 30 seconds, and calls are chunked by
//! minutes. `saaras:v1`–`v2.5` models run as speech-to-text-translate jobs (the seed's; the language is
//! detected, and the SDK refused `language_code` for them); other models (`saarika:*`, `saaras:v3`+) run as
//! speech-to-text jobs with `language_code` and timestamps.
//!
//! The key travels only in the `api-subscription-key` header to the API itself, never to the storage URLs
//! and never into logs or `Debug` output.

use super::sarvam_output;
use super::{MAX_ANSWER_BYTES, Segment, SttError, Transcriber};
use crate::outbound::http_reply;
use crate::settings::env::{self, EnvError, EnvSource};
use crate::settings::secret::Secret;
use async_trait::async_trait;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::Instant;

/// The one file each job carries.
const FILE_NAME: &str = "audio.wav";
/// Most bytes of one API answer (job status and URL lists are small).
const API_ANSWER_BYTES: usize = 1024 * 1024;
/// Transient status-poll failures in a row tolerated before giving up on the job.
const POLL_RETRIES: u32 = 3;

/// `STT_PROVIDER=sarvam` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SarvamSettings {
    /// `SARVAM_BASE_URL` (https://api.sarvam.ai).
    pub base_url: String,
    /// `SARVAM_API_KEY` (required).
    pub api_key: Secret,
    /// `SARVAM_STT_MODEL` (saaras:v2.5).
    pub model: String,
    /// `LANGUAGE_CODE` (en-IN), used when the caller does not name a language.
    pub language_code: String,
    /// `SARVAM_DIARIZATION` (true).
    pub diarization: bool,
    /// `SARVAM_NUM_SPEAKERS` (unset: Sarvam detects), 1–20.
    pub num_speakers: Option<u8>,
    /// `SARVAM_POLL_SECONDS` (5): pause between status polls.
    pub poll_interval: Duration,
    /// `SARVAM_TIMEOUT_SECONDS` (120): one HTTP request, upload included.
    pub request_timeout: Duration,
    /// `SARVAM_JOB_TIMEOUT_SECONDS` (1800): the whole job, polling included.
    pub job_timeout: Duration,
}

fn seconds(e: &dyn EnvSource, name: &str, default: f64, min: f64, max: f64) -> Result<Duration, EnvError> {
    Ok(Duration::from_secs_f64(env::float(e, name, default)?.clamp(min, max)))
}

impl SarvamSettings {
    pub fn from_env(e: &dyn EnvSource) -> Result<Self, EnvError> {
        let num_speakers: Option<u8> = match env::string(e, "SARVAM_NUM_SPEAKERS") {
            None => None,
            Some(v) => Some(v.parse().ok().filter(|n| (1..=20).contains(n)).ok_or(EnvError {
                name: "SARVAM_NUM_SPEAKERS".into(),
                value: v,
                expected: "whole number from 1 to 20",
            })?),
        };
        Ok(Self {
            base_url: env::string(e, "SARVAM_BASE_URL")
                .unwrap_or_else(|| "https://api.sarvam.ai".into())
                .trim_end_matches('/')
                .to_string(),
            api_key: env::required(e, "SARVAM_API_KEY")?.into(),
            model: env::string(e, "SARVAM_STT_MODEL").unwrap_or_else(|| "saaras:v2.5".into()),
            language_code: env::string(e, "LANGUAGE_CODE").unwrap_or_else(|| "en-IN".into()),
            diarization: env::parsed(e, "SARVAM_DIARIZATION", true, "true or false")?,
            num_speakers,
            poll_interval: seconds(e, "SARVAM_POLL_SECONDS", 5.0, 0.05, 60.0)?,
            request_timeout: seconds(e, "SARVAM_TIMEOUT_SECONDS", 120.0, 1.0, 3600.0)?,
            job_timeout: seconds(e, "SARVAM_JOB_TIMEOUT_SECONDS", 1800.0, 1.0, 4.0 * 3600.0)?,
        })
    }

    /// The legacy translate models keep the seed's job kind; the rest use the speech-to-text job.
    fn translate_job(&self) -> bool {
        ["saaras:v1", "saaras:v2", "saaras:turbo", "saaras:flash"].iter().any(|p| self.model.starts_with(p))
    }
}

pub struct Sarvam {
    http: reqwest::Client,
    settings: SarvamSettings,
    /// `{base}/speech-to-text-translate/job/v1` or `{base}/speech-to-text/job/v1`.
    jobs_url: String,
}

/// Job ids go into URL paths, so only plain ids are accepted.
fn job_id(answer: &Value) -> Result<String, SttError> {
    match answer.get("job_id").and_then(Value::as_str) {
        Some(id)
            if !id.is_empty()
                && id.len() <= 128
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            Ok(id.to_string())
        }
        _ => Err(SttError::BadAnswer("no usable job_id".into())),
    }
}

fn file_url<'a>(answer: &'a Value, list: &str, name: &str) -> Result<&'a str, SttError> {
    answer
        .get(list)
        .and_then(|l| l.get(name))
        .and_then(|u| u.get("file_url"))
        .and_then(Value::as_str)
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .ok_or_else(|| SttError::BadAnswer(format!("no {list} entry for {name}")))
}

/// The output files of a finished job, or why it failed.
fn finished(status: &Value) -> Result<Option<Vec<String>>, SttError> {
    let state = status.get("job_state").and_then(Value::as_str).unwrap_or_default();
    let details = status.get("job_details").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let reason = || {
        let file_errors = details.iter().filter_map(|d| d.get("error_message").and_then(Value::as_str));
        let all: Vec<&str> =
            status.get("error_message").and_then(Value::as_str).into_iter().chain(file_errors).collect();
        let all: Vec<&str> = all.into_iter().filter(|m| !m.trim().is_empty()).collect();
        if all.is_empty() { format!("job {state}") } else { all.join("; ").chars().take(500).collect() }
    };
    match state {
        "Accepted" | "Pending" | "Running" => Ok(None),
        "Completed" | "PartiallyCompleted" => {
            let mut outputs: Vec<String> = details
                .iter()
                .filter_map(|d| d.get("outputs").and_then(Value::as_array))
                .flatten()
                .filter_map(|o| o.get("file_name").and_then(Value::as_str).map(str::to_string))
                .collect();
            outputs.sort();
            if outputs.is_empty() { Err(SttError::Refused(reason())) } else { Ok(Some(outputs)) }
        }
        "Failed" => Err(SttError::Refused(reason())),
        other => {
            Err(SttError::BadAnswer(format!("unknown job_state {:?}", other.chars().take(40).collect::<String>())))
        }
    }
}

impl Sarvam {
    pub fn new(settings: SarvamSettings) -> Result<Self, SttError> {
        let http = reqwest::Client::builder()
            .timeout(settings.request_timeout)
            .build()
            .map_err(|e| SttError::Unavailable(e.to_string()))?;
        let kind = if settings.translate_job() { "speech-to-text-translate" } else { "speech-to-text" };
        let jobs_url = format!("{}/{kind}/job/v1", settings.base_url);
        Ok(Self { http, settings, jobs_url })
    }

    /// One call to the Sarvam API (key attached), its JSON answer.
    async fn api(&self, request: reqwest::RequestBuilder) -> Result<Value, SttError> {
        let request = request.header("api-subscription-key", self.settings.api_key.expose());
        let body = http_reply::send(request, API_ANSWER_BYTES).await?;
        serde_json::from_slice(&body).map_err(|e| SttError::BadAnswer(e.to_string()))
    }

    fn job_parameters(&self, language: Option<&str>) -> Value {
        let s = &self.settings;
        let mut p = json!({"model": s.model, "with_diarization": s.diarization});
        if let (true, Some(n)) = (s.diarization, s.num_speakers) {
            p["num_speakers"] = json!(n);
        }
        if !s.translate_job() {
            p["language_code"] = json!(language.filter(|l| !l.trim().is_empty()).unwrap_or(&s.language_code));
            p["with_timestamps"] = json!(true);
        }
        p
    }

    async fn upload(&self, job: &str, wav: Vec<u8>) -> Result<(), SttError> {
        let body = json!({"job_id": job, "files": [FILE_NAME]});
        let answer = self.api(self.http.post(format!("{}/upload-files", self.jobs_url)).json(&body)).await?;
        let url = file_url(&answer, "upload_urls", FILE_NAME)?;
        let mut put = self.http.put(url).header("content-type", "audio/wav").body(wav);
        if answer.get("storage_container_type").and_then(Value::as_str).is_some_and(|t| t.starts_with("Azure")) {
            put = put.header("x-ms-blob-type", "BlockBlob");
        }
        http_reply::send(put, API_ANSWER_BYTES).await?;
        Ok(())
    }

    /// Polls until the job ends; a few transient poll failures in a row are ridden out, refusals are not.
    async fn wait(&self, job: &str) -> Result<Vec<String>, SttError> {
        let deadline = Instant::now() + self.settings.job_timeout;
        let mut failures = 0;
        loop {
            match self.api(self.http.get(format!("{}/{job}/status", self.jobs_url))).await {
                Ok(status) => {
                    failures = 0;
                    if let Some(outputs) = finished(&status)? {
                        return Ok(outputs);
                    }
                }
                Err(SttError::Unavailable(why)) if failures < POLL_RETRIES => {
                    failures += 1;
                    tracing::warn!(job_id = job, error = %why, "sarvam status poll failed; polling again");
                }
                Err(e) => return Err(e),
            }
            if Instant::now() + self.settings.poll_interval > deadline {
                let limit = self.settings.job_timeout.as_secs_f64();
                return Err(SttError::Unavailable(format!("sarvam job {job} did not finish within {limit} s")));
            }
            tokio::time::sleep(self.settings.poll_interval).await;
        }
    }

    async fn download(&self, job: &str, outputs: &[String], piece: Option<f64>) -> Result<Vec<Segment>, SttError> {
        let body = json!({"job_id": job, "files": outputs});
        let answer = self.api(self.http.post(format!("{}/download-files", self.jobs_url)).json(&body)).await?;
        let mut segments = Vec::new();
        for name in outputs {
            let url = file_url(&answer, "download_urls", name)?;
            let bytes = http_reply::send(self.http.get(url), MAX_ANSWER_BYTES).await?;
            let output: Value = serde_json::from_slice(&bytes).map_err(|e| SttError::BadAnswer(e.to_string()))?;
            segments.extend(sarvam_output::segments(&output, piece)?);
        }
        Ok(segments)
    }
}

#[async_trait]
impl Transcriber for Sarvam {
    async fn transcribe(&self, wav: Vec<u8>, language: Option<&str>) -> Result<Vec<Segment>, SttError> {
        let piece = crate::audio::wav::duration_seconds(&wav);
        let created =
            self.api(self.http.post(&self.jobs_url).json(&json!({"job_parameters": self.job_parameters(language)})));
        let job = job_id(&created.await?)?;
        tracing::info!(job_id = %job, model = %self.settings.model, "sarvam job created");
        self.upload(&job, wav).await?;
        self.api(self.http.post(format!("{}/{job}/start", self.jobs_url))).await?;
        let outputs = self.wait(&job).await?;
        self.download(&job, &outputs, piece).await
    }
}
