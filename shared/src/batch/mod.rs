//! The batch pipeline: uploads become queued calls; a worker transcribes and analyses them into the
//! seed's artifacts; the dashboard reads, filters, exports and manages them.

mod detail;
mod digest;
pub mod downloads;
pub mod exports;
pub mod job;
pub mod listing;
mod process;
pub mod record;
mod service;
pub mod settings;
mod staging;
mod sweep;
pub mod worker;

pub use detail::INLINE_TRANSCRIPT_BYTES;
pub use digest::digest;
pub use process::{ProcessError, Processed};
pub use record::{BatchCall, BatchStatus, CallOptions, Digest};
pub use service::{
    ARTIFACTS, BatchPorts, BatchService, GLOSSARY_KEY, MAX_TRANSCRIPT_BYTES, UPLOAD_URL_LIFETIME, Upload,
    UploadsQueued, list_row, output_key, parse_transcript,
};
pub use settings::BatchConfig;
pub use staging::{STAGING_PREFIX, StagedAudio};
pub use sweep::BatchSweep;
