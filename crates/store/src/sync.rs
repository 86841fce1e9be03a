//! Signature status from outside the app: the relay cursor, the raw provider events as received,
//! and per-envelope bookkeeping for reconciliation (migration 0010).

use crate::{time, Result};
use chrono::{DateTime, Utc};
use countersign_core::{DocumentId, Status};
use sqlx::{Row, SqliteConnection, SqlitePool};

/// Where this workstation stands in a relay's event stream (0: nothing applied yet).
pub async fn cursor(pool: &SqlitePool, relay_url: &str, tenant: &str) -> Result<i64> {
    let row = sqlx::query("SELECT cursor FROM relay_cursor WHERE relay_url = ? AND tenant_id = ?")
        .bind(relay_url)
        .bind(tenant)
        .fetch_optional(pool)
        .await?;
    Ok(row.map_or(0, |r| r.get("cursor")))
}

/// Moves the cursor (in the transaction that applied the events up to it; never backwards).
pub async fn set_cursor(
    conn: &mut SqliteConnection,
    relay_url: &str,
    tenant: &str,
    cursor: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO relay_cursor (relay_url, tenant_id, cursor, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (relay_url, tenant_id) DO UPDATE SET cursor = max(cursor, excluded.cursor),
             updated_at = excluded.updated_at",
    )
    .bind(relay_url)
    .bind(tenant)
    .bind(cursor)
    .bind(time::fmt(&time::now()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Starts a relay's stream over (a relay that lost its events, e.g. the app's own, which lives
/// only as long as the app).
pub async fn reset_cursor(pool: &SqlitePool, relay_url: &str, tenant: &str) -> Result<()> {
    sqlx::query("DELETE FROM relay_cursor WHERE relay_url = ? AND tenant_id = ?")
        .bind(relay_url)
        .bind(tenant)
        .execute(pool)
        .await?;
    Ok(())
}

/// The document version an envelope was created for, if it is ours.
pub async fn version_of_envelope(
    conn: &mut SqliteConnection,
    envelope_id: &str,
) -> Result<Option<(DocumentId, u32, u32)>> {
    let row = sqlx::query(
        "SELECT v.document_id, v.version, d.current_version FROM versions v
         JOIN documents d ON d.document_id = v.document_id
         WHERE v.envelope_id = ? ORDER BY v.version DESC LIMIT 1",
    )
    .bind(envelope_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        let id: String = r.get("document_id");
        Ok((
            id.parse()
                .map_err(|e| crate::StoreError::Corrupt(format!("document id `{id}`: {e}")))?,
            r.get::<i64, _>("version") as u32,
            r.get::<i64, _>("current_version") as u32,
        ))
    })
    .transpose()
}

/// A raw provider event as received.
#[derive(Clone, Debug)]
pub struct NewReceipt<'a> {
    /// `relay` or `poll`.
    pub source: &'a str,
    pub relay_url: Option<&'a str>,
    pub relay_cursor: Option<i64>,
    pub envelope_id: &'a str,
    pub event: &'a str,
    pub provider_status: Option<&'a str>,
    pub generated_at: Option<&'a str>,
    pub body: &'a str,
    pub document: Option<(DocumentId, u32)>,
    pub outcome: &'a str,
}

/// Keeps a receipt; `false` when this relay event was already kept (pulled twice).
pub async fn put_receipt(conn: &mut SqliteConnection, r: &NewReceipt<'_>) -> Result<bool> {
    let res = sqlx::query(
        "INSERT INTO provider_events (source, relay_url, relay_cursor, envelope_id, event, provider_status,
             generated_at, received_at, body, document_id, version, outcome)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(r.source)
    .bind(r.relay_url)
    .bind(r.relay_cursor)
    .bind(r.envelope_id)
    .bind(r.event)
    .bind(r.provider_status)
    .bind(r.generated_at)
    .bind(time::fmt(&time::now()))
    .bind(r.body)
    .bind(r.document.map(|(id, _)| id.to_string()))
    .bind(r.document.map(|(_, v)| v as i64))
    .bind(r.outcome)
    .execute(&mut *conn)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// Whether this relay event was already received.
pub async fn has_receipt(
    conn: &mut SqliteConnection,
    relay_url: &str,
    cursor: i64,
) -> Result<bool> {
    let row = sqlx::query("SELECT 1 FROM provider_events WHERE relay_url = ? AND relay_cursor = ?")
        .bind(relay_url)
        .bind(cursor)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}

/// A document's receipts, oldest first.
#[derive(Clone, Debug)]
pub struct ReceiptRow {
    pub receipt_id: i64,
    pub source: String,
    pub envelope_id: String,
    pub event: String,
    pub provider_status: Option<String>,
    pub generated_at: Option<String>,
    pub received_at: DateTime<Utc>,
    pub version: Option<u32>,
    pub outcome: String,
    pub body: String,
}

pub async fn receipts(pool: &SqlitePool, id: DocumentId) -> Result<Vec<ReceiptRow>> {
    let rows = sqlx::query(
        "SELECT receipt_id, source, envelope_id, event, provider_status, generated_at, received_at,
             version, outcome, body
         FROM provider_events WHERE document_id = ? ORDER BY receipt_id",
    )
    .bind(id.to_string())
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ReceiptRow {
                receipt_id: r.get("receipt_id"),
                source: r.get("source"),
                envelope_id: r.get("envelope_id"),
                event: r.get("event"),
                provider_status: r.get("provider_status"),
                generated_at: r.get("generated_at"),
                received_at: time::parse(r.get("received_at"))?,
                version: r.get::<Option<i64>, _>("version").map(|v| v as u32),
                outcome: r.get("outcome"),
                body: r.get("body"),
            })
        })
        .collect()
}

