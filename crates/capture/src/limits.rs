//! What a file may cost us before we refuse it. Checked before decoding: a decompression bomb is
//! refused from its header, without allocating its pixels.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    pub max_bytes: u64,
    pub max_pages: u32,
    /// Pixels of one decoded page image (width × height).
    pub max_pixels_per_page: u64,
    /// Seconds one decoding job (inspecting a file, rendering its pages) may take.
    pub decode_timeout_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 512 * 1024 * 1024,
            max_pages: 2_000,
            // A4 at 600 dpi is 35 MP; anything far above is a poster or a bomb.
            max_pixels_per_page: 80_000_000,
            decode_timeout_secs: 120,
        }
    }
}

/// Pages are rendered at this resolution unless the page would exceed the pixel limit.
pub const CANONICAL_DPI: u32 = 300;
/// Thumbnails fit in this box (pixels).
pub const THUMB_MAX: u32 = 240;
