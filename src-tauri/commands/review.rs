use crate::AppState;
use countersign_core::{DocumentId, DocumentRecord};
use countersign_workflow::review::{
    self, BulkOutcome, EnvelopeRecipient, ReviewChange, ReviewDecision, ReviewView,
};
use countersign_workflow::{config, ApiError};
use tauri::State;

/// The reviewer is whoever the settings name (read now: the user may just have changed it).
fn reviewer(state: &AppState) -> Result<String, ApiError> {
    Ok(config::reviewer_name(state.workspace.data_dir())?)
}

#[tauri::command]
pub async fn review_document(
    state: State<'_, AppState>,
    document_id: DocumentId,
) -> Result<ReviewView, ApiError> {
    Ok(review::review_view(&state.workspace, document_id).await?)
}

#[tauri::command]
pub async fn change_document(
    state: State<'_, AppState>,
    document_id: DocumentId,
    version: u32,
    change: ReviewChange,
) -> Result<DocumentRecord, ApiError> {
    let who = reviewer(&state)?;
    Ok(review::change_document(&state.workspace, document_id, Some(version), change, &who).await?)
}

#[tauri::command]
pub async fn decide_document(
    state: State<'_, AppState>,
    document_id: DocumentId,
    version: u32,
    decision: ReviewDecision,
) -> Result<DocumentRecord, ApiError> {
    let who = reviewer(&state)?;
    Ok(
        review::decide_document(&state.workspace, document_id, Some(version), decision, &who)
            .await?,
    )
}

#[tauri::command]
pub async fn bulk_approve(
    state: State<'_, AppState>,
    document_ids: Vec<DocumentId>,
) -> Result<BulkOutcome, ApiError> {
    let who = reviewer(&state)?;
    Ok(review::bulk_approve(&state.workspace, &document_ids, &who).await?)
}

#[tauri::command]
pub async fn set_recipients(
    state: State<'_, AppState>,
    document_id: DocumentId,
    version: u32,
    recipients: Vec<EnvelopeRecipient>,
) -> Result<DocumentRecord, ApiError> {
    let who = reviewer(&state)?;
    Ok(review::set_recipients(
        &state.workspace,
        document_id,
        Some(version),
        recipients,
        &who,
    )
    .await?)
}

#[tauri::command]
pub fn get_reviewer_name(state: State<'_, AppState>) -> Result<String, ApiError> {
    reviewer(&state)
}

#[tauri::command]
pub fn set_reviewer_name(state: State<'_, AppState>, name: String) -> Result<String, ApiError> {
    config::write_reviewer_name(state.workspace.data_dir(), &name)?;
    reviewer(&state)
}
