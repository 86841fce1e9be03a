//! The processing pipeline of one document version, run from the durable job table.
//!
//! It reads as a list ([`STAGES`]); each stage is idempotent and commits its effect together with
//! its step marker, so a job resumed after a crash skips the stages already done and never applies
//! one twice.

use crate::{Error, Workspace};
use countersign_capture::isolate::PageFiles;
use countersign_capture::CaptureError;
use countersign_core::{DecisionAction, DocumentId, Failure, Status};
use countersign_ocr::engine::PageJob;
use countersign_store::documents::{OcrPageRow, PageRow};
use countersign_store::jobs::{self, Job, NewJob};
use countersign_store::{documents, BlobKey};
use tracing::{info, instrument};

pub const PROCESS_KIND: &str = "process";

/// Test seam (used by the crash test, inert otherwise): after committing the named stage the
/// worker stops and waits to be killed.
pub const PAUSE_AFTER_STAGE_ENV: &str = "COUNTERSIGN_TEST_PAUSE_AFTER_STAGE";

/// Test seam (used by the crash test, inert otherwise): after committing this many recognised
/// pages the worker stops and waits to be killed, in the middle of the OCR stage.
pub const PAUSE_AFTER_OCR_PAGES_ENV: &str = "COUNTERSIGN_TEST_PAUSE_AFTER_OCR_PAGES";

/// The durable job that processes `id` at `version`; enqueueing it twice is a no-op.
pub fn process_job(id: DocumentId, version: u32) -> NewJob {
    NewJob {
        kind: PROCESS_KIND.into(),
        document_id: Some(id),
        payload: serde_json::json!({ "version": version }),
        dedupe_key: Some(format!("{PROCESS_KIND}:{id}:v{version}")),
        max_attempts: 5,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// `received → processing`.
    Start,
    /// Every page as an image at a known DPI, plus a thumbnail (derived blobs), decoded in a child
    /// process; page by page, so a resumed job starts at the first page not stored yet. Each
    /// stored page goes straight to the OCR engines (the reading overlaps the rendering).
    Render,
    /// Text recognition of every page (Tesseract engine pool), each page stored as it finishes;
    /// then `ocr_complete`.
    Ocr,
    /// Classification, field extraction and the decision under the routing policy in force:
    /// `routed`, `needs_review` or `quarantined`, with reasons.
    Route,
    /// Not part of processing: the outbox's send job (`crate::send`), which fails documents
    /// with this stage.
    Send,
}

pub const STAGES: [Stage; 4] = [Stage::Start, Stage::Render, Stage::Ocr, Stage::Route];

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Start => "start",
            Stage::Render => "render",
            Stage::Ocr => "ocr",
            Stage::Route => "route",
            Stage::Send => "send",
        }
    }
}

/// A stage that did not succeed: the document's `failure`, and whether the job should try again.
#[derive(Debug, Clone)]
pub struct StageError {
    pub failure: Failure,
    /// Retry the job automatically (transient: IO, a busy store); otherwise the document is failed.
    pub transient: bool,
}

impl StageError {
    pub(crate) fn permanent(
        stage: Stage,
        code: &str,
        message: impl Into<String>,
        retryable: bool,
    ) -> Self {
        StageError {
            failure: Failure {
                stage: stage.name().into(),
                code: code.into(),
                message: message.into(),
                retryable,
            },
            transient: false,
        }
    }

    /// Retried later with its own code (the outbox waiting for a provider).
    pub(crate) fn waiting(stage: Stage, code: &str, message: impl Into<String>) -> Self {
        StageError {
            failure: Failure {
                stage: stage.name().into(),
                code: code.into(),
                message: message.into(),
                retryable: true,
            },
            transient: true,
        }
    }

    pub(crate) fn transient(stage: Stage, err: impl std::fmt::Display) -> Self {
        StageError {
            failure: Failure {
                stage: stage.name().into(),
                code: "internal".into(),
                message: err.to_string(),
                retryable: true,
            },
            transient: true,
        }
    }
}

