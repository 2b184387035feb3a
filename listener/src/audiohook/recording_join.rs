//! Joining a session's parts into the call's recording. Kept apart from the recorder because the same join
//! serves a session that ends and the parts a crash left behind.
//!
//! A call may have several sessions (a transfer, a reconnect), ending at once or one after another, on
//! this listener or on another task sharing the store. Each join reads the recording, appends and writes it
//! back only if nobody wrote it since it was read (a conditional write: S3's `If-Match`), else reads again;
//! a plain write would drop the other session's audio. A session whose audio has
//! another format than the recording (mono after stereo) is not appended: it is kept whole in its own file,
//! `recordings/<call>/<session>.wav` (beside where its parts were, so deleting a call finds it under the
//! call's folder), and the call's recording is left as it was.

use shared::audio::wav;
use shared::ports::{BlobStore, StoreError};
use shared::realtime::live_audio::AudioFormat;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// The blob key of a call's whole recording.
pub fn recording_key(call_id: &str) -> String {
    format!("recordings/{call_id}.wav")
}

/// The blob key of one session's audio when it could not join the call's recording (another format).
pub fn session_recording_key(call_id: &str, session_id: &str) -> String {
    format!("recordings/{call_id}/{session_id}.wav")
}

/// Where a session's parts are written until they are joined.
pub(super) fn part_key(call_id: &str, session_id: &str, n: u32) -> String {
    format!("recordings/{call_id}/{session_id}/part-{n:06}.wav")
}

/// `(call, session, part number)` of a part's key, as `part_key` writes it; `None` for any other key.
pub(super) fn parse_part_key(key: &str) -> Option<(&str, &str, u32)> {
    let mut segments = key.strip_prefix("recordings/")?.split('/');
    let (call, session, file) = (segments.next()?, segments.next()?, segments.next()?);
    let digits = file.strip_prefix("part-")?.strip_suffix(".wav")?;
    let whole = segments.next().is_none() && digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit());
    whole.then(|| digits.parse().ok().map(|n| (call, session, n))).flatten()
}

/// Conditional writes of one join that may find the recording changed before it gives up. Each conflict
/// means another session's join landed, so this bounds the sessions of one call ending at the same moment;
/// a join that gives up keeps its parts, and the next start of a listener joins them.
const JOIN_ATTEMPTS: u32 = 20;

/// A blob store whose every call is limited in time.
pub(super) struct Storage {
    pub blobs: Arc<dyn BlobStore>,
    pub timeout: Duration,
}

impl Storage {
    /// One storage call, failed after `timeout`.
    pub async fn call<T>(&self, call: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        let limit = self.timeout;
        tokio::time::timeout(limit, call)
            .await
            .unwrap_or_else(|_| Err(StoreError::Backend(format!("recording storage: no answer in {limit:?}"))))
    }

    /// Joins parts of a session, in the order given, into the call's recording (or the session's own file,
    /// see the module doc); returns the key written. `format` is what the session recorded. A part already
    /// gone was joined before (by the start of another listener, see `join_leftovers`) and is passed
    /// over. The parts are deleted only once the joined audio is stored.
    pub async fn join(
        &self,
        call_id: &str,
        session_id: &str,
        parts: &[u32],
        format: AudioFormat,
    ) -> Result<String, StoreError> {
        let pcm = self.read_parts(call_id, session_id, parts, format).await?;
        let key = self.append(call_id, session_id, &format, pcm).await?;
        for &n in parts {
            self.call(self.blobs.delete(&part_key(call_id, session_id, n))).await?;
        }
        Ok(key)
    }

    async fn read_parts(
        &self,
        call_id: &str,
        session_id: &str,
        parts: &[u32],
        format: AudioFormat,
    ) -> Result<Vec<u8>, StoreError> {
        let mut pcm = Vec::new();
        for &n in parts {
            let key = part_key(call_id, session_id, n);
            let Some(bytes) = self.call(self.blobs.get(&key)).await? else {
                tracing::warn!(key, "recording: a part is gone, joined already");
                continue;
            };
            match wav::decode(&bytes) {
                Ok((f, part)) if f == format => pcm.extend_from_slice(&part),
                Ok(_) => return Err(StoreError::Corrupt(format!("{key}: another format than the session's"))),
                Err(e) => return Err(StoreError::Corrupt(format!("{key}: {e}"))),
            }
        }
        Ok(pcm)
    }

    /// Joins the parts that sessions left without ending (a crash, a kill): every
    /// `recordings/<call>/<session>/part-NNNNNN.wav`, session by session, in part order, as if the session
    /// had ended. The listener runs it as it starts, before it serves, so none of its own sessions is
    /// live; a session live on another listener sharing the store has its parts so far joined early, and
    /// the rest when it ends. Joined parts are deleted, so a second run finds nothing. Returns the keys
    /// written, one per session.
    pub async fn join_leftovers(&self) -> Result<Vec<String>, StoreError> {
        let mut sessions: BTreeMap<(String, String), Vec<u32>> = BTreeMap::new();
        for key in self.call(self.blobs.list("recordings/")).await? {
            if let Some((call, session, n)) = parse_part_key(&key) {
                sessions.entry((call.into(), session.into())).or_default().push(n);
            }
        }
        let mut written = Vec::new();
        for ((call, session), mut parts) in sessions {
            parts.sort_unstable();
            let first = self.call(self.blobs.get(&part_key(&call, &session, parts[0]))).await?;
            let Some(Ok((format, _))) = first.as_deref().map(wav::decode) else {
                tracing::error!(call, session, "recording: a part a crash left is unreadable, left as it is");
                continue;
            };
            written.push(self.join(&call, &session, &parts, format).await?);
        }
        Ok(written)
    }

    /// Appends to the call's recording when it is absent or of the same format; else stores the audio as
    /// the session's own file, so neither is lost.
    async fn append(
        &self,
        call_id: &str,
        session_id: &str,
        format: &AudioFormat,
        pcm: Vec<u8>,
    ) -> Result<String, StoreError> {
        let key = recording_key(call_id);
        for _ in 0..JOIN_ATTEMPTS {
            let (whole, read) = match self.call(self.blobs.get_versioned(&key)).await? {
                None => (wav::encode(format, &pcm), None),
                Some(_) if pcm.is_empty() => return Ok(key),
                Some((bytes, version)) => match wav::decode(&bytes) {
                    Ok((existing, mut whole)) if existing == *format => {
                        whole.extend_from_slice(&pcm);
                        (wav::encode(format, &whole), Some(version))
                    }
                    _ => {
                        let own = session_recording_key(call_id, session_id);
                        self.call(self.blobs.put(&own, wav::encode(format, &pcm))).await?;
                        return Ok(own);
                    }
                },
            };
            if self.call(self.blobs.put_if(&key, whole, read.as_ref())).await? {
                return Ok(key);
            }
            tracing::info!(key, "recording: joined by another session meanwhile, reading it again");
        }
        Err(StoreError::Backend(format!("{key}: changed by other joins {JOIN_ATTEMPTS} times in a row")))
    }
}
