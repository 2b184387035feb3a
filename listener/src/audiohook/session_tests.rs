use super::*;
use crate::audiohook::media::Frames;

const SESSION: &str = "30b0e395-84d3-4570-ac13-9a62d8f514c0";
const ORG: &str = "d7934305-0972-4844-938e-9060eef73d05";
const CONVERSATION: &str = "090eaa2f-72fa-480a-83e0-8667ff89c0ec";

/// A client: numbers its messages and tracks the server's seq, as the reference client does.
struct Client {
    seq: u64,
    server_seq: u64,
}

impl Client {
    fn new() -> Self {
        Self { seq: 0, server_seq: 0 }
    }

    fn msg(&mut self, kind: &str, parameters: Value) -> String {
        self.seq += 1;
        json!({"version": "2", "id": SESSION, "type": kind, "seq": self.seq, "serverseq": self.server_seq,
            "position": "PT0S", "parameters": parameters})
        .to_string()
    }

    /// The server messages among `outputs`, checked for the envelope rules the reference client enforces.
    fn read(&mut self, outputs: &[Output]) -> Vec<Value> {
        let mut sent = Vec::new();
        for o in outputs {
            if let Output::Send(text) = o {
                let m: Value = serde_json::from_str(text).unwrap();
                assert_eq!(m["seq"].as_u64(), Some(self.server_seq + 1), "server seq rises by one: {m}");
                assert_eq!((m["version"].as_str(), m["id"].as_str()), (Some("2"), Some(SESSION)));
                assert!(m["parameters"].is_object(), "parameters always present: {m}");
                assert_ne!(m["type"], "error", "the server never sends error");
                self.server_seq += 1;
                sent.push(m);
            }
        }
        sent
    }
}

/// Makes the session see one protocol violation.
type Violation = dyn Fn(&mut Session, &mut Client) -> Vec<Output>;

/// Sends one client message; returns what the server sent back.
fn exchange(s: &mut Session, c: &mut Client, kind: &str, parameters: Value) -> Vec<Value> {
    let text = c.msg(kind, parameters);
    let out = s.on_text(&text);
    c.read(&out)
}

fn open_params(conversation: &str) -> Value {
    json!({"organizationId": ORG, "conversationId": conversation,
        "participant": {"id": "3b8f7c4d-5e6f-4a1b-9c2d-0e1f2a3b4c5d", "ani": "+3212345678", "aniName": "", "dnis": "+3287654321"},
        "media": [{"type": "audio", "format": "PCMU", "channels": ["external", "internal"], "rate": 8000},
                  {"type": "audio", "format": "PCMU", "channels": ["external"], "rate": 8000}],
        "language": "en-US"})
}

fn opened_session() -> (Session, Client) {
    let mut s = Session::new(
        SESSION,
        ORG,
        Settings { supported_languages: vec!["en-US".into(), "nl-BE".into()], ..Settings::default() },
    );
    let mut c = Client::new();
    let out = s.on_text(&c.msg("open", open_params(CONVERSATION)));
    c.read(&out);
    (s, c)
}

#[test]
fn open_ping_audio_close() {
    let mut s = Session::new(SESSION, ORG, Settings::default());
    let mut c = Client::new();
    let out = s.on_text(&c.msg("open", open_params(CONVERSATION)));
    let sent = c.read(&out);
    assert_eq!(sent[0]["type"], "opened");
    assert_eq!(sent[0]["clientseq"], 1);
    assert_eq!(sent[0]["parameters"]["media"], json!([open_params(CONVERSATION)["media"][0]]), "one offer, verbatim");
    let Output::Opened(o) = &out[1] else { panic!("{out:?}") };
    assert!(!o.probe && o.conversation_id == CONVERSATION && o.dnis == "+3287654321");

    assert_eq!(exchange(&mut s, &mut c, "ping", json!({"rtt": "PT0.02S"}))[0]["type"], "pong");
    let out = s.on_binary(&[0xff, 0x80, 0xff, 0x80]);
    assert_eq!(
        out,
        [Output::Audio { offset_samples: 0, frames: Frames { channels: 2, samples: vec![0, 32124, 0, 32124] } }]
    );
    let out = s.on_binary(&[0xff, 0x80]);
    assert!(matches!(&out[0], Output::Audio { offset_samples: 2, .. }));

    let out = s.on_text(&c.msg("close", json!({"reason": "end"})));
    let sent = c.read(&out);
    assert_eq!((sent[0]["type"].as_str(), sent[0]["clientseq"].as_u64()), (Some("closed"), Some(3)));
    assert_eq!(out[1], Output::Closed { reason: "end".into() });
    assert_eq!(s.state(), State::Closed);
}

