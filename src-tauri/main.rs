// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // Tesseract needs OMP_THREAD_LIMIT=1 before the process starts (re-executes once if missing).
    countersign_ocr::omp::ensure_single_threaded_openmp();
    // Page-sized buffers stay in the heap between pages (see the function).
    countersign_ocr::omp::keep_page_buffers();
    // Started as an isolated decoder by ourselves? Then do only that.
    countersign_capture::isolate::run_worker_if_requested();
    countersign_desktop::run();
}
