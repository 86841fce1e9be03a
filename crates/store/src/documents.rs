//! Documents, versions and pages, read back as [`DocumentRecord`]s.
//!
//! A record is the document row joined with its current version. Status changes go only through
//! [`transition`], which checks the lifecycle table in `countersign-core` and appends exactly one
//! audit entry in the same transaction.
//!
//! The document row also mirrors its current version's status and due date (`documents.status`,
//! `documents.due_date`, for the queue's indexes): triggers (migration 0008) update them whenever
//! a version's status or fields change or another version becomes current, so no function here
//! writes them.

use crate::audit::{self, NewEntry};
use crate::{time, Result, StoreError};
use countersign_core::{
    DocumentId, DocumentRecord, EnvelopeId, Failure, MimeType, PageInfo, Source, Status, TenantId,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqlitePool};

/// A document as it arrives: validated and with its original already in the blob store.
#[derive(Clone, Debug)]
pub struct NewDocument {
    pub tenant_id: TenantId,
    pub source: Source,
    pub file_name: String,
    pub mime_type: MimeType,
    pub checksum: String,
    pub byte_size: u64,
    pub page_count: Option<u32>,
    pub has_text_layer: bool,
    /// An unencrypted working copy of a password-protected original (blob key).
    pub working_blob: Option<String>,
    pub actor: String,
}

/// A page row: its image and thumbnail blobs once rendered.
#[derive(Clone, Debug, PartialEq)]
pub struct PageRow {
    pub index: u32,
    pub width: u32,
    pub height: u32,
    pub dpi: Option<u32>,
    pub image_blob: Option<String>,
    pub thumb_blob: Option<String>,
    pub rotation: u32,
}

/// What [`record_from_row`] reads, from `documents d` joined with its current version `v`.
macro_rules! record_columns {
    () => {
        "d.document_id, d.tenant_id, d.source, d.file_name, d.mime_type, d.checksum,
        d.created_at, v.version, v.status, v.page_count, v.ocr_confidence, v.document_type,
        v.classification_confidence, v.decision, v.route, v.fields, v.envelope_id, v.department,
        v.policy_tags, v.retention_class, v.failure, v.updated_at, v.has_text_layer"
    };
}
pub(crate) const RECORD_COLUMNS: &str = record_columns!();
pub(crate) const RECORD_SELECT: &str = concat!(
    "SELECT ",
    record_columns!(),
    "\n    FROM documents d JOIN versions v ON v.document_id = d.document_id AND v.version = d.current_version"
);

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn json_col<T: serde::de::DeserializeOwned>(row: &SqliteRow, col: &str) -> Result<T> {
    let text: String = row.get(col);
    serde_json::from_str(&text).map_err(|e| corrupt(col, e))
}

fn opt_json_col<T: serde::de::DeserializeOwned>(row: &SqliteRow, col: &str) -> Result<Option<T>> {
    match row.get::<Option<String>, _>(col) {
        Some(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| corrupt(col, e)),
        None => Ok(None),
    }
}

pub(crate) fn record_from_row(row: &SqliteRow) -> Result<DocumentRecord> {
    let source: String = row.get("source");
    let mime: String = row.get("mime_type");
    let status: String = row.get("status");
    Ok(DocumentRecord {
        document_id: row
            .get::<&str, _>("document_id")
            .parse()
            .map_err(|e| corrupt("document_id", e))?,
        version: row.get::<i64, _>("version") as u32,
        source: Source::parse(&source).ok_or_else(|| corrupt("source", &source))?,
        file_name: row.get("file_name"),
        mime_type: MimeType::parse(&mime).ok_or_else(|| corrupt("mime_type", &mime))?,
        checksum: row.get("checksum"),
        page_count: row.get::<Option<i64>, _>("page_count").map(|n| n as u32),
        has_text_layer: row.get::<i64, _>("has_text_layer") != 0,
        status: status.parse().map_err(|e| corrupt("status", e))?,
        ocr_confidence: row.get("ocr_confidence"),
        document_type: row.get("document_type"),
        classification_confidence: row.get("classification_confidence"),
        decision: opt_json_col(row, "decision")?,
        route: row.get("route"),
        fields: json_col(row, "fields")?,
        envelope_id: row
            .get::<Option<String>, _>("envelope_id")
            .map(EnvelopeId::new),
        tenant_id: TenantId::new(row.get::<String, _>("tenant_id")),
        department: row.get("department"),
        policy_tags: json_col(row, "policy_tags")?,
        retention_class: row.get("retention_class"),
        failure: opt_json_col(row, "failure")?,
        created_at: time::parse(row.get("created_at"))?,
        updated_at: time::parse(row.get("updated_at"))?,
        ocr: None,
    })
}

