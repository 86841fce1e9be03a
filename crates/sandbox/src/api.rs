//! The HTTP surface: the DocuSign REST subset, the `/_sandbox` test endpoints, and the routes of
//! the signing page ([`crate::signing`]). Requests are checked here, once: bearer token, account,
//! body size, JSON shape ([`crate::validate`] for envelope definitions). Every error is
//! DocuSign-shaped: `{"errorCode": "...", "message": "..."}`.

use crate::db::{self, ListFilter};
use crate::envelopes::{self, OpError};
use crate::faults::Faults;
use crate::{validate, App, Stats};
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use countersign_sign::docusign::wire;
use countersign_sign::{ExposeSecret, IDEMPOTENCY_FIELD};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// A DocuSign-shaped error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// Logged with its cause; the client sees an opaque message.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNSPECIFIED_ERROR",
            "An internal error occurred in the sandbox; see its log.",
        )
    }

    fn envelope_not_found() -> Self {
        Self::bad_request(
            "ENVELOPE_DOES_NOT_EXIST",
            "The envelope specified either does not exist or you have no rights to it.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = wire::ErrorDetails {
            error_code: Some(self.code.to_owned()),
            message: Some(self.message),
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<OpError> for ApiError {
    fn from(e: OpError) -> Self {
        match e {
            OpError::EnvelopeNotFound => ApiError::envelope_not_found(),
            OpError::RecipientNotFound => {
                ApiError::bad_request("INVALID_RECIPIENT_ID", "The recipient does not exist.")
            }
            OpError::InvalidState(m) => {
                ApiError::bad_request("ENVELOPE_CANNOT_VOID_INVALID_STATE", m)
            }
            OpError::NotYourTurn(m) => ApiError::bad_request("RECIPIENT_NOT_IN_SEQUENCE", m),
            OpError::Internal(m) => ApiError::internal(m),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::internal(format!("database: {e}"))
    }
}

pub(crate) fn router(app: Arc<App>) -> Router {
    let rest = Router::new()
        .route(
            "/restapi/v2.1/accounts/{account_id}/envelopes",
            get(list_envelopes).post(create_envelope),
        )
        .route(
            "/restapi/v2.1/accounts/{account_id}/envelopes/{envelope_id}",
            get(get_envelope).put(update_envelope),
        )
        .route(
            "/restapi/v2.1/accounts/{account_id}/envelopes/{envelope_id}/documents/{document_id}",
            get(get_document),
        )
        .route_layer(middleware::from_fn_with_state(app.clone(), guard));
    let admin = Router::new()
        .route("/_sandbox/envelopes", get(admin_envelopes))
        .route("/_sandbox/faults", get(get_faults).post(set_faults))
        .route("/_sandbox/stats", get(stats))
        .route("/healthz", get(|| async { "ok" }));
    Router::new()
        .merge(rest)
        .merge(admin)
        .merge(crate::signing::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(app.config.max_body_bytes))
        .with_state(app)
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "RESOURCE_NOT_FOUND",
        "The sandbox serves only the DocuSign subset Countersign uses.",
    )
}

/// Before every REST call: count it, injected latency, bearer token, account, injected 429s.
async fn guard(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    Stats::bump(&app.stats.api_requests);
    let (latency, rate_limited) = {
        let mut f = app.faults.lock().expect("faults lock");
        let latency = f.faults.latency_ms;
        (latency, f.take_rate_limit())
    };
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    if let Err(e) = authorize(&app, request.headers()) {
        return e.into_response();
    }
    let account = request.uri().path().split('/').nth(4).unwrap_or("");
    if account != app.config.account_id {
        return ApiError::bad_request(
            "USER_LACKS_MEMBERSHIP",
            "The UserID does not have a valid membership in this Account.",
        )
        .into_response();
    }
    if let Some(secs) = rate_limited {
        Stats::bump(&app.stats.rate_limited);
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "HOURLY_APIINVOCATION_LIMIT_EXCEEDED",
            "The maximum number of hourly API invocations has been exceeded.",
        );
        e.retry_after = Some(secs);
        return e.into_response();
    }
    next.run(request).await
}

fn authorize(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    let denied = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "USER_AUTHENTICATION_FAILED",
            "One or both of Username and Password are invalid. Invalid access token.",
        )
    };
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(denied)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(denied)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(denied());
    }
    if let Some(expected) = &app.config.token {
        if !constant_time_eq(token.as_bytes(), expected.expose_secret().as_bytes()) {
            return Err(denied());
        }
    }
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn body_error(e: BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "REQUEST_ENTITY_TOO_LARGE",
            "The request body is larger than the sandbox accepts.",
        )
    } else {
        ApiError::bad_request(
            "INVALID_REQUEST_BODY",
            format!("The request body cannot be read: {e}"),
        )
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "INVALID_REQUEST_BODY",
            "The request body is missing or improperly formatted.",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "INVALID_REQUEST_BODY",
            format!("The request body is missing or improperly formatted. {e}"),
        )
    })
}

