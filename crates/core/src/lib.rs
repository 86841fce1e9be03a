//! Countersign's domain: the document record of DESIGN.md as typed Rust, and the lifecycle.
//!
//! Nothing here does IO. The store persists these types, `workflow` moves documents through
//! [`Status::transition`], and the desktop UI receives them as generated TypeScript (ts-rs).
//! Changing a field here changes a wire contract: the JSON names are fixed by DESIGN.md, and the
//! generated types under `ui/src/lib/generated/` must be regenerated (a test fails on drift).

mod ids;
mod lifecycle;
mod record;

pub use ids::{DocumentId, EnvelopeId, JobId, ParseIdError, TenantId};
pub use lifecycle::{ParseStatusError, Status, TransitionError};
pub use record::{
    Decision, DecisionAction, DocumentRecord, Failure, Field, MimeType, OcrDocument, OcrPage,
    OcrWord, PageInfo, PageQuality, PreprocessStep, Source,
};