/// The document already holding these bytes for this tenant, if any.
pub async fn find_by_checksum(
    conn: &mut SqliteConnection,
    tenant: &TenantId,
    checksum: &str,
) -> Result<Option<DocumentId>> {
    let id: Option<String> = sqlx::query_scalar(
        "SELECT document_id FROM documents WHERE tenant_id = ? AND checksum = ?",
    )
    .bind(tenant.as_str())
    .bind(checksum)
    .fetch_optional(&mut *conn)
    .await?;
    id.map(|s| s.parse().map_err(|e| corrupt("document_id", e)))
        .transpose()
}

/// Creates the document with version 1 in `received`, and its audit entry.
pub async fn insert(conn: &mut SqliteConnection, new: &NewDocument) -> Result<DocumentId> {
    let id = DocumentId::new();
    let now = time::fmt(&time::now());
    sqlx::query(
        "INSERT INTO documents (document_id, tenant_id, source, file_name, mime_type, checksum, byte_size, current_version, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
    )
    .bind(id.to_string())
    .bind(new.tenant_id.as_str())
    .bind(new.source.as_str())
    .bind(&new.file_name)
    .bind(new.mime_type.as_str())
    .bind(&new.checksum)
    .bind(new.byte_size as i64)
    .bind(&now)
    .bind(&now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO versions (document_id, version, status, page_count, has_text_layer, working_blob, created_at, updated_at)
         VALUES (?, 1, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(Status::Received.as_str())
    .bind(new.page_count.map(i64::from))
    .bind(new.has_text_layer as i64)
    .bind(&new.working_blob)
    .bind(&now)
    .bind(&now)
    .execute(&mut *conn)
    .await?;
    audit::append(
        conn,
        NewEntry {
            document_id: Some(id),
            version: Some(1),
            actor: new.actor.clone(),
            action: "ingest".into(),
            from_status: None,
            to_status: Some(Status::Received),
            detail: serde_json::json!({
                "source": new.source.as_str(),
                "file_name": new.file_name,
                "mime_type": new.mime_type.as_str(),
                "checksum": new.checksum,
                "byte_size": new.byte_size,
                "page_count": new.page_count,
                "has_text_layer": new.has_text_layer,
                "unlocked_working_copy": new.working_blob.is_some(),
            }),
        },
    )
    .await?;
    Ok(id)
}

pub async fn get(conn: &mut SqliteConnection, id: DocumentId) -> Result<DocumentRecord> {
    let row = sqlx::query(&format!("{RECORD_SELECT} WHERE d.document_id = ?"))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
    record_from_row(&row)
}

/// Records at their current version, newest first, optionally only those in `status`.
pub async fn list(pool: &SqlitePool, status: Option<Status>) -> Result<Vec<DocumentRecord>> {
    let rows = match status {
        Some(st) => {
            sqlx::query(&format!(
                "{RECORD_SELECT} WHERE d.status = ? ORDER BY d.created_at DESC, d.document_id DESC"
            ))
            .bind(st.as_str())
            .fetch_all(pool)
            .await?
        }
        None => {
            sqlx::query(&format!(
                "{RECORD_SELECT} ORDER BY d.created_at DESC, d.document_id DESC"
            ))
            .fetch_all(pool)
            .await?
        }
    };
    rows.iter().map(record_from_row).collect()
}

pub async fn count(pool: &SqlitePool) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM documents")
        .fetch_one(pool)
        .await?)
}

