-- The relay's tables. Frozen once landed: later changes are new, additive migrations.

CREATE TABLE tenants (
    tenant     TEXT PRIMARY KEY NOT NULL,
    created_at TEXT NOT NULL
);

-- DocuSign Connect HMAC keys. Stored in the clear on purpose: verifying an HMAC needs the key
-- itself, so a hash would be useless. Protect the database file accordingly. Several active keys
-- per tenant are normal while a key is being rotated; `retired_at` ends one.
CREATE TABLE hmac_secrets (
    id         INTEGER PRIMARY KEY,
    tenant     TEXT NOT NULL REFERENCES tenants(tenant),
    secret     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    retired_at TEXT,
    UNIQUE (tenant, secret)
);

-- Workstation tokens, never stored in the clear: `lookup` is the token's first 8 characters
-- (48 of its 256 bits, enough to find the row, useless to authenticate), `hash` is
-- sha256(salt || token) with a random per-token salt. `last_cursor` feeds the lag gauge.
CREATE TABLE tokens (
    id          INTEGER PRIMARY KEY,
    tenant      TEXT NOT NULL REFERENCES tenants(tenant),
    name        TEXT NOT NULL,
    lookup      TEXT NOT NULL,
    salt        BLOB NOT NULL,
    hash        BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT,
    last_cursor INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tokens_lookup ON tokens (lookup);

-- Genuine webhook events. `cursor` is the delivery order (AUTOINCREMENT: never reused, even after
-- the newest rows are purged). `dedup_key` makes a redelivered event a no-op.
CREATE TABLE events (
    cursor       INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant       TEXT NOT NULL REFERENCES tenants(tenant),
    dedup_key    TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    event        TEXT NOT NULL,
    envelope_id  TEXT NOT NULL,
    generated_at TEXT,
    body         TEXT NOT NULL,
    UNIQUE (tenant, dedup_key)
);
CREATE INDEX events_tenant_cursor ON events (tenant, cursor);
CREATE INDEX events_received_at ON events (received_at);
