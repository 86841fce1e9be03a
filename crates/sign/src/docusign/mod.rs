//! The DocuSign eSignature REST v2.1 adapter (also what talks to `countersign-sandbox`, which
//! speaks the same subset).
//!
//! | operation | request |
//! |---|---|
//! | [`Provider::create_envelope`] | `POST /restapi/v2.1/accounts/{accountId}/envelopes` |
//! | [`Provider::find_by_idempotency_key`] | `GET …/envelopes?from_date=…&from_to_status=created&custom_field=countersign_idempotency_key=KEY&include=custom_fields` |
//! | [`Provider::envelope_status`] | `GET …/envelopes/{envelopeId}?include=custom_fields` |
//! | [`Provider::void`] | `PUT …/envelopes/{envelopeId}` `{"status": "voided", "voidedReason": …}` |
//! | [`Provider::combined_pdf`] | `GET …/envelopes/{envelopeId}/documents/combined?certificate=false` |
//! | [`Provider::certificate_pdf`] | `GET …/envelopes/{envelopeId}/documents/certificate` |
//!
//! Rate: a token bucket keeps each adapter under DocuSign's 3,000 calls per hour (burst 100,
//! refilled at 2,900 an hour, so no hour-long window ever holds more than 3,000). A 429 pauses
//! every call of the adapter for its `Retry-After`; a pause up to
//! [`DocuSignConfig::max_rate_limit_wait`] is waited out and the call repeated, a longer one is
//! returned as [`ProviderError::RateLimited`].
//!
//! The bearer token is a [`SecretString`]: it is sent in the `Authorization` header (marked
//! sensitive) and appears in no `Debug` output, error or log line.

pub mod connect;
pub mod wire;

use crate::error::ConfigError;
use crate::{
    EnvelopeRequest, EnvelopeState, EnvelopeStatus, Provider, ProviderError, IDEMPOTENCY_FIELD,
};
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use countersign_core::EnvelopeId;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The text custom fields and tabs are placed for every signer in this document.
const DOCUMENT_ID: &str = "1";
/// The date-signed tab goes this far (points) below the signature.
pub const DATE_BELOW_SIGNATURE: f32 = 36.0;
/// A 429 without a usable `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(30);
/// 429s waited out within one call before giving up with `RateLimited`.
const MAX_RATE_LIMITED_REPEATS: u32 = 3;

/// How to reach one DocuSign account.
#[derive(Debug, Clone)]
pub struct DocuSignConfig {
    /// Up to and excluding `/restapi`, e.g. `https://demo.docusign.net` or the sandbox's
    /// `http://127.0.0.1:PORT`. A trailing `/restapi` is tolerated.
    pub base_url: String,
    pub account_id: String,
    pub token: SecretString,
    pub connect_timeout: Duration,
    /// The whole request, upload of the document included.
    pub request_timeout: Duration,
    /// The most calls in any hour.
    pub calls_per_hour: u32,
    /// Calls that may go at once after a quiet spell (taken out of `calls_per_hour`).
    pub burst: u32,
    /// A 429's `Retry-After` up to this long is waited out inside the call.
    pub max_rate_limit_wait: Duration,
    /// How far back [`Provider::find_by_idempotency_key`] searches (by creation date).
    pub lookup_window: Duration,
    /// Allow `http://` to hosts other than loopback (the token would cross the network in clear).
    pub allow_insecure_http: bool,
}

impl DocuSignConfig {
    pub fn new(
        base_url: impl Into<String>,
        account_id: impl Into<String>,
        token: SecretString,
    ) -> Self {
        DocuSignConfig {
            base_url: base_url.into(),
            account_id: account_id.into(),
            token,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
            calls_per_hour: 3000,
            burst: 100,
            max_rate_limit_wait: Duration::from_secs(30),
            lookup_window: Duration::from_secs(90 * 24 * 3600),
            allow_insecure_http: false,
        }
    }
}

/// The adapter. Cheap to share behind an `Arc`; one per account (the rate limit is per adapter).
pub struct DocuSign {
    http: reqwest::Client,
    /// `{base}/restapi/v2.1/accounts/{accountId}`
    account_url: Url,
    token: std::sync::RwLock<SecretString>,
    limiter: DefaultDirectRateLimiter,
    paused_until: Mutex<Option<Instant>>,
    max_rate_limit_wait: Duration,
    lookup_window: chrono::Duration,
}

