//! The status loop: signature news reaches the desktop through the webhook relay (pulled by
//! cursor), and a reconciliation job asks the provider about envelopes nothing was heard of, so a
//! webhook lost for good still ends in the right state.
//!
//! Applying is idempotent and safe out of order:
//! - every relay event is kept once as a raw receipt (`provider_events`, keyed by relay and
//!   cursor), in the same transaction that applies it and moves this workstation's cursor, so a
//!   crash re-pulls and re-applies exactly what was not committed;
//! - a status only moves forwards by lifecycle rank (a late `envelope-sent` never overwrites
//!   `completed`); between two statuses of the same rank the one with the later provider time
//!   wins;
//! - an event about an envelope of an older version (the document was sent again) is kept but
//!   changes nothing.
//!
//! What an applied status brings: `completed` downloads the signed PDF and the certificate as the
//! version's evidence (retried by reconciliation until stored); `declined` sends the document back
//! to review as a new version saying who declined and why; `voided` and `expired` leave it for
//! the reviewer to send again (`send::resend`).

use crate::send::{self, advance, status_for, store_evidence};
use crate::{Error, ErrorCode, Workspace};
use chrono::{DateTime, Utc};
use countersign_core::{Decision, DecisionAction, DocumentId, EnvelopeId, Status};
use countersign_relay::client::{self, Client, ClientError};
use countersign_sign::docusign::wire;
use countersign_sign::EnvelopeState;
use countersign_store::{audit, documents, sync as store_sync, StoreError};
use serde::Serialize;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

/// Who the audit log names for what the provider reported.
pub const PROVIDER_ACTOR: &str = "provider";
/// Events per page pulled from the relay (its maximum).
pub const PAGE: u32 = 500;
/// The longest a long-poll waits at the relay for news.
pub const LONG_POLL: Duration = Duration::from_secs(25);
/// DocuSign's rule: poll an envelope's status at most once per 15 minutes.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_secs(15 * 60);

/// A relay this workstation pulls from.
#[derive(Clone, Debug)]
pub struct RelayLink {
    pub client: Client,
    /// The tenant whose events the token sees (the cursor is kept per relay and tenant).
    pub tenant: String,
}

impl RelayLink {
    pub fn url(&self) -> &str {
        self.client.base_url()
    }
}

/// The relay configured for this workspace (`COUNTERSIGN_RELAY_URL` / `[relay] url`) with its
/// workstation token from the keychain; `None` when no relay is configured (the desktop app then
/// runs its own on loopback).
pub async fn configured_relay(ws: &Workspace) -> Result<Option<RelayLink>, Error> {
    let config = ws.config();
    let Some(url) = config.relay_url.clone() else {
        return Ok(None);
    };
    let tenant = &config.tenant_id;
    let token = crate::secrets::load(crate::secrets::SecretKind::RelayToken, tenant)
        .await?
        .ok_or_else(|| {
            Error::new(
                ErrorCode::MissingCredentials,
                "no relay workstation token is stored: enter it in Settings (kept in the OS \
                 keychain), or set COUNTERSIGN_RELAY_TOKEN on a headless machine",
            )
        })?;
    let client = Client::new(
        &url,
        countersign_sign::SecretString::from(token.expose().to_owned()),
    )
    .map_err(|e| Error::new(ErrorCode::InvalidConfig, e.to_string()))?;
    Ok(Some(RelayLink {
        client,
        tenant: tenant.as_str().to_owned(),
    }))
}

/// The relay as Settings shows it.
#[derive(Clone, Debug, Serialize, TS)]
pub struct RelaySettings {
    /// `COUNTERSIGN_RELAY_URL` / `[relay] url`; `None`: the app runs its own on loopback.
    pub url: Option<String>,
    /// Where the workstation token comes from (only a configured relay needs one).
    pub token: crate::secrets::SecretSource,
}

pub async fn relay_settings(ws: &Workspace) -> Result<RelaySettings, Error> {
    let c = ws.config();
    let token = match crate::secrets::source(crate::secrets::SecretKind::RelayToken, &c.tenant_id)
        .await
    {
        Ok(s) => s,
        Err(e) if e.code == ErrorCode::KeychainUnavailable => crate::secrets::SecretSource::Missing,
        Err(e) => return Err(e),
    };
    Ok(RelaySettings {
        url: c.relay_url.clone(),
        token,
    })
}

