-- The sandbox's envelopes. Times are RFC 3339 UTC with milliseconds (`2024-05-01T12:00:00.123Z`),
-- so they compare as text.

CREATE TABLE envelopes (
    envelope_id       TEXT PRIMARY KEY,
    account_id        TEXT NOT NULL,
    -- created | sent | delivered | completed | declined | voided
    status            TEXT NOT NULL,
    email_subject     TEXT NOT NULL,
    email_blurb       TEXT,
    created_at        TEXT NOT NULL,
    sent_at           TEXT,
    delivered_at      TEXT,
    completed_at      TEXT,
    declined_at       TEXT,
    voided_at         TEXT,
    voided_reason     TEXT,
    status_changed_at TEXT NOT NULL
);
CREATE INDEX envelopes_by_created ON envelopes (account_id, created_at);

CREATE TABLE recipients (
    envelope_id     TEXT NOT NULL REFERENCES envelopes (envelope_id),
    recipient_id    TEXT NOT NULL,
    -- signer | carbon_copy
    kind            TEXT NOT NULL CHECK (kind IN ('signer', 'carbon_copy')),
    name            TEXT NOT NULL,
    email           TEXT NOT NULL,
    routing_order   INTEGER NOT NULL,
    role_name       TEXT,
    -- created | sent | delivered | completed | declined
    status          TEXT NOT NULL,
    sent_at         TEXT,
    delivered_at    TEXT,
    signed_at       TEXT,
    declined_at     TEXT,
    declined_reason TEXT,
    -- The signer's `tabs` as received (JSON, DocuSign names).
    tabs_json       TEXT NOT NULL DEFAULT '{}',
    position        INTEGER NOT NULL,
    PRIMARY KEY (envelope_id, recipient_id)
);

CREATE TABLE custom_fields (
    envelope_id TEXT NOT NULL REFERENCES envelopes (envelope_id),
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    show        TEXT,
    required    TEXT,
    PRIMARY KEY (envelope_id, name)
);
-- `GET …/envelopes?custom_field=name=value` (the idempotency-key look-up).
CREATE INDEX custom_fields_by_value ON custom_fields (name, value);

CREATE TABLE documents (
    envelope_id     TEXT NOT NULL REFERENCES envelopes (envelope_id),
    document_id     TEXT NOT NULL,
    name            TEXT NOT NULL,
    position        INTEGER NOT NULL,
    page_count      INTEGER NOT NULL,
    original        BLOB NOT NULL,
    original_sha256 TEXT NOT NULL,
    -- The document with every signature so far; NULL until the first.
    signed          BLOB,
    signed_sha256   TEXT,
    PRIMARY KEY (envelope_id, document_id)
);

-- Everything that happened, in order: the certificate's history and the webhooks' source.
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    envelope_id  TEXT NOT NULL REFERENCES envelopes (envelope_id),
    at           TEXT NOT NULL,
    -- Connect event names: envelope-sent, recipient-completed, …
    event        TEXT NOT NULL,
    recipient_id TEXT,
    ip           TEXT NOT NULL,
    detail       TEXT
);
CREATE INDEX events_by_envelope ON events (envelope_id, seq);
