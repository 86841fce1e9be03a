//! Finding and binding libpdfium at run time. The set-up script installs the libpdfium.so from the
//! pinned PyPI wheel of pypdfium2 into `~/.local/lib/countersign/`; packages put it beside the
//! executable. The user never sets anything; `COUNTERSIGN_PDFIUM` overrides the search.

use pdfium_render::prelude::*;
use std::path::PathBuf;
use std::sync::OnceLock;

pub const LIB_NAME: &str = "libpdfium.so";

/// Where libpdfium is looked for, in order.
pub fn candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = std::env::var_os("COUNTERSIGN_PDFIUM") {
        out.push(PathBuf::from(p));
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|p| p.to_owned()))
    {
        out.push(dir.join(LIB_NAME));
        out.push(dir.join("../lib/countersign").join(LIB_NAME));
        // Test binaries live in target/<profile>/deps/.
        out.push(dir.join("../lib").join(LIB_NAME));
    }
    if let Some(home) = dirs::home_dir() {
        out.push(home.join(".local/lib/countersign").join(LIB_NAME));
    }
    out.push(PathBuf::from("/usr/local/lib/countersign").join(LIB_NAME));
    out.push(PathBuf::from("/usr/lib/countersign").join(LIB_NAME));
    out
}

static PDFIUM: OnceLock<Result<Pdfium, String>> = OnceLock::new();

/// The process-wide PDFium (bound once). The error says where we looked and how to fix it.
pub fn pdfium() -> Result<&'static Pdfium, String> {
    PDFIUM
        .get_or_init(|| {
            let tried = candidates();
            for path in &tried {
                if path.is_file() {
                    match Pdfium::bind_to_library(path) {
                        Ok(bindings) => return Ok(Pdfium::new(bindings)),
                        Err(e) => {
                            return Err(format!("libpdfium at {} cannot be loaded: {e}", path.display()))
                        }
                    }
                }
            }
            if let Ok(bindings) = Pdfium::bind_to_system_library() {
                return Ok(Pdfium::new(bindings));
            }
            Err(format!(
                "PDFium is not installed (looked in {}); run scripts/bootstrap.sh, or set COUNTERSIGN_PDFIUM to a libpdfium.so",
                tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            ))
        })
        .as_ref()
        .map_err(Clone::clone)
}