fn relay_failure(e: ClientError) -> Error {
    let code = match &e {
        ClientError::Unauthorized(_) => ErrorCode::MissingCredentials,
        e if e.is_retryable() => ErrorCode::ProviderUnavailable,
        ClientError::InvalidUrl(_) => ErrorCode::InvalidConfig,
        _ => ErrorCode::ProviderRejected,
    };
    Error::new(code, e.to_string())
}

/// What one pull did.
#[derive(Clone, Debug, Default, Serialize, TS)]
pub struct Pulled {
    /// Events the relay handed over.
    pub fetched: u32,
    /// Events that moved a document's status.
    pub applied: u32,
    /// Events already received before (a re-pull after a crash).
    pub repeated: u32,
    /// The cursor after this pull.
    #[ts(type = "number")]
    pub cursor: i64,
    /// The page was full: more is waiting at the relay.
    pub more: bool,
    /// How long the newest event waited between the relay's receipt and being applied here.
    #[ts(type = "number | null")]
    pub lag_ms: Option<u64>,
}

/// Pulls one page of events after this workstation's cursor (long-polling up to `wait` when
/// there is none) and applies it.
pub async fn pull(ws: &Workspace, link: &RelayLink, wait: Duration) -> Result<Pulled, Error> {
    let after = store_sync::cursor(ws.store().pool(), link.url(), &link.tenant).await?;
    let page = link
        .client
        .events(after, wait, PAGE)
        .await
        .map_err(relay_failure)?;
    let mut pulled = apply_page(ws, link.url(), &link.tenant, &page.events).await?;
    pulled.fetched = page.events.len() as u32;
    pulled.more = page.events.len() as u32 >= PAGE;
    pulled.cursor = page.next_cursor.max(after);
    pulled.lag_ms = page.events.last().and_then(|e| {
        let received = DateTime::parse_from_rfc3339(&e.received_at).ok()?;
        let waited = Utc::now().signed_duration_since(received.with_timezone(&Utc));
        Some(waited.num_milliseconds().max(0) as u64)
    });
    Ok(pulled)
}

/// Pulls until the relay has nothing more (no waiting).
pub async fn catch_up(ws: &Workspace, link: &RelayLink) -> Result<Pulled, Error> {
    let mut total = Pulled::default();
    loop {
        let p = pull(ws, link, Duration::ZERO).await?;
        total.fetched += p.fetched;
        total.applied += p.applied;
        total.repeated += p.repeated;
        total.cursor = p.cursor;
        total.lag_ms = p.lag_ms.or(total.lag_ms);
        if !p.more {
            return Ok(total);
        }
    }
}

/// The parts of a Connect event the status loop reads.
struct News {
    event: String,
    envelope_id: String,
    state: Option<EnvelopeState>,
    provider_status: Option<String>,
    generated_at: Option<String>,
    declined: Option<(String, String)>,
}

fn read_event(body: &str, relay_envelope: &str, relay_event: &str) -> News {
    match serde_json::from_str::<wire::ConnectEvent>(body) {
        Ok(e) => {
            let summary = e.data.envelope_summary.as_ref();
            let provider_status = summary
                .and_then(|s| s.status.clone())
                .or_else(|| status_of_event(&e.event).map(str::to_owned));
            let generated_at = DateTime::parse_from_rfc3339(&e.generated_date_time)
                .ok()
                .map(|t| {
                    t.with_timezone(&Utc)
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                });
            News {
                state: provider_status.as_deref().map(EnvelopeState::from_docusign),
                provider_status,
                generated_at,
                declined: declined_by(body),
                envelope_id: e.data.envelope_id,
                event: e.event,
            }
        }
        // The relay checked the shape; whatever else is wrong is kept and changes nothing.
        Err(_) => News {
            event: relay_event.to_owned(),
            envelope_id: relay_envelope.to_owned(),
            state: None,
            provider_status: None,
            generated_at: None,
            declined: None,
        },
    }
}

/// The envelope status an event name implies, for events without a summary.
fn status_of_event(event: &str) -> Option<&'static str> {
    Some(match event {
        "envelope-sent" => "sent",
        "envelope-delivered" => "delivered",
        "envelope-completed" => "completed",
        "envelope-declined" => "declined",
        "envelope-voided" => "voided",
        _ => return None,
    })
}

