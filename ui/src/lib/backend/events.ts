// Event names, mirrored from src-tauri/events.rs (a Rust test checks they agree).
export const DOCUMENTS_CHANGED = "documents://changed";
export const SCAN_PROGRESS = "scan://progress";
