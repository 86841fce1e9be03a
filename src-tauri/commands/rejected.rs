use crate::AppState;
use countersign_core::DocumentRecord;
use countersign_workflow::rejected::{self, RejectedFile};
use countersign_workflow::ApiError;
use tauri::State;

#[tauri::command]
pub async fn list_rejected(state: State<'_, AppState>) -> Result<Vec<RejectedFile>, ApiError> {
    Ok(rejected::list(&state.workspace).await?)
}

/// Imports a refused file again, e.g. with the password it needed.
#[tauri::command]
pub async fn retry_rejected(
    state: State<'_, AppState>,
    rejected_id: String,
    password: Option<String>,
) -> Result<DocumentRecord, ApiError> {
    Ok(
        rejected::retry(&state.workspace, &rejected_id, password, &crate::actor())
            .await?
            .record,
    )
}
