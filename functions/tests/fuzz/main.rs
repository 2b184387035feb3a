//! The parsers a client reaches through the HTTP handlers, fuzzed in-process through the local router
//! (`tower::ServiceExt::oneshot`, no socket): event and audio-chunk bodies, the upload form (multipart, its
//! fields, its audio and transcript files), the direct-upload request and the glossary form; whatever is
//! sent, the answer is a 2xx or a 4xx with a JSON `detail`, never a 5xx or a panic. Also the supervisors'
//! push messages (`ws_protocol`). The harness and the grammars are `shared`'s; `make fuzz` runs these long
//! and tabulates.
#![cfg(feature = "local")]

#[path = "../../../shared/tests/fuzz/grammar.rs"]
mod grammar;
#[path = "../../../shared/tests/fuzz/harness.rs"]
mod harness;

mod app;
mod batch;
mod ingest;
mod push;

#[global_allocator]
static ALLOCATOR: harness::PeakAlloc = harness::PeakAlloc;
