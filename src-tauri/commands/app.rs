use crate::bindings::AppInfo;
use crate::AppState;
use tauri::State;

#[tauri::command]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    AppInfo {
        version: env!("CARGO_PKG_VERSION").into(),
        data_dir: state.workspace.data_dir().display().to_string(),
        tenant_id: state.workspace.config().tenant_id.to_string(),
    }
}
