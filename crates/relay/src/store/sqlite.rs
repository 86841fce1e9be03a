//! SQLite: one file in WAL mode with `synchronous=NORMAL`. A commit survives a crash of the
//! process; an OS crash or power cut can lose the last commits, including ones already answered
//! with 200 (which DocuSign will not resend). That is the trade for thousands of commits a second
//! on one box; `synchronous=FULL` closes it at the cost of an fsync per event.
//!
//! Writes go through a pool of exactly one connection, so writers queue in the pool instead of
//! spinning on SQLITE_BUSY; reads use a separate pool and run concurrently (WAL).

use super::{ClientLag, NewEvent, StoredEvent, TokenRow};
use crate::tenants::SecretAdded;
use crate::RelayError;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::path::Path;
use std::time::Duration;

#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

fn now() -> String {
    super::format_time(chrono::Utc::now())
}

impl SqliteStore {
    pub async fn open(path: &Path) -> Result<Self, RelayError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        Ok(SqliteStore { writer, reader })
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }

    pub async fn add_secret(&self, tenant: &str, secret: &str) -> Result<SecretAdded, RelayError> {
        let mut tx = self.writer.begin().await?;
        let now = now();
        let tenant_created = sqlx::query(
            "INSERT INTO tenants (tenant, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(tenant)
        .bind(&now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        // Re-adding a retired secret makes it active again.
        let secret_added = sqlx::query(
            "INSERT INTO hmac_secrets (tenant, secret, created_at) VALUES (?, ?, ?)
             ON CONFLICT (tenant, secret) DO UPDATE SET retired_at = NULL
             WHERE hmac_secrets.retired_at IS NOT NULL",
        )
        .bind(tenant)
        .bind(secret)
        .bind(&now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        tx.commit().await?;
        Ok(SecretAdded {
            tenant_created,
            secret_added,
        })
    }

    pub async fn retire_secret(&self, tenant: &str, secret: &str) -> Result<bool, RelayError> {
        let done = sqlx::query(
            "UPDATE hmac_secrets SET retired_at = ?
             WHERE tenant = ? AND secret = ? AND retired_at IS NULL",
        )
        .bind(now())
        .bind(tenant)
        .bind(secret)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn active_secrets(&self, tenant: &str) -> Result<Option<Vec<String>>, RelayError> {
        // One round trip: a LEFT JOIN yields one NULL row for a tenant with no active secret.
        let rows: Vec<(Option<String>,)> = sqlx::query_as(
            "SELECT s.secret FROM tenants t
             LEFT JOIN hmac_secrets s ON s.tenant = t.tenant AND s.retired_at IS NULL
             WHERE t.tenant = ?",
        )
        .bind(tenant)
        .fetch_all(&self.reader)
        .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(rows.into_iter().filter_map(|(s,)| s).collect()))
    }

    pub async fn insert_token(
        &self,
        tenant: &str,
        name: &str,
        lookup: &str,
        salt: &[u8],
        hash: &[u8],
    ) -> Result<(), RelayError> {
        let mut tx = self.writer.begin().await?;
        let exists: Option<(String,)> =
            sqlx::query_as("SELECT tenant FROM tenants WHERE tenant = ?")
                .bind(tenant)
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_none() {
            return Err(RelayError::UnknownTenant(tenant.to_owned()));
        }
        // A new token starts "caught up" so the lag gauge does not count history it never asked for.
        sqlx::query(
            "INSERT INTO tokens (tenant, name, lookup, salt, hash, created_at, last_cursor)
             VALUES (?, ?, ?, ?, ?, ?, 0)",
        )
        .bind(tenant)
        .bind(name)
        .bind(lookup)
        .bind(salt)
        .bind(hash)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn tokens_by_lookup(&self, lookup: &str) -> Result<Vec<TokenRow>, RelayError> {
        Ok(sqlx::query_as(
            "SELECT id, tenant, name, salt, hash FROM tokens
             WHERE lookup = ? AND revoked_at IS NULL",
        )
        .bind(lookup)
        .fetch_all(&self.reader)
        .await?)
    }

    pub async fn insert_event(&self, e: &NewEvent) -> Result<Option<i64>, RelayError> {
        let row: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO events
               (tenant, dedup_key, received_at, event, envelope_id, generated_at, body)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (tenant, dedup_key) DO NOTHING
             RETURNING cursor",
        )
        .bind(&e.tenant)
        .bind(&e.dedup_key)
        .bind(&e.received_at)
        .bind(&e.event)
        .bind(&e.envelope_id)
        .bind(&e.generated_at)
        .bind(&e.body)
        .fetch_optional(&self.writer)
        .await?;
        Ok(row.map(|(c,)| c))
    }

    pub async fn events_after(
        &self,
        tenant: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, RelayError> {
        Ok(sqlx::query_as(
            "SELECT cursor, tenant, received_at, event, envelope_id, generated_at, body
             FROM events WHERE tenant = ? AND cursor > ? ORDER BY cursor LIMIT ?",
        )
        .bind(tenant)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?)
    }

    pub async fn record_fetch(&self, token_id: i64, cursor: i64) -> Result<(), RelayError> {
        sqlx::query("UPDATE tokens SET last_cursor = ? WHERE id = ? AND last_cursor < ?")
            .bind(cursor)
            .bind(token_id)
            .bind(cursor)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn client_lag(&self) -> Result<Vec<ClientLag>, RelayError> {
        Ok(sqlx::query_as(
            "SELECT t.tenant AS tenant, t.name AS token_name,
                    (SELECT COUNT(*) FROM events e
                     WHERE e.tenant = t.tenant AND e.cursor > t.last_cursor) AS lag
             FROM tokens t WHERE t.revoked_at IS NULL ORDER BY t.tenant, t.name, t.id",
        )
        .fetch_all(&self.reader)
        .await?)
    }

    pub async fn purge_received_before(&self, cutoff: &str) -> Result<u64, RelayError> {
        let done = sqlx::query("DELETE FROM events WHERE received_at < ?")
            .bind(cutoff)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }
}
