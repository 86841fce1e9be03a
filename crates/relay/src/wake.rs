//! Long-poll wake-ups: one [`Notify`] per tenant, fired after an event of that tenant has been
//! committed. The handler that stored the event fires it in-process; with PostgreSQL the LISTEN
//! task of `store::postgres` fires it for events that other relay instances stored.
//!
//! A wake-up only makes the waiting polls query again, so a spurious one costs a query and a
//! missed one costs latency (up to the poll's `wait`), never an event.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

#[derive(Default)]
pub struct Wakers {
    by_tenant: Mutex<HashMap<String, Arc<Notify>>>,
}

impl Wakers {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Notify>>> {
        self.by_tenant.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The tenant's wake-up, created on first use (by a poll that is about to wait on it).
    pub fn for_tenant(&self, tenant: &str) -> Arc<Notify> {
        self.lock().entry(tenant.to_owned()).or_default().clone()
    }

    /// Wakes the tenant's waiting polls. A tenant nobody ever polled has no entry, and gets none:
    /// notifications from the database do not grow the map.
    pub fn wake(&self, tenant: &str) {
        if let Some(notify) = self.lock().get(tenant) {
            notify.notify_waiters();
        }
    }

    /// Wakes every waiting poll: after a gap in which wake-ups may have been lost (the LISTEN
    /// connection was down), each poll re-reads the store instead.
    pub fn wake_all(&self) {
        for notify in self.lock().values() {
            notify.notify_waiters();
        }
    }
}
