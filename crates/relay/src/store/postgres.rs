//! PostgreSQL: the store for several relay instances behind one load balancer. Everything an
//! instance must agree on with the others lives in the database:
//! - deduplication: `UNIQUE (tenant, dedup_key)` with `ON CONFLICT DO NOTHING`, so a Connect retry
//!   that reaches two instances at once is stored once;
//! - cursor order: inserts of one tenant are serialised by an advisory lock taken before the
//!   cursor is drawn (see `relay_insert_event` in migrations/postgres/0001_init.sql for why), so a
//!   reader paging by cursor never skips an event committed late;
//! - wake-ups: the insert NOTIFYs the channel [`CHANNEL`] at commit, and every instance LISTENs to
//!   it ([`PgStore::relay_notifications`]) to wake its own long-polls of that tenant.
//!
//! Durability: an event is answered 200 after its commit returned, which with PostgreSQL's default
//! `synchronous_commit = on` means after the WAL was flushed (on the primary; a synchronous
//! standby, if configured, too).

use super::{ClientLag, NewEvent, StoredEvent, TokenRow};
use crate::tenants::SecretAdded;
use crate::wake::Wakers;
use crate::RelayError;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The NOTIFY channel; the payload is a tenant id, or empty for a heartbeat.
pub const CHANNEL: &str = "countersign_relay_events";

/// Connections per instance. A request holds one for a single statement, so this bounds
/// concurrent queries, not concurrent requests; a cluster of N instances needs N × this (plus one
/// LISTEN connection each) within the server's `max_connections`.
const MAX_CONNECTIONS: u32 = 16;

/// Every instance NOTIFYs an empty heartbeat this often; a LISTEN connection that hears nothing,
/// not even a heartbeat, for [`SILENCE_LIMIT`] is presumed dead (a peer that vanished without a
/// FIN or RST leaves a socket that would otherwise wait forever) and is replaced.
const HEARTBEAT: Duration = Duration::from_secs(15);
const SILENCE_LIMIT: Duration = Duration::from_secs(45);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// For the LISTEN connections (boxed in an `Arc`: it is large, and `Store` is cloned often).
    options: Arc<PgConnectOptions>,
}

fn now() -> String {
    super::format_time(chrono::Utc::now())
}

