//! The retention purge: events older than the retention are deleted, once at start and then
//! every interval, until the token is cancelled. Workstations that stay offline longer than the
//! retention miss events; their reconciliation poll of the provider covers that.

use crate::metrics::Metrics;
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub async fn run_purge(
    store: Store,
    retention: Duration,
    interval: Duration,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let Ok(retention) = chrono::Duration::from_std(retention) else {
            return; // A retention beyond chrono's range: nothing is ever old enough.
        };
        let cutoff = chrono::Utc::now() - retention;
        match store.purge_received_before(cutoff).await {
            Ok(0) => {}
            Ok(n) => {
                metrics.count_purged(n);
                tracing::info!(purged = n, %cutoff, "retention purge");
            }
            Err(e) => tracing::warn!(error = %e, "retention purge failed; will retry"),
        }
    }
}
