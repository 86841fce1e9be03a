//! How WebKitGTK draws on a machine without a GPU.
//!
//! By default WebKitGTK (2.46 and later) composites the page's layers with OpenGL and paints their
//! tiles with Skia on the GPU. On a machine with no GPU — a virtual machine, a remote desktop,
//! Xvfb — that OpenGL is Mesa's software rasteriser (llvmpipe): every frame goes through an
//! emulated GPU pipeline. The review screen's zoom, which repaints a 300-dpi page at each step,
//! dropped 10–22 of 40–60 frames that way; drawn directly on the CPU, none of ~175
//! (docs/benchmarks.md, "Review screen").
//!
//! A machine with a GPU has a DRM render node (`/dev/dri/renderD*`), which is also what WebKit opens
//! for GPU work; without one, the app turns WebKit's accelerated compositing off and asks Skia to
//! paint on the CPU. A value the user set for either variable is always kept.

use std::ffi::OsStr;
use std::path::Path;

/// WebKit's switches, read by each web process when it starts (so set before the webview exists):
/// (variable, value without a GPU).
pub const WITHOUT_GPU: [(&str, &str); 2] = [
    ("WEBKIT_DISABLE_COMPOSITING_MODE", "1"),
    ("WEBKIT_SKIA_ENABLE_CPU_RENDERING", "1"),
];

/// Whether `dri` (normally `/dev/dri`) holds a render node: a GPU that WebKit can draw with.
pub fn has_render_node(dri: &Path) -> bool {
    std::fs::read_dir(dri).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
    })
}

/// The variables to set: none with a GPU; without one, those of [`WITHOUT_GPU`] the user left
/// unset (`user(name)` is the variable's current value).
pub fn settings<'a>(
    gpu: bool,
    user: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Vec<(&'a str, &'a str)> {
    if gpu {
        return Vec::new();
    }
    WITHOUT_GPU
        .into_iter()
        .filter(|(name, _)| user(name).is_none())
        .collect()
}

/// Called first thing in `main`, before any thread or webview exists.
pub fn draw_on_cpu_without_gpu() {
    for (name, value) in settings(has_render_node(Path::new("/dev/dri")), |n| {
        std::env::var_os(n)
    }) {
        // No other thread exists yet (set_var is safe in edition 2021, but that is its rule).
        std::env::set_var(name, OsStr::new(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_render_node_means_a_gpu() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!has_render_node(dir.path()), "empty /dev/dri");
        assert!(!has_render_node(&dir.path().join("missing")), "no /dev/dri");
        std::fs::write(dir.path().join("card0"), b"").unwrap();
        assert!(!has_render_node(dir.path()), "a display controller alone");
        std::fs::write(dir.path().join("renderD128"), b"").unwrap();
        assert!(has_render_node(dir.path()));
    }

    #[test]
    fn without_a_gpu_both_switches_unless_the_user_set_one_and_with_one_nothing() {
        let none = |_: &str| None;
        assert_eq!(
            settings(false, none),
            vec![
                ("WEBKIT_DISABLE_COMPOSITING_MODE", "1"),
                ("WEBKIT_SKIA_ENABLE_CPU_RENDERING", "1")
            ]
        );
        assert!(settings(true, none).is_empty());
        let user_kept_compositing = |n: &str| {
            (n == "WEBKIT_DISABLE_COMPOSITING_MODE").then(|| std::ffi::OsString::from("0"))
        };
        assert_eq!(
            settings(false, user_kept_compositing),
            vec![("WEBKIT_SKIA_ENABLE_CPU_RENDERING", "1")]
        );
    }
}
