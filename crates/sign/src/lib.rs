//! Signature providers: what Countersign asks of an e-signature service, and the DocuSign
//! eSignature REST v2.1 adapter that does it (against DocuSign itself or `countersign-sandbox`).
//!
//! - [`Provider`]: the trait (create, find by idempotency key, status, void, downloads), over the
//!   plain-data [`EnvelopeRequest`]. Errors are [`ProviderError`]s classified by what the caller
//!   may do next (retry, look up first, stop).
//! - [`send_once`]: the only way to create an envelope: duplicate-safe across lost answers,
//!   retries and crashes, through the [`idempotency_key`] every envelope carries.
//! - [`docusign`]: the REST adapter ([`docusign::DocuSign`]), its wire types
//!   ([`docusign::wire`], shared with the sandbox) and Connect's HMAC ([`docusign::connect`]).
//!
//! Nothing here persists anything: the caller (workflow's outbox) stores the envelope id the
//! moment [`send_once`] returns it, and passes `may_exist = true` on every attempt after the first.
//!
//! To add a provider, implement [`Provider`]; [`send_once`] and the callers stay as they are.

pub mod docusign;
mod error;
mod idempotency;
mod provider;
mod send;
pub mod tls;

pub use error::{ConfigError, ProviderError};
pub use idempotency::{idempotency_key, IDEMPOTENCY_FIELD};
pub use provider::{
    Anchor, CarbonCopy, EnvelopeRequest, EnvelopeState, EnvelopeStatus, Position, Provider, Signer,
};
pub use secrecy::{ExposeSecret, SecretString};
pub use send::{send_once, send_once_with, Sent, UNKNOWN_OUTCOME_LOOKUPS};
