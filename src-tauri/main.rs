// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // Started as an isolated decoder by ourselves? Then do only that.
    countersign_capture::isolate::run_worker_if_requested();
    countersign_desktop::run();
}
