//! Uploads that decode to far more than they weigh: FLAC of silence at 384 kHz (built by `flac`), a few
//! kilobytes a minute. They are held at the target rate, and `max_decoded_bytes` refuses them from the header
//! when it declares the length and while decoding when it does not, a limit the recording exactly fills passing.

#[path = "flac/mod.rs"]
mod flac;

use shared::audio::{AudioConfig, AudioError, prepare, probe_duration};

fn cfg() -> AudioConfig {
    AudioConfig { noise_suppression: false, ..AudioConfig::default() }
}

#[test]
fn a_bomb_is_prepared_at_the_target_rate() {
    for declared in [true, false] {
        let bomb = flac::silence(384_000, 2, 60.0, declared);
        assert!(bomb.len() < 20_000, "{} bytes", bomb.len());
        let p = prepare(&bomb, Some("bomb.flac"), &cfg()).unwrap();
        assert_eq!((p.duration_seconds, p.source_rate, p.source_channels), (60.0, 384_000, 2));
        assert_eq!(p.tracks.len(), 1, "silence on both channels is one track");
        let wav_bytes: usize = p.tracks[0].pieces.iter().map(|piece| piece.wav.len() - 44).sum();
        assert_eq!(wav_bytes, 60 * 16_000 * 2, "16-bit at 16 kHz");
    }
}

#[test]
fn the_decoded_size_is_bounded_from_the_header_and_while_decoding() {
    // 2 s at 384 kHz in stereo: 32000 frames a channel at 16 kHz, two bytes each, both channels.
    let exactly = 32_000 * 2 * 2;
    for declared in [true, false] {
        let bomb = flac::silence(384_000, 2, 2.0, declared);
        let at_limit = AudioConfig { max_decoded_bytes: exactly, ..cfg() };
        assert_eq!(prepare(&bomb, Some("bomb.flac"), &at_limit).map(|p| p.duration_seconds), Ok(2.0));
        let under = AudioConfig { max_decoded_bytes: exactly - 1, ..cfg() };
        assert_eq!(
            prepare(&bomb, Some("bomb.flac"), &under),
            Err(AudioError::DecodedTooLarge { max_bytes: exactly - 1 }),
            "declared: {declared}"
        );
        // Reading the length keeps nothing, so it is not bound by the decoded size.
        assert_eq!(probe_duration(&bomb, Some("bomb.flac"), &under), Ok(2.0));
    }
    // From the header, before any decoding: the same file cut after its first two blocks (16 bytes each) is
    // refused for its size, not found cut short.
    let cut = &flac::silence(384_000, 2, 2.0, true)[..42 + 2 * 16];
    let under = AudioConfig { max_decoded_bytes: exactly - 1, ..cfg() };
    assert_eq!(prepare(cut, None, &under), Err(AudioError::DecodedTooLarge { max_bytes: exactly - 1 }));
    assert!(matches!(prepare(cut, None, &cfg()), Err(AudioError::Truncated { .. })));
    // At a higher target rate the same recording weighs more.
    let bomb = flac::silence(384_000, 2, 2.0, true);
    let wide = AudioConfig { max_decoded_bytes: exactly, target_rate: 48_000, ..cfg() };
    assert_eq!(prepare(&bomb, None, &wide), Err(AudioError::DecodedTooLarge { max_bytes: exactly }));
}