impl std::fmt::Debug for DocuSign {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocuSign")
            .field("account_url", &self.account_url.as_str())
            .field("token", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

/// Whether repeating a request is harmless; decides how a lost answer is classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    /// A read: a lost answer is just unavailability.
    Safe,
    /// A create or an update: a lost answer leaves the outcome unknown.
    Unsafe,
}

impl DocuSign {
    pub fn new(config: DocuSignConfig) -> Result<Self, ConfigError> {
        let account_url = account_url(&config)?;
        if config.token.expose_secret().trim().is_empty() {
            return Err(ConfigError::Token);
        }
        let limiter = RateLimiter::direct(quota(config.calls_per_hour, config.burst)?);
        crate::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            // The API never redirects; following one could carry the token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("countersign/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::Client(e.to_string()))?;
        let lookup_window = chrono::Duration::from_std(config.lookup_window)
            .map_err(|e| ConfigError::LookupWindow(e.to_string()))?;
        Ok(DocuSign {
            http,
            account_url,
            token: std::sync::RwLock::new(config.token),
            limiter,
            paused_until: Mutex::new(None),
            max_rate_limit_wait: config.max_rate_limit_wait,
            lookup_window,
        })
    }

    /// Replaces the bearer token (an OAuth access token lasts hours; refresh it on
    /// [`ProviderError::Unauthorized`] or before it expires). The rate limit carries over.
    pub fn set_token(&self, token: SecretString) {
        *self.token.write().expect("token lock") = token;
    }

    /// `{account_url}/{segments…}`, each segment percent-encoded.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.account_url.clone();
        url.path_segments_mut()
            .expect("an http(s) URL has path segments")
            .extend(segments);
        url
    }

    /// Sends one request, after the rate limiter and any pause a 429 asked for; repeats it after
    /// a short 429. Returns the response when its status is 2xx.
    async fn call(
        &self,
        op: &'static str,
        repeat: Repeat,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ProviderError> {
        let mut rate_limited = 0;
        loop {
            self.wait_for_slot().await?;
            let started = Instant::now();
            let request = build(&self.http)
                .bearer_auth(self.token.read().expect("token lock").expose_secret());
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) => {
                    let err = transport_error(&e, repeat);
                    tracing::warn!(op, code = err.code(), error = %err, "provider call failed");
                    return Err(err);
                }
            };
            let status = response.status();
            tracing::debug!(
                op,
                path = response.url().path(),
                status = status.as_u16(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "provider answered"
            );
            if status == StatusCode::TOO_MANY_REQUESTS {
                let wait = retry_after(response.headers()).unwrap_or(DEFAULT_RETRY_AFTER);
                self.pause_for(wait);
                rate_limited += 1;
                tracing::warn!(
                    op,
                    retry_after_ms = wait.as_millis() as u64,
                    "provider rate limit reached"
                );
                if wait <= self.max_rate_limit_wait && rate_limited <= MAX_RATE_LIMITED_REPEATS {
                    continue;
                }
                return Err(ProviderError::RateLimited { retry_after: wait });
            }
            if status.is_success() {
                return Ok(response);
            }
            let err = error_from_response(response, repeat).await;
            tracing::warn!(op, status = status.as_u16(), code = err.code(), error = %err, "provider refused");
            return Err(err);
        }
    }

    async fn wait_for_slot(&self) -> Result<(), ProviderError> {
        let paused_until = *self.paused_until.lock().expect("pause lock");
        if let Some(until) = paused_until {
            let now = Instant::now();
            if until > now {
                let left = until - now;
                if left > self.max_rate_limit_wait {
                    return Err(ProviderError::RateLimited { retry_after: left });
                }
                tokio::time::sleep_until(until).await;
            }
        }
        self.limiter.until_ready().await;
        Ok(())
    }

