use crate::AppState;
use countersign_workflow::queue::{self, QueuePage, QueueQuery};
use countersign_workflow::ApiError;
use tauri::State;

#[tauri::command]
pub async fn queue_page(
    state: State<'_, AppState>,
    query: QueueQuery,
) -> Result<QueuePage, ApiError> {
    Ok(queue::queue(&state.workspace, &query).await?)
}
