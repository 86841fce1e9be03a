use crate::AppState;
use countersign_core::{DocumentId, DocumentRecord};
use countersign_workflow::secrets::{self, SecretKind};
use countersign_workflow::send::{self, EnvelopeInfo, Outbox, ProviderSettings};
use countersign_workflow::{ApiError, Error, ErrorCode};
use tauri::State;

/// The person acting (the reviewer name from settings), for the audit log.
fn reviewer(state: &AppState) -> Result<String, ApiError> {
    Ok(countersign_workflow::config::reviewer_name(
        state.workspace.data_dir(),
    )?)
}

#[tauri::command]
pub async fn send_document(
    state: State<'_, AppState>,
    document_id: DocumentId,
) -> Result<DocumentRecord, ApiError> {
    Ok(send::queue_for_signature(&state.workspace, document_id, &reviewer(&state)?).await?)
}

#[tauri::command]
pub async fn outbox_status(state: State<'_, AppState>) -> Result<Outbox, ApiError> {
    Ok(send::outbox(&state.workspace).await?)
}

#[tauri::command]
pub async fn envelope_info(
    state: State<'_, AppState>,
    document_id: DocumentId,
) -> Result<EnvelopeInfo, ApiError> {
    Ok(send::envelope_info(&state.workspace, document_id).await?)
}

#[tauri::command]
pub async fn refresh_envelope(
    state: State<'_, AppState>,
    document_id: DocumentId,
) -> Result<DocumentRecord, ApiError> {
    Ok(send::refresh_envelope(&state.workspace, document_id, &reviewer(&state)?).await?)
}

#[tauri::command]
pub async fn void_envelope(
    state: State<'_, AppState>,
    document_id: DocumentId,
    reason: String,
) -> Result<DocumentRecord, ApiError> {
    Ok(send::void_envelope(&state.workspace, document_id, &reason, &reviewer(&state)?).await?)
}

#[tauri::command]
pub async fn resend_document(
    state: State<'_, AppState>,
    document_id: DocumentId,
) -> Result<DocumentRecord, ApiError> {
    Ok(send::resend(&state.workspace, document_id, &reviewer(&state)?).await?)
}

/// Saves the signed PDF or the certificate in the user's downloads folder; returns the path.
#[tauri::command]
pub async fn save_evidence(
    state: State<'_, AppState>,
    document_id: DocumentId,
    kind: String,
) -> Result<String, ApiError> {
    let dir = dirs::download_dir().unwrap_or_else(|| state.workspace.data_dir().join("exports"));
    let path = send::save_evidence(&state.workspace, document_id, &kind, &dir).await?;
    Ok(path.display().to_string())
}

#[tauri::command]
pub async fn provider_settings(state: State<'_, AppState>) -> Result<ProviderSettings, ApiError> {
    Ok(send::provider_settings(&state.workspace).await?)
}

/// Stores the provider token in the OS keychain (never in the database, config or logs).
#[tauri::command]
pub async fn set_provider_token(
    state: State<'_, AppState>,
    token: String,
) -> Result<ProviderSettings, ApiError> {
    let tenant = &state.workspace.config().tenant_id;
    secrets::store(SecretKind::ProviderToken, tenant, &token).await?;
    Ok(send::provider_settings(&state.workspace).await?)
}

#[tauri::command]
pub async fn forget_provider_token(
    state: State<'_, AppState>,
) -> Result<ProviderSettings, ApiError> {
    let tenant = &state.workspace.config().tenant_id;
    secrets::forget(SecretKind::ProviderToken, tenant).await?;
    if std::env::var_os(SecretKind::ProviderToken.env_var()).is_some() {
        return Err(Error::new(
            ErrorCode::InvalidState,
            "the token comes from COUNTERSIGN_PROVIDER_TOKEN in the environment; unset it there",
        )
        .into());
    }
    Ok(send::provider_settings(&state.workspace).await?)
}

/// How the status loop is doing: online or not, the relay, its lag.
#[tauri::command]
pub async fn sync_status(
    state: State<'_, AppState>,
) -> Result<countersign_workflow::sync::SyncStatus, ApiError> {
    Ok(state.sync_status.borrow().clone())
}

#[tauri::command]
pub async fn relay_settings(
    state: State<'_, AppState>,
) -> Result<countersign_workflow::sync::RelaySettings, ApiError> {
    Ok(countersign_workflow::sync::relay_settings(&state.workspace).await?)
}

/// Stores the relay workstation token in the OS keychain; the status loop picks it up.
#[tauri::command]
pub async fn set_relay_token(
    state: State<'_, AppState>,
    token: String,
) -> Result<countersign_workflow::sync::RelaySettings, ApiError> {
    let tenant = &state.workspace.config().tenant_id;
    secrets::store(SecretKind::RelayToken, tenant, &token).await?;
    Ok(countersign_workflow::sync::relay_settings(&state.workspace).await?)
}

#[tauri::command]
pub async fn forget_relay_token(
    state: State<'_, AppState>,
) -> Result<countersign_workflow::sync::RelaySettings, ApiError> {
    let tenant = &state.workspace.config().tenant_id;
    secrets::forget(SecretKind::RelayToken, tenant).await?;
    if std::env::var_os(SecretKind::RelayToken.env_var()).is_some() {
        return Err(Error::new(
            ErrorCode::InvalidState,
            "the token comes from COUNTERSIGN_RELAY_TOKEN in the environment; unset it there",
        )
        .into());
    }
    Ok(countersign_workflow::sync::relay_settings(&state.workspace).await?)
}
