//! The append-only, hash-chained audit log.
//!
//! Entry `n` stores the hash of entry `n-1` (`prev_hash`) and its own hash over
//! `prev_hash` and a canonical JSON encoding of its fields. `audit_head` holds the last sequence
//! number and hash, updated in the same transaction. [`verify`] recomputes everything, so editing a
//! row, deleting one in the middle, or cutting off the newest entries is detected and named.
//! Triggers refuse UPDATE and DELETE on the table; verification does not rely on them.

use crate::{time, Result, StoreError};
use chrono::{DateTime, Utc};
use countersign_core::{DocumentId, Status};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{Row, SqliteConnection, SqlitePool};

pub const GENESIS: &str = "genesis";

/// What to record. `detail` is free-form JSON (old and new values, reasons, job ids).
#[derive(Clone, Debug)]
pub struct NewEntry {
    pub document_id: Option<DocumentId>,
    pub version: Option<u32>,
    pub actor: String,
    pub action: String,
    pub from_status: Option<Status>,
    pub to_status: Option<Status>,
    pub detail: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Entry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub document_id: Option<String>,
    pub version: Option<u32>,
    pub actor: String,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

// Every field of an entry goes into its hash, one argument each: a struct would only rename them.
#[allow(clippy::too_many_arguments)]
fn entry_hash(
    prev_hash: &str,
    seq: i64,
    at: &str,
    document_id: Option<&str>,
    version: Option<i64>,
    actor: &str,
    action: &str,
    from_status: Option<&str>,
    to_status: Option<&str>,
    detail: &str,
) -> String {
    // A JSON array is an unambiguous encoding: no field can bleed into the next.
    let canonical = serde_json::to_string(&(
        seq,
        at,
        document_id,
        version,
        actor,
        action,
        from_status,
        to_status,
        detail,
    ))
    .expect("plain values serialize");
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(canonical.as_bytes());
    hex::encode(h.finalize())
}

/// Appends one entry inside the caller's (write) transaction and returns its sequence number.
pub async fn append(conn: &mut SqliteConnection, entry: NewEntry) -> Result<i64> {
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    let prev_seq: i64 = head.get("seq");
    let prev_hash: String = head.get("hash");
    let seq = prev_seq + 1;
    let at = time::fmt(&time::now());
    let document_id = entry.document_id.map(|d| d.to_string());
    let version = entry.version.map(i64::from);
    let from = entry.from_status.map(|s| s.as_str());
    let to = entry.to_status.map(|s| s.as_str());
    let detail = serde_json::to_string(&entry.detail).expect("JSON value serializes");
    let hash = entry_hash(
        &prev_hash,
        seq,
        &at,
        document_id.as_deref(),
        version,
        &entry.actor,
        &entry.action,
        from,
        to,
        &detail,
    );
    sqlx::query(
        "INSERT INTO audit_log (seq, at, document_id, version, actor, action, from_status, to_status, detail, prev_hash, hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(seq)
    .bind(&at)
    .bind(&document_id)
    .bind(version)
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(from)
    .bind(to)
    .bind(&detail)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1")
        .bind(seq)
        .bind(&hash)
        .execute(&mut *conn)
        .await?;
    Ok(seq)
}

/// The newest sequence number (0 when the log is empty). Cheap: one row.
pub async fn head_seq(pool: &SqlitePool) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT seq FROM audit_head WHERE id = 1")
            .fetch_one(pool)
            .await?,
    )
}

/// Entries of one document, oldest first.
pub async fn entries_for(pool: &SqlitePool, document_id: DocumentId) -> Result<Vec<Entry>> {
    let rows = sqlx::query("SELECT * FROM audit_log WHERE document_id = ? ORDER BY seq")
        .bind(document_id.to_string())
        .fetch_all(pool)
        .await?;
    rows.iter().map(entry_from_row).collect()
}

/// Documents touched by entries after `seq`, and the newest seq seen.
pub async fn documents_changed_since(
    pool: &SqlitePool,
    seq: i64,
) -> Result<(i64, Vec<DocumentId>)> {
    let rows = sqlx::query(
        "SELECT document_id, MAX(seq) AS last FROM audit_log
         WHERE seq > ? AND document_id IS NOT NULL GROUP BY document_id ORDER BY last",
    )
    .bind(seq)
    .fetch_all(pool)
    .await?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut newest = seq;
    for row in rows {
        let id: String = row.get("document_id");
        newest = newest.max(row.get::<i64, _>("last"));
        ids.push(
            id.parse()
                .map_err(|e: countersign_core::ParseIdError| StoreError::Corrupt(e.to_string()))?,
        );
    }
    Ok((newest.max(head_seq(pool).await?), ids))
}

