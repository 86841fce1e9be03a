-- The relay's tables on PostgreSQL, the same shape as migrations/sqlite/0001_init.sql. Frozen once
-- landed: later changes are new, additive migrations (here and, where it applies, for SQLite too).
-- Times are TEXT in one fixed format (RFC 3339 UTC with milliseconds, written by the relay), as in
-- SQLite, so both stores hand back the same strings and compare times as text.

CREATE TABLE tenants (
    tenant     TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);

-- DocuSign Connect HMAC keys, stored in the clear on purpose (verifying an HMAC needs the key);
-- restrict who can read this database accordingly. `retired_at` ends a key after a rotation.
CREATE TABLE hmac_secrets (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant     TEXT NOT NULL REFERENCES tenants (tenant),
    secret     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    retired_at TEXT,
    UNIQUE (tenant, secret)
);

-- Workstation tokens, never in the clear: `lookup` is the token's first 8 characters, `hash` is
-- sha256(salt || token). `last_cursor` feeds the lag gauge.
CREATE TABLE tokens (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant      TEXT NOT NULL REFERENCES tenants (tenant),
    name        TEXT NOT NULL,
    lookup      TEXT NOT NULL,
    salt        BYTEA NOT NULL,
    hash        BYTEA NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT,
    last_cursor BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX tokens_lookup ON tokens (lookup);

-- Genuine webhook events. `cursor` comes from an identity sequence (never reused, shared by every
-- relay instance); `UNIQUE (tenant, dedup_key)` makes a redelivery a no-op even when two instances
-- receive the same Connect retry at once.
CREATE TABLE events (
    cursor       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant       TEXT NOT NULL REFERENCES tenants (tenant),
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

-- Stores one event: returns its cursor, or NULL when (tenant, dedup_key) is already there.
-- Called as a statement of its own (autocommit), so the lock, the insert, the notification and the
-- commit take one round trip, and the relay answers 200 only after the commit.
--
-- Why the lock: a sequence hands out numbers when rows are inserted, but transactions commit in
-- any order. If insert A drew cursor 10 and insert B cursor 11, and B committed first, a reader
-- could fetch 11, move its cursor past 10, and never see A. So inserts of one tenant take the
-- tenant's transaction-scoped advisory lock BEFORE drawing a cursor; PostgreSQL makes a commit
-- visible before it releases the transaction's locks, so the next insert of that tenant draws a
-- larger cursor only once every smaller one is visible. Within a tenant cursors therefore become
-- visible in order (which is all a reader relies on: it only reads its own tenant). Different
-- tenants do not wait for each other, except when their ids share a 32-bit hash (harmless).
-- The two-key lock form with the class 1129531218 ('CSGR') keeps clear of other advisory locks.
--
-- The NOTIFY is sent at commit, to every relay instance LISTENing: its payload is the tenant
-- whose long-polls should query again.
CREATE FUNCTION relay_insert_event(
    p_tenant       TEXT,
    p_dedup_key    TEXT,
    p_received_at  TEXT,
    p_event        TEXT,
    p_envelope_id  TEXT,
    p_generated_at TEXT,
    p_body         TEXT
) RETURNS BIGINT
LANGUAGE plpgsql
AS $$
DECLARE
    new_cursor BIGINT;
BEGIN
    PERFORM pg_advisory_xact_lock(1129531218, hashtext(p_tenant));
    INSERT INTO events (tenant, dedup_key, received_at, event, envelope_id, generated_at, body)
    VALUES (p_tenant, p_dedup_key, p_received_at, p_event, p_envelope_id, p_generated_at, p_body)
    ON CONFLICT (tenant, dedup_key) DO NOTHING
    RETURNING cursor INTO new_cursor;
    IF new_cursor IS NOT NULL THEN
        PERFORM pg_notify('countersign_relay_events', p_tenant);
    END IF;
    RETURN new_cursor;
END;
$$;
