//! Countersign's persistence: one SQLite database in WAL mode (sqlx, numbered migrations) and a
//! content-addressed blob store beside it, in the data dir.
//!
//! - [`documents`]: documents, versions and pages; every status change goes through
//!   [`documents::transition`], which checks the lifecycle and appends the audit entry in the same
//!   transaction.
//! - [`audit`]: the append-only, hash-chained audit log and its verification.
//! - [`review`]: versions derived by reviewers' corrections and decisions, the corrections,
//!   the tenant vocabulary and the queue's full-text index.
//! - [`jobs`]: the durable job table (lease, retry with backoff, resume after a crash).
//! - [`blobs`]: originals and derived files by sha256, written atomically.
//!
//! Several processes (the desktop app, the CLI, a worker) open the same data dir at once: write
//! transactions start with `BEGIN IMMEDIATE` ([`Store::write`]) and wait on a busy timeout rather
//! than failing.

pub mod audit;
pub mod blobs;
pub mod documents;
pub mod jobs;
pub mod queue;
pub mod review;
pub mod sync;
mod time;

pub use blobs::{BlobKey, BlobStore};
pub use time::{now, now_ms};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqlitePool, Transaction};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub type Tx = Transaction<'static, sqlx::Sqlite>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("blob store: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Transition(#[from] countersign_core::TransitionError),
    #[error("document {0} not found")]
    NotFound(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// Someone changed the document since the caller read it (optimistic concurrency).
    #[error(
        "document {document_id} changed meanwhile: version {current} is current, not {expected}"
    )]
    Stale {
        document_id: String,
        expected: u32,
        current: u32,
    },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The data dir's database and blobs.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    blobs: BlobStore,
    db_path: PathBuf,
}

pub const DATABASE_FILE: &str = "countersign.db";

impl Store {
    /// Opens (creating if needed) the store in `data_dir` and runs pending migrations.
    ///
    /// Processes opening a *new* data dir at the same moment (the app and a CLI, parallel
    /// scripts) race to switch the file to WAL and to apply the first migration; the loser gets
    /// SQLITE_BUSY, which the busy timeout does not cover there, or "table already exists".
    /// Migrations are transactional, so once the winner has committed, opening again succeeds.
    pub async fn open(data_dir: &Path) -> Result<Store> {
        const ATTEMPTS: u64 = 10;
        let mut attempt = 1;
        loop {
            match Store::open_once(data_dir).await {
                Err(e) if attempt < ATTEMPTS && lost_first_open_race(&e) => {
                    tracing::debug!(attempt, error = %e, "another process is creating the store; retrying");
                    tokio::time::sleep(Duration::from_millis(25 * attempt)).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    async fn open_once(data_dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(data_dir)?;
        let db_path = data_dir.join(DATABASE_FILE);
        let options = SqliteConnectOptions::new()
            .filename(&db_path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a transaction reported committed survives power loss, not only a process crash.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        if let Err(e) = sqlx::migrate!("./migrations").run(&pool).await {
            pool.close().await;
            return Err(e.into());
        }
        let blobs = BlobStore::open(&data_dir.join("blobs"))?;
        Ok(Store {
            pool,
            blobs,
            db_path,
        })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    pub fn db_path(&self) -> &Path {
        &self.db_path
    }

    /// A write transaction that takes SQLite's write lock up front (`BEGIN IMMEDIATE`), so two
    /// processes never deadlock upgrading read locks.
    pub async fn write(&self) -> Result<Tx> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The errors of losing the race to create a new database (see [`Store::open`]).
fn lost_first_open_race(e: &StoreError) -> bool {
    use sqlx::migrate::MigrateError;
    match e {
        // SQLITE_BUSY or SQLITE_LOCKED, with any extended code.
        StoreError::Database(sqlx::Error::Database(db)) => db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|c| matches!(c & 0xff, 5 | 6)),
        StoreError::Migrate(MigrateError::Execute(_) | MigrateError::ExecuteMigration(..)) => true,
        _ => false,
    }
}
