//! Sending for signature through the outbox: a durable job per document version that creates
//! the envelope at the provider without ever creating two.
//!
//! `routed | approved → queued_for_signature` ([`queue_for_signature`]) commits the transition
//! and the job together. The job ([`run_send`]):
//! 1. builds the envelope from the searchable PDF (so anchors such as "Signature:" are found on
//!    scanned pages through the OCR text layer), the route's recipients and signature anchors;
//! 2. records durably that a create may be under way (`send_attempted`) before the first call;
//! 3. calls [`countersign_sign::send_once`], which, whenever a create may already have reached the
//!    provider (a previous attempt, a crash), first looks the idempotency key up and adopts the
//!    envelope it finds, and after a create whose answer was lost looks again before giving up;
//! 4. stores the envelope id with `queued_for_signature → envelope_created → sent` in one
//!    transaction, the moment it is known.
//!
//! While the provider is unreachable (offline, 5xx, rate limited, token refused) the job waits
//! and retries with capped backoff; [`outbox`] says how many wait and why. A provider that
//! refuses the envelope (4xx) fails the document (stage `send`), retryable after a fix.

use crate::process::{Stage, StageError};
use crate::secrets::{self, SecretKind};
use crate::{Error, ErrorCode, Workspace};
use countersign_core::{DocumentId, DocumentRecord, EnvelopeId, Status};
use countersign_route::RouteOutcome;
use countersign_sign::{
    send_once, Anchor, CarbonCopy, EnvelopeRequest, Position, Provider, ProviderError, Signer,
};
use countersign_store::jobs::{self, Job, NewJob};
use countersign_store::{documents, StoreError};
use serde::Serialize;
use std::sync::Arc;
use tracing::{info, instrument, warn};
use ts_rs::TS;

pub const SEND_KIND: &str = "send";

/// Recorded (durably, before the first create) so a resumed job knows the provider may hold an
/// envelope for this key already and looks it up before creating.
const ATTEMPTED: &str = "send_attempted";

/// The sandbox the embedded default talks to (`countersign-sandbox serve` listens here).
pub const SANDBOX_URL: &str = "http://127.0.0.1:7081";

/// A send waits for the provider as long as it takes (offline for a week is fine); retries
/// back off up to this, so a provider that answers again is used within a minute.
pub const RETRY_CAP: std::time::Duration = std::time::Duration::from_secs(60);

pub fn send_job(id: DocumentId, version: u32) -> NewJob {
    NewJob {
        kind: SEND_KIND.into(),
        document_id: Some(id),
        payload: serde_json::json!({ "version": version }),
        dedupe_key: Some(format!("{SEND_KIND}:{id}:v{version}")),
        max_attempts: 100_000,
    }
}

/// The recipients and anchors routing proposed (and a reviewer may have edited).
async fn outcome(ws: &Workspace, record: &DocumentRecord) -> Result<RouteOutcome, Error> {
    let json = documents::routing(ws.store().pool(), record.document_id, record.version)
        .await?
        .ok_or_else(|| Error::new(ErrorCode::InvalidState, "the document has not been routed"))?;
    serde_json::from_value(json).map_err(|e| Error::internal("reading the routing outcome", e))
}

/// What keeps an envelope from being sent: signers without a name or an email.
fn envelope_problems(outcome: &RouteOutcome) -> Vec<String> {
    let mut out = Vec::new();
    if outcome.recipients.is_empty() {
        out.push("the route has no signers".to_string());
    }
    for r in outcome.recipients.iter().chain(&outcome.carbon_copies) {
        if r.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
            out.push(format!("{} has no name", r.role));
        }
        if r.email.as_deref().is_none_or(|n| n.trim().is_empty()) {
            out.push(format!("{} has no email", r.role));
        }
    }
    out
}

