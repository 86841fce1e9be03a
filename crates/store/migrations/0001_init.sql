-- Countersign store, first schema. Frozen once landed: later changes are new, additive migrations.

-- One row per document: what never changes across versions (the original file and where it came from).
CREATE TABLE documents (
    document_id     TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    source          TEXT NOT NULL,
    file_name       TEXT NOT NULL,
    mime_type       TEXT NOT NULL,
    checksum        TEXT NOT NULL,           -- sha256 hex of the original bytes = its blob key
    byte_size       INTEGER NOT NULL,
    current_version INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (tenant_id, checksum)
);
CREATE INDEX documents_created ON documents (created_at DESC, document_id DESC);

-- Each version carries its own lifecycle status and everything derived for it.
CREATE TABLE versions (
    document_id               TEXT NOT NULL REFERENCES documents (document_id),
    version                   INTEGER NOT NULL,
    status                    TEXT NOT NULL,
    page_count                INTEGER,
    ocr_confidence            REAL,
    document_type             TEXT,
    classification_confidence REAL,
    decision                  TEXT,          -- JSON {action, reasons}
    route                     TEXT,
    fields                    TEXT NOT NULL DEFAULT '{}',
    envelope_id               TEXT,
    department                TEXT,
    policy_tags               TEXT NOT NULL DEFAULT '[]',
    retention_class           TEXT,
    failure                   TEXT,          -- JSON {stage, code, message, retryable}
    created_at                TEXT NOT NULL,
    updated_at                TEXT NOT NULL,
    PRIMARY KEY (document_id, version)
);
CREATE INDEX versions_status ON versions (status);

CREATE TABLE pages (
    document_id TEXT NOT NULL,
    version     INTEGER NOT NULL,
    page_index  INTEGER NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    image_blob  TEXT,                        -- sha256 of the canonical page image, when rendered
    PRIMARY KEY (document_id, version, page_index),
    FOREIGN KEY (document_id, version) REFERENCES versions (document_id, version)
);

-- Append-only, hash-chained: hash = sha256(prev_hash, canonical JSON of the entry).
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,         -- 1, 2, 3 … without gaps
    at          TEXT NOT NULL,
    document_id TEXT,
    version     INTEGER,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    from_status TEXT,
    to_status   TEXT,
    detail      TEXT NOT NULL DEFAULT '{}',
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_log_document ON audit_log (document_id, seq);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- The chain's head, written in the same transaction as each entry: removing the newest entries
-- leaves a chain that is valid on its own, and this row is what notices.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, 'genesis');

-- Durable background work: claimed with a lease, retried with capped exponential backoff.
CREATE TABLE jobs (
    job_id           INTEGER PRIMARY KEY,
    kind             TEXT NOT NULL,
    document_id      TEXT,
    payload          TEXT NOT NULL DEFAULT '{}',
    state            TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    run_after_ms     INTEGER NOT NULL,       -- unix ms; not claimed before
    lease_owner      TEXT,
    lease_expires_ms INTEGER,
    last_error       TEXT,
    dedupe_key       TEXT UNIQUE,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    finished_at      TEXT
);
CREATE INDEX jobs_ready ON jobs (state, run_after_ms);

-- Steps of a job already done, written in the same transaction as the step's effect, so a job
-- resumed after a crash skips them.
CREATE TABLE job_steps (
    job_id  INTEGER NOT NULL REFERENCES jobs (job_id),
    step    TEXT NOT NULL,
    done_at TEXT NOT NULL,
    PRIMARY KEY (job_id, step)
);
