//! Integration tests of `countersign-relay`: each test starts a real relay (in-process on port 0,
//! or the binary) over a real, fresh database, and talks to it over HTTP as DocuSign Connect and a
//! workstation would. Most tests run twice, as `…::sqlite::NAME` on a SQLite file in a temp dir
//! and as `…::postgres::NAME` on a new database of the PostgreSQL server named by
//! `COUNTERSIGN_TEST_POSTGRES_URL`; run them under scripts/with-postgres.sh, which starts a
//! throwaway server (without it the PostgreSQL tests fail, saying so).

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

/// The binary SIGKILLed mid-ingest and restarted: no acknowledged event lost or doubled.
mod crash;

/// Several instances on one PostgreSQL database: dedup, cursor order, cross-instance wake-ups.
mod multi_instance;
