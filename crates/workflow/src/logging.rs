//! Logs for every shell: human-readable lines on stderr (never stdout, which carries `--json`
//! output) and a daily-rotating file in `<data dir>/logs/`, keeping the last 14 days.
//! Spans carry `document_id`, so one document's story can be grepped across processes.

use std::path::Path;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::{fmt, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter, Layer};

/// Installs the global subscriber. `stderr_default` is the level shown on stderr unless
/// `RUST_LOG` says otherwise; the file always gets `info` and up. Keep the guard alive: dropping
/// it flushes the file.
pub fn init(data_dir: &Path, program: &str, stderr_default: &str) -> Option<WorkerGuard> {
    let stderr_filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(stderr_default));
    let stderr_layer = fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_filter(stderr_filter);
    let _ = std::fs::create_dir_all(data_dir.join("logs"));
    let file = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix(program)
        .filename_suffix("log")
        .max_log_files(14)
        .build(data_dir.join("logs"));
    match file {
        Ok(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let file_layer = fmt::layer()
                .with_writer(writer)
                .with_ansi(false)
                .with_filter(EnvFilter::new("info,sqlx=warn"));
            let _ = tracing_subscriber::registry()
                .with(stderr_layer)
                .with(file_layer)
                .try_init();
            Some(guard)
        }
        Err(e) => {
            let _ = tracing_subscriber::registry().with(stderr_layer).try_init();
            tracing::warn!(error = %e, "cannot write log files in the data dir; logging to stderr only");
            None
        }
    }
}
