//! Uploaded audio on its way to a call. The file part of `POST /api/calls` is streamed to a staging key as
//! it arrives, counted against `AUDIO_MAX_BYTES`, so no upload is ever held in memory (several concurrent
//! uploads of the 500 MB limit would exhaust the process). The form's other fields may come after the file,
//! and the call's id and options are only known once they have, so the call is recorded afterwards and its
//! audio moved under it then. Staged audio that never reaches a call is deleted.

use super::service::BatchService;
use crate::ports::{BlobStore, ByteStream, StoreError, StreamPutError};
use crate::realtime::ServiceError;
use futures_util::StreamExt;
use std::sync::Arc;

/// Where uploads wait for their call (outside `uploads/`, whose objects queue jobs on AWS).
pub const STAGING_PREFIX: &str = "staging/";

/// The error that cuts an upload's stream off at the limit (told apart from the sender's own errors).
#[derive(Debug, thiserror::Error)]
#[error("more than {0} bytes")]
struct OverLimit(usize);

/// Audio streamed to storage ahead of its call. Dropped before it was placed under a call (a refused form,
/// a client gone before the end, a failed submit), it is deleted.
pub struct StagedAudio {
    key: String,
    /// Its length.
    pub bytes: u64,
    blobs: Arc<dyn BlobStore>,
    placed: bool,
}

impl StagedAudio {
    /// Moves the audio to `key`, where it then stays.
    pub(super) async fn place(mut self, key: &str) -> Result<(), StoreError> {
        self.blobs.rename(&self.key, key).await?;
        self.placed = true;
        Ok(())
    }
}

impl Drop for StagedAudio {
    fn drop(&mut self) {
        if self.placed {
            return;
        }
        let (blobs, key) = (self.blobs.clone(), std::mem::take(&mut self.key));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = blobs.delete(&key).await {
                    tracing::warn!(key, error = %e, "could not delete a staged upload");
                }
            });
        }
    }
}

/// Passes `body` on until more than `max` bytes have come, then ends it with `OverLimit`.
fn limited(body: ByteStream<'_>, max: usize) -> ByteStream<'_> {
    let mut seen = 0usize;
    body.map(move |chunk| {
        let chunk = chunk?;
        seen = seen.saturating_add(chunk.len());
        if seen > max { Err(std::io::Error::other(OverLimit(max))) } else { Ok(chunk) }
    })
    .boxed()
}

fn staging_key() -> Result<String, StoreError> {
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok(format!("{STAGING_PREFIX}upload-{:032x}", u128::from_le_bytes(nonce)))
}

impl BatchService {
    /// Streams an upload's audio to a staging key, counted as it comes: past `AUDIO_MAX_BYTES` the stream
    /// is cut off (`TooLarge`) and nothing stays stored; an empty file is refused as missing.
    pub async fn stage_audio(&self, body: ByteStream<'_>) -> Result<StagedAudio, ServiceError> {
        let key = staging_key()?;
        let stored = self.ports.blobs.put_stream(&key, limited(body, self.audio.max_bytes)).await;
        let bytes = match stored {
            Ok(bytes) => bytes,
            Err(StreamPutError::Stream(e)) if e.get_ref().is_some_and(|e| e.is::<OverLimit>()) => {
                return Err(ServiceError::TooLarge);
            }
            Err(StreamPutError::Stream(e)) => return Err(ServiceError::BadRequest(format!("Upload interrupted: {e}"))),
            Err(StreamPutError::Store(e)) => return Err(e.into()),
        };
        let staged = StagedAudio { key, bytes, blobs: self.ports.blobs.clone(), placed: false };
        if bytes == 0 {
            return Err(ServiceError::BadRequest("Missing file".into()));
        }
        Ok(staged)
    }

    /// Deletes staged uploads an earlier run left (it stopped mid-upload). For the one local process, at
    /// start, when no upload can be under way.
    pub async fn clear_staged_uploads(&self) -> Result<usize, StoreError> {
        let keys = self.ports.blobs.list(STAGING_PREFIX).await?;
        for key in &keys {
            self.ports.blobs.delete(key).await?;
        }
        Ok(keys.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stream_is_cut_off_past_its_limit() {
        let chunks = || {
            let parts = [bytes::Bytes::from_static(b"abcd"), bytes::Bytes::from_static(b"ef")];
            futures_util::stream::iter(parts.map(Ok)).boxed()
        };
        let passed: Vec<_> = limited(chunks(), 6).collect().await;
        assert!(passed.iter().all(Result::is_ok));
        let cut: Vec<_> = limited(chunks(), 5).collect().await;
        assert!(cut[0].is_ok());
        assert!(cut[1].as_ref().unwrap_err().get_ref().unwrap().is::<OverLimit>());
    }
}