/// Puts an approved (or auto-routed) document in the outbox: `queued_for_signature` and its
/// send job, committed together. A document that failed to send is queued again the same way.
pub async fn queue_for_signature(
    ws: &Workspace,
    id: DocumentId,
    actor: &str,
) -> Result<DocumentRecord, Error> {
    let record = crate::query::current_record(ws, id).await?;
    let retry = record.status == Status::Failed
        && record.failure.as_ref().is_some_and(|f| f.stage == "send");
    if !matches!(record.status, Status::Routed | Status::Approved) && !retry {
        return Err(Error::new(
            ErrorCode::InvalidState,
            format!(
                "a document that is {} cannot be sent (approve it first)",
                record.status.as_str()
            ),
        ));
    }
    let problems = envelope_problems(&outcome(ws, &record).await?);
    if !problems.is_empty() {
        return Err(Error::new(
            ErrorCode::InvalidState,
            format!(
                "the envelope is not complete: {}; fill in the recipients first",
                problems.join(", ")
            ),
        ));
    }
    let mut tx = ws.store().write().await?;
    let queued = documents::transition(
        &mut tx,
        id,
        Status::QueuedForSignature,
        actor,
        None,
        serde_json::json!({ "route": record.route }),
    )
    .await?;
    jobs::enqueue(&mut tx, &send_job(id, record.version)).await?;
    tx.commit().await.map_err(StoreError::from)?;
    info!(document_id = %id, version = record.version, "queued for signature");
    Ok(queued)
}

/// The provider configured for this workspace (one adapter per process: the rate limit is per
/// adapter), with the current token from the keychain.
pub async fn provider(ws: &Workspace) -> Result<Arc<dyn Provider>, Error> {
    use crate::config::ProviderKind;
    let config = ws.config();
    let token = match secrets::load(SecretKind::ProviderToken, &config.tenant_id).await {
        Ok(t) => t,
        // The local sandbox takes any token: no keychain needed to try it.
        Err(_) if config.provider_kind == ProviderKind::Sandbox => None,
        Err(e) => return Err(e),
    };
    let token = match (config.provider_kind, token) {
        (_, Some(t)) => t.expose().to_owned(),
        // The sandbox accepts any token; a real account needs its own.
        (ProviderKind::Sandbox, None) => "sandbox".to_owned(),
        (ProviderKind::Docusign, None) => {
            return Err(Error::new(
                ErrorCode::MissingCredentials,
                "no DocuSign token is stored: enter it in Settings (kept in the OS keychain)",
            ))
        }
    };
    let adapter = ws.provider_adapter(|| {
        let base = config
            .provider_base_url
            .clone()
            .unwrap_or_else(|| SANDBOX_URL.to_owned());
        let account = config
            .provider_account_id
            .clone()
            .unwrap_or_else(|| countersign_sandbox::DEFAULT_ACCOUNT_ID.to_owned());
        let mut settings = countersign_sign::docusign::DocuSignConfig::new(
            base,
            account,
            countersign_sign::SecretString::from(token.clone()),
        );
        if config.provider_kind == ProviderKind::Sandbox {
            // 3,000 calls an hour is DocuSign's rule for its service; the local sandbox has
            // none, and a demo or a test signing hundreds of envelopes should not wait on it.
            settings.calls_per_hour = 3_600_000;
            settings.burst = 10_000;
        }
        countersign_sign::docusign::DocuSign::new(settings).map_err(|e| {
            Error::new(
                ErrorCode::InvalidConfig,
                format!("the signature provider settings are unusable: {e}"),
            )
        })
    })?;
    adapter.set_token(countersign_sign::SecretString::from(token));
    Ok(adapter)
}

/// The idempotency key of a send: the document, its version, and the route decision (route,
/// signers and copies in order), so re-sending the same decision can never make a second
/// envelope while a new version or a changed route does.
pub fn key_for(record: &DocumentRecord, outcome: &RouteOutcome) -> String {
    let decision = serde_json::json!({
        "route": record.route,
        "recipients": outcome.recipients.iter().map(|r| (&r.role, &r.name, &r.email, r.routing_order)).collect::<Vec<_>>(),
        "carbon_copies": outcome.carbon_copies.iter().map(|r| (&r.role, &r.name, &r.email, r.routing_order)).collect::<Vec<_>>(),
    });
    countersign_sign::idempotency_key(
        &record.document_id.to_string(),
        record.version,
        &decision.to_string(),
    )
}

