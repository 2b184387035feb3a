//! Handing a file (a call's audio, the live window) to a client, written once for every host. Where the blob
//! store can presign (S3), the client gets a short-lived link and fetches the bytes from storage itself: a
//! Lambda response is capped at 6 MB with base64 counted, about two minutes of 16 kHz WAV, so no audio may
//! travel in one. Where it cannot (the local folder), the host sends the bytes.

use crate::ports::{BlobStore, StoreError};
use std::time::Duration;

/// How long a download link stays valid. A client fetches it at once (the UI reads the whole file, a
/// redirect is followed straight away), so five minutes is plenty and a link that leaks (browser history,
/// a proxy's log) stops working soon; a player streaming a long file by ranges past that would need to ask
/// again.
pub const LINK_LIFETIME: Duration = Duration::from_secs(300);

/// What the client is told about a file: its name, type and whether to show it or save it.
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

/// The blob at `key` as `file`: a link where the store presigns, else its bytes. `None` when nothing is
/// there (checked without reading it where a link is given).
pub async fn stored(blobs: &dyn BlobStore, key: &str, file: FileMeta) -> Result<Option<Handout>, StoreError> {
    if let Some(url) = blobs.download_url(key, LINK_LIFETIME, &file).await? {
        return Ok(blobs.exists(key).await?.then_some(Handout { file, body: Body::Link(url) }));
    }
    Ok(blobs.get(key).await?.map(|bytes| Handout { file, body: Body::Bytes(bytes) }))
}

/// `bytes` made for this request (the live window) as `file`: where the store presigns, first stored
/// under `scratch_key`, which must be under a prefix the bucket's lifecycle rule expires, then a link; else
/// the bytes.
pub async fn made(
    blobs: &dyn BlobStore,
    scratch_key: &str,
    bytes: Vec<u8>,
    file: FileMeta,
) -> Result<Handout, StoreError> {
    match blobs.download_url(scratch_key, LINK_LIFETIME, &file).await? {
        Some(url) => {
            blobs.put(scratch_key, bytes).await?;
            Ok(Handout { file, body: Body::Link(url) })
        }
        None => Ok(Handout { file, body: Body::Bytes(bytes) }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_types_by_extension() {
        assert_eq!(FileMeta::audio("a.WAV").content_type, "audio/wav");
        assert_eq!(FileMeta::audio("b.m4a").content_type, "audio/mp4");
        assert_eq!(FileMeta::audio("noext").content_type, "application/octet-stream");
        assert_eq!(FileMeta::audio("c.ogg").inline_disposition(), "inline; filename=\"c.ogg\"");
    }
}
