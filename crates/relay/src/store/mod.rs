//! The relay's persistence, one variant per database kind: SQLite for one instance, PostgreSQL
//! for several instances sharing a database. Callers hold a [`Store`] and never see which kind it
//! is; each variant has the same methods and its own migrations (`migrations/<kind>/`).

mod postgres;
mod sqlite;

use crate::config::DatabaseUrl;
use crate::tenants::{SecretAdded, TenantId};
use crate::wake::Wakers;
use crate::RelayError;
use chrono::{DateTime, SecondsFormat, Utc};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// An event to store (already verified and parsed).
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub tenant: String,
    pub dedup_key: String,
    pub received_at: String,
    pub event: String,
    pub envelope_id: String,
    pub generated_at: Option<String>,
    /// The raw body, exactly as received (and as signed).
    pub body: String,
}

/// A stored event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredEvent {
    pub cursor: i64,
    pub tenant: String,
    pub received_at: String,
    pub event: String,
    pub envelope_id: String,
    pub generated_at: Option<String>,
    pub body: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub id: i64,
    pub tenant: String,
    pub name: String,
    pub salt: Vec<u8>,
    pub hash: Vec<u8>,
}

/// How far a workstation is behind: events of its tenant after the last cursor it fetched.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClientLag {
    pub tenant: String,
    pub token_name: String,
    pub lag: i64,
}

#[derive(Clone)]
pub enum Store {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

/// Times as stored: RFC 3339 UTC with milliseconds, so they compare as text.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Store {
    /// Opens the database (creating it if needed) and runs the migrations.
    pub async fn open(url: &DatabaseUrl) -> Result<Store, RelayError> {
        match url {
            DatabaseUrl::Sqlite(path) => Ok(Store::Sqlite(sqlite::SqliteStore::open(path).await?)),
            DatabaseUrl::Postgres(url) => Ok(Store::Postgres(postgres::PgStore::open(url).await?)),
        }
    }

    pub async fn close(&self) {
        match self {
            Store::Sqlite(s) => s.close().await,
            Store::Postgres(s) => s.close().await,
        }
    }

    /// Wakes `wakers` for events stored by other relay instances, until `shutdown`. Only a
    /// PostgreSQL store is shared by several instances; with SQLite this returns at once (its one
    /// instance wakes its polls itself when it stores an event).
    pub(crate) async fn relay_notifications(
        &self,
        wakers: Arc<Wakers>,
        shutdown: CancellationToken,
    ) {
        match self {
            Store::Sqlite(_) => {}
            Store::Postgres(s) => s.relay_notifications(wakers, shutdown).await,
        }
    }

    pub async fn add_secret(
        &self,
        tenant: &TenantId,
        secret: &str,
    ) -> Result<SecretAdded, RelayError> {
        match self {
            Store::Sqlite(s) => s.add_secret(tenant.as_str(), secret).await,
            Store::Postgres(s) => s.add_secret(tenant.as_str(), secret).await,
        }
    }

    pub async fn retire_secret(&self, tenant: &TenantId, secret: &str) -> Result<bool, RelayError> {
        match self {
            Store::Sqlite(s) => s.retire_secret(tenant.as_str(), secret).await,
            Store::Postgres(s) => s.retire_secret(tenant.as_str(), secret).await,
        }
    }

    /// The tenant's active HMAC secrets; `None` when there is no such tenant.
    pub async fn active_secrets(&self, tenant: &str) -> Result<Option<Vec<String>>, RelayError> {
        match self {
            Store::Sqlite(s) => s.active_secrets(tenant).await,
            Store::Postgres(s) => s.active_secrets(tenant).await,
        }
    }

    pub async fn insert_token(
        &self,
        tenant: &TenantId,
        name: &str,
        lookup: &str,
        salt: &[u8],
        hash: &[u8],
    ) -> Result<(), RelayError> {
        match self {
            Store::Sqlite(s) => {
                s.insert_token(tenant.as_str(), name, lookup, salt, hash)
                    .await
            }
            Store::Postgres(s) => {
                s.insert_token(tenant.as_str(), name, lookup, salt, hash)
                    .await
            }
        }
    }

    pub async fn tokens_by_lookup(&self, lookup: &str) -> Result<Vec<TokenRow>, RelayError> {
        match self {
            Store::Sqlite(s) => s.tokens_by_lookup(lookup).await,
            Store::Postgres(s) => s.tokens_by_lookup(lookup).await,
        }
    }

    /// Stores the event unless its `(tenant, dedup_key)` is already there. Returns the new
    /// cursor, or `None` for a duplicate. Durable (committed) when it returns.
    pub async fn insert_event(&self, event: &NewEvent) -> Result<Option<i64>, RelayError> {
        match self {
            Store::Sqlite(s) => s.insert_event(event).await,
            Store::Postgres(s) => s.insert_event(event).await,
        }
    }

    /// Up to `limit` of the tenant's events with a cursor above `after`, in cursor order.
    pub async fn events_after(
        &self,
        tenant: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, RelayError> {
        match self {
            Store::Sqlite(s) => s.events_after(tenant, after, limit).await,
            Store::Postgres(s) => s.events_after(tenant, after, limit).await,
        }
    }

    /// Remembers that the token has fetched up to `cursor` (only ever moves forward).
    pub async fn record_fetch(&self, token_id: i64, cursor: i64) -> Result<(), RelayError> {
        match self {
            Store::Sqlite(s) => s.record_fetch(token_id, cursor).await,
            Store::Postgres(s) => s.record_fetch(token_id, cursor).await,
        }
    }

    pub async fn client_lag(&self) -> Result<Vec<ClientLag>, RelayError> {
        match self {
            Store::Sqlite(s) => s.client_lag().await,
            Store::Postgres(s) => s.client_lag().await,
        }
    }

    /// Deletes events received before `cutoff`; returns how many.
    pub async fn purge_received_before(&self, cutoff: DateTime<Utc>) -> Result<u64, RelayError> {
        match self {
            Store::Sqlite(s) => s.purge_received_before(&format_time(cutoff)).await,
            Store::Postgres(s) => s.purge_received_before(&format_time(cutoff)).await,
        }
    }
}