/// The envelope for a document version: its searchable PDF, signers in order with their anchors
/// (page pixels of the policy turned into points), copies.
pub async fn envelope_request(
    ws: &Workspace,
    record: &DocumentRecord,
    outcome: &RouteOutcome,
) -> Result<EnvelopeRequest, Error> {
    let pdf = crate::export::export_pdf(ws, record.document_id).await?;
    let pages = documents::pages(ws.store().pool(), record.document_id, record.version).await?;
    let points = |page: u32, px: f64| -> f32 {
        let dpi = pages
            .iter()
            .find(|p| p.index == page)
            .and_then(|p| p.dpi)
            .unwrap_or(300) as f64;
        (px * 72.0 / dpi) as f32
    };
    let anchors_for = |role: &str| -> Vec<Anchor> {
        outcome
            .anchors
            .iter()
            .filter(|a| a.role.as_deref().is_none_or(|r| r == role))
            .map(|a| {
                let page = a
                    .found
                    .as_ref()
                    .map(|f| f.page)
                    .unwrap_or(a.fallback.page_number.saturating_sub(1));
                let fb = a.fallback.page_number.saturating_sub(1);
                Anchor {
                    anchor_text: a.anchor_text.clone(),
                    x_offset: points(page, a.x_offset as f64),
                    y_offset: points(page, a.y_offset as f64),
                    on_document: a.found.is_some(),
                    fallback: Position {
                        page_number: a.fallback.page_number.max(1),
                        x: points(fb, a.fallback.x as f64),
                        y: points(fb, a.fallback.y as f64),
                    },
                }
            })
            .collect()
    };
    let signers = outcome
        .recipients
        .iter()
        .map(|r| Signer {
            role: r.role.clone(),
            name: r.name.clone().unwrap_or_default(),
            email: r.email.clone().unwrap_or_default(),
            routing_order: r.routing_order.max(1),
            anchors: anchors_for(&r.role),
        })
        .collect();
    let carbon_copies = outcome
        .carbon_copies
        .iter()
        .map(|r| CarbonCopy {
            role: r.role.clone(),
            name: r.name.clone().unwrap_or_default(),
            email: r.email.clone().unwrap_or_default(),
            routing_order: r.routing_order.max(1),
        })
        .collect();
    let kind = record
        .document_type
        .as_deref()
        .unwrap_or("document")
        .replace('_', " ");
    let mut subject = format!("Please sign: {} ({kind})", record.file_name);
    if subject.chars().count() > 100 {
        subject = subject.chars().take(99).collect::<String>() + "…";
    }
    let stem = std::path::Path::new(&record.file_name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "document".into());
    Ok(EnvelopeRequest {
        pdf,
        document_name: format!("{stem}.pdf"),
        email_subject: subject,
        email_blurb: Some("Sent with Countersign.".into()),
        signers,
        carbon_copies,
        idempotency_key: key_for(record, outcome),
        metadata: [
            (
                "countersign_document_id".to_string(),
                record.document_id.to_string(),
            ),
            (
                "countersign_version".to_string(),
                record.version.to_string(),
            ),
        ]
        .into_iter()
        .collect(),
    })
}

fn stage_error(e: ProviderError) -> StageError {
    if e.is_retryable() || matches!(e, ProviderError::Unauthorized { .. }) {
        // Offline, down, slow, rate limited, or a token to renew: the outbox waits.
        StageError::waiting(Stage::Send, e.code(), e.to_string())
    } else {
        StageError::permanent(Stage::Send, e.code(), e.to_string(), true)
    }
}

