//! Integration tests of `countersign-sign`: the DocuSign adapter against `countersign-sandbox`
//! started in-process on port 0, over real HTTP. No mocks: faults are injected by the sandbox,
//! through the same HTTP the adapter uses.

/// Starting a sandbox, an adapter for it, envelope requests, a searchable PDF to sign.
mod support;

/// create / status / find by key / void / combined / certificate, and error classes.
mod adapter;

/// `send_once` under lost answers, 503s and a slow search index: one envelope per key.
mod duplicates;

/// 429 with Retry-After: waited out, or handed back when too long.
mod rate_limit;

/// The signature stamp lands at the anchor of a scanned-and-OCR'd page (checked with pdftotext),
/// and the certificate carries the documents' hashes.
mod stamping;

/// Connect webhooks from the sandbox verify with `connect::verify_signature`; tampering does not.
mod webhooks;

/// The bearer token appears in no log line and no Debug output.
mod logging;

/// Prism (DocuSign's OpenAPI spec) between adapter and sandbox: no request or answer violates it.
mod conformance;