/// Moves the current version of `id` to `to`, if the lifecycle allows it, with one audit entry.
/// `failure` is stored when `to` is `failed` and cleared otherwise.
pub async fn transition(
    conn: &mut SqliteConnection,
    id: DocumentId,
    to: Status,
    actor: &str,
    failure: Option<&Failure>,
    detail: serde_json::Value,
) -> Result<DocumentRecord> {
    let current = get(conn, id).await?;
    current.status.transition(to)?;
    let now = time::fmt(&time::now());
    let failure_json = failure
        .filter(|_| to == Status::Failed)
        .map(|f| serde_json::to_string(f).expect("failure serializes"));
    sqlx::query(
        "UPDATE versions SET status = ?, failure = ?, updated_at = ? WHERE document_id = ? AND version = ?",
    )
    .bind(to.as_str())
    .bind(&failure_json)
    .bind(&now)
    .bind(id.to_string())
    .bind(current.version as i64)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE documents SET updated_at = ? WHERE document_id = ?")
        .bind(&now)
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    let mut detail = detail;
    if let (Some(f), Some(obj)) = (failure, detail.as_object_mut()) {
        obj.insert(
            "failure".into(),
            serde_json::to_value(f).expect("failure serializes"),
        );
    }
    audit::append(
        conn,
        NewEntry {
            document_id: Some(id),
            version: Some(current.version),
            actor: actor.to_owned(),
            action: "transition".into(),
            from_status: Some(current.status),
            to_status: Some(to),
            detail,
        },
    )
    .await?;
    get(conn, id).await
}

/// Stores one page of a version (idempotent: rendering the page again writes the same row).
pub async fn put_page(
    conn: &mut SqliteConnection,
    id: DocumentId,
    version: u32,
    page: &PageRow,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO pages (document_id, version, page_index, width, height, dpi, image_blob, thumb_blob, rotation)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (document_id, version, page_index) DO UPDATE SET
            width = excluded.width, height = excluded.height, dpi = excluded.dpi,
            image_blob = excluded.image_blob, thumb_blob = excluded.thumb_blob, rotation = excluded.rotation",
    )
    .bind(id.to_string())
    .bind(version as i64)
    .bind(page.index as i64)
    .bind(page.width as i64)
    .bind(page.height as i64)
    .bind(page.dpi.map(i64::from))
    .bind(&page.image_blob)
    .bind(&page.thumb_blob)
    .bind(page.rotation as i64)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Sets the page count of a version (known once the file is inspected or rendered).
pub async fn set_page_count(
    conn: &mut SqliteConnection,
    id: DocumentId,
    version: u32,
    count: u32,
) -> Result<()> {
    sqlx::query("UPDATE versions SET page_count = ? WHERE document_id = ? AND version = ?")
        .bind(count as i64)
        .bind(id.to_string())
        .bind(version as i64)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The pages of a version, in order.
pub async fn page_rows(pool: &SqlitePool, id: DocumentId, version: u32) -> Result<Vec<PageRow>> {
    let rows = sqlx::query(
        "SELECT page_index, width, height, dpi, image_blob, thumb_blob, rotation FROM pages
         WHERE document_id = ? AND version = ? ORDER BY page_index",
    )
    .bind(id.to_string())
    .bind(version as i64)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| PageRow {
            index: r.get::<i64, _>("page_index") as u32,
            width: r.get::<i64, _>("width") as u32,
            height: r.get::<i64, _>("height") as u32,
            dpi: r.get::<Option<i64>, _>("dpi").map(|d| d as u32),
            image_blob: r.get("image_blob"),
            thumb_blob: r.get("thumb_blob"),
            rotation: r.get::<i64, _>("rotation") as u32,
        })
        .collect())
}

/// The pages of a version as the record's consumers see them.
pub async fn pages(pool: &SqlitePool, id: DocumentId, version: u32) -> Result<Vec<PageInfo>> {
    Ok(page_rows(pool, id, version)
        .await?
        .into_iter()
        .map(|p| PageInfo {
            index: p.index,
            width: p.width,
            height: p.height,
            dpi: p.dpi,
            rendered: p.image_blob.is_some(),
        })
        .collect())
}

