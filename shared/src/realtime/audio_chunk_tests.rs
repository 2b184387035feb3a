use super::*;
use crate::realtime::normalize::MAX_METADATA_BYTES;
use base64::engine::general_purpose::STANDARD;

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn parse(v: Value) -> Result<AudioChunk, AudioPayloadError> {
    parse_chunk(&obj(v), None, 16_000, 1, 2_000_000)
}

#[test]
fn seed_errors_in_order() {
    assert_eq!(parse(json!({})).unwrap_err().to_string(), "Missing call_id");
    assert_eq!(parse(json!({"call_id": "c"})).unwrap_err().to_string(), "Missing audio chunk base64 (audio_b64)");
    assert_eq!(
        parse(json!({"call_id": "c", "audio_b64": "A"})).unwrap_err().to_string(),
        "Invalid base64 audio payload"
    );
    assert_eq!(
        parse(json!({"call_id": "c", "audio_b64": "@@@@"})).unwrap_err().to_string(),
        "Empty decoded audio payload"
    );
    let one = STANDARD.encode([1u8]);
    assert_eq!(
        parse(json!({"call_id": "c", "audio_b64": one})).unwrap_err().to_string(),
        "Audio payload has no PCM frames"
    );
    let four = STANDARD.encode([0u8; 4]);
    assert_eq!(
        parse(json!({"call_id": "c", "audio_b64": four, "encoding": "mp3"})).unwrap_err().to_string(),
        "Unsupported audio_encoding: mp3"
    );
    assert_eq!(
        parse(json!({"call_id": "c", "audio_b64": four, "sample_rate": -1})).unwrap_err().to_string(),
        "Invalid sample_rate"
    );
    assert_eq!(
        parse(json!({"call_id": "c", "audio_b64": four, "channels": "-2"})).unwrap_err().to_string(),
        "Invalid channels"
    );
    assert_eq!(
        parse(json!({"call_id": "c", "audio_b64": four, "encoding": "wav"})).unwrap_err().to_string(),
        "Unable to parse WAV audio chunk"
    );
    assert!(matches!(
        parse(json!({"call_id": "c", "audio_b64": four, "chunk_id": "a/b"})).unwrap_err(),
        AudioPayloadError::Id(_)
    ));
    assert_eq!(
        parse(json!({"call_id": "c", "audio_b64": four, "chunk_id": "k".repeat(129)})).unwrap_err().to_string(),
        "chunk_id is longer than 128 characters"
    );
}

#[test]
fn defaults_aliases_and_limits() {
    let pcm = STANDARD.encode([0u8; 8]);
    let c =
        parse(json!({"session_id": "s", "chunk_b64": pcm, "sample_rate": "8000.9", "channels": 0, "sequence_id": 7}))
            .unwrap();
    assert_eq!(c.format, AudioFormat { sample_rate: 8000, channels: 1, sample_width: 2 });
    assert_eq!((c.pcm.len(), c.chunk_id.as_deref()), (8, Some("7")));
    let big = STANDARD.encode(vec![0u8; 10_000]);
    assert_eq!(
        parse_chunk(&obj(json!({"call_id": "c", "audio_b64": big})), None, 16_000, 1, 8192).unwrap_err(),
        AudioPayloadError::TooLarge
    );
    // Whitespace and line breaks inside base64 are discarded, as Python did.
    let wrapped = format!("{}\n{}", &pcm[..4], &pcm[4..]);
    assert_eq!(parse(json!({"call_id": "c", "audio_b64": wrapped})).unwrap().pcm.len(), 8);
}

#[test]
fn wav_chunks_carry_their_format() {
    let f = AudioFormat { sample_rate: 8000, channels: 2, sample_width: 2 };
    let wav = crate::audio::wav::encode(&f, &[0u8; 16]);
    let c = parse(
        json!({"call_id": "c", "audio_b64": STANDARD.encode(wav), "audio_encoding": "audio/wav", "sample_rate": 44100}),
    )
    .unwrap();
    assert_eq!(c.format, f);
}

