use crate::AppState;
use countersign_workflow::ApiError;
use std::path::{Path, PathBuf};
use tauri::State;

fn shown(list: Vec<PathBuf>) -> Vec<String> {
    list.into_iter().map(|p| p.display().to_string()).collect()
}

#[tauri::command]
pub fn list_hot_folders(state: State<'_, AppState>) -> Vec<String> {
    shown(state.hot_folders.list())
}

// Async: adding a folder starts its watcher on the async runtime.
#[tauri::command]
pub async fn add_hot_folder(
    state: State<'_, AppState>,
    path: String,
) -> Result<Vec<String>, ApiError> {
    Ok(shown(state.hot_folders.add(Path::new(path.trim()))?))
}

#[tauri::command]
pub fn remove_hot_folder(
    state: State<'_, AppState>,
    path: String,
) -> Result<Vec<String>, ApiError> {
    Ok(shown(state.hot_folders.remove(Path::new(&path))?))
}
