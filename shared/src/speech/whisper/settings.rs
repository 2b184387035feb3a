//! `STT_PROVIDER=whisper` settings: which ggml model file and how many threads, and the language whisper.cpp
//! is told for a call. Pure: the engine in `engine.rs` does the work.

use crate::settings::env::{self, EnvError, EnvSource};
use std::path::{Path, PathBuf};

/// Model files looked for in `DATA_DIR/models` when `WHISPER_MODEL` is unset, best first: base (any variant)
/// transcribes harder speech better than tiny.en, which is what `make run` installs.
const PREFERRED: [(&str, &str); 2] = [("ggml-base", ".bin"), ("ggml-tiny.en", ".bin")];

#[derive(Debug, Clone, PartialEq)]
pub struct WhisperSettings {
    /// `WHISPER_MODEL`: a whisper.cpp ggml file; by default the first of `DATA_DIR/models/ggml-base*.bin`
    /// and `DATA_DIR/models/ggml-tiny.en.bin` that exists (`DATA_DIR` is `data` when unset).
    pub model: PathBuf,
    /// `WHISPER_THREADS` (the available cores, 1–64): threads of one transcription.
    pub threads: usize,
}

impl WhisperSettings {
    /// The settings, or `None` when `WHISPER_MODEL` is unset and no model is installed.
    pub fn from_env(e: &dyn EnvSource) -> Result<Option<Self>, EnvError> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let threads = env::parsed(e, "WHISPER_THREADS", cores, "whole number")?.clamp(1, 64);
        let model = env::string(e, "WHISPER_MODEL").map(PathBuf::from).or_else(|| {
            let data_dir = env::string(e, "DATA_DIR").unwrap_or_else(|| "data".into());
            installed_model(&Path::new(&data_dir).join("models"))
        });
        Ok(model.map(|model| Self { model, threads }))
    }

    /// As [`Self::from_env`], for `STT_PROVIDER=whisper`, where a missing model is a configuration error.
    pub fn required(e: &dyn EnvSource) -> Result<Self, EnvError> {
        Self::from_env(e)?.ok_or_else(|| EnvError {
            name: "WHISPER_MODEL".into(),
            value: String::new(),
            expected: "ggml model path (none in DATA_DIR/models: run `call-analytics models install tiny.en`)",
        })
    }
}

/// The preferred model file present in `dir` (several base variants: the first by name, so the choice is stable).
fn installed_model(dir: &Path) -> Option<PathBuf> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).ok()?.filter_map(|entry| entry.ok()?.file_name().into_string().ok()).collect();
    names.sort();
    PREFERRED.iter().find_map(|(prefix, suffix)| {
        let name = names.iter().find(|n| n.starts_with(prefix) && n.ends_with(suffix))?;
        Some(dir.join(name))
    })
}

/// The language whisper.cpp decodes in: English for an English-only model; otherwise the call's primary
/// language subtag (`en-IN` → `en`) when it is one whisper knows (`known`), else `None` (detect it).
pub fn language(multilingual: bool, call: Option<&str>, known: impl Fn(&str) -> bool) -> Option<String> {
    if !multilingual {
        return Some("en".into());
    }
    let primary = call?.split(['-', '_']).next()?.trim().to_ascii_lowercase();
    let plausible = (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_lowercase());
    (plausible && known(&primary)).then_some(primary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_only_models_always_decode_english() {
        assert_eq!(language(false, Some("hi-IN"), |_| true).as_deref(), Some("en"));
        assert_eq!(language(false, None, |_| true).as_deref(), Some("en"));
    }

    #[test]
    fn multilingual_models_take_the_calls_primary_subtag_or_detect() {
        let known = |l: &str| ["en", "hi", "ta"].contains(&l);
        assert_eq!(language(true, Some("en-IN"), known).as_deref(), Some("en"));
        assert_eq!(language(true, Some("HI_in"), known).as_deref(), Some("hi"));
        assert_eq!(language(true, Some("xx-YY"), known), None);
        assert_eq!(language(true, Some("e\0n"), |_| true), None, "never handed to C with a NUL");
        assert_eq!(language(true, Some(""), known), None);
        assert_eq!(language(true, None, known), None);
    }

    #[test]
    fn the_model_defaults_to_the_best_installed_one() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_str().unwrap();
        assert_eq!(WhisperSettings::from_env(&[("DATA_DIR", data)]).unwrap(), None);
        assert_eq!(WhisperSettings::required(&[("DATA_DIR", data)]).unwrap_err().name, "WHISPER_MODEL");
        let models = dir.path().join("models");
        std::fs::create_dir_all(&models).unwrap();
        std::fs::write(models.join("ggml-tiny.en.bin"), b"").unwrap();
        let found = WhisperSettings::from_env(&[("DATA_DIR", data), ("WHISPER_THREADS", "3")]).unwrap().unwrap();
        assert_eq!((found.model, found.threads), (models.join("ggml-tiny.en.bin"), 3));
        std::fs::write(models.join("ggml-base.en.bin"), b"").unwrap();
        std::fs::write(models.join("ggml-base.bin"), b"").unwrap();
        let found = WhisperSettings::from_env(&[("DATA_DIR", data)]).unwrap().unwrap();
        assert_eq!(found.model, models.join("ggml-base.bin"));
        let named = WhisperSettings::from_env(&[("DATA_DIR", data), ("WHISPER_MODEL", "/m/x.bin")]).unwrap();
        assert_eq!(named.unwrap().model, PathBuf::from("/m/x.bin"));
        assert_eq!(WhisperSettings::from_env(&[("WHISPER_THREADS", "many")]).unwrap_err().name, "WHISPER_THREADS");
    }
}
