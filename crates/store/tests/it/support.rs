use countersign_core::{DocumentId, MimeType, Source, Status, TenantId};
use countersign_store::documents::{self, NewDocument};
use countersign_store::Store;
use sha2::{Digest, Sha256};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};
use tempfile::TempDir;

/// A store in a fresh tempdir (kept alive by the returned guard).
pub async fn open_store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).await.expect("store opens");
    (dir, store)
}

/// A document as ingest would create it; `content` stands for the original's bytes.
pub fn new_document(content: &str) -> NewDocument {
    NewDocument {
        tenant_id: TenantId::default(),
        source: Source::Upload,
        file_name: format!("{content}.png"),
        mime_type: MimeType::Png,
        checksum: hex::encode(Sha256::digest(content.as_bytes())),
        byte_size: content.len() as u64,
        page_count: Some(1),
        has_text_layer: false,
        working_blob: None,
        actor: "test".into(),
    }
}

/// Inserts a document (one audit entry) in its own write transaction.
pub async fn insert_document(store: &Store, content: &str) -> DocumentId {
    let mut tx = store.write().await.expect("write tx");
    let id = documents::insert(&mut tx, &new_document(content))
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
    id
}

/// Moves a document to `to` (one audit entry) in its own write transaction.
pub async fn transition(store: &Store, id: DocumentId, to: Status) {
    let mut tx = store.write().await.expect("write tx");
    documents::transition(&mut tx, id, to, "test", None, serde_json::json!({}))
        .await
        .unwrap_or_else(|e| panic!("transition to {to}: {e}"));
    tx.commit().await.expect("commit");
}

/// A plain connection to the store's database file: no pragmas, no migrations, none of the
/// store's code in between.
pub async fn raw_connection(store: &Store) -> SqliteConnection {
    SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(store.db_path()))
        .await
        .expect("plain connection to the database file")
}

/// Runs statements on a plain connection, as someone with write access to the file would.
pub async fn execute_raw(store: &Store, statements: &[&str]) {
    let mut conn = raw_connection(store).await;
    for sql in statements {
        sqlx::query(sql)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("`{sql}`: {e}"));
    }
    conn.close().await.expect("close");
}
