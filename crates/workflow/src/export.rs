//! The searchable PDF of a document's current version: its page images with an invisible text
//! layer on the recognised words (what gets sent for signature, so anchors such as "Signature:"
//! are found on scanned pages).

use crate::{Error, ErrorCode, Workspace};
use countersign_core::{DocumentId, OcrPage};
use countersign_ocr::pdf::{searchable_pdf, PdfPageInput};
use countersign_store::{documents, BlobKey};

pub async fn export_pdf(ws: &Workspace, id: DocumentId) -> Result<Vec<u8>, Error> {
    let record = crate::query::current_record(ws, id).await?;
    let pages = documents::page_rows(ws.store().pool(), id, record.version).await?;
    let ocr = documents::ocr_pages(ws.store().pool(), id, record.version).await?;
    if pages.is_empty() || pages.iter().any(|p| p.image_blob.is_none()) || ocr.len() != pages.len()
    {
        return Err(Error::new(
            ErrorCode::NotReady,
            format!(
                "document {id} is still being processed (pages rendered and read: {} of {})",
                ocr.len(),
                pages.len()
            ),
        ));
    }
    let blobs = ws.store().blobs().clone();
    tokio::task::spawn_blocking(move || -> Result<Vec<u8>, Error> {
        let read = |k: &str| -> Result<Vec<u8>, Error> {
            let key = BlobKey::parse(k)
                .ok_or_else(|| Error::internal("exporting", "a malformed blob key"))?;
            blobs.get(&key).map_err(|e| Error::internal("exporting", e))
        };
        let mut images = Vec::with_capacity(pages.len());
        let mut texts: Vec<OcrPage> = Vec::with_capacity(pages.len());
        for (page, words) in pages.iter().zip(&ocr) {
            images.push((
                read(page.image_blob.as_deref().unwrap_or_default())?,
                page.dpi.unwrap_or(300) as f32,
            ));
            texts.push(
                serde_json::from_slice(&read(&words.result_blob)?)
                    .map_err(|e| Error::internal("exporting", e))?,
            );
        }
        let inputs: Vec<PdfPageInput> = images
            .iter()
            .zip(&texts)
            .map(|((png, dpi), ocr)| PdfPageInput {
                image_png: png,
                dpi: *dpi,
                ocr,
            })
            .collect();
        searchable_pdf(&inputs).map_err(|e| Error::internal("writing the searchable PDF", e))
    })
    .await
    .map_err(|e| Error::internal("exporting", e))?
}

/// The OCR of a document's current version as hOCR.
pub async fn export_hocr(ws: &Workspace, id: DocumentId) -> Result<String, Error> {
    let record = crate::show(ws, id, crate::ShowOptions { with_ocr: true }).await?;
    let Some(ocr) = record.ocr.filter(|o| !o.pages.is_empty()) else {
        return Err(Error::new(
            ErrorCode::NotReady,
            format!("document {id} has not been read yet"),
        ));
    };
    Ok(countersign_ocr::hocr::hocr(&ocr, &record.file_name))
}

/// The PDF a person exports: the provider's signed PDF once signing completed, otherwise the
/// searchable PDF. `(bytes, signed)`.
pub async fn document_pdf(ws: &Workspace, id: DocumentId) -> Result<(Vec<u8>, bool), Error> {
    match crate::send::evidence_bytes(ws, id, "signed_pdf").await {
        Ok(bytes) => Ok((bytes, true)),
        Err(e) if e.code == ErrorCode::NotFound => Ok((export_pdf(ws, id).await?, false)),
        Err(e) => Err(e),
    }
}
