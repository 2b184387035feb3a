//! Whisper models for whisper.cpp, made from files the package registries carry: faster-whisper's
//! CTranslate2 weights (MIT) plus openai-whisper's mel filters and vocabulary, converted to whisper.cpp's
//! legacy ggml layout (what its `convert-pt-to-ggml.py` writes). Pure: bytes in, bytes out.

mod assets;
mod ct2;
mod ggml;

pub use assets::{mel_filters, vocabulary};
pub use ct2::{Ct2Model, DType, Variable, read as read_ct2};
pub use ggml::{Hparams, convert, inspect};

use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum ModelError {
    #[error("CTranslate2 model: {0}")]
    Ct2(String),
    #[error("mel filters (.npy): {0}")]
    MelFilters(String),
    #[error("vocabulary (.tiktoken) line {0}: not `<base64 token> <rank>`")]
    Vocabulary(usize),
    #[error("the model lacks {0}")]
    Missing(String),
    #[error("{name}: {why}")]
    Shape { name: String, why: String },
}

#[cfg(test)]
mod tests;