    fn pause_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut paused = self.paused_until.lock().expect("pause lock");
        if paused.is_none_or(|p| p < until) {
            *paused = Some(until);
        }
    }

    async fn get_pdf(&self, op: &'static str, url: Url) -> Result<Vec<u8>, ProviderError> {
        let response = self
            .call(op, Repeat::Safe, |http| http.get(url.clone()))
            .await?;
        let body = read_body(response, Repeat::Safe).await?;
        if !body.starts_with(b"%PDF-") {
            return Err(ProviderError::InvalidResponse {
                message: format!("{op}: the download is not a PDF ({} bytes)", body.len()),
            });
        }
        Ok(body.to_vec())
    }
}

#[async_trait::async_trait]
impl Provider for DocuSign {
    async fn create_envelope(
        &self,
        request: &EnvelopeRequest,
    ) -> Result<EnvelopeId, ProviderError> {
        request.validate()?;
        let body = bytes_of(&envelope_definition(request))?;
        let url = self.url(&["envelopes"]);
        let response = self
            .call("create_envelope", Repeat::Unsafe, |http| {
                http.post(url.clone())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone())
            })
            .await?;
        let body = read_body(response, Repeat::Unsafe).await?;
        let summary: wire::EnvelopeSummary =
            serde_json::from_slice(&body).map_err(|e| ProviderError::Unknown {
                message: format!("the create succeeded but its answer cannot be read: {e}"),
            })?;
        match summary.envelope_id.filter(|id| !id.trim().is_empty()) {
            Some(id) => Ok(EnvelopeId::new(id)),
            None => Err(ProviderError::Unknown {
                message: "the create succeeded but its answer has no envelopeId".into(),
            }),
        }
    }

    async fn find_by_idempotency_key(
        &self,
        key: &str,
    ) -> Result<Option<EnvelopeStatus>, ProviderError> {
        let from = (Utc::now() - self.lookup_window).to_rfc3339_opts(SecondsFormat::Secs, true);
        let filter = format!("{IDEMPOTENCY_FIELD}={key}");
        let query = [
            ("from_date", from.as_str()),
            ("from_to_status", "created"),
            ("custom_field", filter.as_str()),
            ("include", "custom_fields"),
            ("order_by", "created"),
            ("order", "asc"),
        ];
        let url = self.url(&["envelopes"]);
        let response = self
            .call("find_by_idempotency_key", Repeat::Safe, |http| {
                http.get(url.clone()).query(&query)
            })
            .await?;
        let list: wire::EnvelopesInformation = read_json(response).await?;
        let mut found: Vec<EnvelopeStatus> = Vec::new();
        for envelope in list.envelopes.unwrap_or_default() {
            // The provider filtered by the field; should it carry the fields, check them too, so a
            // filter the server ignored can never make us adopt someone else's envelope.
            let carried = envelope
                .custom_fields
                .as_ref()
                .map(|f| f.text(IDEMPOTENCY_FIELD));
            if matches!(carried, Some(value) if value != Some(key)) {
                continue;
            }
            found.push(envelope_status(envelope)?);
        }
        if found.len() > 1 {
            tracing::warn!(
                count = found.len(),
                "several envelopes carry one idempotency key; the oldest is used"
            );
        }
        // Oldest first by the order asked for; keep the first.
        Ok(found.into_iter().next())
    }

    async fn envelope_status(&self, id: &EnvelopeId) -> Result<EnvelopeStatus, ProviderError> {
        let url = self.url(&["envelopes", id.as_str()]);
        let response = self
            .call("envelope_status", Repeat::Safe, |http| {
                http.get(url.clone()).query(&[("include", "custom_fields")])
            })
            .await?;
        envelope_status(read_json(response).await?)
    }

    async fn void(&self, id: &EnvelopeId, reason: &str) -> Result<(), ProviderError> {
        if reason.trim().is_empty() {
            return Err(ProviderError::invalid_request("a void needs a reason"));
        }
        let body = wire::EnvelopeUpdate {
            status: Some("voided".into()),
            voided_reason: Some(reason.to_owned()),
        };
        let url = self.url(&["envelopes", id.as_str()]);
        let response = self
            .call("void", Repeat::Unsafe, |http| {
                http.put(url.clone()).json(&body)
            })
            .await?;
        // The answer (`envelopeUpdateSummary`) holds nothing we need; read it so the connection
        // can be reused.
        let _ = response.bytes().await;
        Ok(())
    }

    async fn combined_pdf(&self, id: &EnvelopeId) -> Result<Vec<u8>, ProviderError> {
        let mut url = self.url(&["envelopes", id.as_str(), "documents", "combined"]);
        url.query_pairs_mut().append_pair("certificate", "false");
        self.get_pdf("combined_pdf", url).await
    }

    async fn certificate_pdf(&self, id: &EnvelopeId) -> Result<Vec<u8>, ProviderError> {
        let url = self.url(&["envelopes", id.as_str(), "documents", "certificate"]);
        self.get_pdf("certificate_pdf", url).await
    }
}

