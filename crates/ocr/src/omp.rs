//! Tesseract runs ~8× slower on this class of machine unless OpenMP is limited to one thread, and
//! the limit is read when the process starts (setting it inside `main` is too late). Each binary
//! calls [`ensure_single_threaded_openmp`] first: without the variable it re-executes itself with
//! it. Parallelism comes from our own engine pool (one engine per core), not from OpenMP.

use std::os::unix::process::CommandExt;

pub const VAR: &str = "OMP_THREAD_LIMIT";

pub fn ensure_single_threaded_openmp() {
    if std::env::var_os(VAR).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(VAR, "1")
        .exec();
    // exec only returns on failure: carry on, slower but correct.
    eprintln!("warning: could not restart with {VAR}=1 ({err}); OCR will be slower");
}

/// Keeps page-sized buffers in the heap between pages (call first thing in `main`, before any
/// thread exists).
///
/// A page image is 8–25 MB and every stage makes and frees a few. glibc's default serves blocks
/// that large with a fresh `mmap` each time and unmaps them on free; with several engine threads
/// every unmap interrupts the other cores to flush their address translations, and every new
/// buffer faults its pages in again. Measured on the 12-page scan of docs/benchmarks.md: 1.0 s of
/// system CPU against 0.55 s, and 5.3 s of wall time against 5.0 s, for 3 % more peak memory
/// (324 MB against 313 MB). Blocks up to 64 MB come from the heap; up to 256 MB of freed memory
/// is kept for the next page rather than handed back (above that the heap is trimmed as usual).
pub fn keep_page_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator settings; called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
    }
}
