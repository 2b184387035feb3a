//! Fuzz targets for every parser of the listener a client reaches: the AudioHook upgrade's HTTP head (pure,
//! and through the real server on a loopback socket), its signature headers and their structured fields,
//! and AudioHook protocol messages through the session state machine. The harness is `shared`'s (how long
//! they run, what each prints); `make fuzz` runs them long and tabulates.

#[path = "../../../shared/tests/fuzz/harness.rs"]
mod harness;
#[path = "../support/mod.rs"]
mod support;

mod head;
mod messages;
mod signature;

#[global_allocator]
static ALLOCATOR: harness::PeakAlloc = harness::PeakAlloc;