#[test]
fn derived_events() {
    let meta = json!({"available": true});
    let none = Map::new();
    let bare =
        derive_events(&obj(json!({"call_id": "c", "provider": "p", "chunk_id": "k1"})), Some("k1"), &meta, &none);
    assert_eq!(bare.len(), 1);
    assert_eq!(bare[0]["event_type"], "audio_chunk");
    assert_eq!(bare[0]["event_id"], "chunk:k1:0");
    assert_eq!(bare[0].get("status"), None, "no 'active' default: late audio must not revive a call");
    assert_eq!(bare[0]["metadata"]["audio"], meta);

    let segs = json!({"call_id": "c", "speaker": "customer", "status": "active", "metadata": {"m": 1},
        "segments": [{"text": "hello", "sentiment": -0.2, "metadata": {"s": 2}}, {"nope": 1}, "x",
                     {"transcript": "bye", "speaker": "agent", "status": "ended", "event_id": "own"}]});
    let evs = derive_events(&obj(segs), None, &meta, &none);
    assert_eq!(evs.len(), 2);
    assert_eq!((evs[0]["speaker"].as_str(), evs[1]["speaker"].as_str()), (Some("customer"), Some("agent")));
    assert_eq!((evs[0]["status"].as_str(), evs[1]["status"].as_str()), (Some("active"), Some("ended")));
    assert_eq!(evs[0]["metadata"], json!({"m": 1, "s": 2, "audio": meta}));
    assert_eq!(evs[1]["text"], "bye");
    assert_eq!(evs[1]["event_id"], "own");
    assert_eq!(evs[0].get("event_id"), None, "no chunk id, no derived idempotency key");

    let many: Vec<Value> = (0..80).map(|i| json!({"text": format!("t{i}")})).collect();
    assert_eq!(
        derive_events(&obj(json!({"call_id": "c", "transcript_segments": many})), None, &meta, &none).len(),
        MAX_SEGMENTS
    );

    let metrics = obj(json!({"dead_air_seconds": 20.0}));
    let text = derive_events(&obj(json!({"call_id": "c", "text": "hi", "metrics": {"x": 1}})), None, &meta, &metrics);
    assert_eq!(text[0]["text"], "hi");
    assert_eq!(text[0]["metadata"]["metrics"], json!({"x": 1, "dead_air_seconds": 20.0}));
}

#[test]
fn what_every_event_copies_is_measured_before_it_is_copied() {
    let four = STANDARD.encode([0u8; 4]);
    let err = |v: Value| parse(v).unwrap_err().to_string();
    let half = "x".repeat(MAX_CHUNK_METADATA_BYTES / 2);
    let chunk = json!({"call_id": "c", "audio_b64": four, "metadata": {"blob": "x".repeat(MAX_CHUNK_METADATA_BYTES)}});
    assert_eq!(err(chunk), "metadata is larger than 31744 bytes");
    let with_metrics = json!({"call_id": "c", "audio_b64": four, "metadata": {"a": half}, "metrics": {"b": half}});
    assert_eq!(err(with_metrics), "metadata is larger than 31744 bytes", "metrics join the chunk's metadata");
    let segs = |list: &str| {
        json!({"call_id": "c", "audio_b64": four, "metadata": {"a": half},
            list: [{"text": "fine", "metadata": {"s": 1}}, {"text": "big", "metadata": {"b": half}}]})
    };
    assert_eq!(
        err(segs("transcript_segments")),
        "transcript_segments[1].metadata and the chunk's metadata together are larger than 31744 bytes"
    );
    assert_eq!(
        err(segs("segments")),
        "segments[1].metadata and the chunk's metadata together are larger than 31744 bytes"
    );
    // A segment that becomes no event (no text) copies nothing, so its metadata is not judged.
    let ignored = json!({"call_id": "c", "audio_b64": four, "segments": [{"metadata": {"b": "x".repeat(40_000)}}]});
    assert!(parse(ignored).is_ok());
    let agent = json!({"call_id": "c", "audio_b64": four, "agent_id": "a".repeat(4_000_000)});
    assert_eq!(err(agent), "agent_id is longer than 128 characters");
}