/// The document at its current version, read for `stage` (a busy store is transient).
async fn current_record(
    ws: &Workspace,
    id: DocumentId,
    stage: Stage,
) -> Result<countersign_core::DocumentRecord, StageError> {
    let t = |e: countersign_store::StoreError| StageError::transient(stage, e);
    let mut conn = ws.store().pool().acquire().await.map_err(|e| t(e.into()))?;
    documents::get(&mut conn, id).await.map_err(t)
}

/// Runs the stages of `job` not done yet.
#[instrument(skip_all, fields(document_id = %id, job_id = %job.id, attempt = job.attempts))]
pub async fn run_process(ws: &Workspace, job: &Job, id: DocumentId) -> Result<(), StageError> {
    let done = jobs::steps_done(ws.store().pool(), job.id)
        .await
        .map_err(|e| StageError::transient(Stage::Start, e))?;
    for stage in STAGES {
        if done.contains(stage.name()) {
            info!(stage = stage.name(), "stage already done, skipping");
            continue;
        }
        run_stage(ws, job, id, stage).await?;
        info!(stage = stage.name(), "stage done");
        if std::env::var(PAUSE_AFTER_STAGE_ENV).as_deref() == Ok(stage.name()) {
            eprintln!("paused after stage {} of job {}", stage.name(), job.id);
            std::future::pending::<()>().await;
        }
    }
    Ok(())
}

async fn run_stage(
    ws: &Workspace,
    job: &Job,
    id: DocumentId,
    stage: Stage,
) -> Result<(), StageError> {
    let store = ws.store();
    let t = |e: countersign_store::StoreError| StageError::transient(stage, e);
    match stage {
        Stage::Start => {
            let mut tx = store.write().await.map_err(t)?;
            let record = documents::get(&mut tx, id).await.map_err(t)?;
            if record.status != Status::Processing {
                documents::transition(
                    &mut tx,
                    id,
                    Status::Processing,
                    "worker",
                    None,
                    serde_json::json!({ "job_id": job.id.0 }),
                )
                .await
                .map_err(|e| StageError::permanent(stage, "invalid_state", e.to_string(), false))?;
            }
            jobs::mark_step(&mut tx, job.id, stage.name())
                .await
                .map_err(t)?;
            tx.commit().await.map_err(|e| t(e.into()))?;
        }
        Stage::Render => render_and_read(ws, job, id).await?,
        Stage::Ocr => recognize_pages(ws, job, id).await?,
        Stage::Route => route_document(ws, job, id).await?,
        Stage::Send => {
            return Err(StageError::transient(
                stage,
                "sending is not a processing stage",
            ))
        }
    }
    Ok(())
}

