//! The workstation side of `GET /v1/events`: what the desktop app and `countersign sync` use to
//! pull their tenant's events by cursor, long-polling.
//!
//! Everything the relay answers is checked here, at the edge: a body that is not an events page,
//! an event without a cursor, or cursors that do not increase is a [`ClientError::Malformed`],
//! never a panic.

use countersign_sign::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::time::Duration;

/// Extra time over the long-poll `wait` before a request counts as hung.
const SLACK: Duration = Duration::from_secs(10);

/// One event as the relay hands it over.
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    pub cursor: i64,
    pub received_at: String,
    pub event: String,
    pub envelope_id: String,
    pub generated_at: Option<String>,
    /// The webhook body as the provider sent it.
    pub body: Box<RawValue>,
}

/// A page of events.
#[derive(Debug, Clone, Deserialize)]
pub struct Page {
    pub events: Vec<Event>,
    /// `after` for the next call.
    pub next_cursor: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No answer: offline, relay down, or timed out. Try again later.
    #[error("the relay at {url} cannot be reached: {message}")]
    Unreachable { url: String, message: String },
    /// The token was refused (401): it was revoked or belongs elsewhere.
    #[error("the relay refused the workstation token: {0}")]
    Unauthorized(String),
    /// Any other error status; `code` and `message` are the relay's `{code, message}`.
    #[error("the relay answered {status}: {code}: {message}")]
    Status {
        status: u16,
        code: String,
        message: String,
    },
    #[error("the relay's answer is not an events page: {0}")]
    Malformed(String),
    #[error("invalid relay URL {0:?}: expected http:// or https://")]
    InvalidUrl(String),
}

impl ClientError {
    /// Worth trying again later unchanged (offline, 5xx, 429).
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Unreachable { .. } => true,
            ClientError::Status { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

/// A relay as one workstation sees it.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: SecretString,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("token", &"[redacted]")
            .finish()
    }
}

impl Client {
    /// `base_url`: the relay's address (`http://host:port`, no trailing path).
    pub fn new(base_url: &str, token: SecretString) -> Result<Client, ClientError> {
        let base = base_url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::InvalidUrl(base_url.to_owned()));
        }
        countersign_sign::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            // A redirect could carry the bearer token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("countersign/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::InvalidUrl(format!("{base_url}: {e}")))?;
        Ok(Client { http, base, token })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The events after `after`, waiting up to `wait` for the first one when there is none yet.
    pub async fn events(
        &self,
        after: i64,
        wait: Duration,
        limit: u32,
    ) -> Result<Page, ClientError> {
        let url = format!("{}/v1/events", self.base);
        let unreachable = |e: reqwest::Error| ClientError::Unreachable {
            url: self.base.clone(),
            message: e.to_string(),
        };
        let resp = self
            .http
            .get(&url)
            .query(&[
                ("after", after.to_string()),
                ("wait", wait.as_secs().to_string()),
                ("limit", limit.to_string()),
            ])
            .bearer_auth(self.token.expose_secret())
            .timeout(wait + SLACK)
            .send()
            .await
            .map_err(unreachable)?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(unreachable)?;
        if !status.is_success() {
            #[derive(Deserialize)]
            struct ApiError {
                code: String,
                message: String,
            }
            let err: Option<ApiError> = serde_json::from_slice(&bytes).ok();
            let (code, message) = err.map_or_else(
                || {
                    (
                        "unknown".to_owned(),
                        String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned(),
                    )
                },
                |e| (e.code, e.message),
            );
            if status.as_u16() == 401 {
                return Err(ClientError::Unauthorized(message));
            }
            return Err(ClientError::Status {
                status: status.as_u16(),
                code,
                message,
            });
        }
        let page: Page =
            serde_json::from_slice(&bytes).map_err(|e| ClientError::Malformed(e.to_string()))?;
        let mut last = after;
        for e in &page.events {
            if e.cursor <= last {
                return Err(ClientError::Malformed(format!(
                    "cursor {} does not follow {last}",
                    e.cursor
                )));
            }
            last = e.cursor;
        }
        if page.next_cursor < last {
            return Err(ClientError::Malformed(format!(
                "next_cursor {} is behind the last event's {last}",
                page.next_cursor
            )));
        }
        Ok(page)
    }

    /// Whether the relay answers at all (`GET /healthz`).
    pub async fn healthy(&self) -> bool {
        let url = format!("{}/healthz", self.base);
        matches!(
            self.http.get(url).timeout(Duration::from_secs(5)).send().await,
            Ok(r) if r.status().is_success()
        )
    }
}