/// The send job: see the module docs. Idempotent: a job that finds the envelope id already
/// stored has nothing left to do.
#[instrument(skip_all, fields(document_id = %id, job_id = %job.id, attempt = job.attempts))]
pub async fn run_send(ws: &Workspace, job: &Job, id: DocumentId) -> Result<(), StageError> {
    let stage = Stage::Send;
    let t = |e: StoreError| StageError::transient(stage, e);
    let w = |e: Error| StageError::transient(stage, e);
    let mut conn = ws.store().pool().acquire().await.map_err(|e| t(e.into()))?;
    let record = documents::get(&mut conn, id).await.map_err(t)?;
    drop(conn);
    if record.envelope_id.is_some() || record.status != Status::QueuedForSignature {
        info!(status = %record.status, "already sent (or no longer waiting to be); nothing to do");
        return Ok(());
    }
    let outcome = outcome(ws, &record).await.map_err(w)?;
    let request = envelope_request(ws, &record, &outcome).await.map_err(w)?;
    let provider = match provider(ws).await {
        Ok(p) => p,
        Err(e)
            if e.code == ErrorCode::MissingCredentials
                || e.code == ErrorCode::KeychainUnavailable =>
        {
            return Err(StageError::waiting(stage, e.code.as_str(), e.message));
        }
        Err(e) => {
            return Err(StageError::permanent(
                stage,
                e.code.as_str(),
                e.message,
                true,
            ))
        }
    };

    // Before the first create: from now on the provider may hold an envelope for this key.
    let done = jobs::steps_done(ws.store().pool(), job.id)
        .await
        .map_err(t)?;
    let may_exist = done.contains(ATTEMPTED) || job.attempts > 1;
    if !done.contains(ATTEMPTED) {
        let mut tx = ws.store().write().await.map_err(t)?;
        jobs::mark_step(&mut tx, job.id, ATTEMPTED)
            .await
            .map_err(t)?;
        tx.commit().await.map_err(|e| t(e.into()))?;
    }
    let sent = send_once(provider.as_ref(), &request, may_exist)
        .await
        .map_err(stage_error)?;
    let envelope_id: EnvelopeId = sent.envelope_id.clone();

    let mut tx = ws.store().write().await.map_err(t)?;
    documents::set_envelope_id(&mut tx, id, record.version, &envelope_id)
        .await
        .map_err(t)?;
    let detail = serde_json::json!({
        "job_id": job.id.0,
        "envelope_id": envelope_id,
        "adopted": sent.adopted,
        "idempotency_key": request.idempotency_key,
    });
    documents::transition(
        &mut tx,
        id,
        Status::EnvelopeCreated,
        "worker",
        None,
        detail.clone(),
    )
    .await
    .map_err(|e| StageError::permanent(stage, "invalid_state", e.to_string(), false))?;
    documents::transition(&mut tx, id, Status::Sent, "worker", None, detail)
        .await
        .map_err(|e| StageError::permanent(stage, "invalid_state", e.to_string(), false))?;
    jobs::mark_step(&mut tx, job.id, "sent").await.map_err(t)?;
    tx.commit().await.map_err(|e| t(e.into()))?;
    if sent.adopted {
        warn!(envelope_id = %envelope_id, "a create's answer was lost; adopted the envelope it made");
    }
    // News about the envelope that arrived before it was stored here.
    if let Err(e) = crate::sync::apply_held(ws, &envelope_id).await {
        warn!(envelope_id = %envelope_id, error = %e, "applying early provider events failed; reconciliation will catch up");
    }
    info!(envelope_id = %envelope_id, "envelope created and sent");
    Ok(())
}

/// What waits in the outbox.
#[derive(Clone, Debug, Default, Serialize, TS)]
pub struct Outbox {
    /// Sends not done yet.
    pub waiting: u32,
    /// Why they wait (the latest error of each), most recent first; empty while all goes well.
    pub reasons: Vec<String>,
}