/// Renders the pages not stored yet and stores each (image + thumbnail blobs, page row) as soon as
/// it arrives, each in its own transaction.
///
/// Each stored page is announced on `announce` (if given), for the reader to start on it.
async fn render_pages(
    ws: &Workspace,
    job: &Job,
    id: DocumentId,
    announce: Option<tokio::sync::mpsc::UnboundedSender<PageRow>>,
) -> Result<(), StageError> {
    let stage = Stage::Render;
    let store = ws.store();
    let t = |e: countersign_store::StoreError| StageError::transient(stage, e);
    let mut conn = store.pool().acquire().await.map_err(|e| t(e.into()))?;
    let record = documents::get(&mut conn, id).await.map_err(t)?;
    let source = documents::source_blob(&mut conn, id, record.version)
        .await
        .map_err(t)?;
    drop(conn);
    let key = BlobKey::parse(&source).ok_or_else(|| {
        StageError::permanent(
            stage,
            "corrupt_record",
            "the stored checksum is not a sha256",
            false,
        )
    })?;
    if !store.blobs().contains(&key) {
        return Err(StageError::permanent(
            stage,
            "original_missing",
            format!("the stored original {key} is missing"),
            false,
        ));
    }
    let done = documents::page_rows(store.pool(), id, record.version)
        .await
        .map_err(t)?
        .iter()
        .take_while(|p| p.image_blob.is_some())
        .count() as u32;

    // A version made by page edits has all its pages already.
    if record.page_count.is_some_and(|n| done >= n) {
        let mut tx = store.write().await.map_err(t)?;
        jobs::mark_step(&mut tx, job.id, stage.name())
            .await
            .map_err(t)?;
        tx.commit().await.map_err(|e| t(e.into()))?;
        return Ok(());
    }
    let (tx_pages, mut rx_pages) = tokio::sync::mpsc::channel::<PageFiles>(2);
    let blobs = store.blobs().clone();
    let isolation = ws.isolation().clone();
    let limits = ws.limits();
    let mime = record.mime_type;
    // The scratch dir lives until every page in it has been stored (it is dropped at the end of
    // this function, after the receiving loop), not when the decoder finishes.
    let scratch = store
        .blobs()
        .scratch_dir()
        .map_err(|e| StageError::transient(stage, e))?;
    let out_dir = scratch.path().to_owned();
    let decoder = tokio::task::spawn_blocking(move || -> Result<(), StageError> {
        // `get` re-hashes the bytes: a damaged original is caught here, not downstream.
        blobs.get(&key).map_err(|e| {
            StageError::permanent(Stage::Render, "original_damaged", e.to_string(), false)
        })?;
        isolation
            .render(
                &blobs.path(&key),
                mime,
                None,
                &limits,
                done,
                &out_dir,
                |page| {
                    tx_pages
                        .blocking_send(page)
                        .map_err(|_| CaptureError::Internal("the page receiver stopped".into()))
                },
            )
            .map_err(|e| match e {
                CaptureError::Rejected(r) => {
                    StageError::permanent(Stage::Render, r.code.as_str(), r.message, false)
                }
                CaptureError::Unavailable(m) => {
                    StageError::permanent(Stage::Render, "engine_unavailable", m, true)
                }
                CaptureError::Internal(m) => StageError::transient(Stage::Render, m),
            })
    });
    let mut stored = done;
    while let Some(page) = rx_pages.recv().await {
        let blobs = store.blobs().clone();
        let (image, thumb) =
            tokio::task::spawn_blocking(move || -> std::io::Result<(BlobKey, BlobKey)> {
                Ok((blobs.put_file(&page.png)?, blobs.put_file(&page.thumbnail)?))
            })
            .await
            .map_err(|e| StageError::transient(stage, e))?
            .map_err(|e| StageError::transient(stage, e))?;
        let row = PageRow {
            index: page.geometry.index,
            width: page.geometry.width,
            height: page.geometry.height,
            dpi: page.geometry.dpi,
            image_blob: Some(image.to_string()),
            thumb_blob: Some(thumb.to_string()),
            rotation: 0,
        };
        let mut tx = store.write().await.map_err(t)?;
        documents::put_page(&mut tx, id, record.version, &row)
            .await
            .map_err(t)?;
        tx.commit().await.map_err(|e| t(e.into()))?;
        if let Some(announce) = &announce {
            // A reader that has stopped (it failed) is not the renderer's problem.
            let _ = announce.send(row);
        }
        stored += 1;
        info!(page = page.geometry.index + 1, "page stored");
    }
    decoder
        .await
        .map_err(|e| StageError::transient(stage, e))??;
    drop(scratch);
    let mut tx = store.write().await.map_err(t)?;
    documents::set_page_count(&mut tx, id, record.version, stored)
        .await
        .map_err(t)?;
    jobs::mark_step(&mut tx, job.id, stage.name())
        .await
        .map_err(t)?;
    tx.commit().await.map_err(|e| t(e.into()))?;
    Ok(())
}

/// Recognises the pages not recognised yet (all rendered by now), then records the document's
/// confidence and decision and moves it on.
async fn recognize_pages(ws: &Workspace, job: &Job, id: DocumentId) -> Result<(), StageError> {
    let stage = Stage::Ocr;
    let store = ws.store();
    let t = |e: countersign_store::StoreError| StageError::transient(stage, e);
    let record = current_record(ws, id, stage).await?;
    let version = record.version;
    let pages = documents::page_rows(store.pool(), id, version)
        .await
        .map_err(t)?;
    if pages.is_empty() || pages.iter().any(|p| p.image_blob.is_none()) {
        return Err(StageError::transient(
            stage,
            "the pages are not all rendered yet",
        ));
    }
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    drop(tx);
    read_pages(ws, job, id, version, rx).await?;
    finish_recognition(ws, job, id, version).await
}

