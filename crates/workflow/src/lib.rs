//! The operations every Countersign shell calls: the desktop app's commands and the `countersign`
//! CLI are a few lines each around these functions, so both behave the same.
//!
//! - [`Workspace::open`]: the data dir (database, blobs, config, logs).
//! - [`ingest`]: validate at the edge, checksum, dedupe, store the original, create the record,
//!   enqueue processing.
//! - [`list`], [`show`], [`changes_since`]: read the queue.
//! - [`process`]: the processing pipeline run by [`worker::run`] from the durable job table.
//! - [`review`]: what a reviewer sees of a flagged document; corrections, undo and decisions,
//!   each a new version with its audit entry.
//! - [`send`]: the outbox: durable, duplicate-safe sends to the signature provider.
//! - [`verify_audit`]: recompute the audit chain.
//! - [`scan`]: a batch of pages from a SANE scanner, ingested as one multi-page TIFF.
//! - [`watch`]: hot folders — each file that settles there is ingested once, then moved aside.
//!
//! Errors carry a stable [`ErrorCode`]; shells turn them into `{code, message}`.

pub mod classifier;
pub mod config;
mod error;
pub mod export;
mod ingest;
pub mod logging;
mod ocr_only;
pub mod pages;
pub mod policy;
pub mod process;
mod query;
pub mod queue;
pub mod rejected;
pub mod review;
pub mod scan;
pub mod secrets;
pub mod send;
pub mod sync;
pub mod watch;
pub mod worker;

pub use config::{Config, CONFIG_FILE};
pub use error::{ApiError, Error, ErrorCode};
pub use ingest::{
    ingest, ingest_path, ingest_path_with_password, IngestOutcome, IngestRequest, MAX_FILE_NAME_LEN,
};
pub use ocr_only::{ocr_file, ocr_file_with_progress};
pub use query::{
    change_cursor, changes_since, list, ocr_pages, progress, show, verify_audit, AuditReport,
    ChangeBatch, Progress, ShowOptions,
};

use countersign_capture::isolate::Isolation;
use countersign_capture::Limits;
use countersign_store::Store;
use std::path::{Path, PathBuf};

/// An open data dir: the store and the configuration layered from `countersign.toml` and the
/// environment.
#[derive(Clone, Debug)]
pub struct Workspace {
    store: Store,
    config: Config,
    data_dir: PathBuf,
    isolation: Isolation,
    ocr: std::sync::Arc<std::sync::OnceLock<countersign_ocr::engine::Pool>>,
    /// The signature provider's adapter, made on first use (one per process: its rate limit).
    provider:
        std::sync::Arc<std::sync::OnceLock<std::sync::Arc<countersign_sign::docusign::DocuSign>>>,
}

impl Workspace {
    /// Opens `data_dir`, creating it, its database and a commented `countersign.toml` if needed.
    pub async fn open(data_dir: &Path) -> Result<Workspace, Error> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            Error::new(
                ErrorCode::DataDirUnusable,
                format!("cannot create the data dir {}: {e}", data_dir.display()),
            )
        })?;
        let config = Config::load(data_dir)?;
        let store = Store::open(data_dir).await?;
        Ok(Workspace {
            store,
            config,
            data_dir: data_dir.to_owned(),
            isolation: Isolation::detect(),
            ocr: Default::default(),
            provider: Default::default(),
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The app's own sandbox provider listens at `base_url` (its default address was taken):
    /// the provider is there. Call before the workspace is cloned.
    pub fn use_embedded_provider_at(&mut self, base_url: String) {
        self.config.provider_base_url = Some(base_url);
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// How untrusted files are decoded (a child process of our own binary, with a time limit).
    pub fn isolation(&self) -> &Isolation {
        &self.isolation
    }

    /// The Tesseract engines of this process (`ocr_threads`, default one per core), started on
    /// first use.
    pub fn ocr_pool(&self) -> &countersign_ocr::engine::Pool {
        self.ocr.get_or_init(|| match self.config.ocr_threads {
            Some(n) => countersign_ocr::engine::Pool::new(n),
            None => countersign_ocr::engine::Pool::per_core(),
        })
    }

    /// The provider adapter of this process, made by `init` the first time.
    pub(crate) fn provider_adapter(
        &self,
        init: impl FnOnce() -> Result<countersign_sign::docusign::DocuSign, Error>,
    ) -> Result<std::sync::Arc<countersign_sign::docusign::DocuSign>, Error> {
        if let Some(p) = self.provider.get() {
            return Ok(p.clone());
        }
        let made = std::sync::Arc::new(init()?);
        Ok(self.provider.get_or_init(|| made).clone())
    }

    /// Stops background engines and closes the database (end of a CLI command, app exit).
    pub async fn close(&self) {
        if self.ocr.get().is_some() {
            // Joining the engine threads blocks: do it off the async workers.
            let ocr = self.ocr.clone();
            let _ = tokio::task::spawn_blocking(move || ocr.get().map(|p| p.shutdown())).await;
        }
        self.store.close().await;
    }

    /// What a file may cost before it is refused.
    pub fn limits(&self) -> Limits {
        Limits {
            max_bytes: self.config.max_file_bytes,
            ..Limits::default()
        }
    }
}

/// The data dir to use: the explicit one (`--data-dir`, which clap also fills from
/// `COUNTERSIGN_DATA_DIR`), otherwise the OS data dir (`~/.local/share/countersign` on Linux).
pub fn resolve_data_dir(explicit: Option<PathBuf>) -> Result<PathBuf, Error> {
    if let Some(dir) = explicit.filter(|d| !d.as_os_str().is_empty()) {
        return Ok(dir);
    }
    dirs::data_dir()
        .map(|d| d.join("countersign"))
        .ok_or_else(|| {
            Error::new(
                ErrorCode::DataDirUnusable,
                "no OS data dir is known for this user; pass --data-dir or set COUNTERSIGN_DATA_DIR",
            )
        })
}
