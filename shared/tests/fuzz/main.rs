//! Fuzz targets for every parser of `shared` a client reaches: event and audio-chunk JSON with their base64
//! audio, WAV chunks and uploads, Genesys notifications, transcript imports and the upload form's fields.
//! `harness.rs` says how long they run (`FUZZ_CASES`, `FUZZ_SECONDS`) and what each prints; `make fuzz` runs
//! them long and tabulates.

mod grammar;
mod harness;

mod audio_chunk;
mod events;
mod genesys;
mod transcripts;
mod upload_fields;
mod wav;

#[global_allocator]
static ALLOCATOR: harness::PeakAlloc = harness::PeakAlloc;
