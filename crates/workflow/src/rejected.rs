//! The rejected area: every file refused at the edge is kept in `<data dir>/rejected/` with a
//! `.reason.json` beside it, listed in the app, and can be imported again (with a password).

use crate::{Error, ErrorCode, IngestOutcome, IngestRequest, Workspace};
use countersign_core::Source;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use ts_rs::TS;

pub const DIR: &str = "rejected";

/// A file that was refused, as listed to the user.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct RejectedFile {
    /// The name in the rejected area (unique); pass it to [`retry`].
    pub rejected_id: String,
    pub file_name: String,
    pub code: ErrorCode,
    pub message: String,
    pub at: String,
    #[ts(type = "number")]
    pub byte_size: u64,
}

#[derive(Serialize, Deserialize)]
struct Reason {
    file_name: String,
    #[serde(default)]
    checksum: String,
    code: ErrorCode,
    message: String,
    at: String,
    byte_size: u64,
}

fn dir(ws: &Workspace) -> PathBuf {
    ws.data_dir().join(DIR)
}

/// Keeps `bytes` and why they were refused. Best effort: failing to keep a copy is logged, and the
/// caller's error still reaches the user.
pub async fn keep(ws: &Workspace, bytes: &[u8], file_name: &str, why: &Error) {
    let dir = dir(ws);
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ").to_string();
    let key = countersign_store::BlobKey::of(bytes);
    let safe: String = file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("file")
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let id = format!("{stamp}-{}-{safe}", &key.as_str()[..8]);
    let reason = Reason {
        file_name: file_name.to_owned(),
        checksum: key.to_string(),
        code: why.code,
        message: why.message.clone(),
        at: chrono::Utc::now().to_rfc3339(),
        byte_size: bytes.len() as u64,
    };
    let bytes = bytes.to_vec();
    let result = tokio::task::spawn_blocking(move || -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(&id);
        std::fs::write(&path, &bytes)?;
        std::fs::File::open(&path)?.sync_all()?;
        std::fs::write(
            dir.join(format!("{id}.reason.json")),
            serde_json::to_vec_pretty(&reason)?,
        )?;
        Ok(path)
    })
    .await;
    match result {
        Ok(Ok(path)) => {
            tracing::info!(path = %path.display(), code = why.code.as_str(), "kept the refused file")
        }
        Ok(Err(e)) => tracing::error!(error = %e, "could not keep the refused file"),
        Err(e) => tracing::error!(error = %e, "could not keep the refused file"),
    }
}

/// Refused files not imported since (e.g. with their password), newest first.
pub async fn list(ws: &Workspace) -> Result<Vec<RejectedFile>, Error> {
    let dir = dir(ws);
    let tenant = ws.config().tenant_id.clone();
    let mut conn = ws
        .store()
        .pool()
        .acquire()
        .await
        .map_err(countersign_store::StoreError::from)?;
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(out);
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(id) = name.strip_suffix(".reason.json") else {
            continue;
        };
        let Ok(text) = std::fs::read(entry.path()) else {
            continue;
        };
        let Ok(reason) = serde_json::from_slice::<Reason>(&text) else {
            continue;
        };
        if !reason.checksum.is_empty()
            && countersign_store::documents::find_by_checksum(&mut conn, &tenant, &reason.checksum)
                .await?
                .is_some()
        {
            continue;
        }
        out.push(RejectedFile {
            rejected_id: id.to_owned(),
            file_name: reason.file_name,
            code: reason.code,
            message: reason.message,
            at: reason.at,
            byte_size: reason.byte_size,
        });
    }
    out.sort_by(|a, b| b.rejected_id.cmp(&a.rejected_id));
    Ok(out)
}

/// Imports a refused file again (e.g. with the password it needed). On success it leaves the
/// rejected area; on failure it stays (the new reason is recorded as a new entry only if it
/// differs).
pub async fn retry(
    ws: &Workspace,
    rejected_id: &str,
    password: Option<String>,
    actor: &str,
) -> Result<IngestOutcome, Error> {
    if rejected_id.contains(['/', '\\']) || rejected_id.starts_with('.') {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "not a rejected file id",
        ));
    }
    let path = dir(ws).join(rejected_id);
    let reason_path = dir(ws).join(format!("{rejected_id}.reason.json"));
    let reason: Reason = std::fs::read(&reason_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| {
            Error::new(
                ErrorCode::NotFound,
                format!("no rejected file {rejected_id}"),
            )
        })?;
    let bytes = std::fs::read(&path)
        .map_err(|e| Error::new(ErrorCode::NotFound, format!("{rejected_id}: {e}")))?;
    let result = crate::ingest::accept_only(
        ws,
        IngestRequest {
            bytes,
            file_name: reason.file_name,
            source: Source::Upload,
            actor: actor.to_owned(),
            password,
        },
    )
    .await;
    if result.is_ok() || matches!(&result, Err(e) if e.code == ErrorCode::Duplicate) {
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(&reason_path);
    }
    result
}
