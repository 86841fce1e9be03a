use crate::AppState;
use countersign_core::DocumentRecord;
use countersign_workflow::scan::{self, Device, ScanRequest};
use countersign_workflow::ApiError;
use tauri::{AppHandle, Emitter, State};

#[tauri::command]
pub async fn list_scanners(state: State<'_, AppState>) -> Result<Vec<Device>, ApiError> {
    Ok(scan::list_scanners(&state.workspace).await?)
}

/// Scans a batch into one document; progress goes out as `scan://progress` events.
#[tauri::command]
pub async fn scan_document(
    app: AppHandle,
    state: State<'_, AppState>,
    request: ScanRequest,
) -> Result<DocumentRecord, ApiError> {
    let progress = move |p| {
        let _ = app.emit(crate::events::SCAN_PROGRESS, &p);
    };
    Ok(
        scan::scan_document(&state.workspace, request, &crate::actor(), progress)
            .await?
            .record,
    )
}

/// Scans a batch and inserts its pages into a document before page `at` (a new version).
#[tauri::command]
pub async fn scan_into_document(
    app: AppHandle,
    state: State<'_, AppState>,
    document_id: countersign_core::DocumentId,
    at: u32,
    request: ScanRequest,
) -> Result<DocumentRecord, ApiError> {
    let progress = move |p| {
        let _ = app.emit(crate::events::SCAN_PROGRESS, &p);
    };
    Ok(scan::scan_into_document(
        &state.workspace,
        document_id,
        at,
        request,
        &crate::actor(),
        progress,
    )
    .await?)
}
