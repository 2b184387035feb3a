//! `shared::audio` on real files in every supported format, made by ffmpeg (a Debian package that
//! `scripts/tools.sh` installs): a stereo call with 440 Hz on the customer's channel and 1 kHz on the agent's.

use shared::audio::{AudioConfig, AudioError, PreparedAudio, prepare, probe_duration};
use std::path::Path;
use std::process::Command;

const SECONDS: f64 = 3.0;

/// The formats under test: file name and ffmpeg's output options.
const FORMATS: [(&str, &[&str]); 6] = [
    ("call.wav", &["-c:a", "pcm_s16le"]),
    ("call_ulaw.wav", &["-ar", "8000", "-c:a", "pcm_mulaw"]),
    ("call.mp3", &["-c:a", "libmp3lame", "-b:a", "64k"]),
    ("call.m4a", &["-c:a", "aac", "-b:a", "64k"]),
    ("call.ogg", &["-c:a", "libvorbis", "-q:a", "3"]),
    ("call.flac", &["-c:a", "flac"]),
];

fn ffmpeg(dir: &Path, name: &str, inputs: &[&str], options: &[&str]) -> Vec<u8> {
    let out = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(inputs)
        .args(options)
        .arg(&out)
        .status()
        .unwrap_or_else(|e| {
            panic!("ffmpeg is needed to make the test recordings ({e}); run scripts/tools.sh or apt-get install ffmpeg")
        });
    assert!(status.success(), "ffmpeg failed to write {name}");
    std::fs::read(out).unwrap()
}

/// The stereo call (440 Hz left, 1 kHz right, 44.1 kHz) in `name`'s format.
fn stereo_call(dir: &Path, name: &str, options: &[&str]) -> Vec<u8> {
    let (left, right) = (
        format!("sine=frequency=440:duration={SECONDS}:sample_rate=44100"),
        format!("sine=frequency=1000:duration={SECONDS}:sample_rate=44100"),
    );
    let inputs = [
        "-f",
        "lavfi",
        "-i",
        &left,
        "-f",
        "lavfi",
        "-i",
        &right,
        "-filter_complex",
        "[0][1]join=inputs=2:channel_layout=stereo[a]",
        "-map",
        "[a]",
    ];
    ffmpeg(dir, name, &inputs, options)
}

fn cfg() -> AudioConfig {
    AudioConfig { noise_suppression: false, ..AudioConfig::default() }
}

/// Frequency of the first piece of a track from upward zero crossings.
fn dominant_hz(prepared: &PreparedAudio, track: usize) -> f64 {
    let (format, pcm) = shared::audio::wav::decode(&prepared.tracks[track].pieces[0].wav).unwrap();
    let s: Vec<i16> = pcm.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
    let ups = s.windows(2).filter(|w| w[0] < 0 && w[1] >= 0).count();
    ups as f64 * f64::from(format.sample_rate) / s.len() as f64
}

