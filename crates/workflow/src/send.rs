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
    let mut conn = ws
        .store()
        .pool()
        .acquire()
        .await
        .map_err(StoreError::from)?;
    let record = documents::get(&mut conn, id).await?;
    drop(conn);
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
        countersign_sign::docusign::DocuSign::new(countersign_sign::docusign::DocuSignConfig::new(
            base,
            account,
            countersign_sign::SecretString::from(token.clone()),
        ))
        .map_err(|e| {
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
