use crate::AppState;
use countersign_core::{DocumentRecord, Source, Status};
use countersign_workflow::{ApiError, Error, ErrorCode, IngestRequest, ShowOptions};
use tauri::ipc::{InvokeBody, Request};
use tauri::State;

#[tauri::command]
pub async fn list_documents(
    state: State<'_, AppState>,
    status: Option<Status>,
) -> Result<Vec<DocumentRecord>, ApiError> {
    Ok(countersign_workflow::list(&state.workspace, status).await?)
}

#[tauri::command]
pub async fn show_document(
    state: State<'_, AppState>,
    document_id: countersign_core::DocumentId,
) -> Result<DocumentRecord, ApiError> {
    Ok(countersign_workflow::show(&state.workspace, document_id, ShowOptions::default()).await?)
}

/// The file's bytes arrive as the raw request body (no JSON/base64 detour); its name
/// (URI-encoded) and source in the `x-file-name` and `x-source` headers.
#[tauri::command]
pub async fn ingest_file(
    state: State<'_, AppState>,
    request: Request<'_>,
) -> Result<DocumentRecord, ApiError> {
    let InvokeBody::Raw(bytes) = request.body() else {
        return Err(bad("the file must be sent as raw bytes").into());
    };
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    let file_name = header("x-file-name")
        .map(|v| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
        .ok_or_else(|| bad("x-file-name header missing"))?;
    let source = header("x-source")
        .map(|s| {
            Source::parse(s).ok_or_else(|| bad("x-source must be upload, scanner, folder or photo"))
        })
        .transpose()?
        .unwrap_or(Source::Upload);
    let outcome = countersign_workflow::ingest(
        &state.workspace,
        IngestRequest {
            bytes: bytes.clone(),
            file_name,
            source,
            actor: crate::actor(),
            password: None,
        },
    )
    .await?;
    Ok(outcome.record)
}

fn bad(message: &str) -> Error {
    Error::new(ErrorCode::InvalidArgument, message)
}
