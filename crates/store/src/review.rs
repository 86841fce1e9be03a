//! What reviewers do to a document: every correction and decision makes a new version derived
//! from the current one (same pages, same words unless a word was corrected, the routing decided
//! again), with one audit entry naming the reviewer and the old and new value. Earlier versions
//! are never rewritten.

use crate::audit::{self, NewEntry};
use crate::documents::{self, OcrPageRow, Routing};
use crate::{time, Result, StoreError};
use countersign_core::{DocumentId, Status, TenantId};
use sqlx::{Row, SqliteConnection, SqlitePool};
use std::collections::BTreeMap;

/// The new version a review action makes.
#[derive(Clone, Debug)]
pub struct Derive<'a> {
    /// Its status: the current one (a correction) or a lifecycle move (a decision).
    pub status: Status,
    /// Recognised pages that differ from the current version's (a corrected word); the others
    /// are carried over as they are.
    pub replaced_pages: &'a [OcrPageRow],
    /// The routing decided again on the corrected words and the reviewer's values; `None` keeps
    /// the current version's.
    pub routing: Option<Routing<'a>>,
    pub actor: &'a str,
    pub action: &'a str,
    pub detail: serde_json::Value,
    /// The new version starts its lifecycle over at `status` (a resend after a decline, a void
    /// or an expiry): no transition check, and no envelope carried over.
    pub restart: bool,
}

/// Creates version `current + 1` from the current version and `change`, makes it current, and
/// appends its audit entry; returns the new version number. A status change must be allowed by
/// the lifecycle.
pub async fn derive_version(
    conn: &mut SqliteConnection,
    id: DocumentId,
    expected_version: u32,
    change: Derive<'_>,
) -> Result<u32> {
    let current = documents::get(conn, id).await?;
    if current.version != expected_version {
        return Err(StoreError::Stale {
            document_id: id.to_string(),
            expected: expected_version,
            current: current.version,
        });
    }
    if change.status != current.status && !change.restart {
        current.status.transition(change.status)?;
    }
    let from = current.version as i64;
    let version = from + 1;
    let now = time::fmt(&time::now());
    let doc = id.to_string();
    sqlx::query(
        "INSERT INTO versions (document_id, version, status, page_count, ocr_confidence, document_type,
            classification_confidence, decision, route, fields, envelope_id, department, policy_tags,
            retention_class, failure, created_at, updated_at, working_blob, has_text_layer, routing)
         SELECT document_id, ?, ?, page_count, ocr_confidence, document_type, classification_confidence,
            decision, route, fields, envelope_id, department, policy_tags, retention_class, NULL, ?, ?,
            working_blob, has_text_layer, routing
         FROM versions WHERE document_id = ? AND version = ?",
    )
    .bind(version)
    .bind(change.status.as_str())
    .bind(&now)
    .bind(&now)
    .bind(&doc)
    .bind(from)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO pages (document_id, version, page_index, width, height, image_blob, thumb_blob, dpi, rotation)
         SELECT document_id, ?, page_index, width, height, image_blob, thumb_blob, dpi, rotation
         FROM pages WHERE document_id = ? AND version = ?",
    )
    .bind(version)
    .bind(&doc)
    .bind(from)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO ocr_pages (document_id, version, page_index, result_blob, raw_blob, engine, mean_confidence, word_count, created_at)
         SELECT document_id, ?, page_index, result_blob, raw_blob, engine, mean_confidence, word_count, created_at
         FROM ocr_pages WHERE document_id = ? AND version = ?",
    )
    .bind(version)
    .bind(&doc)
    .bind(from)
    .execute(&mut *conn)
    .await?;
    if change.restart {
        sqlx::query("UPDATE versions SET envelope_id = NULL WHERE document_id = ? AND version = ?")
            .bind(&doc)
            .bind(version)
            .execute(&mut *conn)
            .await?;
    }
    for page in change.replaced_pages {
        documents::put_ocr_page(conn, id, version as u32, page).await?;
    }
    if let Some(routing) = &change.routing {
        documents::set_routing(conn, id, version as u32, routing).await?;
    }
    sqlx::query("UPDATE documents SET current_version = ?, updated_at = ? WHERE document_id = ?")
        .bind(version)
        .bind(&now)
        .bind(&doc)
        .execute(&mut *conn)
        .await?;
    audit::append(
        conn,
        NewEntry {
            document_id: Some(id),
            version: Some(version as u32),
            actor: change.actor.to_owned(),
            action: change.action.to_owned(),
            from_status: Some(current.status),
            to_status: Some(change.status),
            detail: change.detail,
        },
    )
    .await?;
    Ok(version as u32)
}

/// What a correction changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Word { page: u32, word: u32 },
    Field(String),
    Type,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Correction {
    pub seq: i64,
    pub version: u32,
    pub target: Target,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub reviewer: String,
    pub at: chrono::DateTime<chrono::Utc>,
    /// The correction this one undid.
    pub undoes: Option<i64>,
}