/// The blob to decode pages from: the unencrypted working copy if there is one, else the original.
pub async fn source_blob(
    conn: &mut SqliteConnection,
    id: DocumentId,
    version: u32,
) -> Result<String> {
    let row = sqlx::query(
        "SELECT d.checksum, v.working_blob FROM documents d JOIN versions v ON v.document_id = d.document_id
         WHERE d.document_id = ? AND v.version = ?",
    )
    .bind(id.to_string())
    .bind(version as i64)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
    Ok(row
        .get::<Option<String>, _>("working_blob")
        .unwrap_or_else(|| row.get("checksum")))
}

/// A version as listed in a document's history.
#[derive(Clone, Debug, PartialEq)]
pub struct VersionRow {
    pub version: u32,
    pub status: Status,
    pub page_count: Option<u32>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

pub async fn versions(pool: &SqlitePool, id: DocumentId) -> Result<Vec<VersionRow>> {
    let rows = sqlx::query(
        "SELECT version, status, page_count, created_at FROM versions WHERE document_id = ? ORDER BY version",
    )
    .bind(id.to_string())
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(VersionRow {
                version: r.get::<i64, _>("version") as u32,
                status: r
                    .get::<&str, _>("status")
                    .parse()
                    .map_err(|e| corrupt("status", e))?,
                page_count: r.get::<Option<i64>, _>("page_count").map(|n| n as u32),
                created_at: time::parse(r.get("created_at"))?,
            })
        })
        .collect()
}

