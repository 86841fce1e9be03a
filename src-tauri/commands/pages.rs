use crate::AppState;
use countersign_core::Source;
use countersign_core::{DocumentId, DocumentRecord, PageInfo};
use countersign_workflow::pages::{self, PageEdit, VersionSummary};
use countersign_workflow::{ApiError, Error, ErrorCode, IngestRequest, Workspace};
use tauri::http::{Response, StatusCode};
use tauri::ipc::{InvokeBody, Request};
use tauri::State;

#[tauri::command]
pub async fn list_versions(
    state: State<'_, AppState>,
    document_id: DocumentId,
) -> Result<Vec<VersionSummary>, ApiError> {
    Ok(pages::list_versions(&state.workspace, document_id).await?)
}

#[tauri::command]
pub async fn list_pages(
    state: State<'_, AppState>,
    document_id: DocumentId,
    version: u32,
) -> Result<Vec<PageInfo>, ApiError> {
    Ok(pages::list_pages(&state.workspace, document_id, version).await?)
}

#[tauri::command]
pub async fn edit_pages(
    state: State<'_, AppState>,
    document_id: DocumentId,
    edits: Vec<PageEdit>,
) -> Result<DocumentRecord, ApiError> {
    Ok(pages::edit_pages(&state.workspace, document_id, edits, &crate::actor()).await?)
}

/// The inserted file's bytes are the raw body; `x-document-id`, `x-at` (0-based page index) and
/// `x-file-name` (URI-encoded) are headers.
#[tauri::command]
pub async fn insert_pages(
    state: State<'_, AppState>,
    request: Request<'_>,
) -> Result<DocumentRecord, ApiError> {
    let InvokeBody::Raw(bytes) = request.body() else {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "the file must be sent as raw bytes",
        )
        .into());
    };
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    let bad = |m: &str| Error::new(ErrorCode::InvalidArgument, m);
    let id: DocumentId = header("x-document-id")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| bad("x-document-id missing or invalid"))?;
    let at: u32 = header("x-at")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| bad("x-at missing or invalid"))?;
    let file_name = header("x-file-name")
        .map(|v| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
        .unwrap_or_default();
    let file = IngestRequest {
        bytes: bytes.clone(),
        file_name,
        source: Source::Upload,
        actor: crate::actor(),
        password: None,
    };
    Ok(pages::insert_pages(&state.workspace, id, at, file).await?)
}

/// `page://localhost/<document_id>/<version>/<index>[/thumb]` → the page image (PNG).
pub async fn serve_page_image(ws: &Workspace, path: &str) -> Response<Vec<u8>> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let parsed = match parts.as_slice() {
        [id, version, index, rest @ ..] if rest.is_empty() || rest == ["thumb"] => {
            match (
                id.parse::<DocumentId>(),
                version.parse::<u32>(),
                index.parse::<u32>(),
            ) {
                (Ok(id), Ok(v), Ok(i)) => Some((id, v, i, !rest.is_empty())),
                _ => None,
            }
        }
        _ => None,
    };
    let Some((id, version, index, thumb)) = parsed else {
        return respond(
            StatusCode::BAD_REQUEST,
            "text/plain",
            b"bad page address".to_vec(),
        );
    };
    match pages::page_image(ws, id, version, index, thumb).await {
        Ok(png) => respond(StatusCode::OK, "image/png", png),
        Err(e) if e.code == ErrorCode::NotFound => {
            respond(StatusCode::NOT_FOUND, "text/plain", e.message.into_bytes())
        }
        Err(e) => respond(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain",
            e.message.into_bytes(),
        ),
    }
}

fn respond(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response<Vec<u8>> {
    Response::builder()
        .status(status)
        .header("Content-Type", content_type)
        // Page images of a version never change: the address names the version.
        .header("Cache-Control", "max-age=31536000, immutable")
        .body(body)
        .expect("a valid response")
}
