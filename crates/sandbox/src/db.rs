//! The sandbox's SQLite database: envelopes, recipients, custom fields, documents (original and
//! signed) and events. In memory or in `DIR/sandbox.db`; numbered migrations in `migrations/`.

use crate::config::{DataLocation, DATABASE_FILE};
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{FromRow, SqlitePool};
use std::time::Duration;

pub type Tx = sqlx::Transaction<'static, sqlx::Sqlite>;

pub async fn open(data: &DataLocation) -> Result<SqlitePool, crate::SandboxError> {
    let pool = match data {
        DataLocation::Memory => {
            // One connection that never closes: an in-memory database lives exactly as long
            // as its connection.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(
                    SqliteConnectOptions::new()
                        .in_memory(true)
                        .foreign_keys(true),
                )
                .await?
        }
        DataLocation::Dir(dir) => {
            std::fs::create_dir_all(dir)?;
            let options = SqliteConnectOptions::new()
                .filename(dir.join(DATABASE_FILE))
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30));
            SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options)
                .await?
        }
    };
    sqlx::migrate!("./migrations").run(&pool).await?;
    Ok(pool)
}

/// Now, as stored: RFC 3339 UTC with milliseconds, so times compare as text.
pub fn now() -> String {
    format_time(Utc::now())
}

pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[derive(Debug, Clone, FromRow)]
pub struct EnvelopeRow {
    pub envelope_id: String,
    pub status: String,
    pub email_subject: String,
    pub email_blurb: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
    pub delivered_at: Option<String>,
    pub completed_at: Option<String>,
    pub declined_at: Option<String>,
    pub voided_at: Option<String>,
    pub voided_reason: Option<String>,
    pub status_changed_at: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct RecipientRow {
    pub recipient_id: String,
    pub kind: String,
    pub name: String,
    pub email: String,
    pub routing_order: i64,
    pub role_name: Option<String>,
    pub status: String,
    pub sent_at: Option<String>,
    pub delivered_at: Option<String>,
    pub signed_at: Option<String>,
    pub declined_at: Option<String>,
    pub declined_reason: Option<String>,
    pub tabs_json: String,
}

impl RecipientRow {
    pub fn is_signer(&self) -> bool {
        self.kind == "signer"
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct FieldRow {
    pub name: String,
    pub value: String,
    pub show: Option<String>,
    pub required: Option<String>,
}

/// A document without its bytes.
#[derive(Debug, Clone, FromRow)]
pub struct DocumentMeta {
    pub document_id: String,
    pub name: String,
    pub page_count: i64,
    pub original_sha256: String,
    pub signed_sha256: Option<String>,
}

/// A document as it stands: signed so far, or the original.
#[derive(Debug, Clone, FromRow)]
pub struct DocumentBytes {
    pub document_id: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, FromRow)]
pub struct EventRow {
    pub at: String,
    pub event: String,
    pub recipient_id: Option<String>,
    pub ip: String,
}

pub async fn envelope(pool: &SqlitePool, id: &str) -> sqlx::Result<Option<EnvelopeRow>> {
    sqlx::query_as("SELECT * FROM envelopes WHERE envelope_id = ?")
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub async fn recipients(pool: &SqlitePool, id: &str) -> sqlx::Result<Vec<RecipientRow>> {
    sqlx::query_as("SELECT * FROM recipients WHERE envelope_id = ? ORDER BY position")
        .bind(id)
        .fetch_all(pool)
        .await
}

pub async fn custom_fields(pool: &SqlitePool, id: &str) -> sqlx::Result<Vec<FieldRow>> {
    sqlx::query_as(
        "SELECT name, value, show, required FROM custom_fields WHERE envelope_id = ? ORDER BY rowid",
    )
    .bind(id)
    .fetch_all(pool)
    .await
}

pub async fn document_meta(pool: &SqlitePool, id: &str) -> sqlx::Result<Vec<DocumentMeta>> {
    sqlx::query_as(
        "SELECT document_id, name, page_count, original_sha256, signed_sha256
         FROM documents WHERE envelope_id = ? ORDER BY position",
    )
    .bind(id)
    .fetch_all(pool)
    .await
}

/// The documents as they stand (signed so far, else original), in order.
pub async fn current_documents(pool: &SqlitePool, id: &str) -> sqlx::Result<Vec<DocumentBytes>> {
    sqlx::query_as(
        "SELECT document_id, COALESCE(signed, original) AS bytes
         FROM documents WHERE envelope_id = ? ORDER BY position",
    )
    .bind(id)
    .fetch_all(pool)
    .await
}

pub async fn events(pool: &SqlitePool, id: &str) -> sqlx::Result<Vec<EventRow>> {
    sqlx::query_as(
        "SELECT at, event, recipient_id, ip FROM events WHERE envelope_id = ? ORDER BY seq",
    )
    .bind(id)
    .fetch_all(pool)
    .await
}

/// Envelopes still waiting for someone (for auto-sign after a restart).
pub async fn open_envelope_ids(pool: &SqlitePool) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT envelope_id FROM envelopes WHERE status IN ('sent', 'delivered') ORDER BY created_at",
    )
    .fetch_all(pool)
    .await
}

pub async fn insert_event(
    tx: &mut Tx,
    envelope_id: &str,
    at: &str,
    event: &str,
    recipient_id: Option<&str>,
    detail: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO events (envelope_id, at, event, recipient_id, ip, detail) VALUES (?, ?, ?, ?, '127.0.0.1', ?)",
    )
    .bind(envelope_id)
    .bind(at)
    .bind(event)
    .bind(recipient_id)
    .bind(detail)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What a list query asks for (`GET …/envelopes`).
#[derive(Debug, Default)]
pub struct ListFilter {
    pub account_id: String,
    /// Compare `from`/`to` with the creation time instead of the last status change.
    pub by_created: bool,
    pub from: Option<String>,
    pub to: Option<String>,
    pub custom_field: Option<(String, String)>,
    pub envelope_ids: Option<Vec<String>>,
    pub statuses: Option<Vec<String>>,
    /// Oldest first (`order=asc`), else newest first.
    pub ascending: bool,
}

pub async fn list(pool: &SqlitePool, filter: &ListFilter) -> sqlx::Result<Vec<EnvelopeRow>> {
    let time_col = if filter.by_created {
        "created_at"
    } else {
        "status_changed_at"
    };
    let mut qb =
        sqlx::QueryBuilder::<sqlx::Sqlite>::new("SELECT * FROM envelopes WHERE account_id = ");
    qb.push_bind(&filter.account_id);
    if let Some(from) = &filter.from {
        qb.push(format!(" AND {time_col} >= ")).push_bind(from);
    }
    if let Some(to) = &filter.to {
        qb.push(format!(" AND {time_col} <= ")).push_bind(to);
    }
    if let Some((name, value)) = &filter.custom_field {
        qb.push(" AND EXISTS (SELECT 1 FROM custom_fields f WHERE f.envelope_id = envelopes.envelope_id AND f.name = ")
            .push_bind(name)
            .push(" AND f.value = ")
            .push_bind(value)
            .push(")");
    }
    if let Some(ids) = &filter.envelope_ids {
        qb.push(" AND envelope_id IN (");
        let mut sep = qb.separated(", ");
        for id in ids {
            sep.push_bind(id);
        }
        sep.push_unseparated(")");
    }
    if let Some(statuses) = &filter.statuses {
        qb.push(" AND status IN (");
        let mut sep = qb.separated(", ");
        for s in statuses {
            sep.push_bind(s);
        }
        sep.push_unseparated(")");
    }
    qb.push(if filter.ascending {
        " ORDER BY created_at ASC, rowid ASC"
    } else {
        " ORDER BY created_at DESC, rowid DESC"
    });
    qb.build_query_as().fetch_all(pool).await
}

/// Every envelope with its idempotency key (for `/_sandbox/envelopes`).
pub async fn all_with_key(
    pool: &SqlitePool,
    key_field: &str,
) -> sqlx::Result<Vec<(EnvelopeRow, Option<String>)>> {
    let rows: Vec<EnvelopeRow> =
        sqlx::query_as("SELECT * FROM envelopes ORDER BY created_at, rowid")
            .fetch_all(pool)
            .await?;
    let keys: Vec<(String, String)> =
        sqlx::query_as("SELECT envelope_id, value FROM custom_fields WHERE name = ?")
            .bind(key_field)
            .fetch_all(pool)
            .await?;
    let keys: std::collections::HashMap<String, String> = keys.into_iter().collect();
    Ok(rows
        .into_iter()
        .map(|r| {
            let key = keys.get(&r.envelope_id).cloned();
            (r, key)
        })
        .collect())
}
