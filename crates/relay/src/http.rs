//! The HTTP edge: routes, the `{code, message}` error shape, body limit, HMAC check, long-poll.

use crate::config::{Config, MAX_WAIT_SECS};
use crate::metrics::{Metrics, Rejection};
use crate::store::{format_time, NewEvent, Store, StoredEvent};
use crate::wake::Wakers;
use crate::{tokens, RelayError};
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use countersign_sign::docusign::connect::verify_signature;
use countersign_sign::docusign::wire::ConnectEvent;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Connect sends `X-DocuSign-Signature-1` … `-100`; header names arrive lowercased.
const SIGNATURE_PREFIX: &str = "x-docusign-signature-";

pub struct App {
    pub config: Config,
    pub store: Store,
    pub metrics: Arc<Metrics>,
    /// Per-tenant wake-up for long-polls, fired here after an event is committed and, with
    /// PostgreSQL, by the LISTEN task for events other instances committed (see [`crate::run`]).
    wakers: Arc<Wakers>,
    shutdown: CancellationToken,
}

impl App {
    pub fn new(config: Config, store: Store, shutdown: CancellationToken) -> Self {
        App {
            config,
            store,
            metrics: Arc::new(Metrics::default()),
            wakers: Arc::default(),
            shutdown,
        }
    }

    pub(crate) fn wakers(&self) -> Arc<Wakers> {
        self.wakers.clone()
    }
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/hooks/docusign/{tenant}", post(receive_docusign))
        .route("/v1/events", get(list_events))
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/metrics", get(metrics))
        .with_state(app)
}

/// `{code, message}` with a status. Internal errors are logged and shown opaquely.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
}

