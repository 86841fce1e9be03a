//! The processing pipeline of one document version, run from the durable job table.
//!
//! It reads as a list ([`STAGES`]); each stage is idempotent and commits its effect together with
//! its step marker, so a job resumed after a crash skips the stages already done and never applies
//! one twice.

use crate::{Error, Workspace};
use countersign_core::{DocumentId, Failure, MimeType, PageInfo, Status};
use countersign_store::jobs::{self, Job, NewJob};
use countersign_store::{documents, BlobKey};
use std::io::Cursor;
use tracing::{info, instrument};

pub const PROCESS_KIND: &str = "process";

/// Test seam (used by the crash test, inert otherwise): after committing the named stage the
/// worker stops and waits to be killed.
pub const PAUSE_AFTER_STAGE_ENV: &str = "COUNTERSIGN_TEST_PAUSE_AFTER_STAGE";

/// The durable job that processes `id` at `version`; enqueueing it twice is a no-op.
pub fn process_job(id: DocumentId, version: u32) -> NewJob {
    NewJob {
        kind: PROCESS_KIND.into(),
        document_id: Some(id),
        payload: serde_json::json!({ "version": version }),
        dedupe_key: Some(format!("{PROCESS_KIND}:{id}:v{version}")),
        max_attempts: 5,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// `received → processing`.
    Start,
    /// Re-read the original, check its sha256, and record its pages and their sizes.
    Inspect,
    /// Text recognition. Not part of this build yet: the document fails here with a retryable
    /// `ocr_unavailable`, visibly, rather than waiting in `processing` for ever.
    Ocr,
}

pub const STAGES: [Stage; 3] = [Stage::Start, Stage::Inspect, Stage::Ocr];

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Start => "start",
            Stage::Inspect => "inspect",
            Stage::Ocr => "ocr",
        }
    }
}

/// A stage that did not succeed: the document's `failure`, and whether the job should try again.
#[derive(Debug, Clone)]
pub struct StageError {
    pub failure: Failure,
    /// Retry the job automatically (transient: IO, a busy store); otherwise the document is failed.
    pub transient: bool,
}

impl StageError {
    fn permanent(stage: Stage, code: &str, message: impl Into<String>, retryable: bool) -> Self {
        StageError {
            failure: Failure {
                stage: stage.name().into(),
                code: code.into(),
                message: message.into(),
                retryable,
            },
            transient: false,
        }
    }

    fn transient(stage: Stage, err: impl std::fmt::Display) -> Self {
        StageError {
            failure: Failure {
                stage: stage.name().into(),
                code: "internal".into(),
                message: err.to_string(),
                retryable: true,
            },
            transient: true,
        }
    }
}

/// Runs the stages of `job` not done yet.
#[instrument(skip_all, fields(document_id = %id, job_id = %job.id, attempt = job.attempts))]
pub async fn run_process(ws: &Workspace, job: &Job, id: DocumentId) -> Result<(), StageError> {
    let done = jobs::steps_done(ws.store().pool(), job.id)
        .await
        .map_err(|e| StageError::transient(Stage::Start, e))?;
    for stage in STAGES {
        if done.contains(stage.name()) {
            info!(stage = stage.name(), "stage already done, skipping");
            continue;
        }
        run_stage(ws, job, id, stage).await?;
        info!(stage = stage.name(), "stage done");
        if std::env::var(PAUSE_AFTER_STAGE_ENV).as_deref() == Ok(stage.name()) {
            eprintln!("paused after stage {} of job {}", stage.name(), job.id);
            std::future::pending::<()>().await;
        }
    }
    Ok(())
}