/// Who declined and why, from the summary's signers.
fn declined_by(body: &str) -> Option<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let signers = v
        .pointer("/data/envelopeSummary/recipients/signers")?
        .as_array()?;
    signers
        .iter()
        .find(|s| s.get("status").and_then(|x| x.as_str()) == Some("declined"))
        .map(|s| {
            let text = |k: &str| {
                s.get(k)
                    .and_then(|x| x.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            (text("name"), text("declinedReason"))
        })
}

/// How far along the signing lifecycle a status is.
fn rank(s: Status) -> u8 {
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

/// Whether a version is on its way through signing (the only place provider news applies).
fn in_signature(s: Status) -> bool {
    matches!(
        s,
        Status::QueuedForSignature
            | Status::EnvelopeCreated
            | Status::Sent
            | Status::Delivered
            | Status::Completed
            | Status::Declined
            | Status::Voided
            | Status::Expired
    )
}

/// What applying one piece of news did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Applied,
    NoChange,
    Superseded,
    UnknownEnvelope,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::NoChange => "no_change",
            Outcome::Superseded => "superseded",
            Outcome::UnknownEnvelope => "unknown_envelope",
        }
    }
}

/// Follow-up work after the transaction commits.
enum After {
    Evidence(DocumentId),
}

/// Applies `news` inside `tx`: the status (forwards only), the audit entry, the envelope's
/// bookkeeping. Returns the outcome and the document and version it concerned.
async fn apply_news(
    tx: &mut countersign_store::Tx,
    news: &News,
    source: &str,
    detail_extra: serde_json::Value,
    at: DateTime<Utc>,
    after: &mut Vec<After>,
) -> Result<(Outcome, Option<(DocumentId, u32)>), Error> {
    let Some((id, version, current)) =
        store_sync::version_of_envelope(tx, &news.envelope_id).await?
    else {
        return Ok((Outcome::UnknownEnvelope, None));
    };
    if version != current {
        return Ok((Outcome::Superseded, Some((id, version))));
    }
    let record = documents::get(tx, id).await?;
    let to = news.state.and_then(status_for);
    let held_at = store_sync::status_at(tx, &news.envelope_id).await?;
    let newer = match (&news.generated_at, &held_at) {
        (Some(new), Some(old)) => new > old,
        _ => false,
    };
    let moves = to.is_some_and(|to| {
        to != record.status
            && (rank(to) > rank(record.status) || (rank(to) == rank(record.status) && newer))
            && in_signature(record.status)
    });
    let mut outcome = Outcome::NoChange;
    let mut detail = serde_json::json!({
        "envelope_id": news.envelope_id,
        "event": news.event,
        "provider_status": news.provider_status,
        "generated_at": news.generated_at,
        "source": source,
    });
    if let (Some(obj), Some(extra)) = (detail.as_object_mut(), detail_extra.as_object()) {
        obj.extend(extra.clone());
    }
    if let (true, Some(to)) = (moves, to) {
        let moved = if rank(to) == rank(record.status) {
            // Same rank, later provider time: a direct move where the lifecycle has one.
            match record.status.transition(to) {
                Ok(_) => {
                    documents::transition(tx, id, to, PROVIDER_ACTOR, None, detail.clone()).await?
                }
                Err(_) => record.clone(),
            }
        } else {
            advance(tx, id, to, PROVIDER_ACTOR, detail.clone()).await?
        };
        if moved.status != record.status {
            outcome = Outcome::Applied;
            store_sync::heard(
                tx,
                &news.envelope_id,
                news.generated_at.as_deref(),
                false,
                at,
            )
            .await?;
            match moved.status {
                Status::Completed => after.push(After::Evidence(id)),
                Status::Declined => back_to_review(tx, &moved, news).await?,
                _ => {}
            }
        }
    }
    if outcome != Outcome::Applied {
        store_sync::heard(tx, &news.envelope_id, None, false, at).await?;
        // The event is history even when it changes nothing: one audit entry each.
        audit::append(
            tx,
            audit::NewEntry {
                document_id: Some(id),
                version: Some(version),
                actor: PROVIDER_ACTOR.into(),
                action: "provider_event".into(),
                from_status: None,
                to_status: None,
                detail: {
                    let mut d = detail;
                    d["outcome"] = outcome.as_str().into();
                    d
                },
            },
        )
        .await?;
    }
    Ok((outcome, Some((id, version))))
}

