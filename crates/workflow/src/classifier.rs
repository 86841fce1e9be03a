//! The statistical document classifier: trained from the documents whose type a person confirmed
//! (approved for signature, or set by a reviewer), stored in the database, and used by the Route
//! stage where the policy's rules do not decide clearly.

use crate::{Error, Workspace};
use countersign_route::Model;
use countersign_store::{documents, StoreError};
use serde::Serialize;
use std::collections::BTreeMap;

/// Fewer confirmed documents than this (or fewer than two types) train nothing.
pub const MIN_EXAMPLES: usize = 4;

#[derive(Clone, Debug, Serialize)]
pub struct TrainingSummary {
    pub trained: bool,
    pub examples: u32,
    pub per_type: BTreeMap<String, u32>,
    /// Why no model was trained, when none was.
    pub reason: Option<String>,
}

/// The model in use, if one has been trained.
pub async fn current_model(ws: &Workspace) -> Result<Option<Model>, Error> {
    let Some(row) = documents::latest_model(ws.store().pool()).await? else {
        return Ok(None);
    };
    Model::from_json(&row.model)
        .map(Some)
        .map_err(|e| Error::internal("reading the stored classifier", e))
}

/// What the classifier reads of a document: its page texts, one after the other.
pub fn training_text(pages: &[countersign_core::OcrPage]) -> String {
    pages
        .iter()
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `(text, type)` examples are enough to train on: at least [`MIN_EXAMPLES`], of two
/// types or more.
pub fn enough_to_train(examples: &[(String, String)]) -> bool {
    let types: std::collections::BTreeSet<&str> =
        examples.iter().map(|(_, t)| t.as_str()).collect();
    examples.len() >= MIN_EXAMPLES && types.len() >= 2
}

/// The text of a version (what the classifier reads).
async fn version_text(
    ws: &Workspace,
    id: countersign_core::DocumentId,
    version: u32,
) -> Result<String, Error> {
    let pages = crate::query::ocr_pages(ws, id, version).await?;
    Ok(training_text(&pages))
}

/// Trains a new model from every confirmed document and makes it the one in use.
pub async fn retrain(ws: &Workspace) -> Result<TrainingSummary, Error> {
    let confirmed = documents::confirmed_types(ws.store().pool()).await?;
    let mut examples = Vec::with_capacity(confirmed.len());
    let mut per_type: BTreeMap<String, u32> = BTreeMap::new();
    for (id, version, document_type) in confirmed {
        let text = version_text(ws, id, version).await?;
        if text.trim().is_empty() {
            continue;
        }
        *per_type.entry(document_type.clone()).or_default() += 1;
        examples.push((text, document_type));
    }
    let n = examples.len() as u32;
    if !enough_to_train(&examples) {
        return Ok(TrainingSummary {
            trained: false,
            examples: n,
            per_type,
            reason: Some(format!(
                "{n} confirmed documents of {} types; at least {MIN_EXAMPLES} of two types are needed",
                examples.iter().map(|(_, t)| t).collect::<std::collections::BTreeSet<_>>().len()
            )),
        });
    }
    let model = tokio::task::spawn_blocking(move || Model::train(&examples))
        .await
        .map_err(|e| Error::internal("training the classifier", e))?
        .map_err(|e| Error::internal("training the classifier", e))?;
    let mut tx = ws.store().write().await?;
    documents::put_model(&mut tx, n, &per_type, &model.to_json()).await?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(examples = n, types = per_type.len(), "classifier retrained");
    Ok(TrainingSummary {
        trained: true,
        examples: n,
        per_type,
        reason: None,
    })
}
