//! Integration tests of `countersign-store`: every test opens a real SQLite database file in its own
//! tempdir, runs the real migrations, and checks what ends up on disk. No mocks.
//!
//! Tampering tests go around the store on purpose: they open the database file with a plain sqlx
//! connection and drop the append-only triggers, as someone with write access to the file could.

/// Shared setup: a fresh store, documents to put in it, a plain connection to its file.
mod support;

/// The schema: migrations on a real file, WAL mode, reopening.
mod migrations;

/// The hash-chained audit log: verification, and each kind of tampering named at the right entry.
mod audit;

/// Status changes: the lifecycle is enforced by the store, and a refused change writes nothing.
mod documents;

/// The durable job table: dedupe, leases, takeover after expiry, backoff, giving up.
mod jobs;

/// The content-addressed blob store behind `Store::blobs()`.
mod blobs;