impl From<RelayError> for ApiError {
    fn from(e: RelayError) -> Self {
        tracing::error!(error = %e, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the relay's log",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"code": self.code, "message": self.message});
        (self.status, Json(body)).into_response()
    }
}

fn reject(app: &App, why: Rejection, status: StatusCode, message: &str) -> ApiError {
    app.metrics.count_rejected(why);
    let code = match why {
        // Unknown tenant and forged look the same from outside: no probing for tenant names.
        Rejection::UnknownTenant | Rejection::Forged => "invalid_signature",
        Rejection::Unsigned => "missing_signature",
        Rejection::TooLarge => "too_large",
        Rejection::Malformed => "malformed_event",
    };
    ApiError::new(status, code, message)
}

async fn read_body(app: &App, headers: &HeaderMap, body: Body) -> Result<Vec<u8>, ApiError> {
    let limit = app.config.max_body_bytes;
    let too_large = || {
        reject(
            app,
            Rejection::TooLarge,
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the body exceeds {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => Ok(bytes.to_vec()),
        Err(e) => {
            let over = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if over {
                Err(too_large())
            } else {
                Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "body_unreadable",
                    "could not read the request body",
                ))
            }
        }
    }
}

/// The deduplication key: a redelivery of the same notification (Connect retries bump
/// `retryCount`, so the bytes differ) has the same event, envelope, recipient and
/// `generatedDateTime`. Without a `generatedDateTime` only byte-identical bodies are duplicates.
fn dedup_key(event: &ConnectEvent, raw: &[u8]) -> String {
    let mut h = Sha256::new();
    if event.generated_date_time.is_empty() {
        h.update(b"body\0");
        h.update(raw);
    } else {
        for part in [
            event.event.as_str(),
            event.data.envelope_id.as_str(),
            event.data.recipient_id.as_deref().unwrap_or(""),
            event.generated_date_time.as_str(),
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
    }
    hex::encode(h.finalize())
}

async fn receive_docusign(
    State(app): State<Arc<App>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<serde_json::Value>, ApiError> {
    let raw = read_body(&app, &headers, body).await?;
    let Some(secrets) = app.store.active_secrets(&tenant).await? else {
        return Err(reject(
            &app,
            Rejection::UnknownTenant,
            StatusCode::UNAUTHORIZED,
            "the signature does not verify",
        ));
    };
    let signatures: Vec<&str> = headers
        .iter()
        .filter(|(name, _)| {
            name.as_str()
                .strip_prefix(SIGNATURE_PREFIX)
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .filter_map(|(_, v)| v.to_str().ok())
        .collect();
    if signatures.is_empty() {
        return Err(reject(
            &app,
            Rejection::Unsigned,
            StatusCode::UNAUTHORIZED,
            "no X-DocuSign-Signature-N header",
        ));
    }
    let genuine = secrets.iter().any(|secret| {
        signatures
            .iter()
            .any(|sig| verify_signature(secret.as_bytes(), &raw, sig))
    });
    if !genuine {
        return Err(reject(
            &app,
            Rejection::Forged,
            StatusCode::UNAUTHORIZED,
            "the signature does not verify",
        ));
    }
    let malformed = |why: &str| {
        reject(
            &app,
            Rejection::Malformed,
            StatusCode::BAD_REQUEST,
            &format!("not a DocuSign Connect event: {why}"),
        )
    };
    let event: ConnectEvent =
        serde_json::from_slice(&raw).map_err(|e| malformed(&e.to_string()))?;
    if event.event.is_empty() || event.data.envelope_id.is_empty() {
        return Err(malformed("`event` and `data.envelopeId` must not be empty"));
    }
    let new = NewEvent {
        tenant: tenant.clone(),
        dedup_key: dedup_key(&event, &raw),
        received_at: format_time(chrono::Utc::now()),
        generated_at: Some(event.generated_date_time.clone()).filter(|s| !s.is_empty()),
        event: event.event,
        envelope_id: event.data.envelope_id,
        // Valid UTF-8: serde_json accepted it above.
        body: String::from_utf8(raw).unwrap_or_default(),
    };
    match app.store.insert_event(&new).await? {
        Some(cursor) => {
            app.metrics.count_received();
            app.wakers.wake(&tenant);
            Ok(Json(
                serde_json::json!({"status": "stored", "cursor": cursor}),
            ))
        }
        None => {
            app.metrics.count_duplicate();
            Ok(Json(serde_json::json!({"status": "duplicate"})))
        }
    }
}

#[derive(Debug, Deserialize)]
struct EventsQuery {
    after: Option<i64>,
    wait: Option<u64>,
    limit: Option<u32>,
}

/// One event as a workstation receives it.
#[derive(Debug, Serialize)]
pub struct EventJson {
    pub cursor: i64,
    pub tenant: String,
    pub received_at: String,
    pub event: String,
    pub envelope_id: String,
    pub generated_at: Option<String>,
    /// The webhook body as received.
    pub body: Box<RawValue>,
}

#[derive(Debug, Serialize)]
pub struct EventsPage {
    pub events: Vec<EventJson>,
    /// Pass as `after` next time: the last event's cursor, or `after` when there was none.
    pub next_cursor: i64,
}

fn to_json(e: StoredEvent) -> Result<EventJson, RelayError> {
    let body = RawValue::from_string(e.body).map_err(|err| {
        RelayError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("stored body of event {} is not JSON: {err}", e.cursor),
        ))
    })?;
    Ok(EventJson {
        cursor: e.cursor,
        tenant: e.tenant,
        received_at: e.received_at,
        event: e.event,
        envelope_id: e.envelope_id,
        generated_at: e.generated_at,
        body,
    })
}

async fn list_events(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Json<EventsPage>, ApiError> {
    let unauthorized = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "send Authorization: Bearer <workstation token>",
        )
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(unauthorized)?;
    let workstation = tokens::authenticate(&app.store, token.trim())
        .await?
        .ok_or_else(unauthorized)?;
    let Query(q) = query.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("{e}: `after` is a cursor (integer ≥ 0), `wait` seconds, `limit` a count"),
        )
    })?;
    let after = q.after.unwrap_or(0).max(0);
    let wait = Duration::from_secs(q.wait.unwrap_or(0).min(MAX_WAIT_SECS));
    let limit = q
        .limit
        .unwrap_or(app.config.max_page)
        .clamp(1, app.config.max_page);
    let deadline = tokio::time::Instant::now() + wait;
    let waker = app.wakers.for_tenant(&workstation.tenant);
    let events = loop {
        // Registered before the query, so an event committed between the query and the wait
        // still wakes this poll.
        let notified = waker.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let events = app
            .store
            .events_after(&workstation.tenant, after, limit)
            .await?;
        if !events.is_empty() || tokio::time::Instant::now() >= deadline {
            break events;
        }
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep_until(deadline) => {}
            _ = app.shutdown.cancelled() => break events,
        }
    };
    let next_cursor = events.last().map_or(after, |e| e.cursor);
    app.metrics.count_delivered(events.len() as u64);
    app.store
        .record_fetch(workstation.token_id, next_cursor)
        .await?;
    let events = events
        .into_iter()
        .map(to_json)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(EventsPage {
        events,
        next_cursor,
    }))
}

async fn metrics(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    let lag = app.store.client_lag().await?;
    let text = app.metrics.render(&lag);
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> ConnectEvent {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_retried_notification_has_the_same_dedup_key() {
        let a = r#"{"event":"envelope-completed","retryCount":0,"generatedDateTime":"2025-01-01T00:00:00Z","data":{"envelopeId":"E1"}}"#;
        let b = r#"{"event":"envelope-completed","retryCount":3,"generatedDateTime":"2025-01-01T00:00:00Z","data":{"envelopeId":"E1"}}"#;
        let c = r#"{"event":"envelope-voided","retryCount":0,"generatedDateTime":"2025-01-01T00:00:00Z","data":{"envelopeId":"E1"}}"#;
        let ka = dedup_key(&event(a), a.as_bytes());
        assert_eq!(ka, dedup_key(&event(b), b.as_bytes()));
        assert_ne!(ka, dedup_key(&event(c), c.as_bytes()));
    }

    #[test]
    fn without_a_generated_time_only_identical_bodies_are_duplicates() {
        let a = r#"{"event":"envelope-sent","data":{"envelopeId":"E1"}}"#;
        let b = r#"{"event":"envelope-sent","data":{"envelopeId":"E1"} }"#;
        assert_ne!(
            dedup_key(&event(a), a.as_bytes()),
            dedup_key(&event(b), b.as_bytes())
        );
    }
}
