use crate::support::{insert_document, raw_connection};
use countersign_store::{documents, Store, DATABASE_FILE};
use sqlx::Connection;

#[tokio::test]
async fn migrations_create_the_schema_in_a_wal_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    assert_eq!(store.db_path(), dir.path().join(DATABASE_FILE));
    assert!(store.db_path().is_file(), "the database is a real file");

    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");

    // WAL is a property of the file, not only of the store's connections: a plain connection that
    // asks for no journal mode finds it too.
    let mut plain = raw_connection(&store).await;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut plain)
        .await
        .unwrap();
    assert_eq!(mode, "wal");

    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger') AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&mut plain)
    .await
    .unwrap();
    for expected in [
        "_sqlx_migrations",
        "audit_head",
        "audit_log",
        "audit_log_no_delete",
        "audit_log_no_update",
        "documents",
        "job_steps",
        "jobs",
        "pages",
        "versions",
    ] {
        assert!(
            tables.iter().any(|t| t == expected),
            "`{expected}` missing from {tables:?}"
        );
    }
    let head: (i64, String) = sqlx::query_as("SELECT seq, hash FROM audit_head")
        .fetch_one(&mut plain)
        .await
        .unwrap();
    assert_eq!(head, (0, "genesis".to_owned()));
    plain.close().await.unwrap();
}

#[tokio::test]
async fn reopening_a_data_dir_keeps_its_data_and_applies_no_migration_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let id = insert_document(&store, "kept").await;
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(applied, migration_files());

    // A second process opening the same dir while the first is still running.
    let concurrent = Store::open(dir.path()).await.expect("open while open");
    assert_eq!(documents::count(concurrent.pool()).await.unwrap(), 1);
    concurrent.close().await;
    store.close().await;

    // And after both have gone away.
    let reopened = Store::open(dir.path()).await.expect("reopen");
    let again: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(reopened.pool())
        .await
        .unwrap();
    assert_eq!(again, applied, "no migration ran twice");
    let mut conn = reopened.pool().acquire().await.unwrap();
    let record = documents::get(&mut conn, id).await.unwrap();
    assert_eq!(record.file_name, "kept.png");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

/// Regression: processes opening a new data dir at the same moment (the app and a CLI, parallel
/// scripts) raced to switch it to WAL and to apply the first migration, and the loser failed with
/// "database is locked" or "table documents already exists".
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_opens_of_a_new_data_dir_all_succeed() {
    for round in 0..15 {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = tokio::join!(
            Store::open(dir.path()),
            Store::open(dir.path()),
            Store::open(dir.path())
        );
        for (who, opened) in [("a", a), ("b", b), ("c", c)] {
            let store = opened.unwrap_or_else(|e| panic!("round {round}, opener {who}: {e}"));
            let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
                .fetch_one(store.pool())
                .await
                .unwrap();
            assert_eq!(
                applied,
                migration_files(),
                "round {round}: each migration is applied once"
            );
            store.close().await;
        }
    }
}

/// The number of migrations the store ships (each must be applied exactly once).
fn migration_files() -> i64 {
    std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "sql")
        })
        .count() as i64
}
