//! The ingest series on the hot path (thousands of requests a second): one handle per endpoint and outcome,
//! made once, so a request costs two atomic updates and no label strings or registry look-ups.

use super::names::{ENDPOINTS, INGEST_DURATION, INGEST_REQUESTS, OUTCOMES};
use metrics::{Counter, Histogram};
use std::sync::OnceLock;
use std::time::Duration;

/// Which ingest took the request (the `endpoint` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Events = 0,
    AudioChunk = 1,
    GenesysEvents = 2,
}

/// How it ended (the `outcome` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accepted = 0,
    Duplicate = 1,
    /// Refused as invalid (a 4xx answer).
    Rejected = 2,
    /// Not done for a reason of ours (a 5xx answer).
    Failed = 3,
}

struct Handles {
    requests: [[Counter; OUTCOMES.len()]; ENDPOINTS.len()],
    duration: [Histogram; ENDPOINTS.len()],
}

/// Made at the first request, after the process installed its recorder (handles bind to it then).
fn handles() -> &'static Handles {
    static HANDLES: OnceLock<Handles> = OnceLock::new();
    HANDLES.get_or_init(|| Handles {
        requests: ENDPOINTS
            .map(|e| OUTCOMES.map(|o| metrics::counter!(INGEST_REQUESTS, "endpoint" => e, "outcome" => o))),
        duration: ENDPOINTS.map(|e| metrics::histogram!(INGEST_DURATION, "endpoint" => e)),
    })
}

/// Counts one request and its handling time.
pub fn observe(endpoint: Endpoint, outcome: Outcome, took: Duration) {
    let h = handles();
    h.requests[endpoint as usize][outcome as usize].increment(1);
    h.duration[endpoint as usize].record(took.as_secs_f64());
}
