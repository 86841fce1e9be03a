-- Signature status from outside the app: the webhook relay's cursor, every provider event as it
-- was received (part of a completed document's evidence: never changed), and, per envelope, when
-- we last heard of it and last asked the provider about it (reconciliation polls an envelope at
-- most once per 15 minutes).

-- Where this workstation is in a relay's event stream (one row per relay URL and tenant).
CREATE TABLE relay_cursor (
    relay_url  TEXT NOT NULL,
    tenant_id  TEXT NOT NULL,
    cursor     INTEGER NOT NULL CHECK (cursor >= 0),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (relay_url, tenant_id)
);

-- The raw receipts. `source` is `relay` (a webhook pulled from the relay: `relay_url` and
-- `relay_cursor` name it, once) or `poll` (the provider's answer to a reconciliation poll).
-- `outcome` says what applying it did: `applied` (the status moved), `no_change` (already there
-- or further along), `superseded` (the envelope belongs to an older version), `unknown_envelope`.
CREATE TABLE provider_events (
    receipt_id      INTEGER PRIMARY KEY,
    source          TEXT NOT NULL CHECK (source IN ('relay', 'poll')),
    relay_url       TEXT,
    relay_cursor    INTEGER,
    envelope_id     TEXT NOT NULL,
    event           TEXT NOT NULL,
    provider_status TEXT,
    generated_at    TEXT,
    received_at     TEXT NOT NULL,
    body            TEXT NOT NULL,
    document_id     TEXT,
    version         INTEGER,
    outcome         TEXT NOT NULL,
    UNIQUE (relay_url, relay_cursor)
);
CREATE INDEX provider_events_envelope ON provider_events (envelope_id, receipt_id);
CREATE INDEX provider_events_document ON provider_events (document_id, receipt_id);

-- Finding the version an event is about.
CREATE INDEX versions_envelope ON versions (envelope_id) WHERE envelope_id IS NOT NULL;

-- Per envelope: the provider time of the status we hold (to order news of equal rank), when we
-- last heard anything (event or poll, our clock) and when we last polled the provider.
CREATE TABLE envelope_checks (
    envelope_id    TEXT PRIMARY KEY,
    status_at      TEXT,
    last_news_at   TEXT NOT NULL,
    last_polled_at TEXT
);