pub async fn outbox(ws: &Workspace) -> Result<Outbox, Error> {
    let rows = jobs::pending_of_kind(ws.store().pool(), SEND_KIND).await?;
    let mut reasons: Vec<String> = Vec::new();
    for r in rows.iter().filter_map(|r| r.last_error.clone()) {
        if !reasons.contains(&r) {
            reasons.push(r);
        }
    }
    Ok(Outbox {
        waiting: rows.len() as u32,
        reasons,
    })
}

/// The documents whose send waits in the outbox.
pub async fn outbox_documents(ws: &Workspace) -> Result<Vec<DocumentId>, Error> {
    let rows = jobs::pending_of_kind(ws.store().pool(), SEND_KIND).await?;
    Ok(rows.into_iter().filter_map(|r| r.document_id).collect())
}

/// Sends waiting out a backoff go now (the relay or the provider answered again).
pub async fn wake_outbox(ws: &Workspace) -> Result<u64, Error> {
    Ok(jobs::wake_kind(ws.store().pool(), SEND_KIND).await?)
}

/// How far along the signing lifecycle a status is, to apply provider news only forwards (a
/// late `sent` never overwrites `completed`).
fn signing_rank(s: Status) -> u8 {
    match s {
        Status::QueuedForSignature => 0,
        Status::EnvelopeCreated => 1,
        Status::Sent => 2,
        Status::Delivered => 3,
        Status::Completed | Status::Declined | Status::Voided | Status::Expired => 4,
        Status::Archived => 5,
        _ => 0,
    }
}

/// The lifecycle status a provider state stands for (`None`: nothing to record).
pub fn status_for(state: countersign_sign::EnvelopeState) -> Option<Status> {
    use countersign_sign::EnvelopeState as E;
    match state {
        E::Created => Some(Status::EnvelopeCreated),
        E::Sent => Some(Status::Sent),
        E::Delivered => Some(Status::Delivered),
        // Every signer signed: the provider finishes the envelope; the documents are final.
        E::Signed | E::Completed => Some(Status::Completed),
        E::Declined => Some(Status::Declined),
        E::Voided | E::Deleted => Some(Status::Voided),
        E::Expired => Some(Status::Expired),
        E::Other => None,
    }
}

fn provider_failure(e: ProviderError) -> Error {
    let code = if e.is_retryable() {
        ErrorCode::ProviderUnavailable
    } else {
        ErrorCode::ProviderRejected
    };
    Error::new(code, e.to_string())
}

/// Moves the current version to `to` through the statuses between (`sent → completed` directly
/// is allowed; `envelope_created → delivered` goes through `sent`), one audit entry each, and
/// only forwards.
pub(crate) async fn advance(
    tx: &mut countersign_store::Tx,
    id: DocumentId,
    to: Status,
    actor: &str,
    detail: serde_json::Value,
) -> Result<DocumentRecord, Error> {
    let mut record = documents::get(tx, id).await?;
    if signing_rank(to) <= signing_rank(record.status) {
        return Ok(record);
    }
    // Directly where the lifecycle allows it (`sent → completed`: providers do not always
    // report `delivered`); else through `sent` (an envelope that was only created).
    if record.status.transition(to).is_err() && record.status.transition(Status::Sent).is_ok() {
        record = documents::transition(tx, id, Status::Sent, actor, None, detail.clone()).await?;
    }
    if record.status.transition(to).is_ok() {
        record = documents::transition(tx, id, to, actor, None, detail).await?;
    }
    Ok(record)
}

