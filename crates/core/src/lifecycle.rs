//! The document lifecycle: every status and the one table of allowed transitions.
//!
//! All status changes go through [`Status::transition`]; the store refuses to write a change that
//! this table does not allow, so an illegal jump cannot happen from any shell.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use ts_rs::TS;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Received,
    Processing,
    OcrComplete,
    Routed,
    NeedsReview,
    Quarantined,
    Approved,
    Rejected,
    QueuedForSignature,
    EnvelopeCreated,
    Sent,
    Delivered,
    Completed,
    Declined,
    Voided,
    Expired,
    Archived,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a document cannot go from `{from}` to `{to}`")]
pub struct TransitionError {
    pub from: Status,
    pub to: Status,
}

impl Status {
    pub const ALL: [Status; 18] = [
        Status::Received,
        Status::Processing,
        Status::OcrComplete,
        Status::Routed,
        Status::NeedsReview,
        Status::Quarantined,
        Status::Approved,
        Status::Rejected,
        Status::QueuedForSignature,
        Status::EnvelopeCreated,
        Status::Sent,
        Status::Delivered,
        Status::Completed,
        Status::Declined,
        Status::Voided,
        Status::Expired,
        Status::Archived,
        Status::Failed,
    ];

    /// The statuses a document may move to from `self`. DESIGN.md's lifecycle, plus:
    /// - `failed` is reachable from every stage that does work (processing, signing) and is retried
    ///   by going back to the stage that failed;
    /// - `sent → completed | declined | voided | expired` directly, because providers do not always
    ///   report `delivered` (a signer can open and sign in one visit, webhooks get lost);
    /// - `quarantined → needs_review`, so a reviewer can release a document quarantined by mistake.
    pub fn allowed_next(self) -> &'static [Status] {
        use Status::*;
        match self {
            Received => &[Processing, Failed],
            Processing => &[OcrComplete, Failed],
            OcrComplete => &[Routed, NeedsReview, Quarantined, Failed],
            NeedsReview => &[Approved, Rejected, Quarantined],
            Quarantined => &[NeedsReview],
            Routed | Approved => &[QueuedForSignature],
            QueuedForSignature => &[EnvelopeCreated, Failed],
            EnvelopeCreated => &[Sent, Failed],
            Sent => &[Delivered, Completed, Declined, Voided, Expired],
            Delivered => &[Completed, Declined, Voided, Expired],
            Completed => &[Archived],
            Failed => &[Processing, QueuedForSignature],
            Rejected | Declined | Voided | Expired | Archived => &[],
        }
    }

    /// Checks a move from `self` to `to`; the only place the lifecycle is decided.
    pub fn transition(self, to: Status) -> Result<Status, TransitionError> {
        if self.allowed_next().contains(&to) {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }

    /// Processing has settled: the document waits for a person or has failed (`--wait` returns).
    pub fn is_settled(self) -> bool {
        !matches!(
            self,
            Status::Received | Status::Processing | Status::OcrComplete
        )
    }

    pub fn as_str(self) -> &'static str {
        use Status::*;
        match self {
            Received => "received",
            Processing => "processing",
            OcrComplete => "ocr_complete",
            Routed => "routed",
            NeedsReview => "needs_review",
            Quarantined => "quarantined",
            Approved => "approved",
            Rejected => "rejected",
            QueuedForSignature => "queued_for_signature",
            EnvelopeCreated => "envelope_created",
            Sent => "sent",
            Delivered => "delivered",
            Completed => "completed",
            Declined => "declined",
            Voided => "voided",
            Expired => "expired",
            Archived => "archived",
            Failed => "failed",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown status `{0}` (expected one of: received, processing, ocr_complete, routed, needs_review, quarantined, approved, rejected, queued_for_signature, envelope_created, sent, delivered, completed, declined, voided, expired, archived, failed)")]
pub struct ParseStatusError(pub String);

impl FromStr for Status {
    type Err = ParseStatusError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| ParseStatusError(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::Status::*;
    use super::*;

    #[test]
    fn the_happy_path_of_design_md_is_allowed() {
        let path = [
            Received,
            Processing,
            OcrComplete,
            NeedsReview,
            Approved,
            QueuedForSignature,
            EnvelopeCreated,
            Sent,
            Delivered,
            Completed,
            Archived,
        ];
        for pair in path.windows(2) {
            assert_eq!(
                pair[0].transition(pair[1]),
                Ok(pair[1]),
                "{} -> {}",
                pair[0],
                pair[1]
            );
        }
        assert_eq!(OcrComplete.transition(Routed), Ok(Routed));
        assert_eq!(
            Routed.transition(QueuedForSignature),
            Ok(QueuedForSignature)
        );
    }

    #[test]
    fn illegal_transitions_are_errors() {
        for (from, to) in [
            (Received, Completed),
            (Received, Routed),
            (NeedsReview, Sent),
            (Rejected, Approved),
            (Completed, Sent),
            (Archived, Received),
            (Routed, Approved),
            (Processing, Processing),
        ] {
            assert_eq!(from.transition(to), Err(TransitionError { from, to }));
        }
    }

    #[test]
    fn terminal_statuses_go_nowhere_and_nothing_returns_to_received() {
        for terminal in [Rejected, Declined, Voided, Expired, Archived] {
            assert!(terminal.allowed_next().is_empty(), "{terminal}");
        }
        for st in Status::ALL {
            assert!(!st.allowed_next().contains(&Received), "{st} -> received");
        }
    }

    #[test]
    fn names_match_the_json_contract() {
        for st in Status::ALL {
            let json = serde_json::to_string(&st).unwrap();
            assert_eq!(json, format!("\"{}\"", st.as_str()));
            assert_eq!(st.as_str().parse::<Status>().unwrap(), st);
        }
        assert!("done".parse::<Status>().is_err());
    }

    #[test]
    fn settled_means_nothing_automatic_is_pending() {
        assert!(!Received.is_settled());
        assert!(!Processing.is_settled());
        assert!(NeedsReview.is_settled());
        assert!(Failed.is_settled());
        assert!(Routed.is_settled());
    }
}
