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