#[test]
fn every_format_gives_two_speakers_with_their_own_channel() {
    let dir = tempfile::tempdir().unwrap();
    for (name, options) in FORMATS {
        let bytes = stereo_call(dir.path(), name, options);
        let p = prepare(&bytes, Some(name), &cfg()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!((p.duration_seconds - SECONDS).abs() < 0.1, "{name}: {} s", p.duration_seconds);
        assert_eq!(p.source_channels, 2, "{name}");
        let speakers: Vec<_> = p.tracks.iter().map(|t| t.speaker.as_deref()).collect();
        assert_eq!(speakers, [Some("customer"), Some("agent")], "{name}");
        for (track, hz) in [(0, 440.0), (1, 1000.0)] {
            let got = dominant_hz(&p, track);
            assert!((got - hz).abs() < hz * 0.03, "{name} track {track}: {got} Hz, expected {hz}");
        }
        let probed = probe_duration(&bytes, Some(name), &cfg()).unwrap();
        assert!((probed - SECONDS).abs() < 0.1, "{name}: probed {probed} s");
        // Content decides, not the name: the same bytes under a wrong extension still decode.
        assert!(prepare(&bytes, Some("call.bin"), &cfg()).is_ok(), "{name} without its extension");
    }
}

#[test]
fn identical_channels_collapse_to_one_track_for_diarization() {
    let dir = tempfile::tempdir().unwrap();
    let mono = format!("sine=frequency=440:duration={SECONDS}:sample_rate=16000");
    for (name, codec) in [("dual_mono.wav", "pcm_s16le"), ("dual_mono.mp3", "libmp3lame"), ("dual_mono.m4a", "aac")] {
        let bytes = ffmpeg(dir.path(), name, &["-f", "lavfi", "-i", &mono], &["-ac", "2", "-c:a", codec]);
        let p = prepare(&bytes, Some(name), &cfg()).unwrap();
        assert_eq!(p.source_channels, 2, "{name}");
        assert_eq!(p.tracks.len(), 1, "{name}");
        assert_eq!(p.tracks[0].speaker, None, "{name}");
    }
}

/// `bytes` with everything after the first third replaced by noise: headers intact, audio damaged.
fn damaged(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let mut x = 0x2545_F491u32;
    for b in &mut out[bytes.len() / 3..] {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    out
}

#[test]
fn damaged_and_cut_short_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    for (name, options) in FORMATS {
        let bytes = stereo_call(dir.path(), name, options);
        let cut = prepare(&bytes[..bytes.len() * 6 / 10], Some(name), &cfg());
        match (name, cut) {
            // Containers that declare their length say how much is missing.
            (
                "call.wav" | "call_ulaw.wav" | "call.mp3" | "call.flac",
                Err(AudioError::Truncated { decoded_seconds, expected_seconds }),
            ) => {
                assert!(
                    decoded_seconds < 2.0 && expected_seconds == SECONDS,
                    "{name}: {decoded_seconds} of {expected_seconds}"
                );
            }
            // OGG stops mid-page; M4A loses its index, which ffmpeg writes last.
            ("call.ogg", Err(AudioError::Incomplete)) => {}
            ("call.m4a", Err(AudioError::Corrupt(why))) => assert!(why.contains("moov"), "{why}"),
            (_, other) => panic!("{name} cut short: {other:?}"),
        }
        let damaged = prepare(&damaged(&bytes), Some(name), &cfg());
        if name.ends_with(".wav") {
            // PCM has no structure to check: noise in place of samples is still audio.
            assert!(damaged.is_ok(), "{name}: {damaged:?}");
        } else {
            assert!(
                matches!(
                    damaged,
                    Err(AudioError::Truncated { .. }
                        | AudioError::Corrupt(_)
                        | AudioError::Incomplete
                        | AudioError::Unrecognised)
                ),
                "{name} damaged: {damaged:?}"
            );
        }
    }
    for ext in ["wav", "mp3", "m4a", "ogg", "flac"] {
        let noise = damaged(&[0u8; 3000]);
        assert_eq!(
            prepare(&noise[1000..], Some(&format!("call.{ext}")), &cfg()),
            Err(AudioError::Unrecognised),
            "{ext}"
        );
    }
}

#[test]
fn unsupported_codecs_and_video_without_sound_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let opus = stereo_call(dir.path(), "call.opus", &["-c:a", "libopus"]);
    assert!(
        matches!(prepare(&opus, Some("call.opus"), &cfg()), Err(AudioError::UnsupportedCodec(_))),
        "{:?}",
        prepare(&opus, None, &cfg())
    );
    let video =
        ffmpeg(dir.path(), "silent.mp4", &["-f", "lavfi", "-i", "color=c=black:s=32x32:d=1"], &["-c:v", "mpeg4"]);
    assert_eq!(prepare(&video, Some("silent.mp4"), &cfg()), Err(AudioError::NoAudioTrack));
}

#[test]
fn limits_are_enforced_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let short = AudioConfig { max_seconds: 2.0, ..cfg() };
    for (name, options) in FORMATS {
        let bytes = stereo_call(dir.path(), name, options);
        assert_eq!(prepare(&bytes, Some(name), &short), Err(AudioError::TooLong { max_seconds: 2.0 }), "{name}");
        assert_eq!(probe_duration(&bytes, Some(name), &short), Err(AudioError::TooLong { max_seconds: 2.0 }), "{name}");
        let small = AudioConfig { max_bytes: bytes.len() - 1, ..cfg() };
        assert_eq!(
            prepare(&bytes, Some(name), &small),
            Err(AudioError::TooLarge { bytes: bytes.len(), max_bytes: bytes.len() - 1 })
        );
    }
}