async fn create_envelope(
    State(app): State<Arc<App>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    let definition: wire::EnvelopeDefinition = parse_json(&body)?;
    drop(body);
    let new = tokio::task::spawn_blocking(move || validate::new_envelope(definition))
        .await
        .map_err(ApiError::internal)??;
    let (unavailable, lost) = {
        let mut f = app.faults.lock().expect("faults lock");
        let p = f.faults.clone();
        (f.roll(p.create_unavailable), f.roll(p.create_response_lost))
    };
    if unavailable {
        Stats::bump(&app.stats.unavailable);
        tracing::info!("fault: create answered 503 before doing anything");
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            "The service is temporarily unavailable (sandbox fault).",
        ));
    }
    let env = envelopes::create(&app, new).await?;
    if lost {
        Stats::bump(&app.stats.lost_responses);
        tracing::info!(envelope_id = %env.envelope_id, "fault: envelope created, answer lost");
        return Ok(lost_response());
    }
    let summary = wire::EnvelopeSummary {
        uri: Some(format!("/envelopes/{}", env.envelope_id)),
        envelope_id: Some(env.envelope_id),
        status: Some(env.status),
        status_date_time: Some(env.status_changed_at),
    };
    Ok((StatusCode::CREATED, Json(summary)).into_response())
}

/// An answer that never arrives: the body fails at once, so the server aborts the connection
/// and the client sees it cut (before or just after the status line).
fn lost_response() -> Response {
    let stream = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("sandbox fault: answer lost"))
    });
    Response::builder()
        .status(StatusCode::CREATED)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, "512")
        .body(Body::from_stream(stream))
        .expect("a static response builds")
}

fn includes(query: &HashMap<String, String>, what: &str) -> bool {
    query
        .get("include")
        .is_some_and(|v| v.split(',').any(|i| i.trim().eq_ignore_ascii_case(what)))
}

async fn get_envelope(
    State(app): State<Arc<App>>,
    Path((_account, envelope_id)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<wire::Envelope>, ApiError> {
    let env = db::envelope(&app.pool, &envelope_id)
        .await?
        .ok_or_else(ApiError::envelope_not_found)?;
    let recipients = if includes(&query, "recipients") {
        Some(db::recipients(&app.pool, &envelope_id).await?)
    } else {
        None
    };
    let fields = if includes(&query, "custom_fields") {
        Some(db::custom_fields(&app.pool, &envelope_id).await?)
    } else {
        None
    };
    Ok(Json(envelopes::to_wire(
        env,
        recipients.as_deref(),
        fields.as_deref(),
    )))
}

/// DocuSign takes "any format .NET's DateTime.Parse takes"; the sandbox takes ISO 8601 forms:
/// `2024-05-01`, `2024-05-01T12:00Z`, `2024-05-01T12:00:00`, RFC 3339. No zone means UTC.
fn parse_date(name: &str, value: &str) -> Result<String, ApiError> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
    let v = value.trim();
    let parsed = DateTime::parse_from_rfc3339(v)
        .ok()
        .or_else(|| DateTime::parse_from_str(v, "%Y-%m-%dT%H:%M%:z").ok())
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            [
                "%Y-%m-%dT%H:%M:%S%.f",
                "%Y-%m-%dT%H:%M",
                "%Y-%m-%d %H:%M:%S",
            ]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(v.trim_end_matches('Z'), f).ok())
            .map(|n| n.and_utc())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|n| n.and_utc())
        });
    parsed.map(db::format_time).ok_or_else(|| {
        ApiError::bad_request(
            "INVALID_REQUEST_PARAMETER",
            format!("{name} `{value}` is not a date"),
        )
    })
}

