//! How a sandbox runs: where it keeps envelopes, which account and token it accepts, whether it
//! signs by itself, where its webhooks go, and which faults it injects.

use crate::faults::Faults;
use countersign_sign::SecretString;
use std::path::PathBuf;
use std::time::Duration;

/// The account id a sandbox serves unless told otherwise (a GUID, like DocuSign's).
pub const DEFAULT_ACCOUNT_ID: &str = "00000000-0000-4000-8000-000000000001";
/// Where `countersign-sandbox serve` listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7081";
/// The file, in the data dir, holding the envelopes.
pub const DATABASE_FILE: &str = "sandbox.db";

#[derive(Debug, Clone)]
pub enum DataLocation {
    /// Gone when the sandbox stops (tests, quick demos).
    Memory,
    /// `DIR/sandbox.db`: envelopes, documents and events survive a restart.
    Dir(PathBuf),
}

/// Where Connect-style events go.
#[derive(Debug, Clone)]
pub struct WebhookTarget {
    pub url: String,
    /// Signs each body: `X-DocuSign-Signature-1: base64(HMAC-SHA256(secret, body))`.
    pub secret: SecretString,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub data: DataLocation,
    pub account_id: String,
    /// When set, only this bearer token is accepted; otherwise any non-empty one is.
    pub token: Option<SecretString>,
    /// Sign every recipient, in routing order, this long after their turn comes.
    pub auto_sign: Option<Duration>,
    pub webhooks: Vec<WebhookTarget>,
    /// Attempts per webhook (the first included) before giving up on it.
    pub webhook_attempts: u32,
    /// Wait before the first retry of a failed webhook; doubled each time.
    pub webhook_retry_delay: Duration,
    pub faults: Faults,
    /// Largest request body accepted (base64 documents included).
    pub max_body_bytes: usize,
    /// The sandbox's address as others reach it (in `uri`s and signing links); by default
    /// `http://` and the address it listens on.
    pub public_url: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data: DataLocation::Memory,
            account_id: DEFAULT_ACCOUNT_ID.into(),
            token: None,
            auto_sign: None,
            webhooks: Vec::new(),
            webhook_attempts: 8,
            webhook_retry_delay: Duration::from_millis(500),
            faults: Faults::default(),
            max_body_bytes: 32 * 1024 * 1024,
            public_url: None,
        }
    }
}
