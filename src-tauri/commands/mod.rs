//! Tauri commands: each takes its state, calls one `workflow` function, maps the error to
//! `{code, message}` (`ApiError`). Nothing else belongs here.

pub mod app;
pub mod capture;
pub mod documents;
pub mod folders;
pub mod pages;
pub mod queue;
pub mod rejected;
pub mod review;
pub mod signature;
