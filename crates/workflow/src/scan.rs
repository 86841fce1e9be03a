//! Scanning a document: a batch of pages from a SANE scanner becomes ONE multi-page TIFF (the
//! document's original), ingested like any other file with source `scanner`.
//!
//! The scanning itself (devices, options, the `scanimage` subprocess) is
//! [`countersign_capture::scan`]; this is the step from pages to a stored document.

use crate::ingest::{ingest, IngestOutcome, IngestRequest};
use crate::{Error, Workspace};
use countersign_capture::scan::{assemble_tiff, Sane, ScanCancel};
use countersign_core::Source;
use tracing::{info, instrument};

pub use countersign_capture::scan::{Device, ScanMode, ScanProgress, ScanRequest, ScanSource};

/// The scanners SANE can see; the first is the default. (`ws` is unused for now: it is where
/// per-workstation scanner settings will come from, so shells already pass it.)
pub async fn list_scanners(_ws: &Workspace) -> Result<Vec<Device>, Error> {
    tokio::task::spawn_blocking(|| Sane::new().list_devices())
        .await
        .map_err(|e| Error::internal("listing scanners", e))?
        .map_err(Error::from)
}

/// Scans a batch of pages (see [`ScanRequest`]; no device named means the first one listed),
/// assembles them into one TIFF named `scan-YYYYMMDD-HHMMSS.tif` and ingests it. `progress` is
/// called from a blocking thread as pages start, advance and finish.
///
/// A scan that yields no page is the error `no_pages` and stores nothing. Dropping the returned
/// future cancels the scan: the `scanimage` process is stopped.
#[instrument(skip_all, fields(device = request.device.as_deref().unwrap_or("(first)"), document_id = tracing::field::Empty))]
pub async fn scan_document(
    ws: &Workspace,
    request: ScanRequest,
    actor: &str,
    progress: impl FnMut(ScanProgress) + Send + 'static,
) -> Result<IngestOutcome, Error> {
    let (tiff, pages) = scan_tiff(request, progress).await?;
    let file_name = chrono::Local::now()
        .format("scan-%Y%m%d-%H%M%S.tif")
        .to_string();
    info!(pages, bytes = tiff.len(), file_name, "scanned");
    let outcome = ingest(
        ws,
        IngestRequest {
            bytes: tiff,
            file_name,
            source: Source::Scanner,
            actor: actor.to_owned(),
            password: None,
        },
    )
    .await?;
    tracing::Span::current().record(
        "document_id",
        tracing::field::display(outcome.record.document_id),
    );
    Ok(outcome)
}

/// Scans a batch into one multi-page TIFF (lossless) and says how many pages it holds.
async fn scan_tiff(
    request: ScanRequest,
    progress: impl FnMut(ScanProgress) + Send + 'static,
) -> Result<(Vec<u8>, usize), Error> {
    let cancel = ScanCancel::new();
    let _cancel_on_drop = CancelOnDrop(cancel.clone());
    let (tiff, pages) = tokio::task::spawn_blocking(move || {
        let pages = Sane::new().scan_batch_cancellable(&request, &cancel, progress)?;
        // Empty batches are refused by the scanner layer already (`no_pages`); so is assembling
        // nothing, should that ever change.
        let tiff = assemble_tiff(&pages)?;
        Ok::<_, countersign_capture::scan::ScanError>((tiff, pages.len()))
    })
    .await
    .map_err(|e| Error::internal("scanning", e))??;
    Ok((tiff, pages))
}

/// Scans a batch and inserts its pages into document `id` before page `at` (a new version).
pub async fn scan_into_document(
    ws: &Workspace,
    id: countersign_core::DocumentId,
    at: u32,
    request: ScanRequest,
    actor: &str,
    progress: impl FnMut(ScanProgress) + Send + 'static,
) -> Result<countersign_core::DocumentRecord, Error> {
    let (tiff, _) = scan_tiff(request, progress).await?;
    let file = IngestRequest {
        bytes: tiff,
        file_name: chrono::Local::now()
            .format("scan-%Y%m%d-%H%M%S.tif")
            .to_string(),
        source: Source::Scanner,
        actor: actor.to_owned(),
        password: None,
    };
    crate::pages::insert_pages(ws, id, at, file).await
}

/// Stops the scan when the future holding it is dropped (the caller gave up or was cancelled).
struct CancelOnDrop(ScanCancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}
