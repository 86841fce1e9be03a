//! The queue's reads: documents (at their current version) per status, and one page of them,
//! optionally only those the full-text search finds.

use crate::documents::{record_from_row, RECORD_SELECT};
use crate::{Result, StoreError};
use countersign_core::{DocumentRecord, Status};
use sqlx::{Row, SqlitePool};
use std::collections::BTreeMap;

/// Documents per status of their current version; with `search` (an FTS5 query), only those
/// it finds.
pub async fn counts(pool: &SqlitePool, search: Option<&str>) -> Result<BTreeMap<Status, u32>> {
    let rows = match search {
        None => {
            sqlx::query(
                "SELECT v.status, COUNT(*) AS n FROM documents d
                 JOIN versions v ON v.document_id = d.document_id AND v.version = d.current_version
                 GROUP BY v.status",
            )
            .fetch_all(pool)
            .await?
        }
        Some(q) => {
            sqlx::query(
                "SELECT v.status, COUNT(*) AS n FROM documents d
                 JOIN versions v ON v.document_id = d.document_id AND v.version = d.current_version
                 WHERE d.document_id IN (SELECT document_id FROM search_index WHERE search_index MATCH ?)
                 GROUP BY v.status",
            )
            .bind(q)
            .fetch_all(pool)
            .await?
        }
    };
    let mut out = BTreeMap::new();
    for r in rows {
        let status: String = r.get("status");
        let status: Status = status
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("status: {e}")))?;
        out.insert(status, r.get::<i64, _>("n") as u32);
    }
    Ok(out)
}

pub struct PageQuery<'a> {
    pub statuses: &'a [Status],
    /// Every status (no status condition).
    pub all: bool,
    /// An FTS5 query.
    pub search: Option<&'a str>,
    /// Soonest `due_date` first, then oldest; else newest first.
    pub by_priority: bool,
    pub offset: u32,
    pub limit: u32,
}

pub async fn page(pool: &SqlitePool, q: &PageQuery<'_>) -> Result<Vec<DocumentRecord>> {
    let mut sql = format!("{RECORD_SELECT} WHERE 1 = 1");
    if !q.all {
        sql.push_str(" AND v.status IN (");
        sql.push_str(&vec!["?"; q.statuses.len()].join(", "));
        sql.push(')');
    }
    if q.search.is_some() {
        sql.push_str(
            " AND d.document_id IN (SELECT document_id FROM search_index WHERE search_index MATCH ?)",
        );
    }
    if q.by_priority {
        sql.push_str(
            " ORDER BY json_extract(v.fields, '$.due_date.value') IS NULL, json_extract(v.fields, '$.due_date.value'),
               d.created_at, d.document_id",
        );
    } else {
        sql.push_str(" ORDER BY d.created_at DESC, d.document_id DESC");
    }
    sql.push_str(" LIMIT ? OFFSET ?");
    let mut query = sqlx::query(&sql);
    if !q.all {
        for s in q.statuses {
            query = query.bind(s.as_str());
        }
    }
    if let Some(s) = q.search {
        query = query.bind(s);
    }
    let rows = query
        .bind(q.limit as i64)
        .bind(q.offset as i64)
        .fetch_all(pool)
        .await?;
    rows.iter().map(record_from_row).collect()
}
