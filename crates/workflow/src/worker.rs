//! The background worker: claims jobs from the durable table, runs them, renews its lease while
//! it works. Any number of workers (the desktop app, `countersign work`, `ingest --wait`) may run
//! against one data dir at once; the lease decides who runs what.

use crate::process::{self, fail_document, PROCESS_KIND};
use crate::send::{self, SEND_KIND};
use crate::{Error, Workspace};
use countersign_core::DocumentId;
use countersign_store::documents;
use countersign_store::jobs::{self, AfterFailure, Backoff, Job};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn, Instrument};

pub use tokio_util::sync::CancellationToken as Cancel;

#[derive(Clone, Debug)]
pub enum Until {
    /// Until cancelled (the desktop app).
    Cancelled,
    /// Until no job is queued or running anywhere (`countersign work --until-idle`).
    Idle,
    /// Until these documents have settled (`ingest --wait`).
    Settled(Vec<DocumentId>),
    /// Until each of these documents was sent, failed to send, or had one attempt that left it
    /// waiting in the outbox (`countersign send`).
    SendTried(Vec<DocumentId>),
}

#[derive(Clone, Debug)]
pub struct WorkerOptions {
    pub worker_id: String,
    pub lease: Duration,
    pub poll: Duration,
    pub backoff: Backoff,
    pub until: Until,
}

impl WorkerOptions {
    pub fn new(until: Until) -> WorkerOptions {
        WorkerOptions {
            worker_id: format!("{}-{}", std::process::id(), uuid::Uuid::now_v7().simple()),
            lease: Duration::from_secs(60),
            poll: Duration::from_millis(250),
            backoff: Backoff::default(),
            until,
        }
    }
}

/// Runs jobs until `opts.until` holds or `cancel` fires. Returns how many jobs this worker ran.
pub async fn run(
    ws: &Workspace,
    opts: &WorkerOptions,
    cancel: &CancellationToken,
) -> Result<u64, Error> {
    let pool = ws.store().pool();
    let mut ran = 0u64;
    loop {
        if cancel.is_cancelled() {
            return Ok(ran);
        }
        match jobs::claim(
            pool,
            &opts.worker_id,
            &[PROCESS_KIND, SEND_KIND],
            opts.lease,
        )
        .await
        {
            Ok(Some(job)) => {
                run_one(ws, opts, &job).await;
                ran += 1;
                continue;
            }
            Ok(None) => {}
            Err(e) => warn!(error = %e, "claiming a job failed; retrying"),
        }
        if finished(ws, &opts.until).await? {
            return Ok(ran);
        }
        tokio::select! {
            _ = cancel.cancelled() => return Ok(ran),
            _ = tokio::time::sleep(opts.poll) => {}
        }
    }
}

async fn finished(ws: &Workspace, until: &Until) -> Result<bool, Error> {
    Ok(match until {
        Until::Cancelled => false,
        Until::Idle => jobs::pending_count(ws.store().pool()).await? == 0,
        Until::Settled(ids) => {
            let mut conn = ws
                .store()
                .pool()
                .acquire()
                .await
                .map_err(countersign_store::StoreError::from)?;
            let mut all = true;
            for id in ids {
                all &= documents::get(&mut conn, *id).await?.status.is_settled();
            }
            all
        }
        Until::SendTried(ids) => {
            let waiting = jobs::pending_of_kind(ws.store().pool(), SEND_KIND).await?;
            let mut conn = ws
                .store()
                .pool()
                .acquire()
                .await
                .map_err(countersign_store::StoreError::from)?;
            let mut all = true;
            for id in ids {
                let status = documents::get(&mut conn, *id).await?.status;
                let tried = waiting.iter().any(|j| {
                    j.document_id == Some(*id) && j.attempts >= 1 && j.last_error.is_some()
                });
                all &= status != countersign_core::Status::QueuedForSignature || tried;
            }
            all
        }
    })
}

