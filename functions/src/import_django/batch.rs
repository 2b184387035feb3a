//! Writing one batch call through the `BatchStore` and `BlobStore` ports: its files first (the upload where
//! `serve` looks for it, the artifacts under `outputs/<id>/`), the record last, created only if the id is
//! free. A run stopped between the two leaves files no record points to, which the next run writes again
//! before creating the record; a call is therefore never listed without its files.

use super::ImportError;
use super::mapping::{BatchPlan, PlannedFile, digest_of, same_batch_call};
use super::report::Outcome;
use shared::ports::{BatchStore, BlobStore, StreamPutError};
use std::path::{Path, PathBuf};

/// Read size when streaming a file into the blob store: uploads are recordings, possibly hundreds of MB.
const PIECE: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallOutcome {
    /// With the warnings about what was missing.
    Done(Outcome, Vec<String>),
    /// The id is used by a different call.
    Taken,
}

fn first_existing(file: &PlannedFile) -> Option<&PathBuf> {
    file.candidates.iter().find(|p| p.is_file())
}

/// Streams `path` into the blob store under `key`.
async fn copy(blobs: &dyn BlobStore, path: &Path, key: &str) -> Result<(), ImportError> {
    use futures_util::StreamExt;
    let file = tokio::fs::File::open(path).await.map_err(|e| ImportError::File(path.display().to_string(), e))?;
    let stream = futures_util::stream::unfold(file, |mut f| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; PIECE];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(axum::body::Bytes::from(buf)), f))
            }
            Err(e) => Some((Err(e), f)),
        }
    });
    match blobs.put_stream(key, stream.boxed()).await {
        Ok(_) => Ok(()),
        Err(StreamPutError::Stream(e)) => Err(ImportError::File(path.display().to_string(), e)),
        Err(StreamPutError::Store(e)) => Err(e.into()),
    }
}

/// Imports one batch call (see the module's doc).
pub async fn import_call(
    store: &dyn BatchStore,
    blobs: &dyn BlobStore,
    mut plan: BatchPlan,
) -> Result<CallOutcome, ImportError> {
    let id = plan.call.id.clone();
    if let Some(stored) = store.get_batch_call(&id).await? {
        let same = same_batch_call(&stored.value, &plan.call);
        return Ok(if same { CallOutcome::Done(Outcome::Present, Vec::new()) } else { CallOutcome::Taken });
    }
    let mut warnings = Vec::new();
    match first_existing(&plan.upload) {
        Some(path) => copy(blobs, path, &plan.upload.key).await?,
        None => {
            warnings.push(format!("call {id}: upload not found (looked at {})", shown(&plan.upload.candidates)));
            plan.call.upload_key.clear();
        }
    }
    for artifact in &plan.artifacts {
        let Some(path) = first_existing(artifact) else { continue };
        copy(blobs, path, &artifact.key).await?;
        if artifact.key.ends_with("/analysis.json") {
            let bytes = tokio::fs::read(path).await.map_err(|e| ImportError::File(path.display().to_string(), e))?;
            plan.call.digest = digest_of(&bytes);
        }
    }
    let has = |name: &str| plan.artifacts.iter().any(|a| a.key.ends_with(name) && first_existing(a).is_some());
    if plan.call.status == shared::batch::BatchStatus::Completed && !(has("/transcript.json") && has("/analysis.json"))
    {
        warnings.push(format!("call {id}: completed, but its transcript.json or analysis.json was not found"));
    }
    Ok(if store.create_batch_call(&plan.call).await? {
        CallOutcome::Done(Outcome::Imported, warnings)
    } else {
        CallOutcome::Done(Outcome::Present, Vec::new())
    })
}

fn shown(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}
