//! Integration tests of `countersign-sandbox`: each test starts a real sandbox in-process on port
//! 0 (in memory unless it tests persistence) and talks to it over HTTP, as the DocuSign adapter
//! and a browser would. Adapter-level tests live in `countersign-sign`'s `tests/it`.

/// Starting sandboxes, a PDF with a text layer, envelope definitions, a webhook receiver.
mod support;

/// The edge: malformed bodies, bad documents, auth and account checks, body limit — each a
/// DocuSign-shaped error with the right status.
mod edge;

/// Routing order, signing, declining, voiding, drafts, delivered-on-open, auto-sign.
mod lifecycle;

/// Envelopes, documents and events survive a restart on a data dir.
mod persistence;

/// Connect webhooks: HMAC-signed, retried, and the drop / duplicate / reorder faults.
mod webhooks;

/// API faults: lost answers after create, 503, 429 with Retry-After, latency, list-index delay.
mod faults;

/// The signing page's HTML and page images.
mod signing_page;

/// The `countersign-sandbox` binary: flags, the "listening on" line, serving.
mod binary;