/// Runs one claimed job, renewing its lease meanwhile, and records the outcome.
async fn run_one(ws: &Workspace, opts: &WorkerOptions, job: &Job) {
    let span = tracing::info_span!("job", job_id = %job.id, kind = %job.kind,
        document_id = job.document_id.map(|d| d.to_string()).unwrap_or_default());
    async {
        let Some(id) = job.document_id else {
            error!("a job without a document id; giving up on it");
            if let Ok(mut tx) = ws.store().write().await {
                let _ = jobs::fail(&mut tx, job, "no document id", false, opts.backoff).await;
                let _ = tx.commit().await;
            }
            return;
        };
        let renewing = CancellationToken::new();
        let renewer = tokio::spawn(renew_lease(
            ws.clone(),
            job.clone(),
            opts.lease,
            renewing.clone(),
        ));
        let outcome = match job.kind.as_str() {
            SEND_KIND => send::run_send(ws, job, id).await,
            _ => process::run_process(ws, job, id).await,
        };
        renewing.cancel();
        let _ = renewer.await;
        if let Err(e) = record_outcome(ws, opts, job, id, outcome).await {
            // The lease will expire and another attempt will redo only what is not recorded.
            error!(error = %e, "recording the job's outcome failed");
        }
    }
    .instrument(span)
    .await
}

async fn renew_lease(ws: Workspace, job: Job, lease: Duration, stop: CancellationToken) {
    let every = lease / 3;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        match jobs::renew(ws.store().pool(), &job, lease).await {
            Ok(true) => {}
            Ok(false) => {
                warn!("lost the lease on this job; another worker owns it now");
                return;
            }
            Err(e) => warn!(error = %e, "renewing the lease failed"),
        }
    }
}

async fn record_outcome(
    ws: &Workspace,
    opts: &WorkerOptions,
    job: &Job,
    id: DocumentId,
    outcome: Result<(), process::StageError>,
) -> Result<(), Error> {
    let mut tx = ws.store().write().await?;
    match outcome {
        Ok(()) => {
            if jobs::complete(&mut tx, job).await? {
                tx.commit()
                    .await
                    .map_err(countersign_store::StoreError::from)?;
                info!("job done");
            } else {
                warn!("job finished but its lease was lost; leaving it to the new owner");
            }
        }
        Err(stage_error) if !stage_error.transient => {
            // The job did its work: it found that this document cannot go on. The document carries
            // the failure; the job is done (retrying it would only fail the same way).
            fail_document(&mut tx, id, &stage_error.failure).await?;
            if jobs::complete(&mut tx, job).await? {
                tx.commit()
                    .await
                    .map_err(countersign_store::StoreError::from)?;
                warn!(stage = %stage_error.failure.stage, code = %stage_error.failure.code,
                    error = %stage_error.failure.message, "document failed");
            } else {
                warn!("document failed but the lease was lost; leaving it to the new owner");
            }
        }
        Err(stage_error) => {
            let message = format!(
                "{}: {}",
                stage_error.failure.stage, stage_error.failure.message
            );
            // The outbox waits for the provider as long as it takes, retrying at least every
            // minute, so it drains soon after the provider answers again.
            let backoff = if job.kind == SEND_KIND {
                Backoff {
                    cap: opts.backoff.cap.min(send::RETRY_CAP),
                    ..opts.backoff
                }
            } else {
                opts.backoff
            };
            match jobs::fail(&mut tx, job, &message, true, backoff).await? {
                AfterFailure::RetryAt { run_after_ms } => {
                    warn!(error = %message, run_after_ms, "stage failed; will retry");
                }
                AfterFailure::GaveUp => {
                    fail_document(&mut tx, id, &stage_error.failure).await?;
                    warn!(error = %message, "stage kept failing; document failed");
                }
                AfterFailure::LeaseLost => {
                    warn!("stage failed but the lease was lost; leaving it to the new owner");
                    return Ok(());
                }
            }
            tx.commit()
                .await
                .map_err(countersign_store::StoreError::from)?;
        }
    }
    Ok(())
}
