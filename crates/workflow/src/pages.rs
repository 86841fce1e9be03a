//! Pages of a document: listing them, their images, its versions, and editing them (rotate,
//! reorder, delete, insert from another file). Every edit makes a new version, processed again;
//! the earlier versions and the original stay viewable and untouched.

use crate::process::process_job;
use crate::{Error, ErrorCode, IngestRequest, Workspace};
use countersign_capture::decode::encode_png;
use countersign_capture::limits::THUMB_MAX;
use countersign_core::{DocumentId, DocumentRecord, PageInfo, Status};
use countersign_store::documents::{self, PageRow};
use countersign_store::{jobs, BlobKey, StoreError};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// One edit of the page list; indices refer to the list as it is when the edit applies (edits
/// apply in order).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum PageEdit {
    /// Clockwise, in degrees: 90, 180 or 270 (or -90).
    Rotate {
        index: u32,
        degrees: i32,
    },
    Move {
        from: u32,
        to: u32,
    },
    Delete {
        index: u32,
    },
}

/// A version as the preview lists it.
#[derive(Clone, Debug, Serialize, TS)]
pub struct VersionSummary {
    pub version: u32,
    pub status: Status,
    pub page_count: Option<u32>,
    pub created_at: String,
    /// The newest version (the one that moves on through the lifecycle).
    pub current: bool,
}

pub async fn list_versions(ws: &Workspace, id: DocumentId) -> Result<Vec<VersionSummary>, Error> {
    let rows = documents::versions(ws.store().pool(), id).await?;
    if rows.is_empty() {
        return Err(Error::new(ErrorCode::NotFound, format!("no document {id}")));
    }
    let newest = rows.iter().map(|r| r.version).max().unwrap_or(1);
    Ok(rows
        .into_iter()
        .map(|r| VersionSummary {
            version: r.version,
            status: r.status,
            page_count: r.page_count,
            created_at: r.created_at.to_rfc3339(),
            current: r.version == newest,
        })
        .collect())
}

pub async fn list_pages(
    ws: &Workspace,
    id: DocumentId,
    version: u32,
) -> Result<Vec<PageInfo>, Error> {
    Ok(documents::pages(ws.store().pool(), id, version).await?)
}

/// The PNG of a page (or of its thumbnail). `not_found` until the page is rendered.
pub async fn page_image(
    ws: &Workspace,
    id: DocumentId,
    version: u32,
    index: u32,
    thumbnail: bool,
) -> Result<Vec<u8>, Error> {
    let rows = documents::page_rows(ws.store().pool(), id, version).await?;
    let row = rows.into_iter().find(|p| p.index == index).ok_or_else(|| {
        Error::new(
            ErrorCode::NotFound,
            format!("document {id} v{version} has no page {}", index + 1),
        )
    })?;
    let key = if thumbnail {
        row.thumb_blob
    } else {
        row.image_blob
    };
    let key = key.and_then(|k| BlobKey::parse(&k)).ok_or_else(|| {
        Error::new(
            ErrorCode::NotFound,
            format!("page {} is not rendered yet", index + 1),
        )
    })?;
    let blobs = ws.store().blobs().clone();
    tokio::task::spawn_blocking(move || blobs.get(&key))
        .await
        .map_err(|e| Error::internal("reading a page image", e))?
        .map_err(|e| Error::internal("reading a page image", e))
}

/// The current version's pages, all rendered (edits need every page image).
async fn current_pages(
    ws: &Workspace,
    id: DocumentId,
) -> Result<(DocumentRecord, Vec<PageRow>), Error> {
    let record = crate::query::current_record(ws, id).await?;
    let rows = documents::page_rows(ws.store().pool(), id, record.version).await?;
    if rows.is_empty()
        || rows.iter().any(|p| p.image_blob.is_none())
        || record.page_count != Some(rows.len() as u32)
    {
        return Err(Error::new(
            ErrorCode::NotReady,
            "the pages are still being prepared; try again in a moment",
        ));
    }
    Ok((record, rows))
}

/// Applies `edits` to the current version's pages and saves the result as a new version.
pub async fn edit_pages(
    ws: &Workspace,
    id: DocumentId,
    edits: Vec<PageEdit>,
    actor: &str,
) -> Result<DocumentRecord, Error> {
    if edits.is_empty() {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "no page edits given",
        ));
    }
    let (record, mut rows) = current_pages(ws, id).await?;
    let out_of_range = |i: u32, n: usize| {
        Error::new(
            ErrorCode::InvalidArgument,
            format!("there is no page {} (the document has {n})", i + 1),
        )
    };
    for edit in &edits {
        match *edit {
            PageEdit::Rotate { index, degrees } => {
                let n = rows.len();
                let row = rows
                    .get_mut(index as usize)
                    .ok_or_else(|| out_of_range(index, n))?;
                let quarter = match degrees.rem_euclid(360) {
                    90 => 1,
                    180 => 2,
                    270 => 3,
                    _ => {
                        return Err(Error::new(
                            ErrorCode::InvalidArgument,
                            "pages rotate by 90, 180 or 270 degrees",
                        ))
                    }
                };
                *row = rotate_page(ws, row.clone(), quarter).await?;
            }
            PageEdit::Move { from, to } => {
                let n = rows.len();
                if from as usize >= n || to as usize >= n {
                    return Err(out_of_range(from.max(to), n));
                }
                let page = rows.remove(from as usize);
                rows.insert(to as usize, page);
            }
            PageEdit::Delete { index } => {
                if index as usize >= rows.len() {
                    return Err(out_of_range(index, rows.len()));
                }
                if rows.len() == 1 {
                    return Err(Error::new(
                        ErrorCode::InvalidArgument,
                        "a document needs at least one page",
                    ));
                }
                rows.remove(index as usize);
            }
        }
    }
    let detail = serde_json::json!({ "from_version": record.version, "edits": edits });
    save_version(ws, id, &rows, actor, "edit_pages", detail).await
}

