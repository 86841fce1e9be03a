//! `countersign-sandbox`: a local e-signature provider that speaks the DocuSign eSignature REST
//! v2.1 subset Countersign uses, so the DocuSign adapter (`countersign_sign::docusign`) runs end
//! to end on one machine, in demos and in tests.
//!
//! What it serves (all under `/restapi/v2.1/accounts/{accountId}`, bearer token required):
//! `POST /envelopes`, `GET /envelopes?from_date=…&custom_field=name=value`, `GET /envelopes/{id}`,
//! `PUT /envelopes/{id}` (void, or send a draft), `GET /envelopes/{id}/documents/{combined |
//! certificate | documentId}`. Errors are DocuSign-shaped: `{"errorCode", "message"}`.
//!
//! Besides the API:
//! - a signing page per recipient, `GET /sign/{envelopeId}/{recipientId}` ([`signing`]), with
//!   Sign and Decline; routing order is enforced; `auto_sign` signs everyone in turn by itself;
//! - signatures stamped into the PDF at each signer's anchors ([`pdf`]), and a certificate PDF;
//! - Connect-style webhooks, HMAC-signed ([`webhook`]);
//! - fault injection ([`faults`]) and `/_sandbox/*` endpoints for tests: `GET /_sandbox/envelopes`
//!   (every envelope with its idempotency key), `GET|POST /_sandbox/faults`, `GET /_sandbox/stats`.
//!
//! State is SQLite ([`db`]): in memory, or `DATA_DIR/sandbox.db` so envelopes survive a restart.
//! A server is started by [`run`] on a listener the caller bound (tests bind port 0), and stops
//! when the cancellation token fires; [`start`] does both for tests and embedding.
//!
//! The sandbox is a test double, not a signature service: its "signatures" are text stamps, its
//! signing pages have no authentication, and `/_sandbox/*` is open to anyone who can reach it.
//! Bind it to loopback.

mod api;
pub mod config;
mod db;
mod envelopes;
pub mod faults;
pub mod pdf;
mod signing;
mod validate;
pub mod webhook;

pub use config::{Config, DataLocation, WebhookTarget, DEFAULT_ACCOUNT_ID, DEFAULT_LISTEN};
pub use faults::Faults;

use faults::FaultState;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Faults(#[from] faults::FaultsError),
    #[error("the sandbox task failed: {0}")]
    Task(String),
}

/// Counters for tests and curious people (`GET /_sandbox/stats`).
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub api_requests: AtomicU64,
    pub envelopes_created: AtomicU64,
    pub lost_responses: AtomicU64,
    pub unavailable: AtomicU64,
    pub rate_limited: AtomicU64,
    pub webhooks_delivered: AtomicU64,
    pub webhook_failed_attempts: AtomicU64,
    pub webhooks_abandoned: AtomicU64,
    pub webhooks_dropped: AtomicU64,
    pub webhooks_duplicated: AtomicU64,
    pub webhooks_reordered: AtomicU64,
}

impl Stats {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> serde_json::Value {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        serde_json::json!({
            "api_requests": g(&self.api_requests),
            "envelopes_created": g(&self.envelopes_created),
            "lost_responses": g(&self.lost_responses),
            "unavailable": g(&self.unavailable),
            "rate_limited": g(&self.rate_limited),
            "webhooks_delivered": g(&self.webhooks_delivered),
            "webhook_failed_attempts": g(&self.webhook_failed_attempts),
            "webhooks_abandoned": g(&self.webhooks_abandoned),
            "webhooks_dropped": g(&self.webhooks_dropped),
            "webhooks_duplicated": g(&self.webhooks_duplicated),
            "webhooks_reordered": g(&self.webhooks_reordered),
        })
    }
}

/// Everything a request handler or background task needs.
pub(crate) struct App {
    pub pool: sqlx::SqlitePool,
    pub config: Config,
    pub public_url: String,
    pub faults: Arc<Mutex<FaultState>>,
    pub stats: Arc<Stats>,
    pub webhooks: webhook::Webhooks,
    /// Serialises changes of envelope state (sign, decline, void, send) so two of them never
    /// interleave on one envelope (a page click racing auto-sign).
    pub changes: tokio::sync::Mutex<()>,
    pub shutdown: CancellationToken,
}

/// Serves the sandbox on `listener` until `shutdown` is cancelled.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), SandboxError> {
    config.faults.validate()?;
    let addr = listener.local_addr()?;
    let public_url = config
        .public_url
        .clone()
        .map(|u| u.trim_end_matches('/').to_owned())
        .unwrap_or_else(|| format!("http://{addr}"));
    let pool = db::open(&config.data).await?;
    countersign_sign::tls::install_crypto_provider();
    let faults = Arc::new(Mutex::new(FaultState::new(config.faults.clone())));
    let stats = Arc::new(Stats::default());
    let webhooks = webhook::start(
        &config,
        faults.clone(),
        stats.clone(),
        shutdown.child_token(),
    );
    let app = Arc::new(App {
        pool: pool.clone(),
        public_url: public_url.clone(),
        faults,
        stats,
        webhooks,
        changes: tokio::sync::Mutex::new(()),
        shutdown: shutdown.clone(),
        config,
    });
    if app.config.auto_sign.is_some() {
        // Envelopes left waiting when the sandbox last stopped.
        for id in db::open_envelope_ids(&app.pool).await? {
            envelopes::spawn_auto_sign(app.clone(), id);
        }
    }
    tracing::info!(%public_url, account_id = %app.config.account_id, "sandbox listening");
    let router = api::router(app);
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .await;
    shutdown.cancel();
    pool.close().await;
    served?;
    Ok(())
}

/// A sandbox running in this process (see [`start`]). Dropping it stops the server.
pub struct Running {
    pub addr: SocketAddr,
    /// `http://ADDR`: what a DocuSign adapter takes as its base URL.
    pub base_url: String,
    pub account_id: String,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<Result<(), SandboxError>>>,
}

impl Running {
    /// Stops the server and waits until it has closed its database.
    pub async fn stop(mut self) -> Result<(), SandboxError> {
        self.shutdown.cancel();
        match self.task.take() {
            Some(task) => task.await.map_err(|e| SandboxError::Task(e.to_string()))?,
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Binds `addr` (e.g. `127.0.0.1:0`) and runs the sandbox on the current runtime.
pub async fn start(config: Config, addr: &str) -> Result<Running, SandboxError> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let account_id = config.account_id.clone();
    let base_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(run(config, listener, shutdown.clone()));
    Ok(Running {
        addr,
        base_url,
        account_id,
        shutdown,
        task: Some(task),
    })
}
