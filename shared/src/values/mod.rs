//! Values parsed once at the edge, so inner code cannot hold an invalid one: identifiers (a safe charset
//! for storage keys and file names) and timestamps (one UTC type and wire format).

pub mod ids;
pub mod timestamps;