/// Rendering and reading at once: each page goes to the engines as soon as it is stored, so the
/// OCR of page 1 runs while page 2 is being rendered. Both stages stay resumable on their own.
async fn render_and_read(ws: &Workspace, job: &Job, id: DocumentId) -> Result<(), StageError> {
    let version = current_record(ws, id, Stage::Render).await?.version;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (rendered, read) = tokio::join!(
        render_pages(ws, job, id, Some(tx)),
        read_pages(ws, job, id, version, rx)
    );
    rendered?;
    read
}

/// Reads every page of `version` that has an image and no words yet — those stored already and
/// those announced on `incoming` while rendering goes on — storing each page's words as it
/// finishes. A few pages are in flight at a time (memory holds those, not the document).
async fn read_pages(
    ws: &Workspace,
    job: &Job,
    id: DocumentId,
    version: u32,
    mut incoming: tokio::sync::mpsc::UnboundedReceiver<PageRow>,
) -> Result<(), StageError> {
    let stage = Stage::Ocr;
    let store = ws.store();
    let t = |e: countersign_store::StoreError| StageError::transient(stage, e);
    let mut done: std::collections::BTreeSet<u32> = documents::ocr_pages(store.pool(), id, version)
        .await
        .map_err(t)?
        .iter()
        .map(|r| r.index)
        .collect();
    let mut rows: std::collections::BTreeMap<u32, PageRow> = std::collections::BTreeMap::new();
    let mut pending: std::collections::VecDeque<PageRow> = std::collections::VecDeque::new();
    for row in documents::page_rows(store.pool(), id, version)
        .await
        .map_err(t)?
    {
        if row.image_blob.is_some() && !done.contains(&row.index) {
            pending.push_back(row);
        }
    }

    // The engines answer on a blocking channel; a thread hands the answers to this task.
    let (reply, results) = countersign_ocr::engine::Pool::results();
    let (answers_tx, mut answers) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for r in results {
            if answers_tx.send(r).is_err() {
                break;
            }
        }
    });
    let limit = ws.ocr_pool().threads * 2;
    let mut in_flight = 0usize;
    let mut rendering = true;
    let mut stored_now = 0u32;
    loop {
        while in_flight < limit {
            let Some(row) = pending.pop_front() else {
                break;
            };
            if done.contains(&row.index) || rows.contains_key(&row.index) {
                continue;
            }
            let blobs = store.blobs().clone();
            let key = row
                .image_blob
                .as_deref()
                .and_then(BlobKey::parse)
                .ok_or_else(|| {
                    StageError::permanent(
                        stage,
                        "corrupt_record",
                        "a page without its image",
                        false,
                    )
                })?;
            let image = tokio::task::spawn_blocking(move || blobs.get(&key))
                .await
                .map_err(|e| StageError::transient(stage, e))?
                .map_err(|e| StageError::transient(stage, e))?;
            let job = PageJob {
                index: row.index,
                image,
                dpi: row.dpi,
                keep_straightened: true,
            };
            rows.insert(row.index, row);
            if !ws.ocr_pool().submit(job, &reply) {
                return Err(StageError::transient(
                    stage,
                    "the OCR engines are shutting down",
                ));
            }
            in_flight += 1;
        }
        if in_flight == 0 && !rendering && pending.is_empty() {
            break;
        }
        tokio::select! {
            row = incoming.recv(), if rendering => match row {
                Some(row) => pending.push_back(row),
                None => rendering = false,
            },
            answer = answers.recv(), if in_flight > 0 => {
                in_flight -= 1;
                let output = answer
                    .ok_or_else(|| StageError::transient(stage, "the OCR engines stopped"))?
                    .map_err(|e| StageError::permanent(stage, "ocr_failed", e.to_string(), true))?;
                let index = output.page.index;
                let row = rows.remove(&index).expect("a page we submitted");
                store_page(ws, id, version, row, output).await?;
                done.insert(index);
                stored_now += 1;
                if std::env::var(PAUSE_AFTER_OCR_PAGES_ENV).ok().and_then(|n| n.parse().ok())
                    == Some(stored_now)
                {
                    eprintln!("paused after {stored_now} recognised pages of job {}", job.id);
                    std::future::pending::<()>().await;
                }
            }
        }
    }
    Ok(())
}

