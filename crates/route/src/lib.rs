//! Countersign routing: what a scanned document is, what it says, where it goes, and whether a
//! person must look at it first.
//!
//! The pipeline is [`route`]: the OCR pages (words with boxes) go through
//! 1. **rules** ([`rules`]): each document type's phrases, regexes, fuzzy phrases, senders,
//!    layout fingerprints and page range from the [`Policy`], scored in points with evidence;
//! 2. the **classifier** ([`classify::Model`], optional): naive Bayes over word n-grams trained on
//!    reviewer-confirmed documents, with calibrated probabilities;
//! 3. **extraction** ([`extract`]): the type's fields read from the layout (value right of or
//!    below its label, regex patterns), normalised ([`normalize`]), each with confidence, page
//!    and bbox; signature lines for anchors;
//! 4. the **decision** ([`decide`]): `auto_route` / `review` / `quarantine` with reasons, and the
//!    route's recipients, copies, anchors, department, tags and retention class.
//!
//! [`route_with`] takes [`Hints`] as well ([`hints`]): a reviewer's type and field values, which
//! win with confidence 1.0, and the tenant's [`Vocabulary`] of names reviewers confirmed, which
//! extraction snaps near misses to. [`check_field_value`] and [`check_document_type`] check a
//! reviewer's input (and normalise values) before it is stored.
//!
//! The crate is pure: no IO except [`Policy::load`] reading a policy file, no clock, no
//! randomness; the same inputs give the same [`RouteOutcome`]. Storing outcomes, training the
//! model from the store and re-deciding on policy change belong to `countersign-workflow`.
//!
//! To change routing behaviour, change the policy (assets/policy/default.toml documents its
//! shape) before changing code; thresholds live there, not here.

pub mod classify;
pub mod decide;
#[cfg(test)]
mod default_policy_tests;
mod error;
pub mod extract;
pub mod hints;
mod layout;
pub mod normalize;
pub mod policy;
pub mod rules;

pub use classify::Model;
pub use decide::{
    route, route_with, AnchorPosition, ClassificationBasis, Recipient, RouteOutcome,
    SignatureAnchor, TypeScore,
};
pub use error::{Error, Result};
pub use extract::SignatureBlock;
pub use hints::{
    check_document_type, check_field_value, HintError, Hints, Vocabulary, MAX_FIELD_VALUE_CHARS,
};
pub use policy::{ActivePolicy, Policy, DEFAULT_POLICY_TOML, UNCLASSIFIED};
pub use rules::RuleMatch;