async fn run_stage(
    ws: &Workspace,
    job: &Job,
    id: DocumentId,
    stage: Stage,
) -> Result<(), StageError> {
    let store = ws.store();
    let t = |e: countersign_store::StoreError| StageError::transient(stage, e);
    match stage {
        Stage::Start => {
            let mut tx = store.write().await.map_err(t)?;
            let record = documents::get(&mut tx, id).await.map_err(t)?;
            if record.status != Status::Processing {
                documents::transition(
                    &mut tx,
                    id,
                    Status::Processing,
                    "worker",
                    None,
                    serde_json::json!({ "job_id": job.id.0 }),
                )
                .await
                .map_err(|e| StageError::permanent(stage, "invalid_state", e.to_string(), false))?;
            }
            jobs::mark_step(&mut tx, job.id, stage.name()).await.map_err(t)?;
            tx.commit().await.map_err(|e| t(e.into()))?;
        }
        Stage::Inspect => {
            let mut conn = store.pool().acquire().await.map_err(|e| t(e.into()))?;
            let record = documents::get(&mut conn, id).await.map_err(t)?;
            drop(conn);
            let key = BlobKey::parse(&record.checksum)
                .ok_or_else(|| StageError::permanent(stage, "corrupt_record", "the stored checksum is not a sha256", false))?;
            let blobs = store.blobs().clone();
            let mime = record.mime_type;
            let pages = tokio::task::spawn_blocking(move || -> Result<Option<Vec<PageInfo>>, StageError> {
                // `get` re-hashes the bytes: a damaged original is caught here, not downstream.
                let bytes = blobs.get(&key).map_err(|e| {
                    StageError::permanent(Stage::Inspect, "original_damaged", e.to_string(), false)
                })?;
                raster_pages(mime, &bytes)
            })
            .await
            .map_err(|e| StageError::transient(stage, e))??;
            let mut tx = store.write().await.map_err(t)?;
            if let Some(pages) = pages {
                documents::set_pages(&mut tx, id, record.version, &pages).await.map_err(t)?;
            }
            jobs::mark_step(&mut tx, job.id, stage.name()).await.map_err(t)?;
            tx.commit().await.map_err(|e| t(e.into()))?;
        }
        Stage::Ocr => {
            return Err(StageError::permanent(
                stage,
                "ocr_unavailable",
                "this build has no OCR engine yet; the document is stored and can be retried once one is installed",
                true,
            ))
        }
    }
    Ok(())
}

/// Page sizes of a raster original, read from its headers (no full decode). `None` for PDFs,
/// whose pages are known only once rendered.
fn raster_pages(mime: MimeType, bytes: &[u8]) -> Result<Option<Vec<PageInfo>>, StageError> {
    let bad = |e: &dyn std::fmt::Display| {
        StageError::permanent(
            Stage::Inspect,
            "corrupt_image",
            format!("the image cannot be read: {e}"),
            false,
        )
    };
    let format = match mime {
        MimeType::Pdf => return Ok(None),
        MimeType::Tiff => return tiff_pages(bytes).map(Some).map_err(|e| bad(&e)),
        MimeType::Png => image::ImageFormat::Png,
        MimeType::Jpeg => image::ImageFormat::Jpeg,
        MimeType::Webp => image::ImageFormat::WebP,
    };
    let (width, height) = image::ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|e| bad(&e))?;
    Ok(Some(vec![PageInfo {
        index: 0,
        width,
        height,
    }]))
}

/// Every page (IFD) of a TIFF, with its size.
fn tiff_pages(bytes: &[u8]) -> Result<Vec<PageInfo>, tiff::TiffError> {
    let mut decoder = tiff::decoder::Decoder::new(Cursor::new(bytes))?;
    let mut pages = Vec::new();
    loop {
        let (width, height) = decoder.dimensions()?;
        pages.push(PageInfo {
            index: pages.len() as u32,
            width,
            height,
        });
        if !decoder.more_images() || pages.len() >= 10_000 {
            break;
        }
        decoder.next_image()?;
    }
    Ok(pages)
}

/// Marks the document failed with `failure` (if it is not already), in the caller's transaction.
pub(crate) async fn fail_document(
    tx: &mut countersign_store::Tx,
    id: DocumentId,
    failure: &Failure,
) -> Result<(), Error> {
    let record = documents::get(tx, id).await?;
    if record.status.transition(Status::Failed).is_ok() {
        documents::transition(
            tx,
            id,
            Status::Failed,
            "worker",
            Some(failure),
            serde_json::json!({}),
        )
        .await?;
    }
    Ok(())
}