/// Stores one page's words (normalised + raw) and, when orientation or deskew changed it, the
/// straightened page image in place of the old one — in one transaction.
async fn store_page(
    ws: &Workspace,
    id: DocumentId,
    version: u32,
    mut row: PageRow,
    output: countersign_ocr::engine::PageOutput,
) -> Result<(), StageError> {
    let stage = Stage::Ocr;
    let store = ws.store();
    let t = |e: countersign_store::StoreError| StageError::transient(stage, e);
    let page = &output.page;
    let json = serde_json::to_vec(page).expect("an OCR page serializes");
    let raw = output.raw_tsv.clone().into_bytes();
    let straightened = output.straightened.clone();
    let blobs = store.blobs().clone();
    let (key, raw_key, straightened) = tokio::task::spawn_blocking(move || {
        let straightened = match straightened {
            Some(s) => Some((blobs.put(&s.png)?, blobs.put(&s.thumbnail_png)?)),
            None => None,
        };
        Ok::<_, std::io::Error>((blobs.put(&json)?, blobs.put(&raw)?, straightened))
    })
    .await
    .map_err(|e| StageError::transient(stage, e))?
    .map_err(|e| StageError::transient(stage, e))?;
    let ocr_row = OcrPageRow {
        index: page.index,
        result_blob: key.to_string(),
        raw_blob: Some(raw_key.to_string()),
        engine: Some(countersign_ocr::engine::pipeline_id()),
        mean_confidence: page.mean_confidence,
        word_count: page.words.len() as u32,
    };
    let mut tx = store.write().await.map_err(t)?;
    if let Some((image, thumb)) = straightened {
        row.image_blob = Some(image.to_string());
        row.thumb_blob = Some(thumb.to_string());
        row.width = page.width;
        row.height = page.height;
        documents::put_page(&mut tx, id, version, &row)
            .await
            .map_err(t)?;
    }
    documents::put_ocr_page(&mut tx, id, version, &ocr_row)
        .await
        .map_err(t)?;
    tx.commit().await.map_err(|e| t(e.into()))?;
    info!(
        page = page.index + 1,
        words = page.words.len(),
        confidence = page.mean_confidence,
        "page recognised"
    );
    Ok(())
}

/// The document's confidence and decision once every page is read; then `ocr_complete` and on.
async fn finish_recognition(
    ws: &Workspace,
    job: &Job,
    id: DocumentId,
    version: u32,
) -> Result<(), StageError> {
    let stage = Stage::Ocr;
    let store = ws.store();
    let t = |e: countersign_store::StoreError| StageError::transient(stage, e);
    // The document's confidence: the mean over all its words.
    let rows = documents::ocr_pages(store.pool(), id, version)
        .await
        .map_err(t)?;
    let words: u32 = rows.iter().map(|r| r.word_count).sum();
    let confidence = if words == 0 {
        0.0
    } else {
        rows.iter()
            .map(|r| r.mean_confidence * r.word_count as f64)
            .sum::<f64>()
            / words as f64
    };
    let mut tx = store.write().await.map_err(t)?;
    let pending = countersign_core::Decision {
        action: DecisionAction::Review,
        reasons: vec!["not routed yet".into()],
    };
    documents::set_recognition(&mut tx, id, version, confidence, "unclassified", &pending)
        .await
        .map_err(t)?;
    let detail =
        serde_json::json!({ "job_id": job.id.0, "words": words, "ocr_confidence": confidence });
    documents::transition(&mut tx, id, Status::OcrComplete, "worker", None, detail)
        .await
        .map_err(|e| StageError::permanent(stage, "invalid_state", e.to_string(), false))?;
    jobs::mark_step(&mut tx, job.id, stage.name())
        .await
        .map_err(t)?;
    tx.commit().await.map_err(|e| t(e.into()))?;
    Ok(())
}

