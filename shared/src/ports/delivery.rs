//! Handing a file (a call's audio, the live window) to a client, once for every host: where the blob store
//! presigns (S3), a short-lived link (a Lambda response is capped at 6 MB, base64 counted, about two minutes
//! of 16 kHz WAV); where it cannot (the local folder), the bytes.

use super::{BlobStore, StoreError};
use std::time::Duration;

/// How long a download link stays valid: a client fetches it at once (the UI reads the whole file, a
/// redirect is followed straight away), and a link that leaks (history, a proxy's log) soon stops working.
pub const LINK_LIFETIME: Duration = Duration::from_secs(300);

/// What the client is told about a file: its name and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    pub name: String,
    pub content_type: String,
}

impl FileMeta {
    /// An audio file, typed by its extension (browsers need the type to play it inline).
    pub fn audio(name: &str) -> Self {
        Self { name: name.to_string(), content_type: audio_type(name).to_string() }
    }

    /// A JSON file (a transcript artifact).
    pub fn json(name: &str) -> Self {
        Self { name: name.to_string(), content_type: "application/json".to_string() }
    }

    /// `Content-Disposition` to play it in the page, under its name.
    pub fn inline_disposition(&self) -> String {
        format!("inline; filename=\"{}\"", self.name)
    }
}

/// The content type of an audio file by its extension.
fn audio_type(name: &str) -> &'static str {
    match name.rsplit('.').next().map(str::to_lowercase).as_deref() {
        Some("wav") => "audio/wav",
        Some("mp3") => "audio/mpeg",
        Some("m4a" | "aac" | "mp4") => "audio/mp4",
        Some("ogg" | "oga") => "audio/ogg",
        Some("flac") => "audio/flac",
        _ => "application/octet-stream",
    }
}

/// The file's bytes, or where to fetch them (a presigned URL: it carries credentials, never log it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Bytes(Vec<u8>),
    Link(String),
}

/// A file ready to hand to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handout {
    pub file: FileMeta,
    pub body: Body,
}

/// The blob at `key` as `file`: a link where the store presigns, else its bytes; `None` when absent.
pub async fn stored(blobs: &dyn BlobStore, key: &str, file: FileMeta) -> Result<Option<Handout>, StoreError> {
    if let Some(url) = blobs.download_url(key, LINK_LIFETIME, &file).await? {
        return Ok(blobs.exists(key).await?.then_some(Handout { file, body: Body::Link(url) }));
    }
    Ok(blobs.get(key).await?.map(|bytes| Handout { file, body: Body::Bytes(bytes) }))
}

/// A file made for a request (the live window) as `file`, by `make` (not run unless needed): where the
/// store presigns, a link to a copy under `key` (a prefix the bucket's lifecycle rule expires), made and
/// stored only when `key` holds nothing yet, so the caller names a copy by what is in it and a repeated
/// request costs a HEAD instead of making it and a PUT; else the bytes, made now.
pub async fn made<E: From<StoreError>>(
    blobs: &dyn BlobStore,
    key: &str,
    file: FileMeta,
    make: impl Future<Output = Result<Vec<u8>, E>>,
) -> Result<Handout, E> {
    if !blobs.presigns() {
        return Ok(Handout { file, body: Body::Bytes(make.await?) });
    }
    if !blobs.exists(key).await? {
        blobs.put(key, make.await?).await?;
    }
    let url = blobs.download_url(key, LINK_LIFETIME, &file).await?;
    let url = url.ok_or_else(|| StoreError::Backend("a presigning store gave no download link".into()))?;
    Ok(Handout { file, body: Body::Link(url) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_types_by_extension() {
        let types = ["a.WAV", "b.m4a", "noext"].map(|n| FileMeta::audio(n).content_type);
        assert_eq!(types, ["audio/wav", "audio/mp4", "application/octet-stream"]);
        assert_eq!(FileMeta::audio("c.ogg").inline_disposition(), "inline; filename=\"c.ogg\"");
    }
}