/// Creates version `current + 1` in `received` with `pages` (already stored as blobs), makes it
/// current, and appends one audit entry (`action`, with `detail`). The earlier versions stay as
/// they were: originals are immutable.
pub async fn create_version(
    conn: &mut SqliteConnection,
    id: DocumentId,
    pages: &[PageRow],
    actor: &str,
    action: &str,
    detail: serde_json::Value,
) -> Result<u32> {
    let current = get(conn, id).await?;
    let version = current.version + 1;
    let now = time::fmt(&time::now());
    sqlx::query(
        "INSERT INTO versions (document_id, version, status, page_count, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(version as i64)
    .bind(Status::Received.as_str())
    .bind(pages.len() as i64)
    .bind(&now)
    .bind(&now)
    .execute(&mut *conn)
    .await?;
    for (index, page) in pages.iter().enumerate() {
        put_page(
            conn,
            id,
            version,
            &PageRow {
                index: index as u32,
                ..page.clone()
            },
        )
        .await?;
    }
    sqlx::query("UPDATE documents SET current_version = ?, updated_at = ? WHERE document_id = ?")
        .bind(version as i64)
        .bind(&now)
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    audit::append(
        conn,
        NewEntry {
            document_id: Some(id),
            version: Some(version),
            actor: actor.to_owned(),
            action: action.to_owned(),
            from_status: Some(current.status),
            to_status: Some(Status::Received),
            detail,
        },
    )
    .await?;
    Ok(version)
}

/// One recognised page's row.
#[derive(Clone, Debug, PartialEq)]
pub struct OcrPageRow {
    pub index: u32,
    /// The normalised page (countersign_core::OcrPage as JSON).
    pub result_blob: String,
    /// The engine's raw output (Tesseract TSV); absent on rows written before it was kept.
    pub raw_blob: Option<String>,
    /// The pipeline that read the page (engine, language, preprocessing version).
    pub engine: Option<String>,
    pub mean_confidence: f64,
    pub word_count: u32,
}

pub async fn put_ocr_page(
    conn: &mut SqliteConnection,
    id: DocumentId,
    version: u32,
    row: &OcrPageRow,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO ocr_pages (document_id, version, page_index, result_blob, raw_blob, engine, mean_confidence, word_count, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (document_id, version, page_index) DO UPDATE SET
            result_blob = excluded.result_blob, raw_blob = excluded.raw_blob, engine = excluded.engine,
            mean_confidence = excluded.mean_confidence, word_count = excluded.word_count",
    )
    .bind(id.to_string())
    .bind(version as i64)
    .bind(row.index as i64)
    .bind(&row.result_blob)
    .bind(&row.raw_blob)
    .bind(&row.engine)
    .bind(row.mean_confidence)
    .bind(row.word_count as i64)
    .bind(time::fmt(&time::now()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn ocr_pages(pool: &SqlitePool, id: DocumentId, version: u32) -> Result<Vec<OcrPageRow>> {
    let rows = sqlx::query(
        "SELECT page_index, result_blob, raw_blob, engine, mean_confidence, word_count FROM ocr_pages
         WHERE document_id = ? AND version = ? ORDER BY page_index",
    )
    .bind(id.to_string())
    .bind(version as i64)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| OcrPageRow {
            index: r.get::<i64, _>("page_index") as u32,
            result_blob: r.get("result_blob"),
            raw_blob: r.get("raw_blob"),
            engine: r.get("engine"),
            mean_confidence: r.get("mean_confidence"),
            word_count: r.get::<i64, _>("word_count") as u32,
        })
        .collect())
}

/// Records the OCR outcome and the routing decision of a version (no status change).
pub async fn set_recognition(
    conn: &mut SqliteConnection,
    id: DocumentId,
    version: u32,
    ocr_confidence: f64,
    document_type: &str,
    decision: &countersign_core::Decision,
) -> Result<()> {
    sqlx::query(
        "UPDATE versions SET ocr_confidence = ?, document_type = ?, classification_confidence = 0, decision = ?, updated_at = ?
         WHERE document_id = ? AND version = ?",
    )
    .bind(ocr_confidence)
    .bind(document_type)
    .bind(serde_json::to_string(decision).expect("decision serializes"))
    .bind(time::fmt(&time::now()))
    .bind(id.to_string())
    .bind(version as i64)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What routing decided for a version (the record's classification, decision, route, fields).
#[derive(Clone, Debug)]
pub struct Routing<'a> {
    pub ocr_confidence: f64,
    pub document_type: &'a str,
    pub classification_confidence: f64,
    pub decision: &'a countersign_core::Decision,
    pub route: Option<&'a str>,
    pub fields: &'a std::collections::BTreeMap<String, countersign_core::Field>,
    pub department: Option<&'a str>,
    pub policy_tags: &'a [String],
    pub retention_class: Option<&'a str>,
    /// The whole outcome as JSON (evidence, scores, signature lines, recipients, anchors).
    pub outcome: &'a serde_json::Value,
}

pub async fn set_routing(
    conn: &mut SqliteConnection,
    id: DocumentId,
    version: u32,
    r: &Routing<'_>,
) -> Result<()> {
    sqlx::query(
        "UPDATE versions SET ocr_confidence = ?, document_type = ?, classification_confidence = ?, decision = ?,
            route = ?, fields = ?, department = ?, policy_tags = ?, retention_class = ?, routing = ?, updated_at = ?
         WHERE document_id = ? AND version = ?",
    )
    .bind(r.ocr_confidence)
    .bind(r.document_type)
    .bind(r.classification_confidence)
    .bind(serde_json::to_string(r.decision).expect("decision serializes"))
    .bind(r.route)
    .bind(serde_json::to_string(r.fields).expect("fields serialize"))
    .bind(r.department)
    .bind(serde_json::to_string(r.policy_tags).expect("tags serialize"))
    .bind(r.retention_class)
    .bind(r.outcome.to_string())
    .bind(time::fmt(&time::now()))
    .bind(id.to_string())
    .bind(version as i64)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The routing outcome stored with a version (JSON), if it was routed.
pub async fn routing(
    pool: &SqlitePool,
    id: DocumentId,
    version: u32,
) -> Result<Option<serde_json::Value>> {
    let row = sqlx::query("SELECT routing FROM versions WHERE document_id = ? AND version = ?")
        .bind(id.to_string())
        .bind(version as i64)
        .fetch_optional(pool)
        .await?;
    match row.and_then(|r| r.get::<Option<String>, _>("routing")) {
        Some(text) => Ok(Some(
            serde_json::from_str(&text).map_err(|e| corrupt("routing", e))?,
        )),
        None => Ok(None),
    }
}

/// A routing policy as stored (the newest is the one in force).
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyRow {
    pub fingerprint: String,
    pub origin: String,
    pub text: String,
}

pub async fn current_policy(pool: &SqlitePool) -> Result<Option<PolicyRow>> {
    let row =
        sqlx::query("SELECT fingerprint, origin, text FROM policies ORDER BY seq DESC LIMIT 1")
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|r| PolicyRow {
        fingerprint: r.get("fingerprint"),
        origin: r.get("origin"),
        text: r.get("text"),
    }))
}

/// Makes a validated policy the one in force (a no-op if it already is); with an audit entry.
pub async fn install_policy(
    conn: &mut SqliteConnection,
    policy: &PolicyRow,
    actor: &str,
) -> Result<bool> {
    let current: Option<String> =
        sqlx::query_scalar("SELECT fingerprint FROM policies ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    if current.as_deref() == Some(policy.fingerprint.as_str()) {
        return Ok(false);
    }
    let seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM policies")
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO policies (fingerprint, origin, text, installed_at, seq) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (fingerprint) DO UPDATE SET seq = excluded.seq, installed_at = excluded.installed_at, origin = excluded.origin",
    )
    .bind(&policy.fingerprint)
    .bind(&policy.origin)
    .bind(&policy.text)
    .bind(time::fmt(&time::now()))
    .bind(seq)
    .execute(&mut *conn)
    .await?;
    audit::append(
        conn,
        NewEntry {
            document_id: None,
            version: None,
            actor: actor.to_owned(),
            action: "policy_installed".into(),
            from_status: None,
            to_status: None,
            detail: serde_json::json!({ "fingerprint": policy.fingerprint, "origin": policy.origin }),
        },
    )
    .await?;
    Ok(true)
}

/// How far processing of a document's current version has got (documents in `processing` only).
#[derive(Clone, Debug, PartialEq)]
pub struct ProgressRow {
    pub document_id: DocumentId,
    pub version: u32,
    pub page_count: Option<u32>,
    pub rendered: u32,
    pub recognised: u32,
}

pub async fn processing_progress(pool: &SqlitePool) -> Result<Vec<ProgressRow>> {
    let rows = sqlx::query(
        "SELECT v.document_id, v.version, v.page_count,
                (SELECT COUNT(*) FROM pages p WHERE p.document_id = v.document_id AND p.version = v.version
                    AND p.image_blob IS NOT NULL) AS rendered,
                (SELECT COUNT(*) FROM ocr_pages o WHERE o.document_id = v.document_id AND o.version = v.version) AS recognised
         FROM versions v JOIN documents d ON d.document_id = v.document_id AND d.current_version = v.version
         WHERE v.status = 'processing'
         ORDER BY v.document_id",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.get("document_id");
            Ok(ProgressRow {
                document_id: id.parse().map_err(|e| corrupt("document_id", e))?,
                version: r.get::<i64, _>("version") as u32,
                page_count: r.get::<Option<i64>, _>("page_count").map(|n| n as u32),
                rendered: r.get::<i64, _>("rendered") as u32,
                recognised: r.get::<i64, _>("recognised") as u32,
            })
        })
        .collect()
}

