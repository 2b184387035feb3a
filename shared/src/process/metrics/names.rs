//! Every series this product emits, by name, with what it counts, the labels it takes (each from a small
//! closed set, never an id) and its histogram buckets. Names follow Prometheus conventions; the same names
//! reach CloudWatch through EMF, where the CloudWatch alarms, dashboard and listener autoscaling look them
//! up, so a name here is a contract: do not rename.

use metrics::Unit;

/// Ingest API requests, by `endpoint` ([`ENDPOINTS`]) and `outcome` ([`OUTCOMES`]).
pub const INGEST_REQUESTS: &str = "call_analytics_ingest_requests_total";
/// Time from an ingest request's arrival to its answer, by `endpoint`.
pub const INGEST_DURATION: &str = "call_analytics_ingest_request_duration_seconds";
/// Supervisor alerts raised, by `type` (the alert rule) and `severity`.
pub const ALERTS_RAISED: &str = "call_analytics_alerts_raised_total";
/// Supervisor push connections open on this process (the local `/ws`; sampled when read).
pub const PUSH_CONNECTIONS: &str = "call_analytics_push_connections";
/// Messages handed to the push channel (call updates, events, alerts).
pub const PUSH_MESSAGES: &str = "call_analytics_push_messages_total";
/// Messages a slow push subscriber missed (it was told it lagged).
pub const PUSH_LAGGED: &str = "call_analytics_push_lagged_total";
/// AudioHook sessions open on this process, until their recording and forwarding are handed off (sampled
/// when read). The listener's autoscaling metric: its average over `Service=listener` is sessions per task.
pub const AUDIOHOOK_SESSIONS_OPEN: &str = "call_analytics_audiohook_sessions_open";
/// AudioHook sessions opened (the connection probe excluded).
pub const AUDIOHOOK_SESSIONS_OPENED: &str = "call_analytics_audiohook_sessions_opened_total";
/// AudioHook connections refused, by `reason` ([`REFUSALS`]).
pub const AUDIOHOOK_SESSIONS_REFUSED: &str = "call_analytics_audiohook_sessions_refused_total";
/// Seconds of call audio received over AudioHook (per channel, i.e. call time).
pub const AUDIOHOOK_AUDIO_SECONDS: &str = "call_analytics_audiohook_audio_seconds_total";
/// Bytes in the forwarding spool (backlogs kept on disk while the ingest is unreachable; sampled when read).
pub const SPOOL_BYTES: &str = "call_analytics_spool_bytes";
/// Age of the oldest backlog file in the forwarding spool, 0 when it is empty (sampled when read).
pub const SPOOL_OLDEST_AGE: &str = "call_analytics_spool_oldest_age_seconds";
/// Forwarding attempts that failed with the ingest unavailable and will be retried.
pub const FORWARD_RETRIES: &str = "call_analytics_forward_retries_total";
/// Utterances waiting for a live transcription worker (sampled when read).
pub const LIVE_QUEUE_DEPTH: &str = "call_analytics_live_transcription_queue_depth";
/// Utterances live transcription dropped (queue full, or stopping) instead of transcribing.
pub const LIVE_DROPPED: &str = "call_analytics_live_transcription_dropped_total";
/// From the end of an utterance to its transcript.
pub const LIVE_LATENCY: &str = "call_analytics_live_transcription_latency_seconds";
/// Batch jobs, by `state` ([`JOB_STATES`]).
pub const BATCH_JOBS: &str = "call_analytics_batch_jobs_total";
/// Time a batch call spent in one `stage` ([`STAGES`]).
pub const BATCH_STAGE_DURATION: &str = "call_analytics_batch_stage_duration_seconds";
/// One speech-to-text request, by `provider` (`openai`, `sarvam`, `whisper`).
pub const STT_DURATION: &str = "call_analytics_stt_request_duration_seconds";
/// Speech-to-text requests that failed, by `provider`.
pub const STT_FAILURES: &str = "call_analytics_stt_failures_total";
/// One LLM enrichment request.
pub const LLM_DURATION: &str = "call_analytics_llm_request_duration_seconds";
/// LLM enrichment requests that failed (the call keeps its embedded analysis).
pub const LLM_FAILURES: &str = "call_analytics_llm_failures_total";

