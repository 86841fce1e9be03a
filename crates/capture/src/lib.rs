//! Capture: everything between "a user handed us something" and "validated pages we can trust".
//!
//! - [`sniff`]: the file type from its bytes (never its name).
//! - [`watch`]: hot folders — files that have stopped growing, ready to import.
//! - [`scan`]: SANE scanners — devices, options, a batch of pages.
//!
//! Everything after capture works on validated types; nothing here knows about the store.

pub mod reject;
pub mod scan;
pub mod sniff;
pub mod watch;

pub use reject::{RejectCode, Rejection};
pub use sniff::sniff;
pub mod decode;
pub mod isolate;
pub mod limits;
pub mod pdfium_lib;

pub use decode::{CaptureError, Inspection, PageGeometry, RenderedPage};
pub use limits::Limits;
