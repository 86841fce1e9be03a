//! The durable job table.
//!
//! A job is claimed with a lease (`lease_owner`, `lease_expires_ms`). A worker that dies simply
//! stops renewing it; once the lease has expired any worker may claim the job again. Failures are
//! retried after an exponential backoff with a cap; after `max_attempts` the job is `failed`.
//! Finishing is conditional on still holding the lease, so a worker whose lease was taken over
//! cannot finish a job twice. Steps a job has finished are recorded ([`mark_step`]) in the same
//! transaction as their effect, so a resumed job skips them.

use crate::{now_ms, time, Result};
use countersign_core::{DocumentId, JobId};
use sqlx::{Row, SqliteConnection, SqlitePool};
use std::collections::BTreeSet;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct NewJob {
    pub kind: String,
    pub document_id: Option<DocumentId>,
    pub payload: serde_json::Value,
    /// At most one job per key is ever enqueued (enqueueing again is a no-op).
    pub dedupe_key: Option<String>,
    pub max_attempts: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub document_id: Option<DocumentId>,
    pub payload: serde_json::Value,
    /// Including the current one.
    pub attempts: u32,
    pub max_attempts: u32,
    pub lease_owner: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
}

impl JobState {
    fn parse(s: &str) -> JobState {
        match s {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "done" => JobState::Done,
            _ => JobState::Failed,
        }
    }
}

/// Exponential backoff: `base * 2^(attempt-1)`, never more than `cap`.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(15 * 60),
        }
    }
}

impl Backoff {
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(30));
        self.base.saturating_mul(factor).min(self.cap)
    }
}

