//! From decoded channels to speakers. Contact-centre recorders put each party on its own channel, so a stereo
//! call is two mono tracks with known speakers (`AUDIO_CHANNEL_ROLES`, customer then agent by default) and the
//! transcript needs no guessing. A mono call, or a mono recording saved as stereo (both channels the same),
//! is one track whose speakers the STT provider's diarization tells apart.

/// A stereo file counts as mono when the channels' difference is this far below their level (-40 dB): lossy
/// codecs leave a trace of difference between identical channels, real two-party calls differ by far more.
const IDENTICAL_DIFFERENCE_RATIO: f64 = 1e-4;

/// One speaker's audio, 16-bit at the target rate.
#[derive(Debug, PartialEq)]
pub struct SpeakerAudio {
    pub speaker: Option<String>,
    pub samples: Vec<i16>,
}

/// Maps decoded channels (at most two, see `decode::KEPT_CHANNELS`) to speakers.
pub fn speakers(mut planes: Vec<Vec<i16>>, roles: &[String; 2]) -> Vec<SpeakerAudio> {
    if planes.len() == 2 && !identical(&planes[0], &planes[1]) {
        return planes
            .into_iter()
            .zip(roles)
            .map(|(samples, role)| SpeakerAudio { speaker: Some(role.clone()), samples })
            .collect();
    }
    planes.truncate(1);
    planes.into_iter().map(|samples| SpeakerAudio { speaker: None, samples }).collect()
}

/// One pass of sums, no allocation: cheap next to decoding.
fn identical(a: &[i16], b: &[i16]) -> bool {
    let (mut difference, mut level) = (0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        difference += (x - y) * (x - y);
        level += x * x + y * y;
    }
    difference <= IDENTICAL_DIFFERENCE_RATIO * level
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles() -> [String; 2] {
        ["customer".to_string(), "agent".to_string()]
    }

    fn wave(seed: f32) -> Vec<i16> {
        (0..1000).map(|i| ((i as f32 * seed).sin() * 16_000.0) as i16).collect()
    }

    #[test]
    fn stereo_is_two_speakers_in_role_order() {
        let tracks = speakers(vec![wave(0.1), wave(0.3)], &roles());
        assert_eq!(tracks.len(), 2);
        assert_eq!(tracks[0], SpeakerAudio { speaker: Some("customer".into()), samples: wave(0.1) });
        assert_eq!(tracks[1], SpeakerAudio { speaker: Some("agent".into()), samples: wave(0.3) });
        let swapped = speakers(vec![wave(0.1), wave(0.3)], &["agent".to_string(), "customer".to_string()]);
        assert_eq!(swapped[0].speaker.as_deref(), Some("agent"));
    }

    #[test]
    fn mono_and_identical_channels_are_one_track_for_diarization() {
        assert_eq!(speakers(vec![wave(0.1)], &roles()), vec![SpeakerAudio { speaker: None, samples: wave(0.1) }]);
        let near: Vec<i16> = wave(0.1).iter().map(|v| v + 16).collect();
        let tracks = speakers(vec![wave(0.1), near], &roles());
        assert_eq!(tracks, vec![SpeakerAudio { speaker: None, samples: wave(0.1) }]);
        assert_eq!(speakers(vec![vec![0; 10], vec![0; 10]], &roles()).len(), 1, "silence on both");
    }

    #[test]
    fn one_silent_side_is_still_two_speakers() {
        let tracks = speakers(vec![wave(0.1), vec![0; 1000]], &roles());
        assert_eq!(tracks.len(), 2);
    }
}
