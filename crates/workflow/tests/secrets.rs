//! The provider token lives in the OS keychain (Secret Service here: the test suite runs inside a
//! D-Bus session with an unlocked GNOME Keyring), never in the data dir: not in the database,
//! not in `countersign.toml`, not in the logs — also after a real send that used it.

use countersign_core::{Source, TenantId};
use countersign_workflow::review::{self, ReviewChange, ReviewDecision};
use countersign_workflow::secrets::{self, SecretKind, SecretSource};
use countersign_workflow::worker::{self, Until, WorkerOptions};
use countersign_workflow::Workspace;
use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    [
        std::env::var_os("COUNTERSIGN_CORPUS").map(PathBuf::from),
        Some(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/corpus"
        ))),
        Some(PathBuf::from("/work/shared/corpus")),
    ]
    .into_iter()
    .flatten()
    .find(|p| p.join("MANIFEST.tsv").is_file())
    .expect("the shared test corpus (set COUNTERSIGN_CORPUS)")
}

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
    // A tenant of its own, so parallel runs and a developer's real entry are never touched.
    let tenant_name = format!("test-{}", uuid::Uuid::now_v7().simple());
    let tenant = TenantId::new(tenant_name.clone());
    let token = format!("tok_{}", uuid::Uuid::now_v7().simple());
    // A provider that takes this token and no other: the send below proves it came from the
    // keychain.
    let sandbox = countersign_sandbox::start(
        countersign_sandbox::Config {
            token: Some(countersign_sign::SecretString::from(token.clone())),
            ..Default::default()
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("countersign.toml"),
        format!(
            "tenant = \"{tenant_name}\"\n[provider]\nbase_url = \"{}\"\n",
            sandbox.base_url
        ),
    )
    .unwrap();
    let ws = Workspace::open(&data).await.unwrap();

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

    // A document read, approved and sent with that token: the database, the config and the
    // logs all see the work.
    let page = corpus().join("ocr/tesseract-test/phototest.tif");
    let id = countersign_workflow::ingest_path(&ws, &page, Source::Upload, "test")
        .await
        .unwrap()
        .record
        .document_id;
    let idle = || WorkerOptions::new(Until::Idle);
    worker::run(&ws, &idle(), &worker::Cancel::new())
        .await
        .unwrap();
    let invoice = ReviewChange::SetType {
        document_type: "invoice".into(),
    };
    review::change_document(&ws, id, None, invoice, "Dana")
        .await
        .unwrap();
    review::decide_document(&ws, id, None, ReviewDecision::Approve, "Dana")
        .await
        .unwrap();
    countersign_workflow::send::queue_for_signature(&ws, id, "Dana")
        .await
        .unwrap();
    worker::run(&ws, &idle(), &worker::Cancel::new())
        .await
        .unwrap();
    let sent = countersign_workflow::show(&ws, id, Default::default())
        .await
        .unwrap();
    assert_eq!(
        sent.status,
        countersign_core::Status::Sent,
        "sent with the keychain's token"
    );
    assert!(sent.envelope_id.is_some());
    ws.close().await;
    sandbox.stop().await.unwrap();
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
