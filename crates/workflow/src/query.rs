//! Reading the queue: list, show, what changed, and the audit verification.

use crate::{Error, Workspace};
use countersign_core::{DocumentId, DocumentRecord, OcrDocument, Status};
use countersign_store::{audit, documents, StoreError};
use serde::Serialize;
use ts_rs::TS;

/// Current versions, newest first; only those in `status` if given.
pub async fn list(ws: &Workspace, status: Option<Status>) -> Result<Vec<DocumentRecord>, Error> {
    Ok(documents::list(ws.store().pool(), status).await?)
}

/// A document at its current version (one read; no OCR).
pub(crate) async fn current_record(
    ws: &Workspace,
    id: DocumentId,
) -> Result<DocumentRecord, Error> {
    let mut conn = ws
        .store()
        .pool()
        .acquire()
        .await
        .map_err(StoreError::from)?;
    Ok(documents::get(&mut conn, id).await?)
}

#[derive(Clone, Copy, Debug, Default)]
pub struct ShowOptions {
    /// Include the `ocr` object (words, boxes, confidences).
    pub with_ocr: bool,
}

pub async fn show(
    ws: &Workspace,
    id: DocumentId,
    opts: ShowOptions,
) -> Result<DocumentRecord, Error> {
    let mut conn = ws
        .store()
        .pool()
        .acquire()
        .await
        .map_err(StoreError::from)?;
    let mut record = documents::get(&mut conn, id).await?;
    if opts.with_ocr {
        let pages = ocr_pages(ws, id, record.version).await?;
        record.ocr = Some(OcrDocument { pages });
    }
    Ok(record)
}

/// The recognised pages of a version, in page order (read from their blobs off the async workers).
pub async fn ocr_pages(
    ws: &Workspace,
    id: DocumentId,
    version: u32,
) -> Result<Vec<countersign_core::OcrPage>, Error> {
    let rows = documents::ocr_pages(ws.store().pool(), id, version).await?;
    let blobs = ws.store().blobs().clone();
    tokio::task::spawn_blocking(move || {
        rows.iter()
            .map(|row| {
                let key = countersign_store::BlobKey::parse(&row.result_blob).ok_or_else(|| {
                    Error::internal("reading OCR results", "a result blob key is malformed")
                })?;
                let bytes = blobs
                    .get(&key)
                    .map_err(|e| Error::internal("reading OCR results", e))?;
                serde_json::from_slice(&bytes)
                    .map_err(|e| Error::internal("reading OCR results", e))
            })
            .collect()
    })
    .await
    .map_err(|e| Error::internal("reading OCR results", e))?
}

/// Documents changed after audit sequence number `after`, at their current version.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ChangeBatch {
    /// Pass this as `after` next time.
    #[ts(type = "number")]
    pub seq: i64,
    pub records: Vec<DocumentRecord>,
}

/// The change feed's current position: pass it to [`changes_since`] to hear only of later changes.
pub async fn change_cursor(ws: &Workspace) -> Result<i64, Error> {
    Ok(audit::head_seq(ws.store().pool()).await?)
}

/// What changed since `after` — by this process or any other (the CLI, a worker). Every change to
/// a document writes an audit entry, so the audit sequence is the change feed.
pub async fn changes_since(ws: &Workspace, after: i64) -> Result<ChangeBatch, Error> {
    let pool = ws.store().pool();
    let (seq, ids) = audit::documents_changed_since(pool, after).await?;
    let mut records = Vec::with_capacity(ids.len());
    let mut conn = pool.acquire().await.map_err(StoreError::from)?;
    for id in ids {
        records.push(documents::get(&mut conn, id).await?);
    }
    Ok(ChangeBatch { seq, records })
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct AuditBreak {
    #[ts(type = "number")]
    pub seq: i64,
    /// `edited`, `chain_broken`, `missing`, `truncated` or `head_mismatch`.
    pub problem: String,
    pub message: String,
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct AuditReport {
    pub ok: bool,
    /// Entries verified before the first break (all of them when `ok`).
    #[ts(type = "number")]
    pub entries: i64,
    pub head_hash: String,
    pub first_break: Option<AuditBreak>,
}

/// Recomputes the audit chain from the first entry.
pub async fn verify_audit(ws: &Workspace) -> Result<AuditReport, Error> {
    let v = audit::verify(ws.store().pool()).await?;
    let first_break = v.first_break.map(|b| {
        let problem = serde_json::to_value(&b)
            .ok()
            .and_then(|j| j.get("problem").and_then(|p| p.as_str()).map(str::to_owned))
            .unwrap_or_default();
        AuditBreak {
            seq: b.seq(),
            problem,
            message: b.to_string(),
        }
    });
    Ok(AuditReport {
        ok: first_break.is_none(),
        entries: v.entries,
        head_hash: v.head_hash,
        first_break,
    })
}

/// Where processing of one document stands: its pages rendered, then read, one by one.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct Progress {
    pub document_id: DocumentId,
    pub version: u32,
    /// `render` while pages are being made, then `ocr` while they are read.
    pub stage: String,
    /// Pages done in this stage.
    pub done: u32,
    /// Pages in the document (`null` while rendering has not counted them yet).
    pub total: Option<u32>,
}

/// Progress of every document being processed (whichever process is doing the work).
pub async fn progress(ws: &Workspace) -> Result<Vec<Progress>, Error> {
    let rows = documents::processing_progress(ws.store().pool()).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let rendering = r.page_count.is_none_or(|n| r.rendered < n);
            Progress {
                document_id: r.document_id,
                version: r.version,
                stage: if rendering { "render" } else { "ocr" }.into(),
                done: if rendering { r.rendered } else { r.recognised },
                total: r.page_count,
            }
        })
        .collect())
}
