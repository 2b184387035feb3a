use super::*;

fn tone(frames: usize, amplitude: i16) -> Vec<i16> {
    (0..frames).map(|i| if (i / 8) % 2 == 0 { amplitude } else { -amplitude }).collect()
}

fn stereo(frames: usize, customer: i16, agent: i16) -> Frames {
    let (c, a) = (tone(frames, customer), tone(frames, agent));
    Frames { channels: 2, samples: c.iter().zip(&a).flat_map(|(x, y)| [*x, *y]).collect() }
}

fn mono(frames: usize, amplitude: i16) -> Frames {
    Frames { channels: 1, samples: tone(frames, amplitude) }
}

#[test]
fn flushes_by_size_or_interval_and_caps_chunk_length() {
    let mut c = Chunker::new(FlushRules::default(), 2, 200.0, 0);
    // 100 ms frames at real time: the 300 ms minimum alone sends nothing before the 750 ms interval, so a
    // stream is cut into 750 ms chunks (the seed's rule sent one at every 300 ms).
    for (i, now) in (100..=700).step_by(100).enumerate() {
        assert!(c.push(i as u64 * 800, &stereo(800, 1000, 1000), now).is_empty(), "nothing due at {now} ms");
    }
    let out = c.push(5600, &stereo(800, 1000, 1000), 800);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].index, out[0].start_sample, out[0].pcm.len()), (0, 0, 6400 * 2 * 2));
    // Past the interval, a tail below the minimum waits for more audio.
    assert!(c.push(6400, &stereo(80, 1000, 1000), 1600).is_empty());
    let out = c.push(6480, &stereo(2400, 1000, 1000), 1700);
    assert_eq!((out[0].start_sample, out[0].pcm.len()), (6400, 2480 * 4));
    // A burst longer than the maximum (2 s) is cut into maximum-length chunks at once; the rest waits.
    let out = c.push(8880, &stereo(40_000, 1000, 1000), 1800);
    let lengths: Vec<usize> = out.iter().map(|c| c.pcm.len() / 4).collect();
    assert_eq!(lengths, [16_000, 16_000]);
    assert_eq!(out.iter().map(|c| c.index).collect::<Vec<_>>(), [2, 3]);
    let rest = c.finish("end");
    assert_eq!((rest.len(), rest[0].pcm.len() / 4, rest[0].start_sample), (1, 8000, 8880 + 32_000));
    assert!(c.finish("end").is_empty());
}

#[test]
fn interleaves_channels_in_media_order() {
    let mut c = Chunker::new(FlushRules::default(), 2, 200.0, 0);
    let out = c.push(0, &Frames { channels: 2, samples: [1, -2].repeat(2400) }, 750);
    assert_eq!(&out[0].pcm[..8], &[1, 0, 0xfe, 0xff, 1, 0, 0xfe, 0xff]);
}

#[test]
fn a_timeline_gap_flushes_first_and_finish_sends_the_rest() {
    let mut c = Chunker::new(FlushRules::default(), 1, 200.0, 0);
    assert!(c.push(0, &mono(400, 1000), 10).is_empty());
    let out = c.push(8000, &mono(400, 1000), 20);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].reason.as_str(), out[0].start_sample, out[0].pcm.len()), ("gap", 0, 800));
    let out = c.finish("end");
    assert_eq!((out[0].reason.as_str(), out[0].start_sample, out[0].index), ("end", 8000, 1));
}

#[test]
fn dead_air_is_the_shortest_silence_and_carries_across_chunks() {
    let mut c = Chunker::new(FlushRules::default(), 2, 200.0, 0);
    // The customer talks, the agent is silent: no dead air yet.
    let out = c.push(0, &stereo(8000, 3000, 10), 1000);
    assert_eq!(out[0].dead_air_ms(), 0);
    assert_eq!(out[0].silence_ms, [0, 1000]);
    // Both silent: silence grows chunk after chunk.
    let mut last = 0;
    for second in 1..=4u64 {
        let out = c.push(second * 8000, &stereo(8000, 10, 10), (second + 1) * 1000);
        last = out.last().unwrap().dead_air_ms();
    }
    assert_eq!(last, 4000);
    let out = c.push(5 * 8000, &stereo(8000, 3000, 10), 6000);
    assert_eq!(out[0].silence_ms, [0, 6000]);
    assert_eq!(out[0].dead_air_ms(), 0);
}

#[test]
fn a_pause_sends_what_is_buffered_and_silence_restarts_after_it_or_a_gap() {
    let mut c = Chunker::new(FlushRules::default(), 2, 200.0, 0);
    for second in 0..15u64 {
        c.push(second * 8000, &stereo(8000, 10, 10), second * 1000);
    }
    // 100 ms more, below the minimum: it waits, until the client pauses.
    assert!(c.push(15 * 8000, &stereo(800, 10, 10), 14_100).is_empty());
    let out = c.interrupt("paused");
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].reason.as_str(), out[0].pcm.len() / 4, out[0].dead_air_ms()), ("paused", 800, 15_100));
    // A minute on hold later (the timeline moved on): the silence heard since is all that counts.
    let resumed = 15 * 8000 + 800 + 60 * 8000;
    let out = c.push(resumed, &stereo(8000, 10, 10), 16_000);
    assert_eq!((out.len(), out[0].reason.as_str(), out[0].dead_air_ms()), (1, "streaming", 1000));
    // Discarded audio without a pause: the same.
    let out = c.push(resumed + 8000 + 4000, &stereo(8000, 10, 10), 17_000);
    assert_eq!((out.len(), out[0].reason.as_str(), out[0].dead_air_ms()), (1, "streaming", 1000));
}

#[test]
fn settings_keep_the_seed_bounds() {
    assert_eq!(FlushRules::new(10, 10, 10), FlushRules { flush_interval_ms: 120, min_chunk_ms: 80, max_chunk_ms: 120 });
    assert_eq!(FlushRules::new(750, 900, 500).max_chunk_ms, 900);
}

#[test]
fn the_end_of_the_timeline_is_not_an_overflow() {
    let mut c = Chunker::new(FlushRules::default(), 1, 200.0, 0);
    c.push(u64::MAX - 10, &mono(8000, 10), 0);
    c.push(u64::MAX, &mono(8000, 10), 1000);
    c.finish("end");
}