async fn list_envelopes(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<wire::EnvelopesInformation>, ApiError> {
    let csv = |name: &str| {
        query.get(name).map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
        })
    };
    let envelope_ids = csv("envelope_ids");
    let from = query
        .get("from_date")
        .map(|v| parse_date("from_date", v))
        .transpose()?;
    if from.is_none() && envelope_ids.is_none() {
        return Err(ApiError::bad_request(
            "INVALID_REQUEST_PARAMETER",
            "The request contained at least one invalid parameter. from_date is required unless envelope_ids is given.",
        ));
    }
    let custom_field = match query.get("custom_field") {
        Some(v) => Some(
            v.split_once('=')
                .map(|(n, val)| (n.to_owned(), val.to_owned()))
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "INVALID_REQUEST_PARAMETER",
                        "custom_field must be name=value",
                    )
                })?,
        ),
        None => None,
    };
    let statuses = csv("status")
        .filter(|s| !s.iter().any(|x| x.eq_ignore_ascii_case("any")))
        .map(|s| s.into_iter().map(|x| x.to_ascii_lowercase()).collect());
    let filter = ListFilter {
        account_id: app.config.account_id.clone(),
        by_created: query
            .get("from_to_status")
            .is_some_and(|s| s.eq_ignore_ascii_case("created")),
        from,
        to: query
            .get("to_date")
            .map(|v| parse_date("to_date", v))
            .transpose()?,
        custom_field: custom_field.clone(),
        envelope_ids,
        statuses,
        ascending: query
            .get("order")
            .is_some_and(|o| o.eq_ignore_ascii_case("asc")),
    };
    let mut rows = db::list(&app.pool, &filter).await?;
    let index_delay = app
        .faults
        .lock()
        .expect("faults lock")
        .faults
        .list_index_delay_ms;
    if custom_field.is_some() && index_delay > 0 {
        // A slow search index: the newest envelopes are not searchable yet.
        let visible_before = db::format_time(
            chrono::Utc::now() - chrono::Duration::milliseconds(index_delay as i64),
        );
        rows.retain(|r| r.created_at <= visible_before);
    }
    let total = rows.len();
    let start: usize = query
        .get("start_position")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let count: usize = query
        .get("count")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let page: Vec<_> = rows.into_iter().skip(start).take(count).collect();
    let with_fields = includes(&query, "custom_fields");
    let with_recipients = includes(&query, "recipients");
    let mut envelopes = Vec::with_capacity(page.len());
    for env in page {
        let fields = if with_fields {
            Some(db::custom_fields(&app.pool, &env.envelope_id).await?)
        } else {
            None
        };
        let recipients = if with_recipients {
            Some(db::recipients(&app.pool, &env.envelope_id).await?)
        } else {
            None
        };
        envelopes.push(envelopes::to_wire(
            env,
            recipients.as_deref(),
            fields.as_deref(),
        ));
    }
    let n = envelopes.len();
    Ok(Json(wire::EnvelopesInformation {
        envelopes: Some(envelopes),
        result_set_size: Some(n.to_string()),
        total_set_size: Some(total.to_string()),
        start_position: Some(start.to_string()),
        end_position: Some((start + n).saturating_sub(1).to_string()),
    }))
}