/// Stores the signed PDF and the certificate of a completed envelope as the version's evidence
/// (once; with an audit entry naming their checksums).
pub(crate) async fn store_evidence(
    ws: &Workspace,
    record: &DocumentRecord,
    provider: &dyn Provider,
    envelope: &EnvelopeId,
    actor: &str,
) -> Result<(), Error> {
    let have = documents::evidence(ws.store().pool(), record.document_id).await?;
    if have.iter().filter(|e| e.version == record.version).count() >= 2 {
        return Ok(());
    }
    let signed = provider
        .combined_pdf(envelope)
        .await
        .map_err(provider_failure)?;
    let certificate = provider
        .certificate_pdf(envelope)
        .await
        .map_err(provider_failure)?;
    for (what, bytes) in [("signed PDF", &signed), ("certificate", &certificate)] {
        if !bytes.starts_with(b"%PDF-") {
            return Err(Error::new(
                ErrorCode::ProviderRejected,
                format!("the provider's {what} is not a PDF"),
            ));
        }
    }
    let blobs = ws.store().blobs().clone();
    let (s_len, c_len) = (signed.len() as u64, certificate.len() as u64);
    let (s_key, c_key) = tokio::task::spawn_blocking(move || {
        Ok::<_, std::io::Error>((blobs.put(&signed)?, blobs.put(&certificate)?))
    })
    .await
    .map_err(|e| Error::internal("storing evidence", e))?
    .map_err(|e| Error::internal("storing evidence", e))?;
    let mut tx = ws.store().write().await?;
    let id = record.document_id;
    let a = documents::put_evidence(
        &mut tx,
        id,
        record.version,
        "signed_pdf",
        s_key.as_str(),
        s_len,
    )
    .await?;
    let b = documents::put_evidence(
        &mut tx,
        id,
        record.version,
        "certificate",
        c_key.as_str(),
        c_len,
    )
    .await?;
    if a || b {
        countersign_store::audit::append(
            &mut tx,
            countersign_store::audit::NewEntry {
                document_id: Some(id),
                version: Some(record.version),
                actor: actor.to_owned(),
                action: "evidence_stored".into(),
                from_status: None,
                to_status: None,
                detail: serde_json::json!({
                    "envelope_id": envelope,
                    "signed_pdf": { "sha256": s_key.as_str(), "bytes": s_len },
                    "certificate": { "sha256": c_key.as_str(), "bytes": c_len },
                }),
            },
        )
        .await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

/// Asks the provider where the document's envelope stands now and records it (forwards only);
/// a completed envelope's signed PDF and certificate become the version's evidence.
pub async fn refresh_envelope(
    ws: &Workspace,
    id: DocumentId,
    actor: &str,
) -> Result<DocumentRecord, Error> {
    let record = crate::query::current_record(ws, id).await?;
    let Some(envelope) = record.envelope_id.clone() else {
        return Err(Error::new(
            ErrorCode::InvalidState,
            "the document has no envelope yet",
        ));
    };
    let provider = provider(ws).await?;
    let status = provider
        .envelope_status(&envelope)
        .await
        .map_err(provider_failure)?;
    if let Some(to) = status_for(status.state) {
        let mut tx = ws.store().write().await?;
        advance(
            &mut tx,
            id,
            to,
            actor,
            serde_json::json!({
                "envelope_id": envelope,
                "provider_status": status.provider_status,
                "status_changed_at": status.status_changed_at,
                "source": "poll",
            }),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        if to == Status::Completed {
            store_evidence(ws, &record, provider.as_ref(), &envelope, actor).await?;
        }
    }
    let mut conn = ws
        .store()
        .pool()
        .acquire()
        .await
        .map_err(StoreError::from)?;
    Ok(documents::get(&mut conn, id).await?)
}

/// Voids the document's envelope at the provider (it can no longer be signed) and records it.
pub async fn void_envelope(
    ws: &Workspace,
    id: DocumentId,
    reason: &str,
    actor: &str,
) -> Result<DocumentRecord, Error> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "voiding needs a reason (at most 200 characters)",
        ));
    }
    let record = crate::query::current_record(ws, id).await?;
    let envelope = match (&record.envelope_id, record.status) {
        (Some(e), Status::Sent | Status::Delivered | Status::EnvelopeCreated) => e.clone(),
        _ => {
            return Err(Error::new(
                ErrorCode::InvalidState,
                format!(
                    "only an envelope out for signature can be voided (the document is {})",
                    record.status.as_str()
                ),
            ))
        }
    };
    let provider = provider(ws).await?;
    provider
        .void(&envelope, reason)
        .await
        .map_err(provider_failure)?;
    let mut tx = ws.store().write().await?;
    let record = advance(
        &mut tx,
        id,
        Status::Voided,
        actor,
        serde_json::json!({ "envelope_id": envelope, "reason": reason, "source": "void" }),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(record)
}

