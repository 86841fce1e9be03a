//! Review: what a reviewer sees of a flagged document and everything they can do to it.
//!
//! Every correction (a word, a field value, the document type), every undo and every decision
//! (approve, reject, quarantine) makes a new version derived from the current one, with one
//! audit entry holding the reviewer, the old and the new value. A corrected word is written into
//! the version's words, so the searchable PDF's text layer (and signature anchors found in it)
//! carry the correction. After a correction the routing is decided again on the corrected words
//! with the reviewer's values on top, so "why flagged" shows what is still left to do.
//!
//! Optimistic concurrency: a change names the version it was made on (`at`); if the document
//! moved on meanwhile (another reviewer, the CLI) it fails with `conflict`.

use crate::{Error, ErrorCode, Workspace};
use countersign_core::{DocumentId, DocumentRecord, OcrDocument, OcrPage, PageInfo, Status};
use countersign_route::{Hints, RouteOutcome, Vocabulary};
use countersign_store::documents::{self, OcrPageRow, Routing};
use countersign_store::review::{self as store_review, Correction, Derive, NewCorrection, Target};
use countersign_store::{audit, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use ts_rs::TS;

/// Longest reviewer name, reason or corrected word accepted.
pub const MAX_TEXT: usize = 500;

/// Fields whose confirmed values become the tenant's vocabulary (names of organisations and
/// people that extraction then recognises, even misread).
pub const NAME_FIELDS: [&str; 5] = [
    "vendor_name",
    "party_a",
    "party_b",
    "counterparty_name",
    "employee_name",
];

/// How the route crate words "the policy sends every <type> document to review": a rule, not a
/// doubt, so it is not a flag (checked by a test below against the route crate's wording).
const POLICY_REVIEW_REASON_PREFIX: &str = "policy sends every ";

/// Statuses in which a document can be corrected and decided.
const REVIEWABLE: [Status; 2] = [Status::NeedsReview, Status::Quarantined];

/// Everything the review screen shows for one document (its current version).
#[derive(Clone, Debug, Serialize, TS)]
pub struct ReviewView {
    /// The record with `ocr` (words, boxes, confidences).
    pub record: DocumentRecord,
    pub pages: Vec<PageInfo>,
    pub thresholds: ReviewThresholds,
    pub classification: ClassificationView,
    /// Reasons a person must look at the document (empty: nothing flagged).
    pub flags: Vec<String>,
    /// Fields the document's type requires that were not read (the reviewer can fill them in).
    pub missing_fields: Vec<String>,
    /// The envelope approving would create.
    pub envelope: EnvelopeDraft,
    /// Types a reviewer can pick (reroute), with their routes.
    pub document_types: Vec<TypeChoice>,
    /// Versions and audit entries, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// The reviewer's corrections still in effect, oldest first (the last one can be undone).
    pub corrections: Vec<CorrectionView>,
    /// Whether corrections and decisions are possible in this status.
    pub reviewable: bool,
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct ReviewThresholds {
    /// Words read with less confidence are highlighted; Tab stops at them.
    pub low_word_confidence: f64,
    /// Fields read with less confidence are flagged.
    pub min_field_confidence: f64,
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct ClassificationView {
    pub document_type: Option<String>,
    pub confidence: Option<f64>,
    /// `rules`, `rules_and_classifier`, `classifier`, `reviewer` or `none`.
    pub basis: Option<String>,
    /// Types whose rules found evidence, most points first.
    pub rules: Vec<RuleEvidence>,
    /// Classifier probabilities, highest first (empty without a trained classifier).
    pub classifier: Vec<TypeProbability>,
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct RuleEvidence {
    pub document_type: String,
    pub points: u32,
    pub clear: bool,
    pub evidence: Vec<String>,
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct TypeProbability {
    pub document_type: String,
    pub probability: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct EnvelopeRecipient {
    pub role: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// 1 signs first.
    pub routing_order: u32,
}

/// A signing position: at the anchor text found on a page, or at the route's fallback.
#[derive(Clone, Debug, Serialize, TS)]
pub struct AnchorPlacement {
    pub role: Option<String>,
    pub anchor_text: String,
    /// 0-based page.
    pub page: u32,
    /// Where the signature goes, in page pixels (`[x0, y0, x1, y1]`).
    pub bbox: [u32; 4],
    /// The anchor text was found (else the fallback coordinates are used).
    pub found: bool,
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct EnvelopeDraft {
    pub route: Option<String>,
    pub department: Option<String>,
    pub policy_tags: Vec<String>,
    pub recipients: Vec<EnvelopeRecipient>,
    pub carbon_copies: Vec<EnvelopeRecipient>,
    pub anchors: Vec<AnchorPlacement>,
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct TypeChoice {
    pub document_type: String,
    pub route: String,
    /// Fields the policy requires for this type (a missing one is a reason for review).
    pub required_fields: Vec<String>,
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct TimelineEntry {
    #[ts(type = "number")]
    pub seq: i64,
    pub at: String,
    pub version: Option<u32>,
    pub actor: String,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    /// The entry in one sentence.
    pub summary: String,
}

#[derive(Clone, Debug, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CorrectionTarget {
    Word { page: u32, word: u32 },
    Field { field: String },
    Type,
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct CorrectionView {
    #[ts(type = "number")]
    pub seq: i64,
    pub version: u32,
    pub target: CorrectionTarget,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub reviewer: String,
    pub at: String,
}

/// One change a reviewer makes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ReviewChange {
    /// The word `word` (index in the page's words) of page `page` reads `text`.
    CorrectWord { page: u32, word: u32, text: String },
    /// A field's value (normalised like extraction does: dates ISO 8601, amounts decimal).
    SetField { field: String, value: String },
    /// The document is of this type (a policy type or `unclassified`); routed by it.
    SetType { document_type: String },
    /// Withdraws the reviewer's most recent correction still in effect.
    Undo,
}

/// A reviewer's decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum ReviewDecision {
    Approve,
    Reject { reason: String },
    Quarantine { reason: String },
}

fn check_text(what: &str, value: &str) -> Result<String, Error> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!("{what} must not be empty"),
        ));
    }
    if v.chars().count() > MAX_TEXT || v.chars().any(|c| c.is_control() && c != '\t') {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!("{what} must be one line of at most {MAX_TEXT} characters"),
        ));
    }
    Ok(v.to_owned())
}

use crate::query::current_record as current;

fn check_version(record: &DocumentRecord, at: Option<u32>) -> Result<(), Error> {
    match at {
        Some(v) if v != record.version => Err(Error::new(
            ErrorCode::Conflict,
            format!(
                "document {} changed meanwhile: version {} is current, not {v}; reload it",
                record.document_id, record.version
            ),
        )),
        _ => Ok(()),
    }
}

fn check_reviewable(record: &DocumentRecord) -> Result<(), Error> {
    if REVIEWABLE.contains(&record.status) {
        Ok(())
    } else {
        Err(Error::new(
            ErrorCode::InvalidState,
            format!(
                "a document that is {} cannot be reviewed (only needs_review or quarantined)",
                record.status.as_str()
            ),
        ))
    }
}

/// The reviewer's values in effect after `corrections` (oldest first): the type and the
/// fields, each the newest value (`None`: withdrawn).
fn fold(corrections: &[Correction]) -> (Option<String>, BTreeMap<String, String>) {
    let mut document_type = None;
    let mut fields: BTreeMap<String, Option<String>> = BTreeMap::new();
    for c in corrections {
        match &c.target {
            Target::Type => document_type = c.new_value.clone(),
            Target::Field(name) => {
                fields.insert(name.clone(), c.new_value.clone());
            }
            Target::Word { .. } => {}
        }
    }
    let fields = fields
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    (document_type, fields)
}

/// The corrections still in effect: those neither undone nor undoing, oldest first.
fn in_effect(corrections: &[Correction]) -> Vec<&Correction> {
    let undone: std::collections::BTreeSet<i64> =
        corrections.iter().filter_map(|c| c.undoes).collect();
    corrections
        .iter()
        .filter(|c| c.undoes.is_none() && !undone.contains(&c.seq))
        .collect()
}

/// The reviewer's values (from `corrections`, oldest first) and the tenant's vocabulary, for
/// routing a version of `record`.
pub(crate) async fn hints(
    ws: &Workspace,
    record: &DocumentRecord,
    corrections: &[Correction],
) -> Result<Hints, Error> {
    let vocabulary = Vocabulary {
        fields: store_review::vocabulary(ws.store().pool(), &record.tenant_id).await?,
    };
    let (document_type, fields) = fold(corrections);
    Ok(Hints {
        document_type,
        fields,
        vocabulary,
    })
}

/// The routing of `pages` under the policy in force, the classifier, the tenant's vocabulary
/// and the reviewer's values.
async fn decide(
    ws: &Workspace,
    record: &DocumentRecord,
    pages: &[OcrPage],
    corrections: &[Correction],
) -> Result<RouteOutcome, Error> {
    let policy = crate::policy::load(ws).await?;
    let model = crate::classifier::current_model(ws).await?;
    let hints = hints(ws, record, corrections).await?;
    let pages = pages.to_vec();
    tokio::task::spawn_blocking(move || {
        countersign_route::route_with(&policy.policy, &pages, model.as_ref(), &hints)
    })
    .await
    .map_err(|e| Error::internal("deciding the routing", e))
}

fn search_fields(fields: &BTreeMap<String, countersign_core::Field>) -> String {
    fields
        .iter()
        .map(|(k, f)| format!("{k} {}", f.value))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Replaces the document's row in the queue's search index (in the caller's transaction).
pub(crate) async fn index_for_search(
    tx: &mut countersign_store::Tx,
    id: DocumentId,
    file_name: &str,
    pages: &[OcrPage],
    fields: &BTreeMap<String, countersign_core::Field>,
) -> Result<(), Error> {
    let body = pages
        .iter()
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join("\n\n");
    store_review::index_document(tx, id, file_name, &body, &search_fields(fields)).await?;
    Ok(())
}

/// Applies one change as a new version; returns the new record.
pub async fn change_document(
    ws: &Workspace,
    id: DocumentId,
    at: Option<u32>,
    change: ReviewChange,
    reviewer: &str,
) -> Result<DocumentRecord, Error> {
    let reviewer = check_text("the reviewer's name", reviewer)?;
    let record = current(ws, id).await?;
    check_version(&record, at)?;
    check_reviewable(&record)?;
    let mut pages = crate::query::ocr_pages(ws, id, record.version).await?;
    let mut corrections = store_review::corrections(ws.store().pool(), id).await?;
    let policy = crate::policy::load(ws).await?;
    let version = record.version + 1;

    // What changes: (target, old, new, undoes), and a rewritten page for a word.
    let mut replaced: Option<OcrPage> = None;
    let (target, old_value, new_value, undoes) = match &change {
        ReviewChange::CorrectWord { page, word, text } => {
            let text = check_text("a corrected word", text)?;
            let p = pages.get_mut(*page as usize).ok_or_else(|| {
                Error::new(
                    ErrorCode::InvalidArgument,
                    format!("there is no page {} with words", page + 1),
                )
            })?;
            let was_sure = p
                .words
                .get(*word as usize)
                .is_some_and(|w| w.confidence >= 1.0);
            let old = p.correct_word(*word as usize, &text).ok_or_else(|| {
                Error::new(
                    ErrorCode::InvalidArgument,
                    format!("page {} has no word {}", page + 1, word),
                )
            })?;
            // The same text confirms a word read correctly (it stops being flagged); a word a
            // person already vouched for has nothing left to confirm.
            if old == text && was_sure {
                return Err(Error::new(
                    ErrorCode::InvalidArgument,
                    format!("the word already reads {text:?}"),
                ));
            }
            replaced = Some(p.clone());
            (
                Target::Word {
                    page: *page,
                    word: *word,
                },
                Some(old),
                Some(text),
                None,
            )
        }
        ReviewChange::SetField { field, value } => {
            let value = check_text(&format!("the value of {field}"), value)?;
            let value = countersign_route::check_field_value(&policy.policy, field, &value)
                .map_err(|e| Error::new(ErrorCode::InvalidArgument, e.to_string()))?;
            let old = record.fields.get(field).map(|f| f.value.clone());
            if old.as_deref() == Some(value.as_str()) {
                return Err(Error::new(
                    ErrorCode::InvalidArgument,
                    format!("{field} already reads {value:?}"),
                ));
            }
            (Target::Field(field.clone()), old, Some(value), None)
        }
        ReviewChange::SetType { document_type } => {
            countersign_route::check_document_type(&policy.policy, document_type)
                .map_err(|e| Error::new(ErrorCode::InvalidArgument, e.to_string()))?;
            let old = record.document_type.clone();
            if old.as_deref() == Some(document_type.as_str())
                && fold(&corrections).0.as_deref() == Some(document_type.as_str())
            {
                return Err(Error::new(
                    ErrorCode::InvalidArgument,
                    format!("the document is already a confirmed {document_type}"),
                ));
            }
            (Target::Type, old, Some(document_type.clone()), None)
        }
        ReviewChange::Undo => {
            let last = in_effect(&corrections)
                .last()
                .copied()
                .cloned()
                .ok_or_else(|| {
                    Error::new(ErrorCode::InvalidState, "there is no correction to undo")
                })?;
            if let Target::Word { page, word } = last.target {
                // The word as it was before the correction (text and the engine's confidence),
                // from the version the correction was made on.
                let earlier = crate::query::ocr_pages(ws, id, last.version - 1).await?;
                let was = earlier
                    .get(page as usize)
                    .and_then(|p| p.words.get(word as usize))
                    .cloned()
                    .ok_or_else(|| {
                        Error::internal("undoing a correction", "the corrected word is gone")
                    })?;
                let p = pages.get_mut(page as usize).ok_or_else(|| {
                    Error::internal("undoing a correction", "the corrected page is gone")
                })?;
                let slot = p.words.get_mut(word as usize).ok_or_else(|| {
                    Error::internal("undoing a correction", "the corrected word is gone")
                })?;
                *slot = was;
                p.rebuild_text();
                replaced = Some(p.clone());
            }
            let now = match &last.target {
                Target::Word { .. } => last.new_value.clone(),
                Target::Field(name) => record.fields.get(name).map(|f| f.value.clone()),
                Target::Type => record.document_type.clone(),
            };
            // Undoing a field or type withdraws the reviewer's value (NULL): routing reads it
            // from the document again.
            let restored = match last.target {
                Target::Word { .. } => last.old_value.clone(),
                _ => None,
            };
            (last.target.clone(), now, restored, Some(last.seq))
        }
    };

    // The pending correction takes part in the new decision.
    corrections.push(Correction {
        seq: i64::MAX,
        version,
        target: target.clone(),
        old_value: old_value.clone(),
        new_value: new_value.clone(),
        reviewer: reviewer.clone(),
        at: countersign_store::now(),
        undoes,
    });
    let outcome = decide(ws, &record, &pages, &corrections).await?;
    let outcome_json = serde_json::to_value(&outcome).expect("a routing outcome serializes");

    // A page blob for a corrected word.
    let replaced_row = match &replaced {
        Some(page) => {
            let json = serde_json::to_vec(page).expect("an OCR page serializes");
            let blobs = ws.store().blobs().clone();
            let key = tokio::task::spawn_blocking(move || blobs.put(&json))
                .await
                .map_err(|e| Error::internal("storing corrected words", e))?
                .map_err(|e| Error::internal("storing corrected words", e))?;
            let rows = documents::ocr_pages(ws.store().pool(), id, record.version).await?;
            let prev = rows.into_iter().find(|r| r.index == page.index);
            Some(OcrPageRow {
                index: page.index,
                result_blob: key.to_string(),
                raw_blob: prev.as_ref().and_then(|r| r.raw_blob.clone()),
                engine: prev.and_then(|r| r.engine),
                mean_confidence: page.mean_confidence,
                word_count: page.words.len() as u32,
            })
        }
        None => None,
    };
    let ocr_confidence = mean_confidence(&pages).or(record.ocr_confidence);

    let (action, target_json) = match (&target, undoes.is_some()) {
        (_, true) => ("undo_correction", target_json(&target)),
        (Target::Word { .. }, false) if old_value == new_value => {
            ("confirm_word", target_json(&target))
        }
        (Target::Word { .. }, false) => ("correct_word", target_json(&target)),
        (Target::Field(_), false) => ("correct_field", target_json(&target)),
        (Target::Type, false) => ("type_confirmed", target_json(&target)),
    };
    let mut detail = serde_json::json!({
        "reviewer": reviewer,
        "from_version": record.version,
        "target": target_json,
        "old_value": old_value,
        "new_value": new_value,
        "decision": outcome.decision,
    });
    if let Some(seq) = undoes {
        detail["undoes"] = seq.into();
    }
    // A quarantined document the reviewer gives a type is released to review.
    let status = if record.status == Status::Quarantined && matches!(target, Target::Type) {
        Status::NeedsReview
    } else {
        record.status
    };

    let mut tx = ws.store().write().await?;
    let v = store_review::derive_version(
        &mut tx,
        id,
        record.version,
        Derive {
            status,
            replaced_pages: replaced_row.as_slice(),
            routing: Some(Routing {
                ocr_confidence: ocr_confidence.unwrap_or(0.0),
                document_type: &outcome.document_type,
                classification_confidence: outcome.classification_confidence,
                decision: &outcome.decision,
                route: outcome.route.as_deref(),
                fields: &outcome.fields,
                department: outcome.department.as_deref(),
                policy_tags: &outcome.policy_tags,
                retention_class: outcome.retention_class.as_deref(),
                outcome: &outcome_json,
            }),
            actor: &reviewer,
            action,
            detail,
            restart: false,
        },
    )
    .await?;
    store_review::put_correction(
        &mut tx,
        id,
        &NewCorrection {
            version: v,
            target: &target,
            old_value: old_value.as_deref(),
            new_value: new_value.as_deref(),
            reviewer: &reviewer,
            undoes,
        },
    )
    .await?;
    if let (Target::Field(name), Some(value), None) = (&target, &new_value, undoes) {
        if NAME_FIELDS.contains(&name.as_str()) {
            store_review::learn_name(&mut tx, &record.tenant_id, name, value).await?;
        }
    }
    index_for_search(&mut tx, id, &record.file_name, &pages, &outcome.fields).await?;
    let updated = documents::get(&mut tx, id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(document_id = %id, version = v, action, "review change");
    if matches!(target, Target::Type) {
        retrain_quietly(ws).await;
    }
    Ok(updated)
}

fn target_json(t: &Target) -> serde_json::Value {
    match t {
        Target::Word { page, word } => {
            serde_json::json!({"kind": "word", "page": page, "word": word})
        }
        Target::Field(name) => serde_json::json!({"kind": "field", "field": name}),
        Target::Type => serde_json::json!({"kind": "type"}),
    }
}

fn mean_confidence(pages: &[OcrPage]) -> Option<f64> {
    let n: usize = pages.iter().map(|p| p.words.len()).sum();
    (n > 0).then(|| {
        pages
            .iter()
            .flat_map(|p| &p.words)
            .map(|w| w.confidence)
            .sum::<f64>()
            / n as f64
    })
}

/// A confirmed type is training data: retrain the classifier (a failure only costs accuracy
/// until the next confirmation, so it is logged, not returned).
async fn retrain_quietly(ws: &Workspace) {
    if let Err(e) = crate::classifier::retrain(ws).await {
        tracing::warn!(error = %e.message, "retraining the classifier after a confirmation failed");
    }
}

/// Records a reviewer's decision as a new version in `approved`, `rejected` or `quarantined`.
/// Approving needs a document type with a route; rejecting and quarantining need a reason.
pub async fn decide_document(
    ws: &Workspace,
    id: DocumentId,
    at: Option<u32>,
    decision: ReviewDecision,
    reviewer: &str,
) -> Result<DocumentRecord, Error> {
    let reviewer = check_text("the reviewer's name", reviewer)?;
    let record = current(ws, id).await?;
    check_version(&record, at)?;
    let (status, action, reason) = match &decision {
        ReviewDecision::Approve => (Status::Approved, "approve", None),
        ReviewDecision::Reject { reason } => (
            Status::Rejected,
            "reject",
            Some(check_text("a reason for rejecting", reason)?),
        ),
        ReviewDecision::Quarantine { reason } => (
            Status::Quarantined,
            "quarantine",
            Some(check_text("a reason for quarantining", reason)?),
        ),
    };
    if record.status.transition(status).is_err() {
        return Err(Error::new(
            ErrorCode::InvalidState,
            match record.status {
                Status::Quarantined => format!(
                    "a quarantined document cannot be {}d directly: give it a type first (reroute), which releases it to review",
                    action
                ),
                s => format!("a document that is {} cannot be {}d", s.as_str(), action),
            },
        ));
    }
    if status == Status::Approved {
        let routable = record
            .document_type
            .as_deref()
            .is_some_and(|t| t != countersign_route::UNCLASSIFIED)
            && record.route.is_some();
        if !routable {
            return Err(Error::new(
                ErrorCode::InvalidState,
                "an unclassified document cannot be approved: set its type first",
            ));
        }
    }
    let detail = serde_json::json!({
        "reviewer": reviewer,
        "from_version": record.version,
        "reason": reason,
        "document_type": record.document_type,
        "route": record.route,
        "fields": record.fields,
    });
    let mut tx = ws.store().write().await?;
    let v = store_review::derive_version(
        &mut tx,
        id,
        record.version,
        Derive {
            status,
            replaced_pages: &[],
            routing: None,
            actor: &reviewer,
            action,
            detail,
            restart: false,
        },
    )
    .await?;
    if status == Status::Approved {
        // Names on an approved document are confirmed: they join the tenant's vocabulary.
        for name in NAME_FIELDS {
            if let Some(f) = record.fields.get(name) {
                store_review::learn_name(&mut tx, &record.tenant_id, name, &f.value).await?;
            }
        }
    }
    let updated = documents::get(&mut tx, id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(document_id = %id, version = v, action, "review decision");
    if status == Status::Approved {
        retrain_quietly(ws).await;
    }
    Ok(updated)
}

/// The reasons a document is flagged: its decision's reasons, except that the policy sends
/// every document of its type to review (that one is a rule, not a doubt).
pub fn flags(record: &DocumentRecord) -> Vec<String> {
    record
        .decision
        .iter()
        .flat_map(|d| &d.reasons)
        .filter(|r| !r.starts_with(POLICY_REVIEW_REASON_PREFIX))
        .cloned()
        .collect()
}

/// Approves every listed document that is in `needs_review` with nothing flagged and a routed
/// type. Returns the approved records and, for each one left alone, why.
pub async fn bulk_approve(
    ws: &Workspace,
    ids: &[DocumentId],
    reviewer: &str,
) -> Result<BulkOutcome, Error> {
    let mut out = BulkOutcome::default();
    for &id in ids {
        let record = current(ws, id).await?;
        let problem = if record.status != Status::NeedsReview {
            Some(format!("it is {}", record.status.as_str()))
        } else if !flags(&record).is_empty() {
            Some("it has flags a reviewer must look at".to_string())
        } else {
            None
        };
        match problem {
            Some(reason) => out.skipped.push(Skipped {
                document_id: id,
                reason,
            }),
            None => match decide_document(
                ws,
                id,
                Some(record.version),
                ReviewDecision::Approve,
                reviewer,
            )
            .await
            {
                Ok(r) => out.approved.push(r),
                Err(e) => out.skipped.push(Skipped {
                    document_id: id,
                    reason: e.message,
                }),
            },
        }
    }
    Ok(out)
}

#[derive(Clone, Debug, Default, Serialize, TS)]
pub struct BulkOutcome {
    pub approved: Vec<DocumentRecord>,
    pub skipped: Vec<Skipped>,
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct Skipped {
    pub document_id: DocumentId,
    pub reason: String,
}

/// Changes the recipients of an approved document's envelope (names, emails, signing order) as
/// a new version; the route's roles stay.
pub async fn set_recipients(
    ws: &Workspace,
    id: DocumentId,
    at: Option<u32>,
    recipients: Vec<EnvelopeRecipient>,
    reviewer: &str,
) -> Result<DocumentRecord, Error> {
    let reviewer = check_text("the reviewer's name", reviewer)?;
    let record = current(ws, id).await?;
    check_version(&record, at)?;
    if !matches!(
        record.status,
        Status::Approved | Status::NeedsReview | Status::Routed
    ) {
        return Err(Error::new(
            ErrorCode::InvalidState,
            format!(
                "the recipients of a document that is {} cannot change",
                record.status.as_str()
            ),
        ));
    }
    if recipients.is_empty() {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "an envelope needs at least one signer",
        ));
    }
    for r in &recipients {
        check_text("a recipient's role", &r.role)?;
        if let Some(name) = &r.name {
            check_text("a recipient's name", name)?;
        }
        if let Some(email) = &r.email {
            let email = check_text("a recipient's email", email)?;
            let valid = email
                .split_once('@')
                .is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !b.ends_with('.'));
            if !valid || email.contains(char::is_whitespace) {
                return Err(Error::new(
                    ErrorCode::InvalidArgument,
                    format!("{email:?} is not an email address"),
                ));
            }
        }
        if r.routing_order == 0 || r.routing_order > 100 {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "signing order starts at 1 (at most 100)",
            ));
        }
    }
    let mut outcome: RouteOutcome =
        match documents::routing(ws.store().pool(), id, record.version).await? {
            Some(json) => serde_json::from_value(json)
                .map_err(|e| Error::internal("reading the routing outcome", e))?,
            None => {
                return Err(Error::new(
                    ErrorCode::InvalidState,
                    "the document has not been routed",
                ))
            }
        };
    let old: Vec<EnvelopeRecipient> = outcome.recipients.iter().map(recipient_view).collect();
    outcome.recipients = recipients
        .iter()
        .map(|r| countersign_route::Recipient {
            role: r.role.clone(),
            name: r.name.clone(),
            email: r.email.clone(),
            routing_order: r.routing_order,
            from_fields: Vec::new(),
        })
        .collect();
    outcome.recipients.sort_by_key(|r| r.routing_order);
    let outcome_json = serde_json::to_value(&outcome).expect("a routing outcome serializes");
    let mut tx = ws.store().write().await?;
    store_review::derive_version(
        &mut tx,
        id,
        record.version,
        Derive {
            status: record.status,
            replaced_pages: &[],
            routing: Some(Routing {
                ocr_confidence: record.ocr_confidence.unwrap_or(0.0),
                document_type: record.document_type.as_deref().unwrap_or("unclassified"),
                classification_confidence: record.classification_confidence.unwrap_or(0.0),
                decision: record.decision.as_ref().unwrap_or(&outcome.decision),
                route: record.route.as_deref(),
                fields: &record.fields,
                department: record.department.as_deref(),
                policy_tags: &record.policy_tags,
                retention_class: record.retention_class.as_deref(),
                outcome: &outcome_json,
            }),
            restart: false,
            actor: &reviewer,
            action: "edit_recipients",
            detail: serde_json::json!({
                "reviewer": reviewer,
                "from_version": record.version,
                "old_value": old,
                "new_value": recipients,
            }),
        },
    )
    .await?;
    let updated = documents::get(&mut tx, id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(updated)
}

fn recipient_view(r: &countersign_route::Recipient) -> EnvelopeRecipient {
    EnvelopeRecipient {
        role: r.role.clone(),
        name: r.name.clone(),
        email: r.email.clone(),
        routing_order: r.routing_order,
    }
}

/// Everything the review screen shows for a document's current version.
pub async fn review_view(ws: &Workspace, id: DocumentId) -> Result<ReviewView, Error> {
    let mut record = current(ws, id).await?;
    let pool = ws.store().pool();
    let ocr = crate::query::ocr_pages(ws, id, record.version).await?;
    let pages = documents::pages(pool, id, record.version).await?;
    let policy = crate::policy::load(ws).await?;
    let outcome: Option<RouteOutcome> = documents::routing(pool, id, record.version)
        .await?
        .and_then(|json| serde_json::from_value(json).ok());
    let corrections = store_review::corrections(pool, id).await?;
    let entries = audit::entries_for(pool, id).await?;

    let t = &policy.policy.thresholds;
    let thresholds = ReviewThresholds {
        low_word_confidence: t.low_word_confidence,
        min_field_confidence: t.min_field_confidence,
    };
    let classification = ClassificationView {
        document_type: record.document_type.clone(),
        confidence: record.classification_confidence,
        basis: outcome.as_ref().map(|o| {
            serde_json::to_value(o.classified_by)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        }),
        rules: outcome
            .iter()
            .flat_map(|o| &o.rule_matches)
            .map(|m| RuleEvidence {
                document_type: m.document_type.clone(),
                points: m.points,
                clear: m.clear,
                evidence: m.evidence.clone(),
            })
            .collect(),
        classifier: outcome
            .iter()
            .flat_map(|o| &o.classifier_scores)
            .map(|s| TypeProbability {
                document_type: s.document_type.clone(),
                probability: s.probability,
            })
            .collect(),
    };
    let envelope = EnvelopeDraft {
        route: record.route.clone(),
        department: record.department.clone(),
        policy_tags: record.policy_tags.clone(),
        recipients: outcome
            .iter()
            .flat_map(|o| &o.recipients)
            .map(recipient_view)
            .collect(),
        carbon_copies: outcome
            .iter()
            .flat_map(|o| &o.carbon_copies)
            .map(recipient_view)
            .collect(),
        anchors: outcome
            .iter()
            .flat_map(|o| &o.anchors)
            .map(|a| anchor_placement(a, &pages))
            .collect(),
    };
    let document_types = policy
        .policy
        .document_types()
        .into_iter()
        .map(|(document_type, route)| TypeChoice {
            required_fields: policy
                .policy
                .types
                .get(&document_type)
                .map(|t| t.required_fields.clone())
                .unwrap_or_default(),
            document_type,
            route,
        })
        .collect::<Vec<_>>();
    let missing_fields = record
        .document_type
        .as_deref()
        .and_then(|t| document_types.iter().find(|c| c.document_type == t))
        .map(|c| {
            c.required_fields
                .iter()
                .filter(|f| !record.fields.contains_key(*f))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let timeline = entries
        .iter()
        .map(|e| TimelineEntry {
            seq: e.seq,
            at: e.at.to_rfc3339(),
            version: e.version,
            actor: e.actor.clone(),
            action: e.action.clone(),
            from_status: e.from_status.clone(),
            to_status: e.to_status.clone(),
            summary: summarize(e),
        })
        .collect();
    let corrections = in_effect(&corrections)
        .into_iter()
        .map(|c| CorrectionView {
            seq: c.seq,
            version: c.version,
            target: match &c.target {
                Target::Word { page, word } => CorrectionTarget::Word {
                    page: *page,
                    word: *word,
                },
                Target::Field(f) => CorrectionTarget::Field { field: f.clone() },
                Target::Type => CorrectionTarget::Type,
            },
            old_value: c.old_value.clone(),
            new_value: c.new_value.clone(),
            reviewer: c.reviewer.clone(),
            at: c.at.to_rfc3339(),
        })
        .collect();
    let flags = flags(&record);
    let reviewable = REVIEWABLE.contains(&record.status);
    record.ocr = Some(OcrDocument { pages: ocr });
    Ok(ReviewView {
        record,
        pages,
        thresholds,
        classification,
        flags,
        missing_fields,
        envelope,
        document_types,
        timeline,
        corrections,
        reviewable,
    })
}

/// Where an anchor's signature goes on the page image. The policy's offsets and fallback
/// positions are page pixels of the rendered page (the same space as the OCR boxes); the
/// signature tab is drawn the size DocuSign gives a signHere tab (about 2.5 × 0.5 inches).
fn anchor_placement(a: &countersign_route::SignatureAnchor, pages: &[PageInfo]) -> AnchorPlacement {
    const SIGN_W_IN: f64 = 2.5;
    const SIGN_H_IN: f64 = 0.5;
    let dpi = |page: u32| {
        pages
            .iter()
            .find(|p| p.index == page)
            .and_then(|p| p.dpi)
            .unwrap_or(300) as f64
    };
    let (page, x, y, found) = match &a.found {
        // As DocuSign anchors a tab: the offsets count from the top-left of the anchor text.
        Some(pos) => (
            pos.page,
            pos.bbox[0] as f64 + a.x_offset as f64,
            pos.bbox[1] as f64 + a.y_offset as f64,
            true,
        ),
        None => (
            a.fallback.page_number.saturating_sub(1),
            a.fallback.x as f64,
            a.fallback.y as f64,
            false,
        ),
    };
    let d = dpi(page);
    let clamp = |v: f64| v.max(0.0).round() as u32;
    AnchorPlacement {
        role: a.role.clone(),
        anchor_text: a.anchor_text.clone(),
        page,
        bbox: [
            clamp(x),
            clamp(y),
            clamp(x + SIGN_W_IN * d),
            clamp(y + SIGN_H_IN * d),
        ],
        found,
    }
}

/// One audit entry as a sentence for the timeline.
fn summarize(e: &audit::Entry) -> String {
    let detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap_or_default();
    let s = |k: &str| {
        detail
            .get(k)
            .map(|v| match v {
                serde_json::Value::String(s) => format!("{s:?}"),
                serde_json::Value::Null => "nothing".into(),
                other => other.to_string(),
            })
            .unwrap_or_else(|| "nothing".into())
    };
    let target = || match detail.get("target") {
        Some(t) => match t.get("kind").and_then(|k| k.as_str()) {
            Some("word") => format!(
                "a word on page {}",
                t.get("page").and_then(|p| p.as_u64()).unwrap_or(0) + 1
            ),
            Some("field") => t
                .get("field")
                .and_then(|f| f.as_str())
                .unwrap_or("a field")
                .to_string(),
            _ => "the document type".to_string(),
        },
        None => "a value".into(),
    };
    match e.action.as_str() {
        "ingest" => format!("Imported {}", s("file_name")),
        "correct_word" | "correct_field" => {
            format!(
                "Corrected {}: {} → {}",
                target(),
                s("old_value"),
                s("new_value")
            )
        }
        "confirm_word" => format!("Confirmed {} as read: {}", target(), s("new_value")),
        "type_confirmed" => format!("Set the type: {} → {}", s("old_value"), s("new_value")),
        "undo_correction" => format!("Undid the correction of {}", target()),
        "approve" => "Approved for signature".into(),
        "reject" => format!("Rejected: {}", s("reason")),
        "quarantine" => format!("Quarantined: {}", s("reason")),
        "edit_recipients" => "Changed the envelope's recipients".into(),
        "edit_pages" => "Edited the pages (new version)".into(),
        "insert_pages" => "Inserted pages (new version)".into(),
        "reprocess" => "Read again (new version)".into(),
        "redecide" => "Routing decided again (new version)".into(),
        "transition" => match (&e.from_status, &e.to_status) {
            (Some(a), Some(b)) => format!("{a} → {b}"),
            _ => "Status changed".into(),
        },
        other => other.replace('_', " "),
    }
}
