//! The work queue as reviewers see it: one filter at a time (needs review, quarantined, failed,
//! in signature, completed …) with the count of every filter, full-text search over the file
//! name, page text and field values, sorted by priority and age, one page of rows at a time.
//!
//! Priority: in the filters where people work through documents (needs review, quarantined,
//! failed, ready to send), a document with a `due_date` comes before one without, the soonest
//! first; then the one waiting longest. Elsewhere, newest first.
//!
//! The reads are [`countersign_store::queue`]'s, built for 100,000 documents and more
//! (`scripts/bench-queue.sh`; "Review queue" in docs/benchmarks.md).

use crate::{Error, ErrorCode, Workspace};
use countersign_core::{DocumentRecord, Status};
use countersign_store::queue::Order;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The queue's filters; each is a set of statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum QueueFilter {
    All,
    /// Being read and routed.
    InProgress,
    NeedsReview,
    Quarantined,
    Failed,
    /// Routed or approved: waiting to be sent for signature.
    ReadyToSend,
    /// With the signature provider.
    InSignature,
    Completed,
    /// Rejected, declined, voided or expired.
    Closed,
}

impl QueueFilter {
    pub const ALL: [QueueFilter; 9] = [
        QueueFilter::All,
        QueueFilter::InProgress,
        QueueFilter::NeedsReview,
        QueueFilter::Quarantined,
        QueueFilter::Failed,
        QueueFilter::ReadyToSend,
        QueueFilter::InSignature,
        QueueFilter::Completed,
        QueueFilter::Closed,
    ];

    /// The statuses the filter shows.
    pub fn statuses(self) -> &'static [Status] {
        use Status::*;
        match self {
            QueueFilter::All => &Status::ALL,
            QueueFilter::InProgress => &[Received, Processing, OcrComplete],
            QueueFilter::NeedsReview => &[NeedsReview],
            QueueFilter::Quarantined => &[Quarantined],
            QueueFilter::Failed => &[Failed],
            QueueFilter::ReadyToSend => &[Routed, Approved],
            QueueFilter::InSignature => &[QueuedForSignature, EnvelopeCreated, Sent, Delivered],
            QueueFilter::Completed => &[Completed, Archived],
            QueueFilter::Closed => &[Rejected, Declined, Voided, Expired],
        }
    }

    /// Worked through oldest (or most urgent) first, rather than newest first.
    pub fn by_priority(self) -> bool {
        matches!(
            self,
            QueueFilter::NeedsReview
                | QueueFilter::Quarantined
                | QueueFilter::Failed
                | QueueFilter::ReadyToSend
        )
    }
}

/// What the queue shows.
#[derive(Clone, Debug, Deserialize, TS)]
pub struct QueueQuery {
    pub filter: QueueFilter,
    /// Words to find in the file name, the page text or the field values (all of them, each as
    /// a word prefix); empty or `null`: no search.
    pub search: Option<String>,
    pub offset: u32,
    /// At most 500.
    pub limit: u32,
}

/// One row of the queue.
#[derive(Clone, Debug, Serialize, TS)]
pub struct QueueItem {
    pub record: DocumentRecord,
    /// Why a person must look at it (empty: nothing flagged); see [`crate::review::flags`].
    pub flags: Vec<String>,
}

/// How many documents each filter holds (with the search applied).
#[derive(Clone, Debug, Default, Serialize, TS)]
pub struct QueueCounts {
    pub all: u32,
    pub in_progress: u32,
    pub needs_review: u32,
    pub quarantined: u32,
    pub failed: u32,
    pub ready_to_send: u32,
    pub in_signature: u32,
    pub completed: u32,
    pub closed: u32,
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct QueuePage {
    pub counts: QueueCounts,
    /// Documents matching the filter and search (the rows are `offset..offset + limit` of them).
    pub total: u32,
    pub items: Vec<QueueItem>,
}

pub const MAX_LIMIT: u32 = 500;

/// A page of the queue.
pub async fn queue(ws: &Workspace, q: &QueueQuery) -> Result<QueuePage, Error> {
    if q.limit == 0 || q.limit > MAX_LIMIT {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!("limit must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let search = match q.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) if s.chars().count() > 200 => {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "a search is at most 200 characters",
            ))
        }
        Some(s) => Some(fts_query(s)),
        None => None,
    };
    let search = search.filter(|s| !s.is_empty());
    let page = countersign_store::queue::page(
        ws.store().pool(),
        &countersign_store::queue::Query {
            statuses: (q.filter != QueueFilter::All).then(|| q.filter.statuses()),
            search: search.as_deref(),
            order: if q.filter.by_priority() {
                Order::Priority
            } else {
                Order::Newest
            },
            offset: q.offset,
            limit: q.limit,
        },
    )
    .await?;
    let count = |f: QueueFilter| -> u32 {
        f.statuses()
            .iter()
            .map(|s| page.counts.get(s).copied().unwrap_or(0))
            .sum()
    };
    let counts = QueueCounts {
        all: count(QueueFilter::All),
        in_progress: count(QueueFilter::InProgress),
        needs_review: count(QueueFilter::NeedsReview),
        quarantined: count(QueueFilter::Quarantined),
        failed: count(QueueFilter::Failed),
        ready_to_send: count(QueueFilter::ReadyToSend),
        in_signature: count(QueueFilter::InSignature),
        completed: count(QueueFilter::Completed),
        closed: count(QueueFilter::Closed),
    };
    Ok(QueuePage {
        total: count(q.filter),
        counts,
        items: page
            .records
            .into_iter()
            .map(|record| QueueItem {
                // Flags only while a person is still to decide: afterwards the routing's
                // reasons are history (the timeline keeps them).
                flags: if matches!(record.status, Status::NeedsReview | Status::Quarantined) {
                    crate::review::flags(&record)
                } else {
                    Vec::new()
                },
                record,
            })
            .collect(),
    })
}

/// A user's words as an FTS5 query: every word must be there, as a word prefix. Quotes make
/// each word a literal (no FTS syntax from users).
fn fts_query(s: &str) -> String {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| format!("\"{w}\"*"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_words_become_quoted_prefixes() {
        assert_eq!(fts_query("acme  INV-0042"), "\"acme\"* \"INV\"* \"0042\"*");
        assert_eq!(fts_query("\"; DROP"), "\"DROP\"*");
        assert_eq!(fts_query("--"), "");
    }

    #[test]
    fn every_status_is_in_exactly_one_filter_besides_all() {
        for s in Status::ALL {
            let n = QueueFilter::ALL
                .iter()
                .filter(|f| **f != QueueFilter::All && f.statuses().contains(&s))
                .count();
            assert_eq!(n, 1, "{s} is in {n} filters");
        }
    }
}
