//! `countersign ocr FILE`: read a file's text with no side effects — nothing is stored, no data
//! dir is touched. The same validation, rendering and engines as an import.

use crate::{Error, ErrorCode};
use countersign_capture::isolate::Isolation;
use countersign_capture::{sniff, Limits};
use countersign_core::OcrDocument;
use countersign_ocr::engine::{PageJob, Pool};
use std::path::Path;

pub async fn ocr_file(path: &Path) -> Result<OcrDocument, Error> {
    ocr_file_with_progress(path, |_, _| {}).await
}

/// [`ocr_file`], calling `on_page(pages done, pages in the file)` as each page is read.
pub async fn ocr_file_with_progress(
    path: &Path,
    mut on_page: impl FnMut(u32, u32) + Send + 'static,
) -> Result<OcrDocument, Error> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || -> Result<OcrDocument, Error> {
        let limits = Limits::default();
        let meta = std::fs::metadata(&path).map_err(|e| {
            Error::new(
                ErrorCode::UnreadableFile,
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        if meta.len() > limits.max_bytes {
            return Err(Error::new(
                ErrorCode::TooLarge,
                format!("{} is larger than the import limit", path.display()),
            ));
        }
        let bytes = std::fs::read(&path).map_err(|e| {
            Error::new(
                ErrorCode::UnreadableFile,
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        let mime = sniff(&bytes)?;
        let isolation = Isolation::detect();
        isolation.inspect(&path, mime, None, &limits)?;
        let scratch =
            tempfile::tempdir().map_err(|e| Error::internal("making a scratch dir", e))?;
        // Pages go to the engines as soon as they are rendered.
        let pool = Pool::per_core();
        let (reply, results) = Pool::results();
        let mut total = 0u32;
        // Raw pages (no PNG to encode and decode again): they are read and thrown away.
        let rendered = isolation.render_encoded(
            &path,
            mime,
            None,
            &limits,
            0,
            scratch.path(),
            countersign_capture::decode::PageEncoding::Raw,
            |page| {
                let image = std::fs::read(&page.png)
                    .map_err(|e| countersign_capture::CaptureError::Internal(e.to_string()))?;
                total += 1;
                pool.submit(
                    PageJob {
                        index: page.geometry.index,
                        image,
                        dpi: page.geometry.dpi,
                        keep_straightened: false,
                    },
                    &reply,
                );
                Ok(())
            },
        );
        drop(reply);
        if let Err(e) = rendered {
            pool.shutdown();
            return Err(e.into());
        }
        let mut pages = Vec::with_capacity(total as usize);
        on_page(0, total);
        for result in results.iter() {
            match result {
                Ok(output) => pages.push(output.page),
                Err(e) => {
                    pool.shutdown();
                    return Err(Error::new(ErrorCode::EngineUnavailable, e.to_string()));
                }
            }
            on_page(pages.len() as u32, total);
        }
        pool.shutdown();
        pages.sort_by_key(|p| p.index);
        Ok(OcrDocument { pages })
    })
    .await
    .map_err(|e| Error::internal("reading the file", e))?
}
