//! `call-analytics import-django`: moves the Django system's calls into this one, through the ports
//! (`CallStore`, `BatchStore`, `BlobStore`), so it writes wherever the ports lead (the embedded store under
//! `DATA_DIR`, as `serve` reads it). Reading is `source`, the meaning of each row `mapping` (pure), writing
//! `realtime` and `batch`; every write is keyed by the old ids, so running it again finds what is there and
//! finishes what a stopped run left (see `realtime` and `batch`).

mod batch;
mod mapping;
mod realtime;
mod report;
mod row;
mod source;

pub use report::{Counts, Summary};

use mapping::Skipped;
use report::Progress;
use shared::ports::{BatchStore, BlobStore, CallStore, StoreError};
use shared::values::timestamps::Timestamp;
use source::{Source, SourceError};
use std::path::PathBuf;
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ImportError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("reading {0}: {1}")]
    File(String, std::io::Error),
    #[error("realtime call {0} kept changing while it was imported: something else is writing to it")]
    Concurrent(String),
    #[error("this build has no AWS adapters: build call-analytics with `--features aws` for --target aws")]
    NoAws,
    #[error(transparent)]
    Settings(#[from] shared::settings::env::EnvError),
}

/// What to import, from where.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The old system's SQLite file.
    pub db: PathBuf,
    /// The folder the old system ran in: its relative paths (`data/uploads/…`, `data/outputs/…`) start here.
    pub data_root: PathBuf,
    /// `REALTIME_RETENTION_DAYS` as `serve` will read it: a realtime call inactive longer than this would be
    /// deleted by `serve`'s first housekeeping, so it is skipped, saying so (0 = keep every call).
    pub retention_days: u64,
    pub now: Timestamp,
}

/// Where the import writes.
pub struct Targets {
    pub calls: Arc<dyn CallStore>,
    pub batch_calls: Arc<dyn BatchStore>,
    pub blobs: Arc<dyn BlobStore>,
}

impl Targets {
    /// The embedded store and blob folder under `data_dir`, as `serve` opens them (without its start-up
    /// work: the import touches no job).
    pub fn embedded(data_dir: &std::path::Path) -> Result<Self, StoreError> {
        use shared::adapters::embedded::{BLOB_FOLDER, DATABASE_FILE, FolderBlobStore, SqliteStore};
        let store = Arc::new(SqliteStore::open(&data_dir.join(DATABASE_FILE))?);
        let blobs = Arc::new(FolderBlobStore::new(data_dir.join(BLOB_FOLDER)));
        Ok(Self { calls: store.clone(), batch_calls: store, blobs })
    }
}

#[cfg(feature = "aws")]
impl Targets {
    /// The AWS backend's table and bucket, from the variables the template gives the functions (`TABLE_NAME`,
    /// `BUCKET_NAME`, and the SDK's own: region, credentials, `AWS_ENDPOINT_URL`).
    pub async fn aws(e: &dyn shared::settings::env::EnvSource) -> Result<Self, ImportError> {
        use shared::adapters::aws::{AwsSettings, DynamoStore, S3BlobStore, sdk_config};
        let settings = AwsSettings::from_env(e)?;
        let sdk = sdk_config().await;
        let store = Arc::new(DynamoStore::new(&sdk, &settings));
        Ok(Self { calls: store.clone(), batch_calls: store, blobs: Arc::new(S3BlobStore::new(&sdk, &settings)) })
    }
}

#[cfg(not(feature = "aws"))]
impl Targets {
    /// Refused: this build links no AWS SDK (the local binary's default).
    pub async fn aws(_: &dyn shared::settings::env::EnvSource) -> Result<Self, ImportError> {
        Err(ImportError::NoAws)
    }
}

async fn batch_calls(src: &Source, opts: &ImportOptions, to: &Targets, sum: &mut Summary) -> Result<(), ImportError> {
    let rows = src.batch_calls()?;
    let mut progress = Progress::new("batch calls", rows.len() as u64);
    for row in rows {
        progress.step();
        let plan = match mapping::batch_call(&row, &opts.data_root) {
            Ok(plan) => plan,
            Err(reason) => {
                sum.skip(Skipped { kind: "call", id: row.text("id").unwrap_or_default(), reason });
                continue;
            }
        };
        let id = plan.call.id.clone();
        match batch::import_call(to.batch_calls.as_ref(), to.blobs.as_ref(), plan).await? {
            batch::CallOutcome::Done(outcome, warnings) => {
                sum.add("batch calls", outcome, 1);
                sum.warnings.extend(warnings);
            }
            batch::CallOutcome::Taken => {
                let reason = "a different batch call already has this id".into();
                sum.skip(Skipped { kind: "call", id, reason });
            }
        }
    }
    Ok(())
}

async fn realtime_calls(
    src: &Source,
    opts: &ImportOptions,
    to: &Targets,
    sum: &mut Summary,
) -> Result<(), ImportError> {
    for (kind, id, call_id) in src.orphans()? {
        sum.skip(Skipped { kind, id, reason: format!("its call {call_id:?} is not in realtime_call") });
    }
    let rows = src.realtime_calls()?;
    let mut progress = Progress::new("realtime calls", rows.len() as u64);
    for row in rows {
        progress.step();
        let old_id = row.text("call_id").unwrap_or_default();
        let (events, alerts) = (src.events_of(&old_id)?, src.alerts_of(&old_id)?);
        let (plan, skipped) = match mapping::realtime_call(&row, &events, &alerts) {
            Ok(mapped) => mapped,
            Err(reason) => {
                let reason = format!("{reason} ({} events and {} alerts left out with it)", events.len(), alerts.len());
                sum.skip(Skipped { kind: "realtime call", id: old_id, reason });
                continue;
            }
        };
        if mapping::expired(&plan.state, opts.now, opts.retention_days) {
            let reason = format!(
                "last active {}, longer ago than REALTIME_RETENTION_DAYS={}: serve would delete it (set \
                 REALTIME_RETENTION_DAYS=0 to keep every call, then run again)",
                shared::values::timestamps::iso(&plan.state.updated_at),
                opts.retention_days
            );
            sum.skip(Skipped { kind: "realtime call", id: old_id, reason });
            continue;
        }
        skipped.into_iter().for_each(|s| sum.skip(s));
        match realtime::import_call(to.calls.as_ref(), &plan).await? {
            realtime::CallOutcome::Done(outcome) => {
                sum.add("realtime calls", outcome, 1);
                sum.add("events", outcome, plan.events.len() as u64);
                sum.add("alerts", outcome, plan.alerts().count() as u64);
            }
            realtime::CallOutcome::Taken => {
                let reason = "a call with this id already exists here, not made by import-django".into();
                sum.skip(Skipped { kind: "realtime call", id: old_id, reason });
            }
        }
    }
    Ok(())
}

/// Imports everything `opts` names into `to`, with progress on stderr; the summary says what happened to
/// every row. Fails only when the source cannot be read or the store fails: bad rows are skipped.
pub async fn run(opts: &ImportOptions, to: &Targets) -> Result<Summary, ImportError> {
    let src = Source::open(&opts.db)?;
    let mut summary = Summary::default();
    batch_calls(&src, opts, to, &mut summary).await?;
    realtime_calls(&src, opts, to, &mut summary).await?;
    Ok(summary)
}