/// The envelope definition for a request: one document (`documentId` 1), signers numbered 1…n
/// in the given order and carbon copies after them, a sign-here and a date-signed tab per anchor,
/// and the idempotency key (and any metadata) as hidden text custom fields.
pub fn envelope_definition(request: &EnvelopeRequest) -> wire::EnvelopeDefinition {
    let signers = request
        .signers
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let recipient_id = (i + 1).to_string();
            let tabs = (!s.anchors.is_empty()).then(|| wire::Tabs {
                sign_here_tabs: Some(s.anchors.iter().map(|a| tab(a, 0.0)).collect()),
                date_signed_tabs: Some(
                    s.anchors
                        .iter()
                        .map(|a| tab(a, DATE_BELOW_SIGNATURE))
                        .collect(),
                ),
            });
            wire::Signer {
                email: Some(s.email.clone()),
                name: Some(s.name.clone()),
                recipient_id: Some(recipient_id),
                routing_order: Some(s.routing_order.to_string()),
                role_name: Some(s.role.clone()),
                tabs,
                ..wire::Signer::default()
            }
        })
        .collect::<Vec<_>>();
    let first_cc = signers.len() + 1;
    let carbon_copies = request
        .carbon_copies
        .iter()
        .enumerate()
        .map(|(i, c)| wire::CarbonCopy {
            email: Some(c.email.clone()),
            name: Some(c.name.clone()),
            recipient_id: Some((first_cc + i).to_string()),
            routing_order: Some(c.routing_order.to_string()),
            role_name: Some(c.role.clone()),
            status: None,
        })
        .collect::<Vec<_>>();
    let hidden = |name: &str, value: &str| wire::TextCustomField {
        name: Some(name.to_owned()),
        value: Some(value.to_owned()),
        show: Some("false".into()),
        required: Some("false".into()),
        field_id: None,
    };
    let custom_fields = std::iter::once(hidden(IDEMPOTENCY_FIELD, &request.idempotency_key))
        .chain(
            request
                .metadata
                .iter()
                .filter(|(k, _)| k.as_str() != IDEMPOTENCY_FIELD)
                .map(|(k, v)| hidden(k, v)),
        )
        .collect();
    wire::EnvelopeDefinition {
        email_subject: Some(request.email_subject.clone()),
        email_blurb: request.email_blurb.clone(),
        status: Some("sent".into()),
        documents: Some(vec![wire::Document {
            document_base64: Some(base64::engine::general_purpose::STANDARD.encode(&request.pdf)),
            document_id: Some(DOCUMENT_ID.into()),
            name: Some(request.document_name.clone()),
            file_extension: Some("pdf".into()),
        }]),
        recipients: Some(wire::Recipients {
            signers: Some(signers),
            carbon_copies: (!carbon_copies.is_empty()).then_some(carbon_copies),
            ..wire::Recipients::default()
        }),
        custom_fields: Some(wire::CustomFields {
            text_custom_fields: Some(custom_fields),
        }),
    }
}

