// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // Tesseract needs OMP_THREAD_LIMIT=1 before the process starts (re-executes once if missing).
    countersign_ocr::omp::ensure_single_threaded_openmp();
    // Page-sized buffers stay in the heap between pages (see the function).
    countersign_ocr::omp::keep_page_buffers();
    // Without a GPU, WebKit draws on the CPU rather than through an emulated one (see the function).
    countersign_desktop::graphics::draw_on_cpu_without_gpu();
    // Started as an isolated decoder by ourselves? Then do only that.
    countersign_capture::isolate::run_worker_if_requested();
    countersign_desktop::run();
}