/// How many receipts there are (by source), for reports.
pub async fn receipt_count(pool: &SqlitePool) -> Result<i64> {
    Ok(sqlx::query("SELECT count(*) AS n FROM provider_events")
        .fetch_one(pool)
        .await?
        .get("n"))
}

/// The provider time of the status held for an envelope.
pub async fn status_at(conn: &mut SqliteConnection, envelope_id: &str) -> Result<Option<String>> {
    let row = sqlx::query("SELECT status_at FROM envelope_checks WHERE envelope_id = ?")
        .bind(envelope_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.and_then(|r| r.get("status_at")))
}

/// Records that we heard about an envelope at `at` (our clock; a poll when `polled`); `status_at` (provider time of a status we
/// applied) replaces the stored one when given.
pub async fn heard(
    conn: &mut SqliteConnection,
    envelope_id: &str,
    status_at: Option<&str>,
    polled: bool,
    at: DateTime<Utc>,
) -> Result<()> {
    let now = time::fmt(&at);
    sqlx::query(
        "INSERT INTO envelope_checks (envelope_id, status_at, last_news_at, last_polled_at)
         VALUES (?, ?, ?, CASE WHEN ? THEN ? END)
         ON CONFLICT (envelope_id) DO UPDATE SET
             status_at = coalesce(excluded.status_at, status_at),
             last_news_at = excluded.last_news_at,
             last_polled_at = coalesce(excluded.last_polled_at, last_polled_at)",
    )
    .bind(envelope_id)
    .bind(status_at)
    .bind(&now)
    .bind(polled)
    .bind(&now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// An envelope still out for signature whose status may be stale.
#[derive(Clone, Debug)]
pub struct StaleEnvelope {
    pub document_id: DocumentId,
    pub version: u32,
    pub envelope_id: String,
    pub status: Status,
}

/// Current versions out for signature (`envelope_created`, `sent`, `delivered`) that nothing was
/// heard about since `quiet_since` and that were not polled since `polled_before` (never polled
/// counts as long ago), oldest news first, at most `limit`.
pub async fn stale_envelopes(
    pool: &SqlitePool,
    quiet_since: DateTime<Utc>,
    polled_before: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<StaleEnvelope>> {
    let rows = sqlx::query(
        "SELECT v.document_id, v.version, v.envelope_id, v.status,
                coalesce(c.last_news_at, v.updated_at) AS news
         FROM versions v
         JOIN documents d ON d.document_id = v.document_id AND d.current_version = v.version
         LEFT JOIN envelope_checks c ON c.envelope_id = v.envelope_id
         WHERE v.status IN ('envelope_created', 'sent', 'delivered') AND v.envelope_id IS NOT NULL
           AND coalesce(c.last_news_at, v.updated_at) < ?
           AND (c.last_polled_at IS NULL OR c.last_polled_at < ?)
         ORDER BY news LIMIT ?",
    )
    .bind(time::fmt(&quiet_since))
    .bind(time::fmt(&polled_before))
    .bind(limit as i64)
    .fetch_all(pool)
    .await?;
    rows.iter().map(stale_row).collect()
}

fn stale_row(r: &sqlx::sqlite::SqliteRow) -> Result<StaleEnvelope> {
    let id: String = r.get("document_id");
    let status: String = r.get("status");
    Ok(StaleEnvelope {
        document_id: id
            .parse()
            .map_err(|e| crate::StoreError::Corrupt(format!("document id `{id}`: {e}")))?,
        version: r.get::<i64, _>("version") as u32,
        envelope_id: r.get("envelope_id"),
        status: status
            .parse()
            .map_err(|_| crate::StoreError::Corrupt(format!("status `{status}`")))?,
    })
}

/// Current versions whose envelope completed but whose evidence (signed PDF and certificate)
/// is not all stored yet (a download failed or was interrupted).
pub async fn completed_without_evidence(
    pool: &SqlitePool,
    limit: u32,
) -> Result<Vec<StaleEnvelope>> {
    let rows = sqlx::query(
        "SELECT v.document_id, v.version, v.envelope_id, v.status
         FROM versions v
         JOIN documents d ON d.document_id = v.document_id AND d.current_version = v.version
         WHERE v.status = 'completed' AND v.envelope_id IS NOT NULL
           AND (SELECT count(*) FROM evidence e
                WHERE e.document_id = v.document_id AND e.version = v.version) < 2
         ORDER BY v.updated_at LIMIT ?",
    )
    .bind(limit as i64)
    .fetch_all(pool)
    .await?;
    rows.iter().map(stale_row).collect()
}

/// Replaces a version's decision (a declined envelope sends its document back to review, saying
/// why).
pub async fn set_decision(
    conn: &mut SqliteConnection,
    id: DocumentId,
    version: u32,
    decision: &countersign_core::Decision,
) -> Result<()> {
    sqlx::query(
        "UPDATE versions SET decision = ?, updated_at = ? WHERE document_id = ? AND version = ?",
    )
    .bind(serde_json::to_string(decision).expect("decision serializes"))
    .bind(time::fmt(&time::now()))
    .bind(id.to_string())
    .bind(version as i64)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Receipts of events that arrived before their envelope was known here (the webhook beat the
/// send's own commit): `(receipt_id, event, body)`, oldest first.
pub async fn held_receipts(
    conn: &mut SqliteConnection,
    envelope_id: &str,
) -> Result<Vec<(i64, String, String)>> {
    let rows = sqlx::query(
        "SELECT receipt_id, event, body FROM provider_events
         WHERE envelope_id = ? AND outcome = 'unknown_envelope' ORDER BY receipt_id",
    )
    .bind(envelope_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("receipt_id"), r.get("event"), r.get("body")))
        .collect())
}

/// Records what applying a held receipt did (its body stays as received).
pub async fn settle_receipt(
    conn: &mut SqliteConnection,
    receipt_id: i64,
    outcome: &str,
    document: (DocumentId, u32),
) -> Result<()> {
    sqlx::query(
        "UPDATE provider_events SET outcome = ?, document_id = ?, version = ? WHERE receipt_id = ?",
    )
    .bind(outcome)
    .bind(document.0.to_string())
    .bind(document.1 as i64)
    .bind(receipt_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