#[test]
fn rates_and_channels_are_the_ones_calls_use() {
    let four = STANDARD.encode([0u8; 4]);
    let pcm = |rate: Value, channels: Value| {
        parse(json!({"call_id": "c", "audio_b64": four, "sample_rate": rate, "channels": channels}))
            .map(|c| c.format)
            .map_err(|e| e.to_string())
    };
    for rate in SAMPLE_RATES {
        assert_eq!(pcm(json!(rate), json!(2)).map(|f| (f.sample_rate, f.channels)), Ok((rate, 2)));
    }
    let accepted = "8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100 or 48000";
    for rate in [1, 4000, 8001, 16, 96_000, 384_000] {
        assert_eq!(
            pcm(json!(rate), json!(1)),
            Err(format!("Unsupported sample_rate: {rate} Hz (accepted: {accepted})")),
            "{rate}"
        );
    }
    assert_eq!(pcm(json!(1e12), json!(1)), Err("Invalid sample_rate".into()));
    assert_eq!(pcm(json!(8000), json!(3)), Err("Unsupported channels: 3 (accepted: 1 to 2)".into()));
    assert_eq!(pcm(json!(8000), json!(32)), Err("Unsupported channels: 32 (accepted: 1 to 2)".into()));
    // A WAV header is held to the same set.
    let wav = |rate, channels| {
        let f = AudioFormat { sample_rate: rate, channels, sample_width: 2 };
        let body = json!({"call_id": "c", "audio_b64": STANDARD.encode(crate::audio::wav::encode(&f, &[0u8; 24])),
            "encoding": "wav"});
        parse(body).map(|c| c.format).map_err(|e| e.to_string())
    };
    assert_eq!(wav(44_100, 2).map(|f| f.sample_rate), Ok(44_100));
    assert_eq!(wav(96_000, 1), Err(format!("Unsupported sample_rate: 96000 Hz (accepted: {accepted})")));
    assert_eq!(wav(8000, 6), Err("Unsupported channels: 6 (accepted: 1 to 2)".into()));
}

/// A live WAV chunk whose header claims a data chunk of 4 GiB (just under the streaming size 0xFFFFFFFF,
/// which means "to the end") over 0.2 s of audio is read as the audio present, and reserves no memory for
/// the claim: the hound-based decoder reserved `claimed samples × 2` bytes before reading a sample.
#[test]
fn a_wav_header_claiming_4_gib_reserves_nothing() {
    let header = |tag: u16, bits: u16| {
        let align = bits / 8;
        let fmt = [&tag.to_le_bytes()[..], &1u16.to_le_bytes(), &8000u32.to_le_bytes()].concat();
        let fmt =
            [&fmt[..], &(8000 * u32::from(align)).to_le_bytes(), &align.to_le_bytes(), &bits.to_le_bytes()].concat();
        [&b"RIFF"[..], &u32::MAX.to_le_bytes(), b"WAVEfmt ", &16u32.to_le_bytes(), &fmt, b"data"].concat()
    };
    for (tag, bits, data) in [(1u16, 16u16, vec![7u8; 3200]), (7, 8, vec![0xffu8; 1600])] {
        let wav = [header(tag, bits), 0xFFFF_FFFEu32.to_le_bytes().to_vec(), data].concat();
        let c = parse(json!({"call_id": "c", "audio_b64": STANDARD.encode(&wav), "encoding": "wav"})).unwrap();
        assert_eq!((c.format.sample_rate, c.pcm.len()), (8000, 3200), "format tag {tag}");
        assert!(c.pcm.capacity() <= 3200, "format tag {tag}: {} bytes reserved", c.pcm.capacity());
    }
}