/// Documents whose type a person confirmed: their newest version that was approved (or went on
/// to signature) or whose type a reviewer set. `(document, version, type)`.
pub async fn confirmed_types(pool: &SqlitePool) -> Result<Vec<(DocumentId, u32, String)>> {
    let rows = sqlx::query(
        "SELECT v.document_id, MAX(v.version) AS version FROM versions v
         WHERE v.document_type IS NOT NULL AND (
               v.status IN ('approved', 'queued_for_signature', 'envelope_created', 'sent', 'delivered',
                            'completed', 'declined', 'voided', 'expired', 'archived')
            OR EXISTS (SELECT 1 FROM audit_log a WHERE a.document_id = v.document_id
                       AND a.version = v.version AND a.action = 'type_confirmed'))
         GROUP BY v.document_id ORDER BY v.document_id",
    )
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id: String = r.get("document_id");
        let version = r.get::<i64, _>("version") as u32;
        let id: DocumentId = id.parse().map_err(|e| corrupt("document_id", e))?;
        let t: String = sqlx::query_scalar(
            "SELECT document_type FROM versions WHERE document_id = ? AND version = ?",
        )
        .bind(id.to_string())
        .bind(version as i64)
        .fetch_one(pool)
        .await?;
        out.push((id, version, t));
    }
    Ok(out)
}