/// A declined envelope sends its document back to review: a new version in `needs_review`
/// (same pages, words and fields) whose decision says who declined and why.
async fn back_to_review(
    tx: &mut countersign_store::Tx,
    declined: &countersign_core::DocumentRecord,
    news: &News,
) -> Result<(), Error> {
    let (who, why) = news.declined.clone().unwrap_or_default();
    let reason = match (who.is_empty(), why.is_empty()) {
        (false, false) => format!("declined by {who}: {why}"),
        (false, true) => format!("declined by {who}"),
        (true, false) => format!("declined at signing: {why}"),
        (true, true) => "declined at signing".to_owned(),
    };
    let version = countersign_store::review::derive_version(
        tx,
        declined.document_id,
        declined.version,
        countersign_store::review::Derive {
            status: Status::NeedsReview,
            replaced_pages: &[],
            routing: None,
            actor: PROVIDER_ACTOR,
            action: "declined_back_to_review",
            detail: serde_json::json!({
                "from_version": declined.version,
                "envelope_id": news.envelope_id,
                "declined_by": who,
                "reason": why,
            }),
            restart: true,
        },
    )
    .await?;
    let mut reasons = vec![reason];
    if let Some(d) = &declined.decision {
        reasons.extend(d.reasons.iter().cloned());
    }
    store_sync::set_decision(
        tx,
        declined.document_id,
        version,
        &Decision {
            action: DecisionAction::Review,
            reasons,
        },
    )
    .await?;
    Ok(())
}

/// Applies a page of relay events in one transaction (receipts, statuses, audit entries, the
/// cursor), then fetches the evidence of envelopes that completed.
pub async fn apply_page(
    ws: &Workspace,
    relay_url: &str,
    tenant: &str,
    events: &[client::Event],
) -> Result<Pulled, Error> {
    let mut pulled = Pulled::default();
    if events.is_empty() {
        return Ok(pulled);
    }
    let mut after = Vec::new();
    let now = Utc::now();
    let mut tx = ws.store().write().await?;
    for e in events {
        if store_sync::has_receipt(&mut tx, relay_url, e.cursor).await? {
            pulled.repeated += 1;
            continue;
        }
        let body = e.body.get();
        let news = read_event(body, &e.envelope_id, &e.event);
        let (outcome, doc) = apply_news(
            &mut tx,
            &news,
            "relay",
            serde_json::json!({ "relay_cursor": e.cursor }),
            now,
            &mut after,
        )
        .await?;
        if outcome == Outcome::Applied {
            pulled.applied += 1;
        }
        store_sync::put_receipt(
            &mut tx,
            &store_sync::NewReceipt {
                source: "relay",
                relay_url: Some(relay_url),
                relay_cursor: Some(e.cursor),
                envelope_id: &news.envelope_id,
                event: &news.event,
                provider_status: news.provider_status.as_deref(),
                generated_at: news.generated_at.as_deref(),
                body,
                document: doc,
                outcome: outcome.as_str(),
            },
        )
        .await?;
    }
    let last = events.last().map_or(0, |e| e.cursor);
    store_sync::set_cursor(&mut tx, relay_url, tenant, last).await?;
    tx.commit().await.map_err(StoreError::from)?;
    fetch_evidence(ws, after).await;
    Ok(pulled)
}

/// Applies events that reached this workstation before the envelope they are about was
/// stored here (a fast signer, or a webhook that beat the send's own commit). The send step
/// calls it right after storing the envelope id.
pub async fn apply_held(ws: &Workspace, envelope: &EnvelopeId) -> Result<u32, Error> {
    let mut tx = ws.store().write().await?;
    let held = store_sync::held_receipts(&mut tx, envelope.as_str()).await?;
    if held.is_empty() {
        return Ok(0);
    }
    let mut after = Vec::new();
    let mut applied = 0;
    for (receipt_id, event, body) in held {
        let news = read_event(&body, envelope.as_str(), &event);
        let (outcome, doc) = apply_news(
            &mut tx,
            &news,
            "relay",
            serde_json::json!({ "receipt_id": receipt_id, "held": true }),
            Utc::now(),
            &mut after,
        )
        .await?;
        if let Some(doc) = doc {
            store_sync::settle_receipt(&mut tx, receipt_id, outcome.as_str(), doc).await?;
        }
        applied += u32::from(outcome == Outcome::Applied);
    }
    tx.commit().await.map_err(StoreError::from)?;
    fetch_evidence(ws, after).await;
    Ok(applied)
}

