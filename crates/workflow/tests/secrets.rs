//! The provider token lives in the OS keychain (Secret Service here: the test suite runs inside a
//! D-Bus session with an unlocked GNOME Keyring), never in the data dir: not in the database,
//! not in `countersign.toml`, not in the logs.

use countersign_core::{Source, TenantId};
use countersign_workflow::secrets::{self, SecretKind, SecretSource};
use countersign_workflow::worker::{self, Until, WorkerOptions};
use countersign_workflow::Workspace;
use std::path::Path;

/// Every byte under `dir` (database, WAL, config, logs, blobs), file by file.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    hits.push(p.display().to_string());
                }
            }
        }
    }
    hits
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_token_is_kept_in_the_os_keychain_and_nowhere_in_the_data_dir() {
    assert!(
        std::env::var_os(SecretKind::ProviderToken.env_var()).is_none(),
        "the test needs the keychain, not the environment"
    );
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let _log = countersign_workflow::logging::init(&data, "secrets-test", "debug");
    let ws = Workspace::open(&data).await.unwrap();
    // A tenant of its own, so parallel runs and a developer's real entry are never touched.
    let tenant = TenantId::new(format!("test-{}", uuid::Uuid::now_v7().simple()));
    let token = format!("tok_{}", uuid::Uuid::now_v7().simple());

    assert_eq!(
        secrets::source(SecretKind::ProviderToken, &tenant)
            .await
            .unwrap(),
        SecretSource::Missing
    );
    secrets::store(SecretKind::ProviderToken, &tenant, &token)
        .await
        .expect("the OS keychain (Secret Service) is available");
    let back = secrets::load(SecretKind::ProviderToken, &tenant)
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(back.expose(), token);
    assert_eq!(
        secrets::source(SecretKind::ProviderToken, &tenant)
            .await
            .unwrap(),
        SecretSource::Keychain
    );
    tracing::info!(token = ?back, "a careless log line");

    // Work that writes to the database and the logs.
    let page = tmp.path().join("a.png");
    image::GrayImage::from_fn(40, 30, |x, y| image::Luma([(x * 5 + y) as u8]))
        .save(&page)
        .unwrap();
    countersign_workflow::ingest_path(&ws, &page, Source::Upload, "test")
        .await
        .unwrap();
    worker::run(
        &ws,
        &WorkerOptions::new(Until::Idle),
        &worker::Cancel::new(),
    )
    .await
    .unwrap();
    ws.close().await;
    drop(_log);

    let hits = files_containing(&data, token.as_bytes());
    assert!(hits.is_empty(), "the token leaked into {hits:?}");
    assert!(
        !files_containing(&data, b"[redacted]").is_empty(),
        "the log line was written (redacted)"
    );

    secrets::forget(SecretKind::ProviderToken, &tenant)
        .await
        .unwrap();
    assert_eq!(
        secrets::load(SecretKind::ProviderToken, &tenant)
            .await
            .unwrap(),
        None
    );
}