/// Sends a declined, voided or expired document again: a new version (same pages, words and
/// route; approved) whose new envelope goes out through the outbox.
pub async fn resend(ws: &Workspace, id: DocumentId, actor: &str) -> Result<DocumentRecord, Error> {
    let record = crate::query::current_record(ws, id).await?;
    if !matches!(
        record.status,
        Status::Declined | Status::Voided | Status::Expired
    ) {
        return Err(Error::new(
            ErrorCode::InvalidState,
            format!(
                "only a declined, voided or expired document is sent again (this one is {})",
                record.status.as_str()
            ),
        ));
    }
    let mut tx = ws.store().write().await?;
    countersign_store::review::derive_version(
        &mut tx,
        id,
        record.version,
        countersign_store::review::Derive {
            status: Status::Approved,
            replaced_pages: &[],
            routing: None,
            actor,
            action: "resend",
            detail: serde_json::json!({
                "from_version": record.version,
                "previous_envelope_id": record.envelope_id,
                "previous_status": record.status,
            }),
            restart: true,
        },
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    queue_for_signature(ws, id, actor).await
}

/// A signed document's evidence as the app lists it.
#[derive(Clone, Debug, Serialize, TS)]
pub struct Evidence {
    pub version: u32,
    /// `signed_pdf` or `certificate`.
    pub kind: String,
    pub sha256: String,
    #[ts(type = "number")]
    pub bytes: u64,
    pub stored_at: String,
}

pub async fn evidence(ws: &Workspace, id: DocumentId) -> Result<Vec<Evidence>, Error> {
    Ok(documents::evidence(ws.store().pool(), id)
        .await?
        .into_iter()
        .map(|e| Evidence {
            version: e.version,
            kind: e.kind,
            sha256: e.blob,
            bytes: e.bytes,
            stored_at: e.stored_at.to_rfc3339(),
        })
        .collect())
}

/// The bytes of the newest evidence of `kind` (`signed_pdf` or `certificate`).
pub async fn evidence_bytes(ws: &Workspace, id: DocumentId, kind: &str) -> Result<Vec<u8>, Error> {
    let row = documents::evidence(ws.store().pool(), id)
        .await?
        .into_iter()
        .rev()
        .find(|e| e.kind == kind)
        .ok_or_else(|| {
            Error::new(
                ErrorCode::NotFound,
                format!(
                    "document {id} has no {} yet (it is stored when signing completes)",
                    kind.replace('_', " ")
                ),
            )
        })?;
    let key = countersign_store::BlobKey::parse(&row.blob)
        .ok_or_else(|| Error::internal("reading evidence", "a malformed blob key"))?;
    let blobs = ws.store().blobs().clone();
    tokio::task::spawn_blocking(move || blobs.get(&key))
        .await
        .map_err(|e| Error::internal("reading evidence", e))?
        .map_err(|e| Error::internal("reading evidence", e))
}

/// Where each signer signs on the local sandbox provider (its signing page), in signing order;
/// empty for a real provider (DocuSign emails the signers).
#[derive(Clone, Debug, Serialize, TS)]
pub struct SigningLink {
    pub role: String,
    pub name: Option<String>,
    pub url: String,
}

pub async fn signing_links(ws: &Workspace, id: DocumentId) -> Result<Vec<SigningLink>, Error> {
    if ws.config().provider_kind != crate::config::ProviderKind::Sandbox {
        return Ok(Vec::new());
    }
    let record = crate::query::current_record(ws, id).await?;
    let Some(envelope) = record.envelope_id.clone() else {
        return Ok(Vec::new());
    };
    let outcome = outcome(ws, &record).await?;
    let base = ws
        .config()
        .provider_base_url
        .clone()
        .unwrap_or_else(|| SANDBOX_URL.to_owned());
    Ok(outcome
        .recipients
        .iter()
        .enumerate()
        .map(|(i, r)| SigningLink {
            role: r.role.clone(),
            name: r.name.clone(),
            url: format!(
                "{}/sign/{}/{}",
                base.trim_end_matches('/'),
                envelope.as_str(),
                i + 1
            ),
        })
        .collect())
}

/// A sent document's envelope as the app shows it.
#[derive(Clone, Debug, Serialize, TS)]
pub struct EnvelopeInfo {
    pub envelope_id: Option<EnvelopeId>,
    pub evidence: Vec<Evidence>,
    pub signing_links: Vec<SigningLink>,
}

pub async fn envelope_info(ws: &Workspace, id: DocumentId) -> Result<EnvelopeInfo, Error> {
    let record = crate::query::current_record(ws, id).await?;
    Ok(EnvelopeInfo {
        envelope_id: record.envelope_id,
        evidence: evidence(ws, id).await?,
        signing_links: signing_links(ws, id).await?,
    })
}

/// Writes the newest evidence of `kind` into `dir` (the user's downloads) under a name saying
/// what it is; returns the path.
pub async fn save_evidence(
    ws: &Workspace,
    id: DocumentId,
    kind: &str,
    dir: &std::path::Path,
) -> Result<std::path::PathBuf, Error> {
    if !matches!(kind, "signed_pdf" | "certificate") {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "evidence is `signed_pdf` or `certificate`",
        ));
    }
    let bytes = evidence_bytes(ws, id, kind).await?;
    let record = crate::query::current_record(ws, id).await?;
    let stem = std::path::Path::new(&record.file_name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "document".into());
    let suffix = if kind == "signed_pdf" {
        "signed"
    } else {
        "certificate"
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::internal("saving evidence", e))?;
    let path = dir.join(format!("{stem} ({suffix}).pdf"));
    let tmp = path.with_extension("pdf.part");
    std::fs::write(&tmp, &bytes)
        .and_then(|_| std::fs::rename(&tmp, &path))
        .map_err(|e| {
            Error::new(
                ErrorCode::DataDirUnusable,
                format!("cannot write {}: {e}", path.display()),
            )
        })?;
    Ok(path)
}

