fn main() {
    // Capabilities live in src-tauri/ (the root holds only the workspace and the app config), and every
    // app command is listed here so that capabilities can grant them one by one.
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .capabilities_path_pattern("src-tauri/capabilities/**/*")
            .app_manifest(tauri_build::AppManifest::new().commands(&[
                "list_documents",
                "show_document",
                "ingest_file",
                "app_info",
                "list_versions",
                "list_pages",
                "edit_pages",
                "insert_pages",
                "list_rejected",
                "retry_rejected",
                "list_scanners",
                "scan_document",
                "scan_into_document",
                "list_hot_folders",
                "add_hot_folder",
                "remove_hot_folder",
                "queue_page",
                "send_document",
                "outbox_status",
                "envelope_info",
                "refresh_envelope",
                "void_envelope",
                "resend_document",
                "save_evidence",
                "provider_settings",
                "set_provider_token",
                "forget_provider_token",
                "review_document",
                "change_document",
                "decide_document",
                "bulk_approve",
                "set_recipients",
                "get_reviewer_name",
                "set_reviewer_name",
            ])),
    )
    .expect("tauri build script failed");
}