#[test]
fn close_is_answered_for_every_reason_and_state() {
    for reason in ["end", "error", "disconnect", "reconnect"] {
        let (mut s, mut c) = opened_session();
        let sent = exchange(&mut s, &mut c, "close", json!({"reason": reason}));
        assert_eq!(sent[0]["type"], "closed", "{reason}");
    }
    let mut s = Session::new(SESSION, ORG, Settings::default());
    let mut c = Client::new();
    assert_eq!(exchange(&mut s, &mut c, "close", json!({"reason": "end"}))[0]["type"], "closed", "before open");
}

#[test]
fn probe_is_answered_and_flagged() {
    let mut s = Session::new(SESSION, ORG, Settings::default());
    let mut c = Client::new();
    let mut p = open_params(NULL_UUID);
    p["participant"]["id"] = json!(NULL_UUID);
    let out = s.on_text(&c.msg("open", p));
    assert_eq!(c.read(&out)[0]["type"], "opened");
    assert!(matches!(&out[1], Output::Opened(o) if o.probe));
}

#[test]
fn supported_languages_when_asked() {
    let mut s =
        Session::new(SESSION, ORG, Settings { supported_languages: vec!["en-US".into()], ..Settings::default() });
    let mut c = Client::new();
    let mut p = open_params(CONVERSATION);
    p["supportedLanguages"] = json!(true);
    assert_eq!(exchange(&mut s, &mut c, "open", p)[0]["parameters"]["supportedLanguages"], json!(["en-US"]));
    let (mut s, mut c) = opened_session();
    let out = s.on_text(&c.msg("update", json!({"language": "nl-BE"})));
    assert_eq!(out, [Output::Language("nl-BE".into())]);
}

#[test]
fn pause_resume_and_discard_move_the_timeline() {
    let (mut s, mut c) = opened_session();
    s.on_binary(&[0xff; 3200]); // 1600 samples per channel
    assert_eq!(s.on_text(&c.msg("paused", json!({}))), [Output::Paused]);
    assert_eq!(s.on_text(&c.msg("paused", json!({}))), [], "a repeated paused is harmless");
    let out = s.on_text(&c.msg("resumed", json!({"start": "PT0.2S", "discarded": "PT9.8S"})));
    assert_eq!(out, [Output::Resumed]);
    s.on_text(&c.msg("discarded", json!({"start": "PT10S", "discarded": "PT0.5S"})));
    let out = s.on_binary(&[0xff; 2]);
    assert_eq!(
        out,
        [Output::Audio { offset_samples: 1600 + 78_400 + 4_000, frames: Frames { channels: 2, samples: vec![0, 0] } }]
    );
}

#[test]
fn discarded_time_is_bounded_by_the_time_since_open() {
    let (mut s, mut c) = opened_session();
    let out = exchange(&mut s, &mut c, "discarded", json!({"start": "PT0S", "discarded": "PT99999999999999999999S"}));
    assert_eq!(out[0]["type"], "disconnect", "{out:?}");
    assert_eq!(s.on_binary(&[0xff; 2]), [], "no audio after the disconnect, and no overflow");
    let (mut s, mut c) = opened_session();
    let slack = DISCARD_SLACK.as_secs();
    assert_eq!(s.on_text(&c.msg("discarded", json!({"start": "PT0S", "discarded": format!("PT{}S", slack - 1)}))), []);
    let out = exchange(&mut s, &mut c, "discarded", json!({"start": "PT0S", "discarded": "PT2S"}));
    assert_eq!(out[0]["parameters"]["info"], "discarded more audio than the session has lasted");
}

