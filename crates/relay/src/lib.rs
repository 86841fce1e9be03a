//! `countersign-relay`: the one piece of Countersign that runs on a server. A desktop cannot
//! receive webhooks (NAT, sleep, offline), so DocuSign Connect posts to the relay, and each
//! workstation pulls its tenant's events by cursor when it is online.
//!
//! HTTP surface ([`http`]):
//! - `POST /hooks/docusign/{tenant}`: the raw body (at most [`Config::max_body_bytes`], else 413)
//!   must carry an `X-DocuSign-Signature-N` that verifies under one of the tenant's active HMAC
//!   secrets (else 401, nothing stored); the body must be a Connect event with `event` and
//!   `data.envelopeId` (else 400). The event is deduplicated and committed before the 200; a
//!   duplicate also gets 200.
//! - `GET /v1/events?after=CURSOR&wait=SECONDS&limit=N` with `Authorization: Bearer TOKEN`: the
//!   token's tenant's events after `CURSOR`, in cursor order, long-polling up to `wait` seconds
//!   (at most [`MAX_WAIT_SECS`]).
//! - `GET /healthz`, `GET /metrics` (Prometheus text, [`metrics`]).
//!
//! Errors at the edge are `{code, message}` with a stable `code`.
//!
//! Storage is behind [`store::Store`], an enum with one variant per database kind, each with its
//! own migrations (`migrations/sqlite/`, `migrations/postgres/`) and queries:
//! - SQLite (`sqlite:PATH`): one relay process owns the file.
//! - PostgreSQL (`postgres://…`): any number of relay instances share the database behind a load
//!   balancer, with no other change. Deduplication is a unique key, cursors of one tenant become
//!   visible in order (inserts per tenant are serialised by an advisory lock), and a long-poll on
//!   one instance is woken by an event stored through another via LISTEN/NOTIFY, next to the
//!   in-process wake-up ([`wake`]). See `store/postgres.rs`.
//!
//! To add another kind, add a variant with the same methods, its migrations, and (if several
//! processes share it) a cross-instance wake-up in `Store::relay_notifications`.
//!
//! Choices DESIGN.md leaves open, made here:
//! - An unknown tenant and a forged signature both answer 401 `invalid_signature` (no probing for
//!   tenant names); an absent signature is 401 `missing_signature`. Metrics tell them apart.
//! - Duplicates are recognised by (event, envelopeId, recipientId, generatedDateTime), because a
//!   Connect retry changes `retryCount` and so the bytes; without `generatedDateTime`, by the body.
//! - Cursors are one sequence across tenants, so a tenant sees gaps. The lag gauge therefore
//!   counts the tenant's events after the token's last fetched cursor instead of subtracting
//!   cursors.
//! - `GET /v1/events` also takes `limit` (default and maximum [`Config::max_page`]).
//!
//! A server is started by [`run`] on a listener the caller bound (tests bind port 0) and stops
//! when the cancellation token fires.

pub mod client;
pub mod config;
pub mod http;
pub mod metrics;
pub mod retention;
pub mod store;
pub mod tenants;
pub mod tokens;
mod wake;

pub use config::{Config, DatabaseUrl, MAX_WAIT_SECS};
pub use store::Store;
pub use tenants::TenantId;

use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "unsupported database URL {0:?}: expected sqlite:PATH or postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
    )]
    UnsupportedDatabase(String),
    #[error("invalid tenant id {0:?}: use 1-64 characters from A-Z a-z 0-9 . _ -")]
    InvalidTenant(String),
    #[error("unknown tenant {0:?}: create it first with `countersign-relay tenant create`")]
    UnknownTenant(String),
    #[error("the HMAC secret must not be empty")]
    EmptySecret,
    #[error("the token name must not be empty")]
    EmptyTokenName,
    #[error("the operating system's random source failed: {0}")]
    Random(String),
}

impl RelayError {
    /// A stable code for scripts (`{code, message}` at the CLI and HTTP edges).
    pub fn code(&self) -> &'static str {
        match self {
            RelayError::Database(_) | RelayError::Migrate(_) => "database",
            RelayError::Io(_) => "io",
            RelayError::UnsupportedDatabase(_) => "unsupported_database",
            RelayError::InvalidTenant(_) => "invalid_tenant",
            RelayError::UnknownTenant(_) => "unknown_tenant",
            RelayError::EmptySecret => "empty_secret",
            RelayError::EmptyTokenName => "empty_token_name",
            RelayError::Random(_) => "random",
        }
    }
}

/// Serves the relay on `listener` until `shutdown` is cancelled, with the retention purge
/// running alongside. Opens (and migrates) the database itself.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), RelayError> {
    let store = Store::open(&config.database).await?;
    let addr = listener.local_addr()?;
    let app = Arc::new(http::App::new(config, store.clone(), shutdown.clone()));
    let purge = tokio::spawn(retention::run_purge(
        store.clone(),
        app.config.retention,
        app.config.purge_interval,
        app.metrics.clone(),
        shutdown.child_token(),
    ));
    let notifications = {
        let store = store.clone();
        let (wakers, stop) = (app.wakers(), shutdown.child_token());
        tokio::spawn(async move { store.relay_notifications(wakers, stop).await })
    };
    tracing::info!(%addr, "relay listening");
    let served = axum::serve(listener, http::router(app))
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .await;
    shutdown.cancel();
    let _ = purge.await;
    let _ = notifications.await;
    store.close().await;
    served?;
    Ok(())
}

/// A relay running in this process with one tenant: what the desktop app runs for itself when no
/// relay is configured, and what tests and benchmarks start.
pub struct Started {
    /// `http://ADDR` of the listener.
    pub url: String,
    /// A workstation token of the tenant (shown only here).
    pub token: String,
    /// Ends after `shutdown` fired and the database is closed.
    pub task: tokio::task::JoinHandle<Result<(), RelayError>>,
}

/// Opens the database, gives `tenant` the Connect HMAC `secret` (creating it if needed), makes a
/// workstation token named `token_name`, and serves on `listener` until `shutdown`.
pub async fn start(
    config: Config,
    listener: TcpListener,
    tenant: &TenantId,
    secret: &str,
    token_name: &str,
    shutdown: CancellationToken,
) -> Result<Started, RelayError> {
    let store = Store::open(&config.database).await?;
    let token = async {
        tenants::add_secret(&store, tenant, secret).await?;
        tokens::create_token(&store, tenant, token_name).await
    }
    .await;
    store.close().await;
    let token = token?;
    let url = format!("http://{}", listener.local_addr()?);
    let task = tokio::spawn(run(config, listener, shutdown));
    Ok(Started { url, token, task })
}