/// One tab for an anchor, `below` points lower than the anchor's place: by anchor string when the
/// text is on the document (ignored if DocuSign does not find it after all), else at the fixed
/// fallback position.
fn tab(anchor: &crate::Anchor, below: f32) -> wire::Tab {
    // DocuSign positions are whole pixels (= points).
    let num = |v: f32| format!("{}", v.round() as i64);
    if anchor.on_document {
        wire::Tab {
            anchor_string: Some(anchor.anchor_text.clone()),
            anchor_x_offset: Some(num(anchor.x_offset)),
            anchor_y_offset: Some(num(anchor.y_offset + below)),
            anchor_units: Some("pixels".into()),
            anchor_ignore_if_not_present: Some("true".into()),
            ..wire::Tab::default()
        }
    } else {
        wire::Tab {
            document_id: Some(DOCUMENT_ID.into()),
            page_number: Some(anchor.fallback.page_number.to_string()),
            x_position: Some(num(anchor.fallback.x)),
            y_position: Some(num(anchor.fallback.y + below)),
            ..wire::Tab::default()
        }
    }
}

fn envelope_status(envelope: wire::Envelope) -> Result<EnvelopeStatus, ProviderError> {
    let Some(id) = envelope.envelope_id.filter(|id| !id.is_empty()) else {
        return Err(ProviderError::InvalidResponse {
            message: "an envelope without envelopeId".into(),
        });
    };
    let provider_status = envelope.status.unwrap_or_default();
    Ok(EnvelopeStatus {
        envelope_id: EnvelopeId::new(id),
        state: EnvelopeState::from_docusign(&provider_status),
        provider_status,
        status_changed_at: parse_time(envelope.status_changed_date_time.as_deref()),
        completed_at: parse_time(envelope.completed_date_time.as_deref()),
        voided_reason: envelope.voided_reason,
        idempotency_key: envelope
            .custom_fields
            .as_ref()
            .and_then(|f| f.text(IDEMPOTENCY_FIELD))
            .map(str::to_owned),
    })
}

