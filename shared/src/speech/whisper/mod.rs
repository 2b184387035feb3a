//! `STT_PROVIDER=whisper`: offline transcription with an embedded whisper.cpp (the `whisper` feature), so no
//! audio leaves the machine. Settings are in `settings.rs`, the engine in `engine.rs`; models are installed
//! by `call-analytics models install` (see `crate::speech::whisper_model`).

mod engine;
mod segments;
mod settings;
mod squeeze;
mod window;

pub use engine::Whisper;
pub use settings::WhisperSettings;