/// `endpoint` of the ingest series.
pub const ENDPOINTS: [&str; 3] = ["events", "audio_chunk", "genesys_events"];
/// `outcome` of an ingest request: applied, a repeated id acknowledged, refused as invalid (4xx), failed (5xx).
pub const OUTCOMES: [&str; 4] = ["accepted", "duplicate", "rejected", "failed"];
/// `reason` an AudioHook connection was refused.
pub const REFUSALS: [&str; 3] = ["over_capacity", "unauthorized", "bad_request"];
/// `state` of a batch job: sent to the queue, completed, failed for good, to be retried.
pub const JOB_STATES: [&str; 4] = ["queued", "completed", "failed", "retried"];
/// `stage` of a batch call: decoding its audio, speech to text, analysis (with the LLM), writing artifacts.
pub const STAGES: [&str; 4] = ["decode", "transcribe", "analyse", "store"];

/// Buckets for request handling on this process: half a millisecond to a few seconds.
pub const FAST_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
/// Buckets for calls to outside providers and live results: a tenth of a second to five minutes.
pub const PROVIDER_BUCKETS: &[f64] = &[0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0];
/// Buckets for batch stages: up to the half hour a long call's transcription may take.
pub const STAGE_BUCKETS: &[f64] = &[0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0];

/// The histograms and their buckets.
pub const HISTOGRAMS: [(&str, &[f64]); 5] = [
    (INGEST_DURATION, FAST_BUCKETS),
    (LIVE_LATENCY, PROVIDER_BUCKETS),
    (BATCH_STAGE_DURATION, STAGE_BUCKETS),
    (STT_DURATION, PROVIDER_BUCKETS),
    (LLM_DURATION, PROVIDER_BUCKETS),
];

/// Registers every series' help text (the `# HELP` lines), so an exporter installed after this knows them.
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(INGEST_REQUESTS, Unit::Count, "Ingest API requests, by endpoint and outcome.");
    describe_histogram!(INGEST_DURATION, Unit::Seconds, "Ingest request handling time, by endpoint.");
    describe_counter!(ALERTS_RAISED, Unit::Count, "Supervisor alerts raised, by type and severity.");
    describe_gauge!(PUSH_CONNECTIONS, Unit::Count, "Supervisor push connections open.");
    describe_counter!(PUSH_MESSAGES, Unit::Count, "Messages handed to the push channel.");
    describe_counter!(PUSH_LAGGED, Unit::Count, "Push messages a slow subscriber missed.");
    describe_gauge!(AUDIOHOOK_SESSIONS_OPEN, Unit::Count, "AudioHook sessions open on this process.");
    describe_counter!(AUDIOHOOK_SESSIONS_OPENED, Unit::Count, "AudioHook sessions opened.");
    describe_counter!(AUDIOHOOK_SESSIONS_REFUSED, Unit::Count, "AudioHook connections refused, by reason.");
    describe_counter!(AUDIOHOOK_AUDIO_SECONDS, Unit::Seconds, "Seconds of call audio received over AudioHook.");
    describe_gauge!(SPOOL_BYTES, Unit::Bytes, "Bytes in the forwarding spool.");
    describe_gauge!(SPOOL_OLDEST_AGE, Unit::Seconds, "Age of the oldest backlog in the forwarding spool.");
    describe_counter!(FORWARD_RETRIES, Unit::Count, "Forwarding attempts to be retried (ingest unavailable).");
    describe_gauge!(LIVE_QUEUE_DEPTH, Unit::Count, "Utterances waiting for live transcription.");
    describe_counter!(LIVE_DROPPED, Unit::Count, "Utterances live transcription dropped.");
    describe_histogram!(LIVE_LATENCY, Unit::Seconds, "End of an utterance to its live transcript.");
    describe_counter!(BATCH_JOBS, Unit::Count, "Batch jobs, by state.");
    describe_histogram!(BATCH_STAGE_DURATION, Unit::Seconds, "Time a batch call spent in a stage.");
    describe_histogram!(STT_DURATION, Unit::Seconds, "Speech-to-text request time, by provider.");
    describe_counter!(STT_FAILURES, Unit::Count, "Speech-to-text requests that failed, by provider.");
    describe_histogram!(LLM_DURATION, Unit::Seconds, "LLM enrichment request time.");
    describe_counter!(LLM_FAILURES, Unit::Count, "LLM enrichment requests that failed.");
}

/// The CloudWatch unit of a series, from its name's Prometheus suffix.
pub fn unit_of(name: &str) -> &'static str {
    if name.ends_with("_seconds") || name.ends_with("_seconds_total") {
        "Seconds"
    } else if name.ends_with("_bytes") {
        "Bytes"
    } else {
        "Count"
    }
}
