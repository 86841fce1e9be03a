//! Taking a file in: validate at the edge, checksum, dedupe, store the original, create the
//! record as `received` and enqueue its processing — the record and its job in one transaction.

use crate::process::process_job;
use crate::{Error, ErrorCode, Workspace};
use countersign_capture::sniff;
use countersign_capture::Inspection;
use countersign_core::{DocumentRecord, Source};
use countersign_store::documents::{self, NewDocument, PageRow};
use countersign_store::{jobs, BlobKey};
use serde::Serialize;
use std::io::Read;
use std::path::Path;
use tracing::{info, instrument};
use ts_rs::TS;

pub const MAX_FILE_NAME_LEN: usize = 255;

/// One file handed over by a user, a folder or a device.
#[derive(Clone, Debug)]
pub struct IngestRequest {
    pub bytes: Vec<u8>,
    /// The name the user knows the file by (a path is reduced to its last component).
    pub file_name: String,
    pub source: Source,
    /// Who handed it over: recorded in the audit log.
    pub actor: String,
    /// Opens a password-protected PDF. Used once, to make an unencrypted working copy; never stored.
    pub password: Option<String>,
}

/// A newly created document. (Bytes imported before are an error with code `duplicate` that names
/// the existing document.)
#[derive(Clone, Debug, Serialize, TS)]
pub struct IngestOutcome {
    pub record: DocumentRecord,
}

/// The user-facing name: the last path component, control characters removed, at most
/// [`MAX_FILE_NAME_LEN`] bytes; never empty.
fn clean_file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let mut name: String = last.chars().filter(|c| !c.is_control()).collect();
    name = name.trim().to_owned();
    while name.len() > MAX_FILE_NAME_LEN {
        name.pop();
    }
    if name.is_empty() {
        "unnamed".into()
    } else {
        name
    }
}

/// Validates and stores one file. Nothing is written unless the file is accepted; a refused
/// file is kept in the rejected area (bytes and reason) so nothing a user handed over is lost.
#[instrument(skip_all, fields(file_name = %req.file_name, source = req.source.as_str(), document_id = tracing::field::Empty))]
pub async fn ingest(ws: &Workspace, req: IngestRequest) -> Result<IngestOutcome, Error> {
    match accept(ws, &req).await {
        Err(e) if e.is_rejection() => {
            crate::rejected::keep(ws, &req.bytes, &req.file_name, &e).await;
            Err(e)
        }
        other => other,
    }
}

/// Ingests without keeping a refused file (it is already in the rejected area).
pub(crate) async fn accept_only(
    ws: &Workspace,
    req: IngestRequest,
) -> Result<IngestOutcome, Error> {
    accept(ws, &req).await
}

async fn accept(ws: &Workspace, req: &IngestRequest) -> Result<IngestOutcome, Error> {
    let limits = ws.limits();
    if req.bytes.len() as u64 > limits.max_bytes {
        return Err(too_large(req.bytes.len() as u64, limits.max_bytes));
    }
    let mime_type = sniff(&req.bytes)?;
    let key = BlobKey::of(&req.bytes);
    let tenant = ws.config().tenant_id.clone();
    let store = ws.store();

    // Cheap check first, so a re-import of a large file is not decoded or rewritten.
    {
        let mut conn = store
            .pool()
            .acquire()
            .await
            .map_err(countersign_store::StoreError::from)?;
        if let Some(existing) =
            documents::find_by_checksum(&mut conn, &tenant, key.as_str()).await?
        {
            return Err(duplicate(existing, &req.file_name));
        }
    }

    // Decode in a child process with a time limit: is it what it claims, how many pages?
    let checked = {
        let blobs = store.blobs().clone();
        let isolation = ws.isolation().clone();
        let bytes = req.bytes.clone();
        let password = req.password.clone();
        tokio::task::spawn_blocking(move || -> Result<(Inspection, Option<BlobKey>), Error> {
            let scratch = blobs
                .scratch_file(&bytes)
                .map_err(|e| Error::internal("staging the file", e))?;
            let inspection =
                isolation.inspect(scratch.path(), mime_type, password.as_deref(), &limits)?;
            // A password opened it: keep an unencrypted working copy; the password is not stored.
            let unlocked = match (&password, inspection.encrypted) {
                (Some(pw), true) => {
                    let out = blobs
                        .scratch_path()
                        .map_err(|e| Error::internal("staging the file", e))?;
                    isolation.unlock(scratch.path(), pw, &out, &limits)?;
                    let copy = std::fs::read(&out)
                        .map_err(|e| Error::internal("reading the unlocked copy", e))?;
                    let _ = std::fs::remove_file(&out);
                    Some(
                        blobs
                            .put(&copy)
                            .map_err(|e| Error::internal("storing the unlocked copy", e))?,
                    )
                }
                _ => None,
            };
            // The original is written (atomically) before the record that points at it; a crash in
            // between leaves an unreferenced blob, never a record without its original.
            blobs
                .put(&bytes)
                .map_err(|e| Error::internal("storing the original", e))?;
            Ok((inspection, unlocked))
        })
        .await
        .map_err(|e| Error::internal("checking the file", e))??
    };
    let (inspection, unlocked) = checked;

    let mut tx = store.write().await?;
    // Checked again under the write lock: another process may have imported the same bytes.
    if let Some(existing) = documents::find_by_checksum(&mut tx, &tenant, key.as_str()).await? {
        return Err(duplicate(existing, &req.file_name));
    }
    let new = NewDocument {
        tenant_id: tenant,
        source: req.source,
        file_name: clean_file_name(&req.file_name),
        mime_type,
        checksum: key.to_string(),
        byte_size: req.bytes.len() as u64,
        page_count: Some(inspection.page_count),
        has_text_layer: inspection.has_text_layer,
        working_blob: unlocked.map(|k| k.to_string()),
        actor: req.actor.clone(),
    };
    let id = documents::insert(&mut tx, &new).await?;
    jobs::enqueue(&mut tx, &process_job(id, 1)).await?;
    let record = documents::get(&mut tx, id).await?;
    tx.commit()
        .await
        .map_err(countersign_store::StoreError::from)?;
    tracing::Span::current().record("document_id", tracing::field::display(id));
    info!(checksum = %record.checksum, mime_type = mime_type.as_str(), pages = inspection.page_count, "document received");
    Ok(IngestOutcome { record })
}