#[test]
fn violations_disconnect_with_error_then_close_is_still_answered() {
    let cases: Vec<(&str, Box<Violation>)> = vec![
        (
            "bad seq",
            Box::new(|s, c| {
                c.seq += 1;
                s.on_text(&c.msg("ping", json!({})))
            }),
        ),
        (
            "missing parameters",
            Box::new(|s, c| {
                c.seq += 1;
                s.on_text(&json!({"version": "2", "id": SESSION, "type": "ping", "seq": c.seq, "serverseq": 1, "position": "PT0S"}).to_string())
            }),
        ),
        (
            "wrong id",
            Box::new(|s, c| {
                s.on_text(&c.msg("ping", json!({})).replace(SESSION, "9c1f0b5e-2b0d-4f0e-9a34-7d8c2f1e6a5b"))
            }),
        ),
        ("oversize", Box::new(|s, c| s.on_text(&c.msg("ping", json!({"pad": "x".repeat(MAX_TEXT_CHARS)}))))),
        ("not json", Box::new(|s, _| s.on_text("{nope"))),
        ("unknown type", Box::new(|s, c| s.on_text(&c.msg("dance", json!({}))))),
        (
            "serverseq ahead",
            Box::new(|s, c| {
                c.server_seq += 5;
                let text = c.msg("ping", json!({}));
                c.server_seq -= 5;
                s.on_text(&text)
            }),
        ),
        ("bad position", Box::new(|s, c| s.on_text(&c.msg("ping", json!({})).replace("PT0S", "0s")))),
        ("wrong frame length", Box::new(|s, _| s.on_binary(&[0xff; 3]))),
    ];
    for (name, violate) in cases {
        let (mut s, mut c) = opened_session();
        let out = violate(&mut s, &mut c);
        let sent = c.read(&out);
        assert_eq!(sent.len(), 1, "{name}: {out:?}");
        assert_eq!(
            (sent[0]["type"].as_str(), sent[0]["parameters"]["reason"].as_str()),
            (Some("disconnect"), Some("error")),
            "{name}"
        );
        assert_eq!(s.state(), State::Disconnecting, "{name}");
        assert!(s.on_binary(&[0xff; 2]).is_empty(), "{name}: audio after disconnect is dropped");
        assert!(exchange(&mut s, &mut c, "paused", json!({})).is_empty(), "{name}: only ping and close matter now");
        let sent = exchange(&mut s, &mut c, "close", json!({"reason": "disconnect"}));
        assert_eq!(sent[0]["type"], "closed", "{name}");
    }
}

#[test]
fn audio_before_open_and_org_mismatch() {
    let mut s = Session::new(SESSION, ORG, Settings::default());
    let mut c = Client::new();
    let sent = c.read(&s.on_binary(&[0xff; 2]));
    assert_eq!(sent[0]["parameters"]["reason"], "error");
    let mut s = Session::new(SESSION, "5d1f0b5e-2b0d-4f0e-9a34-7d8c2f1e6a5b", Settings::default());
    let mut c = Client::new();
    let sent = exchange(&mut s, &mut c, "open", open_params(CONVERSATION));
    assert_eq!(sent[0]["parameters"]["reason"], "unauthorized");
    let sent = exchange(&mut s, &mut c, "close", json!({"reason": "disconnect"}));
    assert_eq!(sent[0]["type"], "closed");
}

#[test]
fn durations() {
    assert_eq!(parse_duration("PT0S"), Some(0.0));
    assert_eq!(parse_duration("PT0.006196744S"), Some(0.006196744));
    assert_eq!(parse_duration("PT.5S"), Some(0.5));
    for bad in ["PT", "PTS", "P0S", "PT1.S", "PT1.2.3S", "PT-1S", "1S"] {
        assert_eq!(parse_duration(bad), None, "{bad}");
    }
}