/// Downloads the evidence of documents that just completed. A failure is logged and left to
/// reconciliation, which retries until it is stored.
async fn fetch_evidence(ws: &Workspace, after: Vec<After>) {
    if after.is_empty() {
        return;
    }
    let provider = match send::provider(ws).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "evidence not fetched now; reconciliation will retry");
            return;
        }
    };
    for After::Evidence(id) in after {
        let record = match crate::query::current_record(ws, id).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(document_id = %id, error = %e, "reading a completed document failed");
                continue;
            }
        };
        let Some(envelope) = record.envelope_id.clone() else {
            continue;
        };
        if let Err(e) =
            store_evidence(ws, &record, provider.as_ref(), &envelope, PROVIDER_ACTOR).await
        {
            tracing::warn!(document_id = %id, error = %e, "evidence not fetched now; reconciliation will retry");
        }
    }
}

/// How reconciliation decides what to poll.
#[derive(Clone, Debug)]
pub struct Reconcile {
    /// An envelope out for signature with no news for this long is stale.
    pub stale_after: Duration,
    /// Never poll one envelope more often than this (DocuSign: 15 minutes).
    pub min_poll_interval: Duration,
    /// Most polls per pass.
    pub max_polls: u32,
    /// The clock (tests move it forwards).
    pub now: DateTime<Utc>,
}

impl Default for Reconcile {
    fn default() -> Self {
        Reconcile {
            stale_after: MIN_POLL_INTERVAL,
            min_poll_interval: MIN_POLL_INTERVAL,
            max_polls: 100,
            now: Utc::now(),
        }
    }
}

/// What a reconciliation pass did.
#[derive(Clone, Debug, Default, Serialize, TS)]
pub struct Reconciled {
    /// Envelopes whose status was asked of the provider.
    pub polled: u32,
    /// Polls that moved a document's status.
    pub applied: u32,
    /// Completed documents whose missing evidence was fetched.
    pub evidence_fetched: u32,
}

