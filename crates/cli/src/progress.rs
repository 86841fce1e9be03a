//! Progress bars on stderr, only when stderr is a terminal (scripts and pipes get none; stdout
//! stays pure output either way).

use countersign_core::DocumentId;
use countersign_workflow::Workspace;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;

pub fn on_terminal() -> bool {
    std::io::stderr().is_terminal()
}

fn style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:>12} {wide_bar} {pos}/{len} pages {msg}")
        .expect("a valid template")
}

/// One bar for a page-by-page job of known length (`countersign ocr`).
pub fn pages_bar(prefix: &str, total: u32) -> ProgressBar {
    if !on_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
    bar.set_style(style());
    bar.set_prefix(prefix.to_owned());
    bar
}

/// Shows each document's pages being rendered and read until `stop` fires (`ingest --wait`).
pub async fn follow_documents(
    ws: Workspace,
    ids: Vec<DocumentId>,
    stop: countersign_workflow::worker::Cancel,
) {
    if !on_terminal() {
        return;
    }
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let mut bars: HashMap<DocumentId, ProgressBar> = HashMap::new();
    loop {
        if let Ok(all) = countersign_workflow::progress(&ws).await {
            for p in all.into_iter().filter(|p| ids.contains(&p.document_id)) {
                let bar = bars.entry(p.document_id).or_insert_with(|| {
                    let bar = multi.add(ProgressBar::new(0));
                    bar.set_style(style());
                    let id = p.document_id.to_string();
                    bar.set_prefix(id[id.len() - 8..].to_owned());
                    bar
                });
                if let Some(total) = p.total {
                    bar.set_length(total as u64);
                }
                bar.set_position(p.done as u64);
                bar.set_message(if p.stage == "render" {
                    "prepared"
                } else {
                    "read"
                });
            }
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
    for bar in bars.values() {
        bar.finish_and_clear();
    }
}
