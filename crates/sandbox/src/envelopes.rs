//! What happens to an envelope: created (and sent), opened, signed, declined, voided; each change
//! is one transaction that also records its events, and once committed the events go out as
//! webhooks. Used alike by the REST API, the signing page and auto-sign.
//!
//! Statuses. Envelope: `created` (draft) → `sent` → `delivered` (someone opened it) →
//! `completed` | `declined` | `voided`. Signer: `created` (not their turn yet) → `sent` →
//! `delivered` → `completed` | `declined`. Carbon copies stay `created` until the envelope
//! completes, then are `completed`. The signers whose turn it is are those not yet `completed`
//! with the lowest routing order.

use crate::db::{self, DocumentMeta, EnvelopeRow, FieldRow, RecipientRow};
use crate::pdf::{self, Mark, Placement};
use crate::validate::{self, NewEnvelope};
use crate::App;
use countersign_sign::docusign::wire;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Why an operation on an envelope cannot be done.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error("the envelope does not exist")]
    EnvelopeNotFound,
    #[error("the recipient does not exist")]
    RecipientNotFound,
    #[error("{0}")]
    InvalidState(String),
    #[error("{0}")]
    NotYourTurn(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<sqlx::Error> for OpError {
    fn from(e: sqlx::Error) -> Self {
        OpError::Internal(format!("database: {e}"))
    }
}

impl From<pdf::PdfError> for OpError {
    fn from(e: pdf::PdfError) -> Self {
        OpError::Internal(e.to_string())
    }
}

/// (event, recipient id) pairs to publish once committed.
type Events = Vec<(&'static str, Option<String>)>;

/// Stores a validated envelope (and sends it when asked), returns its row.
pub async fn create(app: &Arc<App>, new: NewEnvelope) -> Result<EnvelopeRow, OpError> {
    let id = uuid::Uuid::new_v4().to_string();
    let now = db::now();
    let status = if new.send { "sent" } else { "created" };
    let first_order = new
        .recipients
        .iter()
        .filter(|r| r.signer)
        .map(|r| r.routing_order)
        .min();
    let mut events: Events = Vec::new();
    let mut tx = app.pool.begin().await?;
    sqlx::query(
        "INSERT INTO envelopes (envelope_id, account_id, status, email_subject, email_blurb, created_at, sent_at, status_changed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&id)
    .bind(&app.config.account_id)
    .bind(status)
    .bind(&new.email_subject)
    .bind(&new.email_blurb)
    .bind(&now)
    .bind(new.send.then_some(&now))
    .bind(&now)
    .execute(&mut *tx)
    .await?;
    events.push((
        if new.send {
            "envelope-sent"
        } else {
            "envelope-created"
        },
        None,
    ));
    for (position, r) in new.recipients.iter().enumerate() {
        let turn = new.send && r.signer && Some(r.routing_order) == first_order;
        let tabs = serde_json::to_string(&r.tabs).map_err(|e| OpError::Internal(e.to_string()))?;
        sqlx::query(
            "INSERT INTO recipients (envelope_id, recipient_id, kind, name, email, routing_order, role_name, status, sent_at, tabs_json, position)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(&r.recipient_id)
        .bind(if r.signer { "signer" } else { "carbon_copy" })
        .bind(&r.name)
        .bind(&r.email)
        .bind(r.routing_order as i64)
        .bind(&r.role_name)
        .bind(if turn { "sent" } else { "created" })
        .bind(turn.then_some(&now))
        .bind(tabs)
        .bind(position as i64)
        .execute(&mut *tx)
        .await?;
        if turn {
            events.push(("recipient-sent", Some(r.recipient_id.clone())));
        }
    }
    for f in &new.custom_fields {
        sqlx::query(
            "INSERT INTO custom_fields (envelope_id, name, value, show, required) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(&f.name)
        .bind(&f.value)
        .bind(&f.show)
        .bind(&f.required)
        .execute(&mut *tx)
        .await?;
    }
    for (position, d) in new.documents.iter().enumerate() {
        sqlx::query(
            "INSERT INTO documents (envelope_id, document_id, name, position, page_count, original, original_sha256)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(&d.document_id)
        .bind(&d.name)
        .bind(position as i64)
        .bind(d.page_count as i64)
        .bind(&d.bytes)
        .bind(&d.sha256)
        .execute(&mut *tx)
        .await?;
    }
    record(&mut tx, &id, &now, &events).await?;
    tx.commit().await?;
    crate::Stats::bump(&app.stats.envelopes_created);
    tracing::info!(envelope_id = %id, status, "envelope created");
    publish(app, &id, events).await;
    if new.send {
        spawn_auto_sign(app.clone(), id.clone());
    }
    db::envelope(&app.pool, &id)
        .await?
        .ok_or(OpError::EnvelopeNotFound)
}

/// Sends a draft.
pub async fn send_draft(app: &Arc<App>, id: &str) -> Result<(), OpError> {
    let _turn = app.changes.lock().await;
    let env = db::envelope(&app.pool, id)
        .await?
        .ok_or(OpError::EnvelopeNotFound)?;
    if env.status != "created" {
        return Err(OpError::InvalidState(format!(
            "the envelope is {}, not a draft",
            env.status
        )));
    }
    let recipients = db::recipients(&app.pool, id).await?;
    let Some(order) = current_order(&recipients) else {
        return Err(OpError::InvalidState(
            "the envelope has no signer to send to".into(),
        ));
    };
    let now = db::now();
    let mut events: Events = vec![("envelope-sent", None)];
    let mut tx = app.pool.begin().await?;
    sqlx::query(
        "UPDATE envelopes SET status = 'sent', sent_at = ?, status_changed_at = ? WHERE envelope_id = ?",
    )
    .bind(&now)
    .bind(&now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    for r in recipients
        .iter()
        .filter(|r| r.is_signer() && r.routing_order == order)
    {
        set_recipient(&mut tx, id, &r.recipient_id, "sent", "sent_at", &now).await?;
        events.push(("recipient-sent", Some(r.recipient_id.clone())));
    }
    record(&mut tx, id, &now, &events).await?;
    tx.commit().await?;
    publish(app, id, events).await;
    spawn_auto_sign(app.clone(), id.to_owned());
    Ok(())
}

/// The recipient opened their signing page: `delivered`, for them and (the first time) for the
/// envelope. Nothing happens when it is not their turn or they are past it.
pub async fn open(app: &Arc<App>, id: &str, recipient_id: &str) -> Result<(), OpError> {
    let _turn = app.changes.lock().await;
    let env = db::envelope(&app.pool, id)
        .await?
        .ok_or(OpError::EnvelopeNotFound)?;
    let recipients = db::recipients(&app.pool, id).await?;
    let r = recipients
        .iter()
        .find(|r| r.recipient_id == recipient_id)
        .ok_or(OpError::RecipientNotFound)?;
    if r.status != "sent" || !matches!(env.status.as_str(), "sent" | "delivered") {
        return Ok(());
    }
    let now = db::now();
    let mut tx = app.pool.begin().await?;
    let events = deliver(&mut tx, &env, recipient_id, &now).await?;
    record(&mut tx, id, &now, &events).await?;
    tx.commit().await?;
    publish(app, id, events).await;
    Ok(())
}

async fn deliver(
    tx: &mut db::Tx,
    env: &EnvelopeRow,
    recipient_id: &str,
    now: &str,
) -> Result<Events, OpError> {
    let mut events: Events = Vec::new();
    set_recipient(
        tx,
        &env.envelope_id,
        recipient_id,
        "delivered",
        "delivered_at",
        now,
    )
    .await?;
    events.push(("recipient-delivered", Some(recipient_id.to_owned())));
    if env.status == "sent" {
        sqlx::query(
            "UPDATE envelopes SET status = 'delivered', delivered_at = ?, status_changed_at = ? WHERE envelope_id = ?",
        )
        .bind(now)
        .bind(now)
        .bind(&env.envelope_id)
        .execute(&mut **tx)
        .await?;
        events.push(("envelope-delivered", None));
    }
    Ok(events)
}

/// Checks that it is `recipient_id`'s turn to act on `env`, and returns them.
fn whose_turn<'a>(
    env: &EnvelopeRow,
    recipients: &'a [RecipientRow],
    recipient_id: &str,
) -> Result<&'a RecipientRow, OpError> {
    let r = recipients
        .iter()
        .find(|r| r.recipient_id == recipient_id)
        .ok_or(OpError::RecipientNotFound)?;
    if !matches!(env.status.as_str(), "sent" | "delivered") {
        return Err(OpError::InvalidState(format!(
            "the envelope is {}",
            env.status
        )));
    }
    if !r.is_signer() {
        return Err(OpError::InvalidState(format!(
            "{} receives a copy and signs nothing",
            r.name
        )));
    }
    match r.status.as_str() {
        "completed" => {
            return Err(OpError::InvalidState(format!(
                "{} has already signed",
                r.name
            )))
        }
        "declined" => return Err(OpError::InvalidState(format!("{} has declined", r.name))),
        _ => {}
    }
    let order = current_order(recipients);
    if Some(r.routing_order) != order || r.status == "created" {
        let waiting: Vec<&str> = recipients
            .iter()
            .filter(|o| o.is_signer() && o.status != "completed" && Some(o.routing_order) == order)
            .map(|o| o.name.as_str())
            .collect();
        return Err(OpError::NotYourTurn(format!(
            "it is not {}'s turn yet: waiting for {} to sign first",
            r.name,
            waiting.join(", ")
        )));
    }
    Ok(r)
}

/// The lowest routing order among signers who have not signed.
pub fn current_order(recipients: &[RecipientRow]) -> Option<i64> {
    recipients
        .iter()
        .filter(|r| r.is_signer() && r.status != "completed")
        .map(|r| r.routing_order)
        .min()
}

/// `recipient_id` signs: their stamps go into the documents, and the envelope moves on to the
/// next routing order or completes.
pub async fn sign(app: &Arc<App>, id: &str, recipient_id: &str) -> Result<(), OpError> {
    let _turn = app.changes.lock().await;
    let env = db::envelope(&app.pool, id)
        .await?
        .ok_or(OpError::EnvelopeNotFound)?;
    let recipients = db::recipients(&app.pool, id).await?;
    let r = whose_turn(&env, &recipients, recipient_id)?.clone();

    let tabs: wire::Tabs = serde_json::from_str(&r.tabs_json)
        .map_err(|e| OpError::Internal(format!("stored tabs: {e}")))?;
    let marks: Vec<(Mark, Option<String>)> = validate::marks(&tabs)
        .map_err(|e| OpError::Internal(e.message))?
        .into_iter()
        .map(|m| (m.mark, m.document_id))
        .collect();
    let documents = db::current_documents(&app.pool, id).await?;
    let signed_at = chrono::Utc::now();
    let now = db::format_time(signed_at);
    let date = signed_at.format("%Y-%m-%d %H:%M UTC").to_string();
    let name = r.name.clone();
    let stamped =
        tokio::task::spawn_blocking(move || -> Result<Vec<(String, Vec<u8>)>, pdf::PdfError> {
            let mut out = Vec::new();
            for d in documents {
                // Anchors are looked for in every document; fixed places belong to one.
                let mine: Vec<Mark> = marks
                    .iter()
                    .filter(|(m, doc)| match m.placement {
                        Placement::Anchor { .. } => true,
                        Placement::Fixed { .. } => doc.as_deref() == Some(d.document_id.as_str()),
                    })
                    .map(|(m, _)| m.clone())
                    .collect();
                if mine.is_empty() {
                    continue;
                }
                let (bytes, placed) = pdf::stamp(&d.bytes, &mine, &name, &date)?;
                if placed > 0 {
                    out.push((d.document_id, bytes));
                }
            }
            Ok(out)
        })
        .await
        .map_err(|e| OpError::Internal(e.to_string()))??;

    let mut events: Events = Vec::new();
    let mut tx = app.pool.begin().await?;
    for (document_id, bytes) in &stamped {
        sqlx::query("UPDATE documents SET signed = ?, signed_sha256 = ? WHERE envelope_id = ? AND document_id = ?")
            .bind(bytes)
            .bind(hex::encode(Sha256::digest(bytes)))
            .bind(id)
            .bind(document_id)
            .execute(&mut *tx)
            .await?;
    }
    if r.status == "sent" {
        // Signed without opening the page first (auto-sign): opened and signed at once.
        events.extend(deliver(&mut tx, &env, recipient_id, &now).await?);
    }
    sqlx::query(
        "UPDATE recipients SET status = 'completed', signed_at = ? WHERE envelope_id = ? AND recipient_id = ?",
    )
    .bind(&now)
    .bind(id)
    .bind(recipient_id)
    .execute(&mut *tx)
    .await?;
    events.push(("recipient-completed", Some(recipient_id.to_owned())));

    let after: Vec<RecipientRow> = recipients
        .iter()
        .map(|o| {
            let mut o = o.clone();
            if o.recipient_id == recipient_id {
                o.status = "completed".into();
            }
            o
        })
        .collect();
    match current_order(&after) {
        None => {
            sqlx::query(
                "UPDATE envelopes SET status = 'completed', completed_at = ?, status_changed_at = ? WHERE envelope_id = ?",
            )
            .bind(&now)
            .bind(&now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE recipients SET status = 'completed' WHERE envelope_id = ? AND kind = 'carbon_copy'",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
            events.push(("envelope-completed", None));
        }
        Some(next) => {
            for o in after
                .iter()
                .filter(|o| o.is_signer() && o.routing_order == next && o.status == "created")
            {
                set_recipient(&mut tx, id, &o.recipient_id, "sent", "sent_at", &now).await?;
                events.push(("recipient-sent", Some(o.recipient_id.clone())));
            }
        }
    }
    record(&mut tx, id, &now, &events).await?;
    tx.commit().await?;
    tracing::info!(envelope_id = %id, recipient_id, stamps = stamped.len(), "recipient signed");
    publish(app, id, events).await;
    Ok(())
}

/// `recipient_id` declines: the envelope is declined.
pub async fn decline(
    app: &Arc<App>,
    id: &str,
    recipient_id: &str,
    reason: &str,
) -> Result<(), OpError> {
    let _turn = app.changes.lock().await;
    let env = db::envelope(&app.pool, id)
        .await?
        .ok_or(OpError::EnvelopeNotFound)?;
    let recipients = db::recipients(&app.pool, id).await?;
    whose_turn(&env, &recipients, recipient_id)?;
    let now = db::now();
    let reason = if reason.trim().is_empty() {
        "Declined on the signing page"
    } else {
        reason.trim()
    };
    let mut tx = app.pool.begin().await?;
    sqlx::query(
        "UPDATE recipients SET status = 'declined', declined_at = ?, declined_reason = ? WHERE envelope_id = ? AND recipient_id = ?",
    )
    .bind(&now)
    .bind(reason)
    .bind(id)
    .bind(recipient_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE envelopes SET status = 'declined', declined_at = ?, status_changed_at = ? WHERE envelope_id = ?",
    )
    .bind(&now)
    .bind(&now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let events: Events = vec![
        ("recipient-declined", Some(recipient_id.to_owned())),
        ("envelope-declined", None),
    ];
    record(&mut tx, id, &now, &events).await?;
    tx.commit().await?;
    publish(app, id, events).await;
    Ok(())
}

/// Voids an envelope that is not finished.
pub async fn void(app: &Arc<App>, id: &str, reason: &str) -> Result<(), OpError> {
    let _turn = app.changes.lock().await;
    let env = db::envelope(&app.pool, id)
        .await?
        .ok_or(OpError::EnvelopeNotFound)?;
    if !matches!(env.status.as_str(), "created" | "sent" | "delivered") {
        return Err(OpError::InvalidState(format!(
            "Only envelopes in the 'Sent' or 'Delivered' states may be voided; this one is {}.",
            env.status
        )));
    }
    let now = db::now();
    let mut tx = app.pool.begin().await?;
    sqlx::query(
        "UPDATE envelopes SET status = 'voided', voided_at = ?, voided_reason = ?, status_changed_at = ? WHERE envelope_id = ?",
    )
    .bind(&now)
    .bind(reason)
    .bind(&now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let events: Events = vec![("envelope-voided", None)];
    record(&mut tx, id, &now, &events).await?;
    tx.commit().await?;
    publish(app, id, events).await;
    Ok(())
}

async fn set_recipient(
    tx: &mut db::Tx,
    envelope_id: &str,
    recipient_id: &str,
    status: &str,
    time_column: &str,
    at: &str,
) -> sqlx::Result<()> {
    // `time_column` is one of our own column names, never input.
    sqlx::query(&format!(
        "UPDATE recipients SET status = ?, {time_column} = ? WHERE envelope_id = ? AND recipient_id = ?"
    ))
    .bind(status)
    .bind(at)
    .bind(envelope_id)
    .bind(recipient_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn record(tx: &mut db::Tx, id: &str, at: &str, events: &Events) -> sqlx::Result<()> {
    for (event, recipient) in events {
        db::insert_event(tx, id, at, event, recipient.as_deref(), None).await?;
    }
    Ok(())
}

/// Hands committed events to the webhook dispatchers, each with the envelope as it now stands.
async fn publish(app: &Arc<App>, id: &str, events: Events) {
    if !app.webhooks.enabled() || events.is_empty() {
        return;
    }
    let summary = match db::envelope(&app.pool, id).await {
        Ok(Some(env)) => match full_view(app, env).await {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(envelope_id = %id, error = %e, "cannot build the webhook summary");
                return;
            }
        },
        other => {
            tracing::error!(envelope_id = %id, ?other, "cannot read the envelope for its webhooks");
            return;
        }
    };
    for (event, recipient_id) in events {
        app.webhooks
            .publish(&app.config.account_id, id, event, recipient_id, &summary);
    }
}

/// The envelope with recipients and custom fields (the Connect `envelopeSummary`).
pub async fn full_view(app: &App, env: EnvelopeRow) -> Result<wire::Envelope, sqlx::Error> {
    let recipients = db::recipients(&app.pool, &env.envelope_id).await?;
    let fields = db::custom_fields(&app.pool, &env.envelope_id).await?;
    Ok(to_wire(env, Some(&recipients), Some(&fields)))
}

/// An envelope as the API shows it; recipients and custom fields only when given (`include=`).
pub fn to_wire(
    env: EnvelopeRow,
    recipients: Option<&[RecipientRow]>,
    fields: Option<&[FieldRow]>,
) -> wire::Envelope {
    let id = env.envelope_id.clone();
    let uri = format!("/envelopes/{id}");
    wire::Envelope {
        envelope_id: Some(env.envelope_id),
        status: Some(env.status),
        email_subject: Some(env.email_subject),
        email_blurb: env.email_blurb,
        documents_uri: Some(format!("{uri}/documents")),
        documents_combined_uri: Some(format!("{uri}/documents/combined")),
        certificate_uri: Some(format!("{uri}/documents/certificate")),
        envelope_uri: Some(uri),
        created_date_time: Some(env.created_at),
        sent_date_time: env.sent_at,
        delivered_date_time: env.delivered_at,
        completed_date_time: env.completed_at,
        declined_date_time: env.declined_at,
        voided_date_time: env.voided_at,
        voided_reason: env.voided_reason,
        last_modified_date_time: Some(env.status_changed_at.clone()),
        status_changed_date_time: Some(env.status_changed_at),
        custom_fields: fields.map(|fields| wire::CustomFields {
            text_custom_fields: Some(
                fields
                    .iter()
                    .map(|f| wire::TextCustomField {
                        field_id: None,
                        name: Some(f.name.clone()),
                        value: Some(f.value.clone()),
                        show: f.show.clone(),
                        required: f.required.clone(),
                    })
                    .collect(),
            ),
        }),
        recipients: recipients.map(recipients_to_wire),
    }
}

fn recipients_to_wire(recipients: &[RecipientRow]) -> wire::Recipients {
    let signers = recipients
        .iter()
        .filter(|r| r.is_signer())
        .map(|r| wire::Signer {
            email: Some(r.email.clone()),
            name: Some(r.name.clone()),
            recipient_id: Some(r.recipient_id.clone()),
            routing_order: Some(r.routing_order.to_string()),
            role_name: r.role_name.clone(),
            tabs: None,
            status: Some(r.status.clone()),
            sent_date_time: r.sent_at.clone(),
            delivered_date_time: r.delivered_at.clone(),
            signed_date_time: r.signed_at.clone(),
            declined_date_time: r.declined_at.clone(),
            declined_reason: r.declined_reason.clone(),
        })
        .collect();
    let carbon_copies = recipients
        .iter()
        .filter(|r| !r.is_signer())
        .map(|r| wire::CarbonCopy {
            email: Some(r.email.clone()),
            name: Some(r.name.clone()),
            recipient_id: Some(r.recipient_id.clone()),
            routing_order: Some(r.routing_order.to_string()),
            role_name: r.role_name.clone(),
            status: Some(r.status.clone()),
        })
        .collect();
    wire::Recipients {
        signers: Some(signers),
        carbon_copies: Some(carbon_copies),
        recipient_count: Some(recipients.len().to_string()),
        current_routing_order: current_order(recipients).map(|o| o.to_string()),
    }
}

/// The certificate of completion: the envelope, its documents with the sha256 of the original
/// and of the signed bytes, its recipients, and every event with time and IP address.
pub async fn certificate(app: &App, id: &str) -> Result<Vec<u8>, OpError> {
    let env = db::envelope(&app.pool, id)
        .await?
        .ok_or(OpError::EnvelopeNotFound)?;
    let recipients = db::recipients(&app.pool, id).await?;
    let documents: Vec<DocumentMeta> = db::document_meta(&app.pool, id).await?;
    let events = db::events(&app.pool, id).await?;
    let mut lines: Vec<(f32, String)> = vec![
        (16.0, "Certificate of Completion".into()),
        (8.0, "Issued by countersign-sandbox, a local test provider: these are not legally binding signatures.".into()),
        (10.0, String::new()),
        (10.0, format!("Envelope Id: {}", env.envelope_id)),
        (10.0, format!("Subject: {}", env.email_subject)),
        (10.0, format!("Status: {}", env.status)),
        (10.0, format!("Created: {}", env.created_at)),
    ];
    for (label, value) in [
        ("Sent", &env.sent_at),
        ("Completed", &env.completed_at),
        ("Declined", &env.declined_at),
        ("Voided", &env.voided_at),
    ] {
        if let Some(v) = value {
            lines.push((10.0, format!("{label}: {v}")));
        }
    }
    if let Some(reason) = &env.voided_reason {
        lines.push((10.0, format!("Voided reason: {reason}")));
    }
    lines.push((10.0, String::new()));
    lines.push((12.0, "Documents".into()));
    for d in &documents {
        lines.push((
            10.0,
            format!(
                "Document {}: {} ({} pages)",
                d.document_id, d.name, d.page_count
            ),
        ));
        lines.push((9.0, format!("  Original sha256: {}", d.original_sha256)));
        lines.push((
            9.0,
            format!(
                "  Signed sha256: {}",
                d.signed_sha256.as_deref().unwrap_or("(not signed yet)")
            ),
        ));
    }
    lines.push((10.0, String::new()));
    lines.push((12.0, "Recipients".into()));
    for r in &recipients {
        let kind = if r.is_signer() {
            "signer"
        } else {
            "carbon copy"
        };
        lines.push((
            10.0,
            format!(
                "{} <{}>: {kind}, routing order {}, {}",
                r.name, r.email, r.routing_order, r.status
            ),
        ));
        let mut detail = Vec::new();
        if let Some(t) = &r.sent_at {
            detail.push(format!("sent {t}"));
        }
        if let Some(t) = &r.delivered_at {
            detail.push(format!("viewed {t}"));
        }
        if let Some(t) = &r.signed_at {
            detail.push(format!("signed {t}"));
        }
        if let Some(t) = &r.declined_at {
            detail.push(format!(
                "declined {t} ({})",
                r.declined_reason.as_deref().unwrap_or("")
            ));
        }
        if !detail.is_empty() {
            lines.push((
                9.0,
                format!("  {}; IP address 127.0.0.1", detail.join(", ")),
            ));
        }
    }
    lines.push((10.0, String::new()));
    lines.push((12.0, "Events".into()));
    for e in &events {
        let who = e
            .recipient_id
            .as_deref()
            .and_then(|rid| recipients.iter().find(|r| r.recipient_id == rid))
            .map(|r| format!(" ({})", r.name))
            .unwrap_or_default();
        lines.push((9.0, format!("{}  {}{who}  IP {}", e.at, e.event, e.ip)));
    }
    tokio::task::spawn_blocking(move || pdf::text_document(&lines))
        .await
        .map_err(|e| OpError::Internal(e.to_string()))?
        .map_err(OpError::from)
}

/// Signs, in routing order, every signer of the envelope `auto_sign` after their turn comes.
/// Stops when the envelope is finished, on shutdown, or if signing fails.
pub fn spawn_auto_sign(app: Arc<App>, id: String) {
    let Some(delay) = app.config.auto_sign else {
        return;
    };
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = app.shutdown.cancelled() => return,
            }
            let (env, recipients) = match (
                db::envelope(&app.pool, &id).await,
                db::recipients(&app.pool, &id).await,
            ) {
                (Ok(Some(env)), Ok(r)) => (env, r),
                _ => return,
            };
            if !matches!(env.status.as_str(), "sent" | "delivered") {
                return;
            }
            let order = current_order(&recipients);
            let due: Vec<String> = recipients
                .iter()
                .filter(|r| {
                    r.is_signer()
                        && Some(r.routing_order) == order
                        && matches!(r.status.as_str(), "sent" | "delivered")
                })
                .map(|r| r.recipient_id.clone())
                .collect();
            if due.is_empty() {
                return;
            }
            for rid in due {
                match sign(&app, &id, &rid).await {
                    Ok(()) => {
                        tracing::debug!(envelope_id = %id, recipient_id = %rid, "auto-signed")
                    }
                    // Someone signed or declined on the page meanwhile: look again next round.
                    Err(OpError::InvalidState(_) | OpError::NotYourTurn(_)) => {}
                    Err(e) => {
                        tracing::error!(envelope_id = %id, recipient_id = %rid, error = %e, "auto-sign failed");
                        return;
                    }
                }
            }
        }
    });
}