/// Found by fuzzing (`audiohook_session_scripts`, minimal input: `open` without usable media, one audio
/// frame, then a `close` without `parameters`): after our `disconnect`, a `close` is answered even when its
/// envelope is off, and reading the missing `parameters` (or `seq`, or `type`) panicked, which took the
/// connection down without `closed`. The close is now answered whatever it lacks.
#[test]
fn a_close_missing_envelope_fields_after_disconnect_is_answered() {
    for missing in ["parameters", "seq", "version", "id", "serverseq"] {
        let (mut s, mut c) = (Session::new(SESSION, ORG, Settings::default()), Client::new());
        exchange(&mut s, &mut c, "open", open_params(CONVERSATION));
        let sent = c.read(&s.disconnect("error", "test"));
        assert_eq!(sent[0]["type"], "disconnect");
        let mut close: Map<String, Value> = serde_json::from_str(&c.msg("close", json!({}))).unwrap();
        close.remove(missing);
        let out = s.on_text(&Value::Object(close).to_string());
        let sent = c.read(&out);
        assert_eq!(sent.len(), 1, "without {missing}: {out:?}");
        assert_eq!(sent[0]["type"], "closed");
        assert!(matches!(out.last(), Some(Output::Closed { .. })));
    }
}

/// A Transcription Connector session: events only with entities and only while open, paused or closing;
/// a server-initiated pause and resume once each; `close` answered only when the last events are out.
#[test]
fn a_connector_sends_events_pauses_and_closes_after_its_last_transcripts() {
    let mut s = Session::new(SESSION, ORG, Settings { connector: true, ..Settings::default() });
    let mut c = Client::new();
    assert!(s.event(vec![json!({"type": "transcript", "data": {}})]).is_none(), "nothing before open");
    let opened = s.on_text(&c.msg("open", open_params(CONVERSATION)));
    c.read(&opened);
    assert!(matches!(&opened[1], Output::Opened(o) if o.connector));
    assert!(s.event(Vec::new()).is_none(), "never an empty entities list");
    let event =
        c.read(&s.event(vec![json!({"type": "transcript", "data": {"id": "u1"}})]).into_iter().collect::<Vec<_>>());
    assert_eq!(
        (event[0]["type"].as_str(), &event[0]["parameters"]["entities"][0]["data"]["id"]),
        (Some("event"), &json!("u1"))
    );
    let pause = c.read(&s.pause());
    assert_eq!(pause[0]["type"], "pause");
    assert!(s.pause().is_empty(), "asked once");
    assert!(exchange(&mut s, &mut c, "paused", json!({})).is_empty());
    assert_eq!(c.read(&s.resume())[0]["type"], "resume");
    assert!(s.resume().is_empty(), "nothing more to resume");
    assert!(exchange(&mut s, &mut c, "resumed", json!({"start": "PT1S", "discarded": "PT0S"})).is_empty());

    let closing = s.on_text(&c.msg("close", json!({"reason": "end"})));
    assert_eq!(closing, [Output::Closing], "no `closed` yet");
    assert_eq!(exchange(&mut s, &mut c, "ping", json!({}))[0]["type"], "pong", "pings still answered");
    assert!(s.on_binary(&[0xff, 0xff]).is_empty(), "audio after close is ignored");
    let last =
        c.read(&s.event(vec![json!({"type": "transcript", "data": {"id": "u2"}})]).into_iter().collect::<Vec<_>>());
    assert_eq!(last[0]["type"], "event", "events go out while closing");
    let closed = s.closed();
    assert_eq!(c.read(&closed)[0]["type"], "closed");
    assert_eq!(closed[1], Output::Closed { reason: "end".into() });
    assert!(s.event(vec![json!({"type": "transcript", "data": {}})]).is_none(), "nothing after closed");
    assert!(s.closed().is_empty(), "closed once");
}