/// Asks the provider about stale envelopes (each at most once per `min_poll_interval`) and
/// fetches missing evidence of completed documents.
pub async fn reconcile(ws: &Workspace, opts: &Reconcile) -> Result<Reconciled, Error> {
    let mut done = Reconciled::default();
    let pool = ws.store().pool();
    let since = |d: Duration| opts.now - chrono::Duration::from_std(d).unwrap_or_default();
    let stale = store_sync::stale_envelopes(
        pool,
        since(opts.stale_after),
        since(opts.min_poll_interval),
        opts.max_polls,
    )
    .await?;
    let missing = store_sync::completed_without_evidence(pool, opts.max_polls).await?;
    if stale.is_empty() && missing.is_empty() {
        return Ok(done);
    }
    let provider = send::provider(ws).await?;
    for s in stale {
        let envelope = EnvelopeId::new(s.envelope_id.clone());
        let status = provider
            .envelope_status(&envelope)
            .await
            .map_err(|e| Error::new(ErrorCode::ProviderUnavailable, e.to_string()))?;
        done.polled += 1;
        let generated_at = status
            .status_changed_at
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
        let body = serde_json::json!({
            "envelopeId": s.envelope_id,
            "status": status.provider_status,
            "statusChangedDateTime": generated_at,
            "voidedReason": status.voided_reason,
        })
        .to_string();
        let news = News {
            event: "poll".into(),
            envelope_id: s.envelope_id.clone(),
            state: Some(status.state),
            provider_status: Some(status.provider_status.clone()),
            generated_at: generated_at.clone(),
            declined: None,
        };
        let mut after = Vec::new();
        let mut tx = ws.store().write().await?;
        let (outcome, doc) = apply_news(
            &mut tx,
            &news,
            "poll",
            serde_json::json!({}),
            opts.now,
            &mut after,
        )
        .await?;
        store_sync::heard(&mut tx, &s.envelope_id, None, true, opts.now).await?;
        store_sync::put_receipt(
            &mut tx,
            &store_sync::NewReceipt {
                source: "poll",
                relay_url: None,
                relay_cursor: None,
                envelope_id: &s.envelope_id,
                event: "poll",
                provider_status: Some(&status.provider_status),
                generated_at: generated_at.as_deref(),
                body: &body,
                document: doc,
                outcome: outcome.as_str(),
            },
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        if outcome == Outcome::Applied {
            done.applied += 1;
        }
        fetch_evidence(ws, after).await;
    }
    for m in missing {
        let record = crate::query::current_record(ws, m.document_id).await?;
        let envelope = EnvelopeId::new(m.envelope_id.clone());
        store_evidence(ws, &record, provider.as_ref(), &envelope, PROVIDER_ACTOR).await?;
        done.evidence_fetched += 1;
    }
    Ok(done)
}

/// What the app shows about the status loop.
#[derive(Clone, Debug, Default, PartialEq, Serialize, TS)]
pub struct SyncStatus {
    /// The relay answered the last pull.
    pub online: bool,
    /// The relay pulled from (`None`: none configured and none running).
    pub relay_url: Option<String>,
    /// When the relay last answered (RFC 3339).
    pub last_contact_at: Option<String>,
    /// How long the newest applied event waited between the relay's receipt and this
    /// workstation applying it.
    #[ts(type = "number | null")]
    pub lag_ms: Option<u64>,
    /// Events known to be waiting at the relay (the last page was full).
    pub behind: bool,
    /// Why the last pull failed, while offline.
    pub error: Option<String>,
}

/// The status loop of a running app (or `countersign sync`): long-polls the relay and applies
/// what it hands over, reconciles stale envelopes every `reconcile_every`, reports how it is
/// going on `status`, until `cancel`. Offline, it retries with backoff and catches up by itself.
pub async fn run(
    ws: &Workspace,
    link: Option<RelayLink>,
    reconcile_every: Duration,
    status: watch::Sender<SyncStatus>,
    cancel: &CancellationToken,
) {
    let mut backoff = Duration::from_secs(1);
    let mut next_reconcile = tokio::time::Instant::now();
    let mut link = link;
    let mut next_link_try = tokio::time::Instant::now();
    status.send_modify(|s| s.relay_url = link.as_ref().map(|l| l.url().to_owned()));
    loop {
        if cancel.is_cancelled() {
            return;
        }
        // A configured relay whose token was missing: try again now and then (it may have been
        // entered in Settings since).
        if link.is_none()
            && ws.config().relay_url.is_some()
            && tokio::time::Instant::now() >= next_link_try
        {
            next_link_try = tokio::time::Instant::now() + Duration::from_secs(5);
            match configured_relay(ws).await {
                Ok(Some(l)) => {
                    status.send_modify(|s| {
                        s.relay_url = Some(l.url().to_owned());
                        s.error = None;
                    });
                    link = Some(l);
                }
                Ok(None) => {}
                Err(e) => {
                    if status.borrow().error.as_deref() != Some(e.message.as_str()) {
                        status.send_modify(|s| s.error = Some(e.message.clone()));
                    }
                }
            }
        }
        if tokio::time::Instant::now() >= next_reconcile {
            match reconcile(ws, &Reconcile::default()).await {
                Ok(r) if r.polled > 0 || r.evidence_fetched > 0 => {
                    tracing::info!(
                        polled = r.polled,
                        applied = r.applied,
                        evidence = r.evidence_fetched,
                        "reconciled"
                    );
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::info!(error = %e, "reconciliation did not finish; trying again later")
                }
            }
            next_reconcile = tokio::time::Instant::now() + reconcile_every;
        }
        let Some(link) = &link else {
            let wake = if ws.config().relay_url.is_some() {
                next_reconcile.min(next_link_try)
            } else {
                next_reconcile
            };
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep_until(wake) => continue,
            }
        };
        // Not known to be online yet (just started, or after a failure): ask without waiting,
        // so "online" shows as soon as the relay answers; then long-poll.
        let wait = if status.borrow().online {
            LONG_POLL.min(
                next_reconcile
                    .saturating_duration_since(tokio::time::Instant::now())
                    .max(Duration::from_secs(1)),
            )
        } else {
            Duration::ZERO
        };
        let pulled = tokio::select! {
            _ = cancel.cancelled() => return,
            p = pull(ws, link, wait) => p,
        };
        match pulled {
            Ok(p) => {
                let was_offline = !status.borrow().online;
                backoff = Duration::from_secs(1);
                status.send_modify(|s| {
                    s.online = true;
                    s.last_contact_at = Some(Utc::now().to_rfc3339());
                    if p.lag_ms.is_some() {
                        s.lag_ms = p.lag_ms;
                    }
                    s.behind = p.more;
                    s.error = None;
                });
                if was_offline {
                    // Back online: sends waiting out a backoff go now.
                    if let Err(e) = send::wake_outbox(ws).await {
                        tracing::warn!(error = %e, "waking the outbox failed");
                    }
                }
            }
            Err(e) => {
                status.send_modify(|s| {
                    s.online = false;
                    s.error = Some(e.message.clone());
                });
                tracing::info!(error = %e, retry_in_s = backoff.as_secs(), "relay pull failed");
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// A document's raw provider events, for the evidence view and tests.
pub async fn receipts(
    ws: &Workspace,
    id: DocumentId,
) -> Result<Vec<store_sync::ReceiptRow>, Error> {
    Ok(store_sync::receipts(ws.store().pool(), id).await?)
}

/// Where the app's own relay listens unless that port is taken (then any free one).
pub const LOCAL_RELAY_LISTEN: &str = "127.0.0.1:7082";

/// The app's own relay on loopback, for the embedded default: the local sandbox posts its
/// webhooks here and the status loop pulls them, exactly as with a team's relay on a server.
/// Its HMAC secret and workstation token are made for this run and kept only in memory; its
/// database is a temporary file removed when it stops, so no secret is ever written down. (The
/// embedded sandbox runs only while the app does, so nothing is missed between runs; what was
/// in flight at exit is caught up by reconciliation.)
pub struct LocalRelay {
    pub url: String,
    pub link: RelayLink,
    /// Signs the sandbox's webhooks (`X-DocuSign-Signature-1`).
    pub hmac_secret: countersign_sign::SecretString,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl LocalRelay {
    /// Where a provider posts this tenant's Connect webhooks.
    pub fn hooks_url(&self) -> String {
        format!("{}/hooks/docusign/{}", self.url, self.link.tenant)
    }

    /// Waits until the relay has stopped (after its cancellation token fired).
    pub async fn stopped(self) {
        let _ = self.task.await;
    }
}

fn random_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Starts the app's own relay (see [`LocalRelay`]) until `cancel` fires.
pub async fn start_local_relay(
    ws: &Workspace,
    listen: &str,
    cancel: CancellationToken,
) -> Result<LocalRelay, Error> {
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        Error::new(
            ErrorCode::Internal,
            format!("starting the local relay: {what}: {e}"),
        )
    };
    let dir = tempfile::Builder::new()
        .prefix("countersign-relay-")
        .tempdir()
        .map_err(|e| failed("temporary dir", &e))?;
    let db = countersign_relay::DatabaseUrl::Sqlite(dir.path().join("relay.db"));
    let tenant_id = ws.config().tenant_id.as_str().to_owned();
    let tenant =
        countersign_relay::TenantId::parse(&tenant_id).map_err(|e| failed("tenant", &e))?;
    let secret = random_secret();
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            tracing::info!(%listen, error = %e, "the local relay's port is taken; using another");
            tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|e| failed("listening", &e))?
        }
    };
    let started = countersign_relay::start(
        countersign_relay::Config::new(db),
        listener,
        &tenant,
        &secret,
        "this app",
        cancel,
    )
    .await
    .map_err(|e| failed("starting", &e))?;
    let (url, token) = (started.url, started.token);
    let relay_task = started.task;
    let task = tokio::spawn(async move {
        match relay_task.await {
            Ok(Err(e)) => tracing::error!(error = %e, "the local relay stopped"),
            Err(e) => tracing::error!(error = %e, "the local relay stopped"),
            Ok(Ok(())) => {}
        }
    });
    // A new relay: its stream starts over.
    store_sync::reset_cursor(ws.store().pool(), &url, &tenant_id).await?;
    let client = Client::new(&url, countersign_sign::SecretString::from(token))
        .map_err(|e| failed("client", &e))?;
    tracing::info!(%url, "local relay listening");
    Ok(LocalRelay {
        url,
        link: RelayLink {
            client,
            tenant: tenant_id,
        },
        hmac_secret: countersign_sign::SecretString::from(secret),
        task,
        _dir: dir,
    })
}