/// A stored classifier model (JSON) and what it was trained on.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelRow {
    pub trained_at: chrono::DateTime<chrono::Utc>,
    pub examples: u32,
    pub per_type: std::collections::BTreeMap<String, u32>,
    pub model: String,
}

pub async fn latest_model(pool: &SqlitePool) -> Result<Option<ModelRow>> {
    let row = sqlx::query(
        "SELECT trained_at, examples, per_type, model FROM classifier_models ORDER BY seq DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(ModelRow {
            trained_at: time::parse(&r.get::<String, _>("trained_at"))?,
            examples: r.get::<i64, _>("examples") as u32,
            per_type: json_col(&r, "per_type")?,
            model: r.get("model"),
        })
    })
    .transpose()
}

pub async fn put_model(
    conn: &mut SqliteConnection,
    examples: u32,
    per_type: &std::collections::BTreeMap<String, u32>,
    model: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO classifier_models (trained_at, examples, per_type, model) VALUES (?, ?, ?, ?)",
    )
    .bind(time::fmt(&time::now()))
    .bind(examples as i64)
    .bind(serde_json::to_string(per_type).expect("counts serialize"))
    .bind(model)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records the provider's envelope id on a version (the moment it is known).
pub async fn set_envelope_id(
    conn: &mut SqliteConnection,
    id: DocumentId,
    version: u32,
    envelope: &EnvelopeId,
) -> Result<()> {
    sqlx::query(
        "UPDATE versions SET envelope_id = ?, updated_at = ? WHERE document_id = ? AND version = ?",
    )
    .bind(envelope.as_str())
    .bind(time::fmt(&time::now()))
    .bind(id.to_string())
    .bind(version as i64)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One piece of a signed document's evidence (`signed_pdf` or `certificate`).
#[derive(Clone, Debug, PartialEq)]
pub struct EvidenceRow {
    pub version: u32,
    pub kind: String,
    /// sha256 of the bytes (their blob key).
    pub blob: String,
    pub bytes: u64,
    pub stored_at: chrono::DateTime<chrono::Utc>,
}

/// Stores a piece of evidence once (a second store of the same kind for the version is a no-op).
pub async fn put_evidence(
    conn: &mut SqliteConnection,
    id: DocumentId,
    version: u32,
    kind: &str,
    blob: &str,
    bytes: u64,
) -> Result<bool> {
    let res = sqlx::query(
        "INSERT INTO evidence (document_id, version, kind, blob, bytes, stored_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING",
    )
    .bind(id.to_string())
    .bind(version as i64)
    .bind(kind)
    .bind(blob)
    .bind(bytes as i64)
    .bind(time::fmt(&time::now()))
    .execute(&mut *conn)
    .await?;
    if res.rows_affected() == 1 {
        // The version changed (it has evidence now): whoever shows it reads it again.
        sqlx::query("UPDATE versions SET updated_at = ? WHERE document_id = ? AND version = ?")
            .bind(time::fmt(&time::now()))
            .bind(id.to_string())
            .bind(version as i64)
            .execute(&mut *conn)
            .await?;
    }
    Ok(res.rows_affected() == 1)
}

/// A document's evidence, every version, oldest first.
pub async fn evidence(pool: &SqlitePool, id: DocumentId) -> Result<Vec<EvidenceRow>> {
    let rows = sqlx::query(
        "SELECT version, kind, blob, bytes, stored_at FROM evidence WHERE document_id = ? ORDER BY version, kind",
    )
    .bind(id.to_string())
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(EvidenceRow {
                version: r.get::<i64, _>("version") as u32,
                kind: r.get("kind"),
                blob: r.get("blob"),
                bytes: r.get::<i64, _>("bytes") as u64,
                stored_at: time::parse(r.get("stored_at"))?,
            })
        })
        .collect()
}