fn entry_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Entry> {
    Ok(Entry {
        seq: row.get("seq"),
        at: time::parse(row.get::<&str, _>("at"))?,
        document_id: row.get("document_id"),
        version: row.get::<Option<i64>, _>("version").map(|v| v as u32),
        actor: row.get("actor"),
        action: row.get("action"),
        from_status: row.get("from_status"),
        to_status: row.get("to_status"),
        detail: row.get("detail"),
        prev_hash: row.get("prev_hash"),
        hash: row.get("hash"),
    })
}

/// Why verification failed, naming the first entry that does not hold.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Break {
    /// The entry's content no longer matches its hash.
    Edited { seq: i64 },
    /// The entry's `prev_hash` is not the previous entry's hash (an entry before it was replaced).
    ChainBroken { seq: i64 },
    /// Sequence numbers jump: entries from `seq` were deleted.
    Missing { seq: i64 },
    /// The log ends before the head says it does: the newest entries were deleted.
    Truncated { seq: i64 },
    /// The head row itself does not match the newest entry.
    HeadMismatch { seq: i64 },
}

impl Break {
    pub fn seq(&self) -> i64 {
        match self {
            Break::Edited { seq }
            | Break::ChainBroken { seq }
            | Break::Missing { seq }
            | Break::Truncated { seq }
            | Break::HeadMismatch { seq } => *seq,
        }
    }
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Break::Edited { seq } => write!(
                f,
                "audit entry {seq} was edited: its content does not match its hash"
            ),
            Break::ChainBroken { seq } => write!(
                f,
                "audit entry {seq} does not follow entry {}: the chain is broken there",
                seq - 1
            ),
            Break::Missing { seq } => write!(f, "audit entry {seq} is missing: it was deleted"),
            Break::Truncated { seq } => write!(
                f,
                "audit entry {seq} is missing: the newest entries were deleted"
            ),
            Break::HeadMismatch { seq } => write!(f, "the audit head does not match entry {seq}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verification {
    pub entries: i64,
    pub head_hash: String,
    pub first_break: Option<Break>,
}

/// Recomputes the whole chain. Reads in pages so a long log does not sit in memory at once.
pub async fn verify(pool: &SqlitePool) -> Result<Verification> {
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(pool)
        .await?;
    let head_seq: i64 = head.get("seq");
    let head_hash: String = head.get("hash");

    let mut expected_seq = 1i64;
    let mut prev_hash = GENESIS.to_owned();
    let mut entries = 0i64;
    let fail = |b: Break, entries: i64, head_hash: &str| Verification {
        entries,
        head_hash: head_hash.to_owned(),
        first_break: Some(b),
    };
    loop {
        let rows = sqlx::query("SELECT * FROM audit_log WHERE seq >= ? ORDER BY seq LIMIT 1000")
            .bind(expected_seq)
            .fetch_all(pool)
            .await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let seq: i64 = row.get("seq");
            if seq != expected_seq {
                return Ok(fail(
                    Break::Missing { seq: expected_seq },
                    entries,
                    &head_hash,
                ));
            }
            let stored_prev: String = row.get("prev_hash");
            let stored_hash: String = row.get("hash");
            let recomputed = entry_hash(
                &stored_prev,
                seq,
                row.get("at"),
                row.get("document_id"),
                row.get("version"),
                row.get("actor"),
                row.get("action"),
                row.get("from_status"),
                row.get("to_status"),
                row.get("detail"),
            );
            if recomputed != stored_hash {
                return Ok(fail(Break::Edited { seq }, entries, &head_hash));
            }
            if stored_prev != prev_hash {
                return Ok(fail(Break::ChainBroken { seq }, entries, &head_hash));
            }
            prev_hash = stored_hash;
            expected_seq += 1;
            entries += 1;
        }
    }
    let last = expected_seq - 1;
    if head_seq > last {
        return Ok(fail(
            Break::Truncated { seq: last + 1 },
            entries,
            &head_hash,
        ));
    }
    if head_seq != last || head_hash != prev_hash {
        return Ok(fail(Break::HeadMismatch { seq: last }, entries, &head_hash));
    }
    Ok(Verification {
        entries,
        head_hash,
        first_break: None,
    })
}
