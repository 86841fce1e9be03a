//! Typed events to the UI. Names are scoped (`documents://changed`) and mirrored in
//! `ui/src/lib/backend/events.ts`; payloads are generated TypeScript types.

use countersign_workflow::{
    change_cursor, changes_since, progress, ChangeBatch, Progress, Workspace,
};
use std::time::Duration;
use tauri::{AppHandle, Emitter};
use tokio_util::sync::CancellationToken;

/// Payload: [`ChangeBatch`] — the changed documents at their current version.
pub const DOCUMENTS_CHANGED: &str = "documents://changed";

/// Payload: `ScanProgress` — pages of a scan under way, in order.
pub const SCAN_PROGRESS: &str = "scan://progress";

/// Payload: `Progress[]` — every document being processed and how many of its pages are done;
/// sent whenever that changes (an empty list when nothing is being processed any more).
pub const DOCUMENTS_PROGRESS: &str = "documents://progress";

/// Payload: `SyncStatus` — online or not, relay lag; sent whenever it changes.
pub const SYNC_STATUS: &str = "sync://status";

const POLL: Duration = Duration::from_millis(300);

/// Follows the audit log — every change to a document appends to it, whichever process made the
/// change (this app's worker, the CLI, another workstation's worker on a shared dir) — and emits
/// the changed records.
pub async fn feed_document_changes(app: AppHandle, ws: Workspace, cancel: CancellationToken) {
    let mut seq = match change_cursor(&ws).await {
        Ok(seq) => seq,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the change feed; the queue will not update live");
            return;
        }
    };
    let mut last_progress: Vec<Progress> = Vec::new();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(POLL) => {}
        }
        match changes_since(&ws, seq).await {
            Ok(ChangeBatch { seq: next, records }) => {
                if !records.is_empty() {
                    let batch = ChangeBatch { seq: next, records };
                    if let Err(e) = app.emit(DOCUMENTS_CHANGED, &batch) {
                        tracing::warn!(error = %e, "emitting a change failed");
                    }
                }
                seq = next;
            }
            Err(e) => tracing::warn!(error = %e, "reading the change feed failed; retrying"),
        }
        // Page-by-page progress lives in the page tables, not the audit log (one audit entry per
        // page would bury the history), so it is polled on the same tick.
        match progress(&ws).await {
            Ok(now) if now != last_progress => {
                if let Err(e) = app.emit(DOCUMENTS_PROGRESS, &now) {
                    tracing::warn!(error = %e, "emitting progress failed");
                }
                last_progress = now;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reading progress failed; retrying"),
        }
    }
}

/// Forwards the status loop's reports (online/offline, relay lag) to the UI.
pub async fn feed_sync_status(
    app: AppHandle,
    mut status: tokio::sync::watch::Receiver<countersign_workflow::sync::SyncStatus>,
    cancel: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            changed = status.changed() => if changed.is_err() { return },
        }
        let now = status.borrow_and_update().clone();
        if let Err(e) = app.emit(SYNC_STATUS, &now) {
            tracing::warn!(error = %e, "emitting the sync status failed");
        }
    }
}
