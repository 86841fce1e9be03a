use crate::support::open_store;
use countersign_core::{DocumentId, JobId};
use countersign_store::jobs::{self, AfterFailure, Backoff, Job, JobState, NewJob};
use countersign_store::{now_ms, Store};
use std::time::Duration;

const KIND: &str = "test";
const LEASE: Duration = Duration::from_millis(200);

fn new_job(max_attempts: u32, dedupe_key: Option<&str>) -> NewJob {
    NewJob {
        kind: KIND.into(),
        document_id: Some(DocumentId::new()),
        payload: serde_json::json!({ "version": 1 }),
        dedupe_key: dedupe_key.map(str::to_owned),
        max_attempts,
    }
}

async fn enqueue(store: &Store, job: &NewJob) -> JobId {
    let mut tx = store.write().await.unwrap();
    let id = jobs::enqueue(&mut tx, job).await.unwrap();
    tx.commit().await.unwrap();
    id
}

async fn claim(store: &Store, worker: &str) -> Option<Job> {
    jobs::claim(store.pool(), worker, &[KIND], LEASE)
        .await
        .unwrap()
}

async fn complete(store: &Store, job: &Job) -> bool {
    let mut tx = store.write().await.unwrap();
    let done = jobs::complete(&mut tx, job).await.unwrap();
    tx.commit().await.unwrap();
    done
}

async fn fail(store: &Store, job: &Job, retryable: bool, backoff: Backoff) -> AfterFailure {
    let mut tx = store.write().await.unwrap();
    let after = jobs::fail(&mut tx, job, "it broke", retryable, backoff)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    after
}

/// The job's row as stored.
#[derive(Debug, sqlx::FromRow)]
struct Row {
    state: String,
    attempts: i64,
    run_after_ms: i64,
    lease_owner: Option<String>,
    last_error: Option<String>,
    finished_at: Option<String>,
}

