use super::*;

/// A 500 Hz square wave (speech-like energy) of `samples` at `amplitude`.
fn tone(samples: usize, amplitude: i16) -> Vec<i16> {
    (0..samples).map(|i| if (i / 8) % 2 == 0 { amplitude } else { -amplitude }).collect()
}

/// Seconds of tone (`Some(amplitude)`) or near silence (`None`) one after the other.
fn script(parts: &[(f64, Option<i16>)]) -> Vec<i16> {
    parts.iter().flat_map(|(s, amp)| tone((s * 8000.0) as usize, amp.unwrap_or(3))).collect()
}

fn mono(samples: Vec<i16>) -> Frames {
    Frames { channels: 1, samples }
}

/// Everything the cutter makes of `audio`, fed in pieces of `piece` samples per channel.
fn cut(settings: &CutterSettings, audio: &[Vec<i16>], piece: usize) -> Vec<Utterance> {
    let mut cutter = UtteranceCutter::new(settings, audio.len());
    let mut out = Vec::new();
    let len = audio[0].len();
    for start in (0..len).step_by(piece) {
        let end = (start + piece).min(len);
        let samples = (start..end).flat_map(|i| audio.iter().map(move |c| c[i])).collect();
        out.extend(cutter.push(start as u64, &Frames { channels: audio.len(), samples }));
    }
    out.extend(cutter.finish());
    out
}

fn spans(u: &[Utterance]) -> Vec<(usize, u64, usize)> {
    u.iter().map(|u| (u.channel, u.start_sample, u.samples.len())).collect()
}

#[test]
fn tone_bursts_between_silence_become_utterances_with_pre_roll_and_hangover() {
    let audio = script(&[(1.0, None), (1.0, Some(4000)), (1.0, None), (0.5, Some(3000)), (1.5, None)]);
    let got = cut(&CutterSettings::default(), std::slice::from_ref(&audio), 800);
    // 200 ms before the speech, the speech, then the 600 ms hangover.
    assert_eq!(spans(&got), [(0, 6400, 1600 + 8000 + 4800), (0, 22_400, 1600 + 4000 + 4800)]);
    assert_eq!(got[0].samples[..], audio[6400..20_800]);
    assert_eq!((got[1].start_seconds(), got[1].end_seconds()), (2.8, 4.1));
    // Where speech was heard, without pre-roll and hangover: 1.0–2.0 s and 3.0–3.5 s.
    assert_eq!((got[0].voiced.clone(), got[1].voiced.clone()), (8000..16_000, 24_000..28_000));
    // How the audio is framed on the socket changes nothing.
    assert_eq!(cut(&CutterSettings::default(), &[audio], 37), got);
}

#[test]
fn blips_are_dropped_and_the_noise_floor_follows_the_line() {
    let noise = |s: f64| tone((s * 8000.0) as usize, 400);
    let mut audio = noise(1.0);
    audio.extend(tone(800, 6000)); // a 100 ms click
    audio.extend(noise(1.0));
    audio.extend(tone(8000, 4000));
    audio.extend(noise(1.0));
    // A line noisier than `min_rms` is not speech; only the real burst is.
    let got = cut(&CutterSettings::default(), &[audio], 1600);
    assert_eq!(spans(&got), [(0, 16_000 + 800 - 1600, 1600 + 8000 + 4800)]);
    // The line's own level seeds the floor: steady noise above `min_rms` is never an utterance.
    let hum = cut(&CutterSettings { min_rms: 100.0, ..CutterSettings::default() }, &[tone(16_000, 150)], 1600);
    assert!(hum.is_empty(), "{:?}", spans(&hum));
}

#[test]
fn long_speech_is_cut_at_the_maximum_and_continues() {
    let settings = CutterSettings { max_ms: 2000, ..CutterSettings::default() };
    let audio = script(&[(1.0, None), (5.0, Some(4000)), (1.0, None)]);
    let got = cut(&settings, &[audio], 1600);
    assert_eq!(spans(&got), [(0, 6400, 16_000), (0, 22_400, 16_000), (0, 38_400, 9600 + 4800)]);
    // Memory stays bounded however long the talker goes on.
    let long = script(&[(0.5, None), (70.0, Some(4000))]);
    assert!(cut(&settings, &[long], 8000).iter().all(|u| u.samples.len() <= 16_000));
}

#[test]
fn channels_are_independent() {
    let customer = script(&[(0.5, None), (1.0, Some(4000)), (2.5, None)]);
    let agent = script(&[(2.0, None), (1.0, Some(2500)), (1.0, None)]);
    let got = cut(&CutterSettings::default(), &[customer, agent], 800);
    assert_eq!(spans(&got), [(0, 2400, 1600 + 8000 + 4800), (1, 14_400, 1600 + 8000 + 4800)]);
}

#[test]
fn a_timeline_jump_ends_speech_and_offsets_follow_the_timeline() {
    let mut cutter = UtteranceCutter::new(&CutterSettings::default(), 1);
    assert!(cutter.push(0, &mono(script(&[(0.5, None), (1.0, Some(4000))]))).is_empty());
    // Ten seconds paused or discarded: the speech so far is an utterance, pre-roll does not cross the gap.
    let got = cutter.push(92_000, &mono(script(&[(0.5, Some(4000)), (1.0, None)])));
    assert_eq!(spans(&got), [(0, 2400, 1600 + 8000), (0, 92_000, 4000 + 4800)]);
    assert!(cutter.finish().is_empty());
    // A short hole (0.8 s discarded mid-word, longer than a 300 ms hangover) is bridged: one utterance
    // spanning it, the hole silence in its audio.
    let mut cutter = UtteranceCutter::new(&CutterSettings { hangover_ms: 300, ..CutterSettings::default() }, 1);
    assert!(cutter.push(0, &mono(script(&[(0.5, None), (1.0, Some(4000))]))).is_empty());
    let got = cutter.push(18_400, &mono(script(&[(0.5, Some(4000)), (1.0, None)])));
    assert_eq!(spans(&got), [(0, 2400, 1600 + 8000 + 6400 + 4000 + 2400)]);
    assert_eq!(got[0].voiced, 4000..22_400, "from the first word to the last, hole included");
    assert!(got[0].samples[9600..16_000].iter().all(|s| *s == 0));
    // Audio in a shape the session did not select is ignored, not a panic.
    assert!(cutter.push(104_000, &Frames { channels: 2, samples: vec![1; 10] }).is_empty());
}

#[test]
fn settings_are_bounded() {
    let wild = CutterSettings {
        start_frames: 0,
        hangover_ms: 0,
        min_ms: 0,
        max_ms: u64::MAX,
        pre_roll_ms: u64::MAX,
        min_rms: -1.0,
    };
    let l = Limits::new(&wild);
    assert_eq!((l.start_frames, l.hangover_frames, l.max_samples, l.pre_roll), (1, 1, 480_000, 8000));
    let got = cut(&wild, &[script(&[(0.2, None), (0.1, Some(4000)), (0.2, None)])], 160);
    assert_eq!(got.len(), 1);
}

#[test]
fn the_end_of_the_timeline_is_not_an_overflow() {
    let mut cutter = UtteranceCutter::new(&CutterSettings::default(), 1);
    let speech = mono(script(&[(0.5, None), (1.0, Some(4000)), (1.0, None)]));
    let got = cutter.push(u64::MAX - 10, &speech);
    assert!(got.iter().all(|u| u.end_seconds() >= u.start_seconds()));
    cutter.push(u64::MAX, &speech);
    cutter.finish();
}