/// Enqueues in the caller's transaction (so a document and its job appear together or not at all).
pub async fn enqueue(conn: &mut SqliteConnection, job: &NewJob) -> Result<JobId> {
    let now = time::fmt(&time::now());
    sqlx::query(
        "INSERT INTO jobs (kind, document_id, payload, state, attempts, max_attempts, run_after_ms, dedupe_key, created_at, updated_at)
         VALUES (?, ?, ?, 'queued', 0, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(&job.kind)
    .bind(job.document_id.map(|d| d.to_string()))
    .bind(job.payload.to_string())
    .bind(job.max_attempts as i64)
    .bind(now_ms())
    .bind(&job.dedupe_key)
    .bind(&now)
    .bind(&now)
    .execute(&mut *conn)
    .await?;
    let id: i64 = match &job.dedupe_key {
        Some(key) => {
            sqlx::query_scalar("SELECT job_id FROM jobs WHERE dedupe_key = ?")
                .bind(key)
                .fetch_one(&mut *conn)
                .await?
        }
        None => {
            sqlx::query_scalar("SELECT last_insert_rowid()")
                .fetch_one(&mut *conn)
                .await?
        }
    };
    Ok(JobId(id))
}

/// Claims the next runnable job of one of `kinds`: queued and due, or running with an expired
/// lease (its worker died). Jobs whose worker died `max_attempts` times are failed instead of
/// being handed out again, so a job that crashes its worker cannot loop forever.
pub async fn claim(
    pool: &SqlitePool,
    worker: &str,
    kinds: &[&str],
    lease: Duration,
) -> Result<Option<Job>> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let now = now_ms();
    let stamp = time::fmt(&time::now());
    sqlx::query(
        "UPDATE jobs SET state = 'failed', lease_owner = NULL, updated_at = ?, finished_at = ?,
            last_error = 'the worker stopped during every attempt (lease expired ' || attempts || ' times)'
         WHERE state = 'running' AND lease_expires_ms <= ? AND attempts >= max_attempts",
    )
    .bind(&stamp)
    .bind(&stamp)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let kinds_json = serde_json::to_string(kinds).expect("strings serialize");
    let row = sqlx::query(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?, lease_expires_ms = ?, updated_at = ?
         WHERE job_id = (
            SELECT job_id FROM jobs
            WHERE kind IN (SELECT value FROM json_each(?))
              AND ((state = 'queued' AND run_after_ms <= ?) OR (state = 'running' AND lease_expires_ms <= ?))
            ORDER BY run_after_ms, job_id LIMIT 1)
         RETURNING job_id, kind, document_id, payload, attempts, max_attempts",
    )
    .bind(worker)
    .bind(now + lease.as_millis() as i64)
    .bind(&stamp)
    .bind(&kinds_json)
    .bind(now)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let Some(row) = row else { return Ok(None) };
    let payload: String = row.get("payload");
    Ok(Some(Job {
        id: JobId(row.get("job_id")),
        kind: row.get("kind"),
        document_id: row
            .get::<Option<String>, _>("document_id")
            .and_then(|s| s.parse().ok()),
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
        attempts: row.get::<i64, _>("attempts") as u32,
        max_attempts: row.get::<i64, _>("max_attempts") as u32,
        lease_owner: worker.to_owned(),
    }))
}

/// Extends the lease of a job this worker still holds. False when the lease was lost.
pub async fn renew(pool: &SqlitePool, job: &Job, lease: Duration) -> Result<bool> {
    let res = sqlx::query(
        "UPDATE jobs SET lease_expires_ms = ? WHERE job_id = ? AND state = 'running' AND lease_owner = ?",
    )
    .bind(now_ms() + lease.as_millis() as i64)
    .bind(job.id.0)
    .bind(&job.lease_owner)
    .execute(pool)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// Marks the job done inside the caller's transaction. False (and nothing written) when this
/// worker no longer holds the job: the caller must roll back its effects.
pub async fn complete(conn: &mut SqliteConnection, job: &Job) -> Result<bool> {
    let now = time::fmt(&time::now());
    let res = sqlx::query(
        "UPDATE jobs SET state = 'done', lease_owner = NULL, lease_expires_ms = NULL, updated_at = ?, finished_at = ?
         WHERE job_id = ? AND state = 'running' AND lease_owner = ?",
    )
    .bind(&now)
    .bind(&now)
    .bind(job.id.0)
    .bind(&job.lease_owner)
    .execute(&mut *conn)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// What happened to a job after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AfterFailure {
    RetryAt {
        run_after_ms: i64,
    },
    GaveUp,
    /// This worker no longer held the job; nothing was written.
    LeaseLost,
}

/// Records a failed attempt: retried after `backoff` if `retryable` and attempts remain, otherwise
/// `failed` for good.
pub async fn fail(
    conn: &mut SqliteConnection,
    job: &Job,
    error: &str,
    retryable: bool,
    backoff: Backoff,
) -> Result<AfterFailure> {
    let now = time::fmt(&time::now());
    let retry = retryable && job.attempts < job.max_attempts;
    let run_after_ms = now_ms() + backoff.delay(job.attempts).as_millis() as i64;
    let res = if retry {
        sqlx::query(
            "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_expires_ms = NULL, run_after_ms = ?, last_error = ?, updated_at = ?
             WHERE job_id = ? AND state = 'running' AND lease_owner = ?",
        )
        .bind(run_after_ms)
        .bind(error)
        .bind(&now)
        .bind(job.id.0)
        .bind(&job.lease_owner)
        .execute(&mut *conn)
        .await?
    } else {
        sqlx::query(
            "UPDATE jobs SET state = 'failed', lease_owner = NULL, lease_expires_ms = NULL, last_error = ?, updated_at = ?, finished_at = ?
             WHERE job_id = ? AND state = 'running' AND lease_owner = ?",
        )
        .bind(error)
        .bind(&now)
        .bind(&now)
        .bind(job.id.0)
        .bind(&job.lease_owner)
        .execute(&mut *conn)
        .await?
    };
    Ok(match (res.rows_affected(), retry) {
        (0, _) => AfterFailure::LeaseLost,
        (_, true) => AfterFailure::RetryAt { run_after_ms },
        (_, false) => AfterFailure::GaveUp,
    })
}

/// Records that `step` of `job` is done (idempotent), in the transaction that made its effect.
pub async fn mark_step(conn: &mut SqliteConnection, job: JobId, step: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO job_steps (job_id, step, done_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(job.0)
    .bind(step)
    .bind(time::fmt(&time::now()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn steps_done(pool: &SqlitePool, job: JobId) -> Result<BTreeSet<String>> {
    let steps: Vec<String> = sqlx::query_scalar("SELECT step FROM job_steps WHERE job_id = ?")
        .bind(job.0)
        .fetch_all(pool)
        .await?;
    Ok(steps.into_iter().collect())
}

/// A job's state, attempts and last error (for tests, `show` and the UI).
#[derive(Clone, Debug, PartialEq)]
pub struct JobStatus {
    pub id: JobId,
    pub kind: String,
    pub state: JobState,
    pub attempts: u32,
    pub last_error: Option<String>,
}

pub async fn for_document(pool: &SqlitePool, id: DocumentId) -> Result<Vec<JobStatus>> {
    let rows = sqlx::query(
        "SELECT job_id, kind, state, attempts, last_error FROM jobs WHERE document_id = ? ORDER BY job_id",
    )
    .bind(id.to_string())
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| JobStatus {
            id: JobId(r.get("job_id")),
            kind: r.get("kind"),
            state: JobState::parse(r.get("state")),
            attempts: r.get::<i64, _>("attempts") as u32,
            last_error: r.get("last_error"),
        })
        .collect())
}

/// Jobs not finished yet (queued or running), across all documents.
pub async fn pending_count(pool: &SqlitePool) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')")
            .fetch_one(pool)
            .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let b = Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(10),
        };
        let delays: Vec<u64> = (1..=6).map(|a| b.delay(a).as_secs()).collect();
        assert_eq!(delays, vec![1, 2, 4, 8, 10, 10]);
        assert_eq!(b.delay(1000), Duration::from_secs(10));
    }
}

/// A job not finished yet (queued or running), as the outbox lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingJob {
    pub id: JobId,
    pub document_id: Option<DocumentId>,
    pub attempts: u32,
    pub run_after_ms: i64,
    pub last_error: Option<String>,
}

/// Jobs of `kind` still queued or running, most recently updated first.
pub async fn pending_of_kind(pool: &SqlitePool, kind: &str) -> Result<Vec<PendingJob>> {
    let rows = sqlx::query(
        "SELECT job_id, document_id, attempts, run_after_ms, last_error FROM jobs
         WHERE kind = ? AND state IN ('queued', 'running') ORDER BY updated_at DESC, job_id DESC",
    )
    .bind(kind)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PendingJob {
                id: JobId(r.get("job_id")),
                document_id: r
                    .get::<Option<String>, _>("document_id")
                    .map(|d| d.parse())
                    .transpose()
                    .map_err(|e| crate::StoreError::Corrupt(format!("document_id: {e}")))?,
                attempts: r.get::<i64, _>("attempts") as u32,
                run_after_ms: r.get("run_after_ms"),
                last_error: r.get("last_error"),
            })
        })
        .collect()
}

/// Makes queued jobs of `kind` that wait out a backoff due now (the network came back); returns
/// how many. Running jobs and their leases are untouched.
pub async fn wake_kind(pool: &SqlitePool, kind: &str) -> Result<u64> {
    let now = crate::time::now_ms();
    let res = sqlx::query(
        "UPDATE jobs SET run_after_ms = ? WHERE kind = ? AND state = 'queued' AND run_after_ms > ?",
    )
    .bind(now)
    .bind(kind)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(res.rows_affected())
}