/// Reads the current version's pages again with the current OCR settings and pipeline, as a new
/// version (the earlier version and its words stay as they were). With `route_only`, the words are
/// kept and only the routing is decided again (after a policy change).
pub async fn reprocess(
    ws: &Workspace,
    id: DocumentId,
    route_only: bool,
    actor: &str,
) -> Result<DocumentRecord, Error> {
    let (record, rows) = current_pages(ws, id).await?;
    let settled = [
        Status::NeedsReview,
        Status::Routed,
        Status::Quarantined,
        Status::Failed,
        Status::Rejected,
    ];
    if !settled.contains(&record.status) {
        return Err(Error::new(
            ErrorCode::InvalidState,
            format!(
                "a document that is {} cannot be reprocessed",
                record.status.as_str()
            ),
        ));
    }
    let words = documents::ocr_pages(ws.store().pool(), id, record.version).await?;
    if route_only && words.len() != rows.len() {
        return Err(Error::new(
            ErrorCode::NotReady,
            "the document has not been read completely; reprocess it fully",
        ));
    }
    let detail = serde_json::json!({
        "from_version": record.version,
        "pipeline": countersign_ocr::engine::pipeline_id(),
        "route_only": route_only,
    });
    let action = if route_only { "redecide" } else { "reprocess" };
    let mut tx = ws.store().write().await?;
    let version = documents::create_version(&mut tx, id, &rows, actor, action, detail).await?;
    if route_only {
        // The same words (same blobs) on the new version: only the Route stage has work to do.
        for w in &words {
            documents::put_ocr_page(&mut tx, id, version, w).await?;
        }
    }
    jobs::enqueue(&mut tx, &process_job(id, version)).await?;
    let record = documents::get(&mut tx, id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(document_id = %id, version, action, "new version");
    Ok(record)
}

/// Inserts every page of another file (validated like any import) before page `at`.
pub async fn insert_pages(
    ws: &Workspace,
    id: DocumentId,
    at: u32,
    file: IngestRequest,
) -> Result<DocumentRecord, Error> {
    let (record, mut rows) = current_pages(ws, id).await?;
    if at as usize > rows.len() {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!("cannot insert at page {} of {}", at + 1, rows.len()),
        ));
    }
    let new_pages = crate::ingest::render_file_pages(ws, &file).await?;
    let count = new_pages.len();
    for (offset, page) in new_pages.into_iter().enumerate() {
        rows.insert(at as usize + offset, page);
    }
    let detail = serde_json::json!({
        "from_version": record.version,
        "inserted": { "at": at, "pages": count, "file_name": file.file_name, "checksum": BlobKey::of(&file.bytes).to_string() },
    });
    save_version(ws, id, &rows, &file.actor, "insert_pages", detail).await
}

async fn save_version(
    ws: &Workspace,
    id: DocumentId,
    rows: &[PageRow],
    actor: &str,
    action: &str,
    detail: serde_json::Value,
) -> Result<DocumentRecord, Error> {
    let mut tx = ws.store().write().await?;
    let version = documents::create_version(&mut tx, id, rows, actor, action, detail).await?;
    jobs::enqueue(&mut tx, &process_job(id, version)).await?;
    let record = documents::get(&mut tx, id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(document_id = %id, version, action, "new version");
    Ok(record)
}

/// The page turned by `quarter` × 90° clockwise: new image and thumbnail blobs.
async fn rotate_page(ws: &Workspace, row: PageRow, quarter: u32) -> Result<PageRow, Error> {
    let blobs = ws.store().blobs().clone();
    tokio::task::spawn_blocking(move || -> Result<PageRow, Error> {
        let key = row
            .image_blob
            .as_deref()
            .and_then(BlobKey::parse)
            .ok_or_else(|| Error::new(ErrorCode::NotReady, "the page is not rendered yet"))?;
        let bytes = blobs
            .get(&key)
            .map_err(|e| Error::internal("reading a page image", e))?;
        let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png)
            .map_err(|e| Error::internal("decoding a page image", e))?;
        let turned = match quarter {
            1 => img.rotate90(),
            2 => img.rotate180(),
            _ => img.rotate270(),
        };
        let thumb = turned.thumbnail(THUMB_MAX, THUMB_MAX);
        let image_key = blobs
            .put(&encode_png(&turned)?)
            .map_err(|e| Error::internal("storing a page image", e))?;
        let thumb_key = blobs
            .put(&encode_png(&thumb)?)
            .map_err(|e| Error::internal("storing a thumbnail", e))?;
        Ok(PageRow {
            width: turned.width(),
            height: turned.height(),
            image_blob: Some(image_key.to_string()),
            thumb_blob: Some(thumb_key.to_string()),
            rotation: (row.rotation + quarter * 90) % 360,
            ..row
        })
    })
    .await
    .map_err(|e| Error::internal("rotating a page", e))?
}