/// Reads `path` (refusing it by size before reading) and ingests it under its file name.
pub async fn ingest_path(
    ws: &Workspace,
    path: &Path,
    source: Source,
    actor: &str,
) -> Result<IngestOutcome, Error> {
    ingest_path_with_password(ws, path, source, actor, None).await
}

/// [`ingest_path`] for a password-protected PDF.
pub async fn ingest_path_with_password(
    ws: &Workspace,
    path: &Path,
    source: Source,
    actor: &str,
    password: Option<String>,
) -> Result<IngestOutcome, Error> {
    let limit = ws.limits().max_bytes;
    let path_owned = path.to_owned();
    let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, Error> {
        let unreadable = |e: std::io::Error| {
            Error::new(
                ErrorCode::UnreadableFile,
                format!("cannot read {}: {e}", path_owned.display()),
            )
        };
        let file = std::fs::File::open(&path_owned).map_err(unreadable)?;
        let meta = file.metadata().map_err(unreadable)?;
        if !meta.is_file() {
            return Err(Error::new(
                ErrorCode::UnreadableFile,
                format!("{} is not a regular file", path_owned.display()),
            ));
        }
        if meta.len() > limit {
            return Err(too_large(meta.len(), limit));
        }
        // Read at most limit+1 bytes: a file growing while we read cannot exceed the limit.
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(unreadable)?;
        Ok(bytes)
    })
    .await
    .map_err(|e| Error::internal("reading the file", e))??;
    ingest(
        ws,
        IngestRequest {
            bytes,
            file_name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            source,
            actor: actor.to_owned(),
            password,
        },
    )
    .await
}

fn too_large(size: u64, limit: u64) -> Error {
    Error::new(
        ErrorCode::TooLarge,
        format!(
            "the file is {:.1} MiB; the limit is {} MiB (max_file_mb in countersign.toml)",
            size as f64 / 1048576.0,
            limit / 1048576
        ),
    )
}

fn duplicate(existing: countersign_core::DocumentId, file_name: &str) -> Error {
    Error {
        code: ErrorCode::Duplicate,
        message: format!(
            "{} was already imported as document {existing}",
            clean_file_name(file_name)
        ),
        document_id: Some(existing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_reduced_to_a_safe_last_component() {
        assert_eq!(clean_file_name("/tmp/x/scan.pdf"), "scan.pdf");
        assert_eq!(clean_file_name("C:\\Users\\a\\scan.pdf"), "scan.pdf");
        assert_eq!(clean_file_name("bad\u{0}\nname.png"), "badname.png");
        assert_eq!(clean_file_name("   "), "unnamed");
        assert!(clean_file_name(&"é".repeat(300)).len() <= MAX_FILE_NAME_LEN);
    }
}

/// Validates another file like an import and renders all its pages into blobs (for inserting
/// them into an existing document). Nothing is recorded; a refused file goes to the rejected area.
pub(crate) async fn render_file_pages(
    ws: &Workspace,
    req: &IngestRequest,
) -> Result<Vec<PageRow>, Error> {
    let result = render_file_pages_inner(ws, req).await;
    if let Err(e) = &result {
        if e.is_rejection() {
            crate::rejected::keep(ws, &req.bytes, &req.file_name, e).await;
        }
    }
    result
}

async fn render_file_pages_inner(
    ws: &Workspace,
    req: &IngestRequest,
) -> Result<Vec<PageRow>, Error> {
    let limits = ws.limits();
    if req.bytes.len() as u64 > limits.max_bytes {
        return Err(too_large(req.bytes.len() as u64, limits.max_bytes));
    }
    let mime = sniff(&req.bytes)?;
    let blobs = ws.store().blobs().clone();
    let isolation = ws.isolation().clone();
    let bytes = req.bytes.clone();
    let password = req.password.clone();
    tokio::task::spawn_blocking(move || -> Result<Vec<PageRow>, Error> {
        let scratch = blobs
            .scratch_file(&bytes)
            .map_err(|e| Error::internal("staging the file", e))?;
        let out = blobs
            .scratch_dir()
            .map_err(|e| Error::internal("staging the file", e))?;
        isolation.inspect(scratch.path(), mime, password.as_deref(), &limits)?;
        let mut rows = Vec::new();
        let mut store_err = None;
        isolation.render(
            scratch.path(),
            mime,
            password.as_deref(),
            &limits,
            0,
            out.path(),
            |page| {
                match (blobs.put_file(&page.png), blobs.put_file(&page.thumbnail)) {
                    (Ok(image), Ok(thumb)) => rows.push(PageRow {
                        index: page.geometry.index,
                        width: page.geometry.width,
                        height: page.geometry.height,
                        dpi: page.geometry.dpi,
                        image_blob: Some(image.to_string()),
                        thumb_blob: Some(thumb.to_string()),
                        rotation: 0,
                    }),
                    (Err(e), _) | (_, Err(e)) => store_err = Some(e),
                }
                Ok(())
            },
        )?;
        if let Some(e) = store_err {
            return Err(Error::internal("storing page images", e));
        }
        Ok(rows)
    })
    .await
    .map_err(|e| Error::internal("rendering the file", e))?
}
