//! The upload form (`POST /api/calls`, multipart), the direct-upload request (`POST /api/calls/upload-url`)
//! and the glossary form (`POST /api/glossary`): forms built from their fields and files, then damaged.

use crate::app::{App, post};
use crate::grammar::{FORM_FIELDS, form_value};
use crate::harness::*;
use proptest::prelude::*;
use serde_json::json;
use shared::audio::wav;
use shared::realtime::live_audio::AudioFormat;

const BOUNDARY: &str = "fuzzBOUNDARYx7";

/// One multipart part: name, filename, content type and bytes.
type Part = (String, Option<String>, Option<String>, Vec<u8>);

fn multipart(parts: &[Part]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, filename, content_type, bytes) in parts {
        body.extend(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes());
        if let Some(f) = filename {
            body.extend(format!("; filename=\"{f}\"").as_bytes());
        }
        body.extend(b"\r\n");
        if let Some(ct) = content_type {
            body.extend(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        body.extend(b"\r\n");
        body.extend(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// A file a person might upload: a short WAV, a transcript, or bytes that are neither.
fn file() -> impl Strategy<Value = Part> {
    let name = prop::sample::select(vec!["call.wav", "call.mp3", "call.json", "../../etc/passwd", "", "ü.WAV"]);
    let wav = bytes(1_600)
        .prop_map(|pcm| wav::encode(&AudioFormat { sample_rate: 8_000, channels: 1, sample_width: 2 }, &pcm));
    let transcript = Just(
        json!({"entries": [{"speaker_id": "agent", "start": 0, "end": 1, "transcript": "hello"}]})
            .to_string()
            .into_bytes(),
    );
    let bytes = prop_oneof![3 => mutated(wav), 2 => mutated(transcript), 1 => bytes(256)];
    let ct = prop::sample::select(vec![None, Some("audio/wav"), Some("application/json"), Some("text/plain")]);
    (name, ct, bytes).prop_map(|(n, ct, b)| ("file".to_string(), Some(n.to_string()), ct.map(str::to_string), b))
}

fn upload_form() -> impl Strategy<Value = Vec<u8>> {
    let field_name = prop_oneof![4 => prop::sample::select(FORM_FIELDS).prop_map(str::to_string), 1 => "[a-z_]{0,12}"];
    let field = (field_name, form_value()).prop_map(|(n, v)| (n, None, None, v.into_bytes()));
    let transcript = bytes(200).prop_map(|b| ("transcript".to_string(), None, None, b));
    let files = prop_oneof![1 => Just(Vec::new()), 4 => prop::collection::vec(file(), 1..3)];
    let parts = (files, prop::collection::vec(field, 0..6), prop::option::weighted(0.2, transcript));
    mutated(parts.prop_map(|(files, fields, transcript)| {
        let parts: Vec<Part> = files.into_iter().chain(fields).chain(transcript).collect();
        multipart(&parts)
    }))
}

/// The form's content type: mostly right, sometimes without or with an empty boundary, or not a form.
fn form_type() -> impl Strategy<Value = String> {
    let wrong = prop::sample::select(vec!["multipart/form-data", "multipart/form-data; boundary=", "application/json"]);
    prop_oneof![5 => Just(format!("multipart/form-data; boundary={BOUNDARY}")), 1 => wrong.prop_map(str::to_string)]
}

#[test]
fn http_upload_form() {
    let app = App::start("http_upload_form");
    fuzz("http_upload_form", (upload_form(), form_type()), |(body, ct)| {
        app.answers(post("/api/calls", true, &ct, body)).map(drop)
    });
}

#[test]
fn http_direct_upload() {
    let app = App::start("http_direct_upload");
    let fields =
        prop::collection::hash_map(prop::sample::select(FORM_FIELDS).prop_map(str::to_string), form_value(), 0..5);
    let request = (".{0,40}", fields).prop_map(|(filename, fields)| json!({"filename": filename, "fields": fields}));
    let body =
        prop_oneof![3 => json_edited(request, FORM_FIELDS).prop_map(|v| v.to_string().into_bytes()), 1 => bytes(200)];
    // The local process stores uploads in a folder, so a request that passes every check is answered 501.
    fuzz("http_direct_upload", body, |body| {
        app.answers_or(post("/api/calls/upload-url", true, "application/json", body), Some(501)).map(drop)
    });
}

#[test]
fn http_glossary_form() {
    let app = App::start("http_glossary_form");
    let terms = prop_oneof![
        3 => "[A-Za-z ,\n-]{0,200}".prop_map(String::into_bytes),
        1 => ".{0,200}".prop_map(String::into_bytes),
        1 => bytes(300),
    ];
    let form = mutated(terms.prop_map(|t| multipart(&[("file".into(), Some("glossary.txt".into()), None, t)])));
    fuzz("http_glossary_form", (form, form_type()), |(body, ct)| {
        app.answers(post("/api/glossary", true, &ct, body)).map(drop)
    });
}