/// The window state after a chunk as large as its fields allow: a 128-character call id and chunk id, the
/// widest numbers, silence measured, and the dead-air metrics the service adds.
fn largest_additions() -> (Value, Map<String, Value>) {
    use crate::realtime::live_audio::{LiveHead, MAX_WINDOW_CHUNKS};
    let (call, chunk) = ("c".repeat(ids::MAX_CALL_ID_LEN), "k".repeat(ids::MAX_CHUNK_ID_LEN));
    let mut head = LiveHead::new(&call);
    let format = AudioFormat { sample_rate: 11_025, channels: 2, sample_width: 2 };
    let at = chrono::DateTime::from_timestamp(253_402_300_799, 999_999_000).unwrap();
    head.next_seq = u64::MAX - 1;
    let entry = head.plan(Some(&chunk), format, 1_234_567, at).unwrap();
    let mut head = head.commit(entry, format, &[], Some(u64::MAX), u32::MAX, at).head;
    head.chunk_count = MAX_WINDOW_CHUNKS as u64;
    let metrics = obj(json!({"dead_air_seconds": -1.2345678901234567e-300, "dead_air_source": "live_audio"}));
    (head.meta(u32::MAX), metrics)
}

/// Found by fuzzing (`audio_chunk_from_the_grammar`, minimal input `{"call_id": "A", "audio_b64": "AAA=",
/// "metadata": {"blob": "ccc…"}}`): a chunk whose metadata was just under the bound was accepted and stored,
/// then its every event refused (400 "No realtime events were ingested"), because the window state and the
/// dead air measured from the audio join the metadata after the check. An accepted chunk's events fit.
#[test]
fn an_accepted_chunk_leaves_room_for_what_its_events_gain() {
    let four = STANDARD.encode([0u8; 4]);
    let (meta, metrics) = largest_additions();
    let wrapper = r#"{"blob":""}"#.len();
    let gained = json!({"audio": meta, "metrics": metrics}).to_string().len();
    assert!(gained < DERIVED_METADATA_BYTES, "the largest additions are {gained} bytes");
    for size in MAX_METADATA_BYTES - 2_000..=MAX_METADATA_BYTES - wrapper {
        let blob = "m".repeat(size);
        for chunk in [
            json!({"call_id": "c", "audio_b64": four, "metadata": {"blob": blob}}),
            json!({"call_id": "c", "audio_b64": four, "metrics": {"blob": blob}}),
            json!({"call_id": "c", "audio_b64": four, "segments": [{"text": "hi", "metadata": {"blob": blob}}]}),
        ] {
            let chunk = obj(chunk);
            let Ok(parsed) = parse_chunk(&chunk, None, 16_000, 1, 2_000_000) else { continue };
            for event in derive_events(&chunk, parsed.chunk_id.as_deref(), &meta, &metrics) {
                let normalized = crate::realtime::normalize::normalize_event(&event, 100);
                assert!(normalized.is_ok(), "{size}-byte blob accepted, its event refused: {normalized:?}");
            }
        }
    }
}

/// Found by fuzzing (`audio_chunk_from_the_grammar`, minimal input a `chunk_id` of 120 `k` padded with 37
/// spaces each side, now refused as longer than 128 characters as sent): the window keyed the chunk by its
/// trimmed id while its events were keyed by the raw one, which spaces make no event id, so every event was
/// refused after the audio was stored; and a numeric
/// `sequence_id`, a chunk id for the window, gave its events no idempotency key at all, so a retried chunk's
/// events applied twice. The events' keys now come from the id the chunk was accepted with.
#[test]
fn derived_event_ids_use_the_chunk_id_as_accepted() {
    let four = STANDARD.encode([0u8; 4]);
    let padded = format!("{0}{1}{0}", " ".repeat(14), "k".repeat(100));
    for (raw, id) in [(json!(padded), "k".repeat(100)), (json!(" k1 "), "k1".into()), (json!(7), "7".into())] {
        for key in ["chunk_id", "sequence_id"] {
            let body = obj(json!({"call_id": "c", "audio_b64": four, key: raw}));
            let chunk = parse_chunk(&body, None, 16_000, 1, 2_000_000).unwrap();
            assert_eq!(chunk.chunk_id.as_deref(), Some(id.as_str()));
            let events = derive_events(&body, chunk.chunk_id.as_deref(), &json!({}), &Map::new());
            assert_eq!(events[0]["event_id"], json!(format!("chunk:{id}:0")), "{key}: {raw}");
            crate::realtime::normalize::normalize_event(&events[0], 100).unwrap();
        }
    }
}
