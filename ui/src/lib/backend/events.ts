// Event names, mirrored from src-tauri/events.rs (a Rust test checks they agree).
export const DOCUMENTS_CHANGED = "documents://changed";
export const DOCUMENTS_PROGRESS = "documents://progress";
export const SCAN_PROGRESS = "scan://progress";
export const SYNC_STATUS = "sync://status";