/// DocuSign writes ISO 8601 with up to 7 fractional digits (`2024-05-01T12:00:00.1230000Z`).
pub fn parse_time(value: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn account_url(config: &DocuSignConfig) -> Result<Url, ConfigError> {
    let bad = |message: &str| ConfigError::BaseUrl {
        url: config.base_url.clone(),
        message: message.into(),
    };
    let mut url = Url::parse(config.base_url.trim()).map_err(|e| bad(&e.to_string()))?;
    match url.scheme() {
        "https" => {}
        "http" if config.allow_insecure_http || is_loopback(&url) => {}
        "http" => {
            return Err(bad(
                "plain http is allowed only to this machine (the token would cross the network in clear)",
            ))
        }
        _ => return Err(bad("the scheme must be https (or http to this machine)")),
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("a base URL has no query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("credentials do not belong in the base URL"));
    }
    if config.account_id.trim().is_empty() {
        return Err(ConfigError::AccountId);
    }
    {
        let mut segments = url
            .path_segments_mut()
            .map_err(|_| bad("not a hierarchical URL"))?;
        segments.pop_if_empty();
    }
    if url.path_segments().and_then(|mut s| s.next_back()) == Some("restapi") {
        url.path_segments_mut().expect("checked above").pop();
    }
    url.path_segments_mut()
        .expect("checked above")
        .pop_if_empty()
        .extend(["restapi", "v2.1", "accounts", config.account_id.trim()]);
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn quota(calls_per_hour: u32, burst: u32) -> Result<Quota, ConfigError> {
    if burst == 0 || burst >= calls_per_hour {
        return Err(ConfigError::RateLimit(format!(
            "burst {burst} must be at least 1 and below calls_per_hour {calls_per_hour}"
        )));
    }
    // GCRA: at most `burst` at once plus one every `period`, so any hour holds at most
    // burst + (calls_per_hour - burst) calls.
    let period = Duration::from_secs(3600) / (calls_per_hour - burst);
    Ok(Quota::with_period(period)
        .ok_or_else(|| ConfigError::RateLimit("rate too high".into()))?
        .allow_burst(NonZeroU32::new(burst).expect("checked above")))
}

fn bytes_of(definition: &wire::EnvelopeDefinition) -> Result<bytes::Bytes, ProviderError> {
    serde_json::to_vec(definition)
        .map(bytes::Bytes::from)
        .map_err(|e| ProviderError::invalid_request(format!("the envelope cannot be encoded: {e}")))
}

/// A transport failure: nothing was sent (connect), or the answer was lost.
fn transport_error(e: &reqwest::Error, repeat: Repeat) -> ProviderError {
    let message = error_chain(e);
    if e.is_connect() {
        return ProviderError::Unavailable { message };
    }
    match repeat {
        Repeat::Safe => ProviderError::Unavailable { message },
        Repeat::Unsafe => ProviderError::Unknown { message },
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

async fn read_body(
    response: reqwest::Response,
    repeat: Repeat,
) -> Result<bytes::Bytes, ProviderError> {
    response.bytes().await.map_err(|e| {
        let message = format!("the answer was cut off: {}", error_chain(&e));
        match repeat {
            Repeat::Safe => ProviderError::Unavailable { message },
            Repeat::Unsafe => ProviderError::Unknown { message },
        }
    })
}

async fn read_json<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, ProviderError> {
    let body = read_body(response, Repeat::Safe).await?;
    serde_json::from_slice(&body).map_err(|e| ProviderError::InvalidResponse {
        message: format!("the answer is not the JSON expected: {e}"),
    })
}

/// A non-2xx, non-429 answer, classified.
async fn error_from_response(response: reqwest::Response, repeat: Repeat) -> ProviderError {
    let status = response.status();
    let body = response.bytes().await.unwrap_or_default();
    let details: wire::ErrorDetails = serde_json::from_slice(&body).unwrap_or_default();
    let code = details
        .error_code
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| format!("HTTP_{}", status.as_u16()));
    let message = details.message.unwrap_or_else(|| {
        let text = String::from_utf8_lossy(&body);
        let text: String = text.chars().take(200).collect();
        if text.trim().is_empty() {
            status.canonical_reason().unwrap_or("no message").to_owned()
        } else {
            text
        }
    });
    match status.as_u16() {
        401 => ProviderError::Unauthorized {
            message: format!("{code}: {message}"),
        },
        503 => ProviderError::Unavailable {
            message: format!("{code}: {message}"),
        },
        500..=599 => match repeat {
            Repeat::Safe => ProviderError::Unavailable {
                message: format!("{code}: {message}"),
            },
            Repeat::Unsafe => ProviderError::Unknown {
                message: format!("HTTP {}: {code}: {message}", status.as_u16()),
            },
        },
        400..=499 => ProviderError::Rejected { code, message },
        _ => ProviderError::InvalidResponse {
            message: format!("unexpected HTTP {}: {message}", status.as_u16()),
        },
    }
}

/// `Retry-After`: delay-seconds or an HTTP date.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - Utc::now()).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Anchor, CarbonCopy, Position, Signer};
    use std::collections::BTreeMap;

    fn config(base: &str) -> DocuSignConfig {
        DocuSignConfig::new(base, "acct-1", SecretString::from("tok"))
    }

    #[test]
    fn account_url_is_built_from_the_base_without_restapi() {
        for base in [
            "https://demo.docusign.net",
            "https://demo.docusign.net/",
            "https://demo.docusign.net/restapi",
            "https://demo.docusign.net/restapi/",
        ] {
            let url = account_url(&config(base)).unwrap();
            assert_eq!(
                url.as_str(),
                "https://demo.docusign.net/restapi/v2.1/accounts/acct-1",
                "{base}"
            );
        }
        let url = account_url(&config("http://127.0.0.1:9/prefix")).unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/prefix/restapi/v2.1/accounts/acct-1"
        );
    }

    #[test]
    fn plain_http_only_to_this_machine() {
        assert!(account_url(&config("http://localhost:8080")).is_ok());
        assert!(account_url(&config("http://[::1]:8080")).is_ok());
        let err = account_url(&config("http://docusign.example.com")).unwrap_err();
        assert!(err.to_string().contains("plain http"), "{err}");
        let mut c = config("http://docusign.example.com");
        c.allow_insecure_http = true;
        assert!(account_url(&c).is_ok());
        assert!(account_url(&config("ftp://x")).is_err());
        assert!(account_url(&config("https://user:pw@x")).is_err());
    }

    #[test]
    fn debug_output_never_shows_the_token() {
        let c = DocuSignConfig::new("https://x", "a", SecretString::from("s3cr3t-token"));
        assert!(!format!("{c:?}").contains("s3cr3t-token"));
        let adapter = DocuSign::new(c).unwrap();
        assert!(!format!("{adapter:?}").contains("s3cr3t-token"));
    }

    #[test]
    fn rate_quota_never_allows_more_than_the_hourly_limit() {
        assert!(quota(3000, 100).is_ok());
        assert!(quota(100, 100).is_err());
        assert!(quota(100, 0).is_err());
        let q = quota(3000, 100).unwrap();
        assert_eq!(q.burst_size().get(), 100);
        // 100 at once + one per period for the rest of the hour = 3,000.
        let per_hour = 100 + (3600.0 / q.replenish_interval().as_secs_f64()).floor() as u32;
        assert_eq!(per_hour, 3000);
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let later = (Utc::now() + chrono::Duration::seconds(90)).to_rfc2822();
        h.insert(reqwest::header::RETRY_AFTER, later.parse().unwrap());
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(80) && d <= Duration::from_secs(90),
            "{d:?}"
        );
        h.insert(reqwest::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    fn anchor(on_document: bool) -> Anchor {
        Anchor {
            anchor_text: "Signature:".into(),
            x_offset: 80.4,
            y_offset: -2.0,
            on_document,
            fallback: Position {
                page_number: 2,
                x: 72.0,
                y: 650.0,
            },
        }
    }

    #[test]
    fn definition_places_tabs_by_anchor_or_by_fallback() {
        let request = EnvelopeRequest {
            pdf: b"%PDF-1.7".to_vec(),
            document_name: "nda.pdf".into(),
            email_subject: "Please sign".into(),
            email_blurb: Some("Thanks".into()),
            signers: vec![
                Signer {
                    role: "counterparty".into(),
                    name: "Jane".into(),
                    email: "jane@example.com".into(),
                    routing_order: 1,
                    anchors: vec![anchor(true)],
                },
                Signer {
                    role: "legal".into(),
                    name: "Lee".into(),
                    email: "lee@example.com".into(),
                    routing_order: 2,
                    anchors: vec![anchor(false)],
                },
            ],
            carbon_copies: vec![CarbonCopy {
                role: "archive".into(),
                name: "Archive".into(),
                email: "archive@example.com".into(),
                routing_order: 3,
            }],
            idempotency_key: "k1".into(),
            metadata: BTreeMap::from([("countersign_document_id".into(), "d1".into())]),
        };
        let def = envelope_definition(&request);
        let json = serde_json::to_value(&def).unwrap();
        assert_eq!(json["status"], "sent");
        assert_eq!(json["documents"][0]["documentBase64"], "JVBERi0xLjc=");
        assert_eq!(json["documents"][0]["documentId"], "1");
        let s1 = &json["recipients"]["signers"][0];
        assert_eq!(s1["recipientId"], "1");
        assert_eq!(s1["roleName"], "counterparty");
        let sign = &s1["tabs"]["signHereTabs"][0];
        assert_eq!(sign["anchorString"], "Signature:");
        assert_eq!(sign["anchorXOffset"], "80");
        assert_eq!(sign["anchorYOffset"], "-2");
        assert_eq!(sign["anchorUnits"], "pixels");
        assert_eq!(sign["anchorIgnoreIfNotPresent"], "true");
        assert!(sign.get("xPosition").is_none());
        assert_eq!(s1["tabs"]["dateSignedTabs"][0]["anchorYOffset"], "34");
        let s2 = &json["recipients"]["signers"][1];
        assert_eq!(s2["routingOrder"], "2");
        let fixed = &s2["tabs"]["signHereTabs"][0];
        assert!(fixed.get("anchorString").is_none());
        assert_eq!(fixed["documentId"], "1");
        assert_eq!(fixed["pageNumber"], "2");
        assert_eq!(fixed["xPosition"], "72");
        assert_eq!(fixed["yPosition"], "650");
        assert_eq!(json["recipients"]["carbonCopies"][0]["recipientId"], "3");
        let fields = def.custom_fields.unwrap();
        assert_eq!(fields.text(IDEMPOTENCY_FIELD), Some("k1"));
        assert_eq!(fields.text("countersign_document_id"), Some("d1"));
        assert_eq!(
            json["customFields"]["textCustomFields"][0]["show"], "false",
            "the key is hidden from recipients"
        );
    }
}