async fn row(store: &Store, id: JobId) -> Row {
    sqlx::query_as(
        "SELECT state, attempts, run_after_ms, lease_owner, last_error, finished_at FROM jobs WHERE job_id = ?",
    )
    .bind(id.0)
    .fetch_one(store.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn enqueueing_the_same_dedupe_key_twice_makes_one_job() {
    let (_dir, store) = open_store().await;
    let job = new_job(5, Some("process:doc:v1"));
    let first = enqueue(&store, &job).await;
    let second = enqueue(&store, &job).await;
    assert_eq!(first, second);
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(count, 1);
    assert_eq!(jobs::pending_count(store.pool()).await.unwrap(), 1);

    // A job of another kind is not handed to a worker that does not run that kind.
    assert!(jobs::claim(store.pool(), "a", &["other"], LEASE)
        .await
        .unwrap()
        .is_none());
    assert_eq!(row(&store, first).await.state, "queued");
}

#[tokio::test]
async fn a_claimed_job_is_taken_over_only_after_its_lease_expires() {
    let (_dir, store) = open_store().await;
    let id = enqueue(&store, &new_job(5, None)).await;

    let a = claim(&store, "worker-a").await.expect("A gets the job");
    assert_eq!((a.id, a.attempts), (id, 1));
    let r = row(&store, id).await;
    assert_eq!(
        (r.state.as_str(), r.lease_owner.as_deref()),
        ("running", Some("worker-a"))
    );
    assert!(
        claim(&store, "worker-b").await.is_none(),
        "B gets nothing while A's lease is live"
    );

    tokio::time::sleep(LEASE + Duration::from_millis(100)).await;
    let b = claim(&store, "worker-b")
        .await
        .expect("B takes over the expired lease");
    assert_eq!((b.id, b.attempts), (id, 2));
    assert_eq!(
        row(&store, id).await.lease_owner.as_deref(),
        Some("worker-b")
    );

    // A comes back from its stall: it can neither renew, finish nor fail the job any more.
    assert!(!jobs::renew(store.pool(), &a, LEASE).await.unwrap());
    assert!(!complete(&store, &a).await, "A lost the lease");
    assert_eq!(
        fail(&store, &a, true, Backoff::default()).await,
        AfterFailure::LeaseLost
    );
    assert_eq!(row(&store, id).await.state, "running", "A wrote nothing");

    assert!(complete(&store, &b).await, "B holds the lease");
    let r = row(&store, id).await;
    assert_eq!(r.state, "done");
    assert_eq!(r.attempts, 2);
    assert_eq!(r.lease_owner, None);
    assert!(r.finished_at.is_some());
    assert!(
        claim(&store, "worker-c").await.is_none(),
        "a done job is not handed out"
    );
    assert_eq!(jobs::pending_count(store.pool()).await.unwrap(), 0);
}

#[tokio::test]
async fn a_retryable_failure_waits_for_its_backoff_and_gives_up_after_max_attempts() {
    let (_dir, store) = open_store().await;
    let backoff = Backoff {
        base: Duration::from_millis(300),
        cap: Duration::from_secs(10),
    };
    let job = new_job(2, None);
    let document = job.document_id.unwrap();
    let id = enqueue(&store, &job).await;

    let first = claim(&store, "a").await.unwrap();
    let before = now_ms();
    let after_failure = fail(&store, &first, true, backoff).await;
    let after = now_ms();
    let AfterFailure::RetryAt { run_after_ms } = after_failure else {
        panic!("attempt 1 of 2 is retried, got {after_failure:?}");
    };
    let delay = backoff.delay(1).as_millis() as i64;
    assert!(
        (before + delay..=after + delay).contains(&run_after_ms),
        "run_after {run_after_ms} is now + {delay} ms (now was {before}..{after})"
    );
    let r = row(&store, id).await;
    assert_eq!(r.state, "queued");
    assert_eq!(r.run_after_ms, run_after_ms);
    assert_eq!(r.lease_owner, None);
    assert_eq!(r.last_error.as_deref(), Some("it broke"));
    assert!(
        claim(&store, "b").await.is_none(),
        "not claimable before its backoff has passed"
    );

    let wait = (run_after_ms - now_ms()).max(0) as u64 + 50;
    tokio::time::sleep(Duration::from_millis(wait)).await;
    let second = claim(&store, "b").await.expect("claimable once due");
    assert_eq!((second.id, second.attempts), (id, 2));

    assert_eq!(
        fail(&store, &second, true, backoff).await,
        AfterFailure::GaveUp
    );
    let r = row(&store, id).await;
    assert_eq!(r.state, "failed");
    assert_eq!(r.attempts, 2);
    assert!(r.finished_at.is_some());
    assert!(
        claim(&store, "c").await.is_none(),
        "a failed job is not handed out"
    );
    let status = jobs::for_document(store.pool(), document).await.unwrap();
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].state, JobState::Failed);
    assert_eq!(status[0].last_error.as_deref(), Some("it broke"));
}

#[tokio::test]
async fn a_permanent_failure_gives_up_with_attempts_left() {
    let (_dir, store) = open_store().await;
    let id = enqueue(&store, &new_job(5, None)).await;
    let job = claim(&store, "a").await.unwrap();
    assert_eq!(
        fail(&store, &job, false, Backoff::default()).await,
        AfterFailure::GaveUp
    );
    let r = row(&store, id).await;
    assert_eq!((r.state.as_str(), r.attempts), ("failed", 1));
}

#[tokio::test]
async fn a_job_whose_worker_died_on_its_last_attempt_is_failed_instead_of_handed_out() {
    let (_dir, store) = open_store().await;
    let id = enqueue(&store, &new_job(1, None)).await;
    let dead = claim(&store, "worker-that-dies").await.unwrap();
    assert_eq!(dead.attempts, 1);

    tokio::time::sleep(LEASE + Duration::from_millis(100)).await;
    assert!(
        claim(&store, "worker-b").await.is_none(),
        "attempts are used up: the job is not run a second time"
    );
    let r = row(&store, id).await;
    assert_eq!(r.state, "failed");
    assert_eq!(r.attempts, 1);
    assert_eq!(r.lease_owner, None);
    assert!(r.finished_at.is_some());
    let error = r.last_error.unwrap_or_default();
    assert!(error.contains("lease expired"), "{error}");
    assert_eq!(jobs::pending_count(store.pool()).await.unwrap(), 0);
}
