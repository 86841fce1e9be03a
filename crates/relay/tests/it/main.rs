//! Integration tests of `countersign-relay`: each test starts a real relay in-process on port 0
//! over a real SQLite file in a temp dir, and talks to it over HTTP as DocuSign Connect and a
//! workstation would.

/// Starting relays, tenants and tokens, signed Connect bodies.
mod support;

/// `POST /hooks/docusign/{tenant}`: genuine, forged, unsigned, rotation, duplicates, limits.
mod hooks;

/// `GET /v1/events`: delivery, paging, isolation, long-poll, auth.
mod events;

/// `GET /metrics` and `GET /healthz`.
mod metrics;

/// The retention purge.
mod retention;

/// The `countersign-relay` binary: tenant and token administration, `serve`.
mod binary;