impl PgStore {
    pub async fn open(url: &str) -> Result<Self, RelayError> {
        let mut options: PgConnectOptions = url.parse()?;
        if options.get_application_name().is_none() {
            options = options.application_name("countersign-relay");
        }
        // One plain connection first: an unreachable server or a refused login fails here with
        // its own message (a pool would retry until its timeout and report only that).
        PgConnection::connect_with(&options).await?.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await?;
        // sqlx holds an advisory lock while migrating, so instances starting together are fine.
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PgStore {
            pool,
            options: Arc::new(options),
        })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub async fn add_secret(&self, tenant: &str, secret: &str) -> Result<SecretAdded, RelayError> {
        let mut tx = self.pool.begin().await?;
        let now = now();
        let tenant_created = sqlx::query(
            "INSERT INTO tenants (tenant, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(tenant)
        .bind(&now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        // Re-adding a retired secret makes it active again.
        let secret_added = sqlx::query(
            "INSERT INTO hmac_secrets (tenant, secret, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (tenant, secret) DO UPDATE SET retired_at = NULL
             WHERE hmac_secrets.retired_at IS NOT NULL",
        )
        .bind(tenant)
        .bind(secret)
        .bind(&now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        tx.commit().await?;
        Ok(SecretAdded {
            tenant_created,
            secret_added,
        })
    }

    pub async fn retire_secret(&self, tenant: &str, secret: &str) -> Result<bool, RelayError> {
        let done = sqlx::query(
            "UPDATE hmac_secrets SET retired_at = $1
             WHERE tenant = $2 AND secret = $3 AND retired_at IS NULL",
        )
        .bind(now())
        .bind(tenant)
        .bind(secret)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn active_secrets(&self, tenant: &str) -> Result<Option<Vec<String>>, RelayError> {
        // One round trip: a LEFT JOIN yields one NULL row for a tenant with no active secret.
        let rows: Vec<(Option<String>,)> = sqlx::query_as(
            "SELECT s.secret FROM tenants t
             LEFT JOIN hmac_secrets s ON s.tenant = t.tenant AND s.retired_at IS NULL
             WHERE t.tenant = $1",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(rows.into_iter().filter_map(|(s,)| s).collect()))
    }

    pub async fn insert_token(
        &self,
        tenant: &str,
        name: &str,
        lookup: &str,
        salt: &[u8],
        hash: &[u8],
    ) -> Result<(), RelayError> {
        // Inserted only when the tenant exists: one statement, no check-then-insert race.
        let inserted = sqlx::query(
            "INSERT INTO tokens (tenant, name, lookup, salt, hash, created_at, last_cursor)
             SELECT tenant, $2, $3, $4, $5, $6, 0 FROM tenants WHERE tenant = $1",
        )
        .bind(tenant)
        .bind(name)
        .bind(lookup)
        .bind(salt)
        .bind(hash)
        .bind(now())
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(RelayError::UnknownTenant(tenant.to_owned()));
        }
        Ok(())
    }

    pub async fn tokens_by_lookup(&self, lookup: &str) -> Result<Vec<TokenRow>, RelayError> {
        Ok(sqlx::query_as(
            "SELECT id, tenant, name, salt, hash FROM tokens
             WHERE lookup = $1 AND revoked_at IS NULL",
        )
        .bind(lookup)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn insert_event(&self, e: &NewEvent) -> Result<Option<i64>, RelayError> {
        // One autocommit statement: the function locks, inserts and notifies, and the statement
        // returns only once the transaction has committed.
        Ok(sqlx::query_scalar::<_, Option<i64>>(
            "SELECT relay_insert_event($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&e.tenant)
        .bind(&e.dedup_key)
        .bind(&e.received_at)
        .bind(&e.event)
        .bind(&e.envelope_id)
        .bind(&e.generated_at)
        .bind(&e.body)
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn events_after(
        &self,
        tenant: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, RelayError> {
        Ok(sqlx::query_as(
            "SELECT cursor, tenant, received_at, event, envelope_id, generated_at, body
             FROM events WHERE tenant = $1 AND cursor > $2 ORDER BY cursor LIMIT $3",
        )
        .bind(tenant)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn record_fetch(&self, token_id: i64, cursor: i64) -> Result<(), RelayError> {
        sqlx::query("UPDATE tokens SET last_cursor = $1 WHERE id = $2 AND last_cursor < $1")
            .bind(cursor)
            .bind(token_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn client_lag(&self) -> Result<Vec<ClientLag>, RelayError> {
        Ok(sqlx::query_as(
            "SELECT t.tenant AS tenant, t.name AS token_name,
                    (SELECT COUNT(*) FROM events e
                     WHERE e.tenant = t.tenant AND e.cursor > t.last_cursor) AS lag
             FROM tokens t WHERE t.revoked_at IS NULL ORDER BY t.tenant, t.name, t.id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every instance runs the purge; the deletes are idempotent, so they need no coordination.
    pub async fn purge_received_before(&self, cutoff: &str) -> Result<u64, RelayError> {
        let done = sqlx::query("DELETE FROM events WHERE received_at < $1")
            .bind(cutoff)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Wakes this instance's long-polls for events that any instance (this one included) stored,
    /// until `shutdown`: LISTENs on [`CHANNEL`] over a connection of its own and sends heartbeats.
    /// A lost connection is replaced (with back-off while the server is unreachable), and every
    /// poll is woken once the new LISTEN is in place, since notifications sent in the gap are lost.
    pub async fn relay_notifications(&self, wakers: Arc<Wakers>, shutdown: CancellationToken) {
        let heartbeat = async {
            let mut tick = tokio::time::interval(HEARTBEAT);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let sent = sqlx::query("SELECT pg_notify($1, '')")
                    .bind(CHANNEL)
                    .execute(&self.pool)
                    .await;
                if let Err(e) = sent {
                    tracing::warn!(error = %e, "could not send the LISTEN heartbeat");
                }
            }
        };
        let listen = async {
            let mut backoff = Duration::from_millis(100);
            loop {
                let mut listener = match self.listen().await {
                    Ok(listener) => listener,
                    Err(e) => {
                        tracing::warn!(error = %e, retry_in = ?backoff,
                            "cannot LISTEN for other relay instances' events; long-polls here \
                             wake only for events stored by this instance until it can");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        continue;
                    }
                };
                backoff = Duration::from_millis(100);
                wakers.wake_all();
                loop {
                    match tokio::time::timeout(SILENCE_LIMIT, listener.try_recv()).await {
                        Ok(Ok(Some(n))) if n.payload().is_empty() => {} // a heartbeat
                        Ok(Ok(Some(n))) => wakers.wake(n.payload()),
                        // The connection dropped and sqlx has already re-established the LISTEN.
                        Ok(Ok(None)) => {
                            tracing::warn!("the LISTEN connection dropped and was re-established");
                            wakers.wake_all();
                        }
                        Ok(Err(e)) => {
                            tracing::warn!(error = %e, "the LISTEN connection failed; reconnecting");
                            break;
                        }
                        Err(_) => {
                            tracing::warn!(silence = ?SILENCE_LIMIT,
                                "no notification, not even a heartbeat, on the LISTEN connection; \
                                 replacing it");
                            break;
                        }
                    }
                }
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = heartbeat => {}
            _ = listen => {}
        }
    }

    /// A fresh LISTEN connection, in a pool of its own: the requests' pool never lends one out
    /// for good, and a dead connection is dropped with its pool instead of being handed back.
    async fn listen(&self) -> Result<PgListener, sqlx::Error> {
        let name = format!(
            "{} (listen)",
            self.options
                .get_application_name()
                .unwrap_or("countersign-relay")
        );
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_lazy_with(PgConnectOptions::clone(&self.options).application_name(&name));
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.ignore_pool_close_event(true);
        listener.listen(CHANNEL).await?;
        Ok(listener)
    }
}