/// The signature provider as the settings screen shows it (never the token itself).
#[derive(Clone, Debug, Serialize, TS)]
pub struct ProviderSettings {
    /// `sandbox` or `docusign`.
    pub kind: String,
    pub base_url: String,
    pub account_id: String,
    /// Where the token comes from: the OS keychain, the environment (headless), or nowhere.
    pub token: secrets::SecretSource,
}

pub async fn provider_settings(ws: &Workspace) -> Result<ProviderSettings, Error> {
    let c = ws.config();
    let token = match secrets::source(SecretKind::ProviderToken, &c.tenant_id).await {
        Ok(s) => s,
        Err(e) if e.code == ErrorCode::KeychainUnavailable => secrets::SecretSource::Missing,
        Err(e) => return Err(e),
    };
    Ok(ProviderSettings {
        kind: match c.provider_kind {
            crate::config::ProviderKind::Sandbox => "sandbox",
            crate::config::ProviderKind::Docusign => "docusign",
        }
        .into(),
        base_url: c
            .provider_base_url
            .clone()
            .unwrap_or_else(|| SANDBOX_URL.to_owned()),
        account_id: c
            .provider_account_id
            .clone()
            .unwrap_or_else(|| countersign_sandbox::DEFAULT_ACCOUNT_ID.to_owned()),
        token,
    })
}