/// Classifies the read document, extracts its fields and decides: `routed` (auto-route),
/// `needs_review` or `quarantined`, with the reasons, under the routing policy in force.
async fn route_document(ws: &Workspace, job: &Job, id: DocumentId) -> Result<(), StageError> {
    let stage = Stage::Route;
    let store = ws.store();
    let t = |e: countersign_store::StoreError| StageError::transient(stage, e);
    let record = current_record(ws, id, stage).await?;
    let version = record.version;
    let pages = crate::query::ocr_pages(ws, id, version)
        .await
        .map_err(|e| StageError::transient(stage, e))?;
    let policy = crate::policy::load(ws)
        .await
        .map_err(|e| StageError::transient(stage, e))?;
    let model = crate::classifier::current_model(ws)
        .await
        .map_err(|e| StageError::transient(stage, e))?;
    // A reviewer's type and values (from an earlier version) and the tenant's vocabulary.
    let corrections = countersign_store::review::corrections(store.pool(), id)
        .await
        .map_err(t)?;
    let hints = crate::review::hints(ws, &record, &corrections)
        .await
        .map_err(|e| StageError::transient(stage, e))?;
    let outcome = countersign_route::route_with(&policy.policy, &pages, model.as_ref(), &hints);
    let target = match outcome.decision.action {
        DecisionAction::AutoRoute => Status::Routed,
        DecisionAction::Review => Status::NeedsReview,
        DecisionAction::Quarantine => Status::Quarantined,
    };
    let outcome_json = serde_json::to_value(&outcome).expect("a routing outcome serializes");
    let mut tx = store.write().await.map_err(t)?;
    documents::set_routing(
        &mut tx,
        id,
        version,
        &documents::Routing {
            ocr_confidence: record.ocr_confidence.unwrap_or(0.0),
            document_type: &outcome.document_type,
            classification_confidence: outcome.classification_confidence,
            decision: &outcome.decision,
            route: outcome.route.as_deref(),
            fields: &outcome.fields,
            department: outcome.department.as_deref(),
            policy_tags: &outcome.policy_tags,
            retention_class: outcome.retention_class.as_deref(),
            outcome: &outcome_json,
        },
    )
    .await
    .map_err(t)?;
    documents::transition(
        &mut tx,
        id,
        target,
        "worker",
        None,
        serde_json::json!({
            "job_id": job.id.0,
            "document_type": outcome.document_type,
            "classification_confidence": outcome.classification_confidence,
            "decision": outcome.decision,
            "route": outcome.route,
            "policy": policy.fingerprint,
        }),
    )
    .await
    .map_err(|e| StageError::permanent(stage, "invalid_state", e.to_string(), false))?;
    crate::review::index_for_search(&mut tx, id, &record.file_name, &pages, &outcome.fields)
        .await
        .map_err(|e| StageError::transient(stage, e))?;
    jobs::mark_step(&mut tx, job.id, stage.name())
        .await
        .map_err(t)?;
    tx.commit().await.map_err(|e| t(e.into()))?;
    info!(
        document_type = %outcome.document_type,
        action = ?outcome.decision.action,
        "document routed"
    );
    Ok(())
}

/// Marks the document failed with `failure` (if it is not already), in the caller's transaction.
pub(crate) async fn fail_document(
    tx: &mut countersign_store::Tx,
    id: DocumentId,
    failure: &Failure,
) -> Result<(), Error> {
    let record = documents::get(tx, id).await?;
    if record.status.transition(Status::Failed).is_ok() {
        documents::transition(
            tx,
            id,
            Status::Failed,
            "worker",
            Some(failure),
            serde_json::json!({}),
        )
        .await?;
    }
    Ok(())
}