async fn update_envelope(
    State(app): State<Arc<App>>,
    Path((_account, envelope_id)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<wire::EnvelopeUpdateSummary>, ApiError> {
    let body = body.map_err(body_error)?;
    let update: wire::EnvelopeUpdate = parse_json(&body)?;
    match update.status.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("voided") => {
            let reason = update
                .voided_reason
                .filter(|r| !r.trim().is_empty())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "INVALID_REQUEST_PARAMETER",
                        "voidedReason is required to void an envelope.",
                    )
                })?;
            envelopes::void(&app, &envelope_id, &reason).await?;
        }
        Some("sent") => envelopes::send_draft(&app, &envelope_id).await?,
        _ => {
            return Err(ApiError::bad_request(
                "INVALID_REQUEST_PARAMETER",
                "The sandbox updates an envelope only to void it (status voided) or send a draft (status sent).",
            ))
        }
    }
    Ok(Json(wire::EnvelopeUpdateSummary {
        envelope_id: Some(envelope_id),
    }))
}

async fn get_document(
    State(app): State<Arc<App>>,
    Path((_account, envelope_id, document_id)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    if db::envelope(&app.pool, &envelope_id).await?.is_none() {
        return Err(ApiError::envelope_not_found());
    }
    let bytes = match document_id.as_str() {
        "certificate" => envelopes::certificate(&app, &envelope_id).await?,
        "combined" => {
            let mut parts: Vec<Vec<u8>> = db::current_documents(&app.pool, &envelope_id)
                .await?
                .into_iter()
                .map(|d| d.bytes)
                .collect();
            if query
                .get("certificate")
                .is_some_and(|c| c.eq_ignore_ascii_case("true"))
            {
                parts.push(envelopes::certificate(&app, &envelope_id).await?);
            }
            tokio::task::spawn_blocking(move || crate::pdf::concatenate(&parts))
                .await
                .map_err(ApiError::internal)?
                .map_err(ApiError::internal)?
        }
        id => db::current_documents(&app.pool, &envelope_id)
            .await?
            .into_iter()
            .find(|d| d.document_id == id)
            .map(|d| d.bytes)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "DOCUMENT_DOES_NOT_EXIST",
                    format!("The document {id} does not exist in the envelope."),
                )
            })?,
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{document_id}.pdf\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /_sandbox/envelopes`: every envelope with its idempotency key, oldest first.
async fn admin_envelopes(State(app): State<Arc<App>>) -> Result<Json<serde_json::Value>, ApiError> {
    let rows = db::all_with_key(&app.pool, IDEMPOTENCY_FIELD).await?;
    let envelopes: Vec<_> = rows
        .into_iter()
        .map(|(e, key)| {
            serde_json::json!({
                "envelope_id": e.envelope_id,
                "status": e.status,
                "email_subject": e.email_subject,
                "created_at": e.created_at,
                "idempotency_key": key,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "envelopes": envelopes })))
}

async fn get_faults(State(app): State<Arc<App>>) -> Json<Faults> {
    Json(app.faults.lock().expect("faults lock").faults.clone())
}

/// `POST /_sandbox/faults`: replaces the faults in force (and reseeds).
async fn set_faults(
    State(app): State<Arc<App>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Faults>, ApiError> {
    let body = body.map_err(body_error)?;
    let faults: Faults = parse_json(&body)?;
    faults
        .validate()
        .map_err(|e| ApiError::bad_request("INVALID_REQUEST_PARAMETER", e.to_string()))?;
    *app.faults.lock().expect("faults lock") = crate::faults::FaultState::new(faults.clone());
    tracing::info!(?faults, "faults replaced");
    Ok(Json(faults))
}

async fn stats(State(app): State<Arc<App>>) -> Json<serde_json::Value> {
    Json(app.stats.snapshot())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_the_forms_docusign_documents() {
        assert_eq!(
            parse_date("d", "2017-05-02T01:44Z").unwrap(),
            "2017-05-02T01:44:00.000Z"
        );
        assert_eq!(
            parse_date("d", "2017-05-01T21:44-04:00").unwrap(),
            "2017-05-02T01:44:00.000Z"
        );
        assert_eq!(
            parse_date("d", "2017-05-02").unwrap(),
            "2017-05-02T00:00:00.000Z"
        );
        assert!(parse_date("d", "yesterday").is_err());
    }

    #[test]
    fn tokens_compare_by_content() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
