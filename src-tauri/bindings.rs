//! The TypeScript side of the wire: every type the UI receives or sends, generated with ts-rs
//! into `ui/src/lib/generated/`. The test below fails when the committed files drift from the
//! Rust types; regenerate with `UPDATE_GENERATED=1 cargo test -p countersign-desktop generated_types`.

use serde::Serialize;
use std::path::Path;
use ts_rs::TS;

/// What the window shows about this installation.
#[derive(Clone, Debug, Serialize, TS)]
pub struct AppInfo {
    pub version: String,
    pub data_dir: String,
    pub tenant_id: String,
}

/// Writes the TypeScript declarations of every wire type (and the types they use) into `dir`.
pub fn export_all(dir: &Path) -> Result<(), ts_rs::ExportError> {
    countersign_core::DocumentRecord::export_all_to(dir)?;
    countersign_core::Status::export_all_to(dir)?;
    countersign_workflow::ApiError::export_all_to(dir)?;
    countersign_workflow::ChangeBatch::export_all_to(dir)?;
    countersign_workflow::Progress::export_all_to(dir)?;
    countersign_workflow::AuditReport::export_all_to(dir)?;
    countersign_workflow::pages::PageEdit::export_all_to(dir)?;
    countersign_workflow::pages::VersionSummary::export_all_to(dir)?;
    countersign_workflow::rejected::RejectedFile::export_all_to(dir)?;
    countersign_core::PageInfo::export_all_to(dir)?;
    countersign_core::OcrPage::export_all_to(dir)?;
    countersign_workflow::scan::Device::export_all_to(dir)?;
    countersign_workflow::scan::ScanRequest::export_all_to(dir)?;
    countersign_workflow::scan::ScanProgress::export_all_to(dir)?;
    countersign_workflow::review::ReviewView::export_all_to(dir)?;
    countersign_workflow::review::ReviewChange::export_all_to(dir)?;
    countersign_workflow::review::ReviewDecision::export_all_to(dir)?;
    countersign_workflow::review::BulkOutcome::export_all_to(dir)?;
    countersign_workflow::review::EnvelopeRecipient::export_all_to(dir)?;
    countersign_workflow::queue::QueueQuery::export_all_to(dir)?;
    countersign_workflow::queue::QueuePage::export_all_to(dir)?;
    countersign_workflow::send::Outbox::export_all_to(dir)?;
    countersign_workflow::sync::SyncStatus::export_all_to(dir)?;
    countersign_workflow::sync::RelaySettings::export_all_to(dir)?;
    countersign_workflow::send::EnvelopeInfo::export_all_to(dir)?;
    countersign_workflow::send::ProviderSettings::export_all_to(dir)?;
    AppInfo::export_all_to(dir)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    fn read_dir(dir: &Path) -> BTreeMap<String, String> {
        std::fs::read_dir(dir)
            .map(|it| {
                it.filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "ts"))
                    .map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        (name, std::fs::read_to_string(e.path()).unwrap())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn generated_types_match_the_rust_types() {
        let committed: PathBuf = [env!("CARGO_MANIFEST_DIR"), "ui", "src", "lib", "generated"]
            .iter()
            .collect();
        if std::env::var_os("UPDATE_GENERATED").is_some() {
            for old in read_dir(&committed).keys() {
                std::fs::remove_file(committed.join(old)).unwrap();
            }
            super::export_all(&committed).unwrap();
        }
        let fresh = tempfile::tempdir().unwrap();
        super::export_all(fresh.path()).unwrap();
        let expected = read_dir(fresh.path());
        let actual = read_dir(&committed);
        assert!(
            expected.contains_key("DocumentRecord.ts"),
            "export wrote {:?}",
            expected.keys()
        );
        let missing: Vec<_> = expected
            .keys()
            .filter(|k| !actual.contains_key(*k))
            .collect();
        let stale: Vec<_> = actual
            .keys()
            .filter(|k| !expected.contains_key(*k))
            .collect();
        let changed: Vec<_> = expected
            .iter()
            .filter(|(k, v)| actual.get(*k).is_some_and(|a| a != *v))
            .map(|(k, _)| k)
            .collect();
        assert!(
            missing.is_empty() && stale.is_empty() && changed.is_empty(),
            "ui/src/lib/generated drifted from the Rust types (missing {missing:?}, stale {stale:?}, changed {changed:?}); \
             run `UPDATE_GENERATED=1 cargo test -p countersign-desktop generated_types` and commit the result"
        );
    }
}

#[cfg(test)]
mod event_name_tests {
    #[test]
    fn event_names_match_the_ui() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/ui/src/lib/backend/events.ts");
        let ts = std::fs::read_to_string(path).unwrap();
        let expected = format!(
            "DOCUMENTS_CHANGED = \"{}\"",
            crate::events::DOCUMENTS_CHANGED
        );
        assert!(ts.contains(&expected), "{path} must declare {expected}");
        let expected = format!(
            "DOCUMENTS_PROGRESS = \"{}\"",
            crate::events::DOCUMENTS_PROGRESS
        );
        assert!(ts.contains(&expected), "{path} must declare {expected}");
        let expected = format!("SYNC_STATUS = \"{}\"", crate::events::SYNC_STATUS);
        assert!(ts.contains(&expected), "{path} must declare {expected}");
    }
}