pub struct NewCorrection<'a> {
    pub version: u32,
    pub target: &'a Target,
    pub old_value: Option<&'a str>,
    pub new_value: Option<&'a str>,
    pub reviewer: &'a str,
    pub undoes: Option<i64>,
}

pub async fn put_correction(
    conn: &mut SqliteConnection,
    id: DocumentId,
    c: &NewCorrection<'_>,
) -> Result<i64> {
    let (kind, page, word, field) = match c.target {
        Target::Word { page, word } => ("word", Some(*page as i64), Some(*word as i64), None),
        Target::Field(name) => ("field", None, None, Some(name.as_str())),
        Target::Type => ("type", None, None, None),
    };
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO corrections (document_id, version, kind, page_index, word_index, field, old_value, new_value, reviewer, at, undoes)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq",
    )
    .bind(id.to_string())
    .bind(c.version as i64)
    .bind(kind)
    .bind(page)
    .bind(word)
    .bind(field)
    .bind(c.old_value)
    .bind(c.new_value)
    .bind(c.reviewer)
    .bind(time::fmt(&time::now()))
    .bind(c.undoes)
    .fetch_one(&mut *conn)
    .await?;
    Ok(seq)
}

/// A document's corrections, oldest first.
pub async fn corrections(pool: &SqlitePool, id: DocumentId) -> Result<Vec<Correction>> {
    let rows = sqlx::query(
        "SELECT seq, version, kind, page_index, word_index, field, old_value, new_value, reviewer, at, undoes
         FROM corrections WHERE document_id = ? ORDER BY seq",
    )
    .bind(id.to_string())
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.get("kind");
            let target = match kind.as_str() {
                "word" => Target::Word {
                    page: r.get::<Option<i64>, _>("page_index").unwrap_or(0) as u32,
                    word: r.get::<Option<i64>, _>("word_index").unwrap_or(0) as u32,
                },
                "field" => Target::Field(r.get::<Option<String>, _>("field").unwrap_or_default()),
                "type" => Target::Type,
                other => return Err(StoreError::Corrupt(format!("correction kind {other}"))),
            };
            Ok(Correction {
                seq: r.get("seq"),
                version: r.get::<i64, _>("version") as u32,
                target,
                old_value: r.get("old_value"),
                new_value: r.get("new_value"),
                reviewer: r.get("reviewer"),
                at: time::parse(r.get("at"))?,
                undoes: r.get("undoes"),
            })
        })
        .collect()
}

/// Counts one more confirmation of `value` for `field` in the tenant's vocabulary.
pub async fn learn_name(
    conn: &mut SqliteConnection,
    tenant: &TenantId,
    field: &str,
    value: &str,
) -> Result<()> {
    let now = time::fmt(&time::now());
    sqlx::query(
        "INSERT INTO vocabulary (tenant_id, field, value, uses, last_used) VALUES (?, ?, ?, 1, ?)
         ON CONFLICT (tenant_id, field, value) DO UPDATE SET uses = uses + 1, last_used = excluded.last_used",
    )
    .bind(tenant.as_str())
    .bind(field)
    .bind(value)
    .bind(&now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The tenant's vocabulary: field → names, most used first.
pub async fn vocabulary(
    pool: &SqlitePool,
    tenant: &TenantId,
) -> Result<BTreeMap<String, Vec<String>>> {
    let rows = sqlx::query(
        "SELECT field, value FROM vocabulary WHERE tenant_id = ? ORDER BY field, uses DESC, value",
    )
    .bind(tenant.as_str())
    .fetch_all(pool)
    .await?;
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in rows {
        out.entry(r.get("field")).or_default().push(r.get("value"));
    }
    Ok(out)
}

/// Replaces a document's row in the queue's full-text index. The row's rowid is kept on the
/// document (`documents.search_rowid`, migration 0008): the queue joins matches to documents by
/// it, and the old row is deleted by it (`document_id` is not indexed in FTS5: a `WHERE
/// document_id = ?` reads every row).
pub async fn index_document(
    conn: &mut SqliteConnection,
    id: DocumentId,
    file_name: &str,
    body: &str,
    fields: &str,
) -> Result<()> {
    let old: Option<i64> =
        sqlx::query_scalar("SELECT search_rowid FROM documents WHERE document_id = ?")
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
    if let Some(rowid) = old {
        sqlx::query("DELETE FROM search_index WHERE rowid = ?")
            .bind(rowid)
            .execute(&mut *conn)
            .await?;
    }
    let rowid = sqlx::query(
        "INSERT INTO search_index (document_id, file_name, body, fields) VALUES (?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(file_name)
    .bind(body)
    .bind(fields)
    .execute(&mut *conn)
    .await?
    .last_insert_rowid();
    sqlx::query("UPDATE documents SET search_rowid = ? WHERE document_id = ?")
        .bind(rowid)
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}
