use crate::support::{execute_raw, insert_document, open_store, raw_connection, transition};
use countersign_core::{DocumentId, Status};
use countersign_store::audit::{self, Break};
use countersign_store::Store;
use sha2::{Digest, Sha256};
use sqlx::{Connection, Row};

/// Six entries from two documents, interleaved the way real work interleaves them:
/// 1 A ingest, 2 A→processing, 3 B ingest, 4 A→ocr_complete, 5 B→processing, 6 A→needs_review.
async fn six_entries(store: &Store) -> (DocumentId, DocumentId) {
    let a = insert_document(store, "a").await;
    transition(store, a, Status::Processing).await;
    let b = insert_document(store, "b").await;
    transition(store, a, Status::OcrComplete).await;
    transition(store, b, Status::Processing).await;
    transition(store, a, Status::NeedsReview).await;
    assert_eq!(audit::head_seq(store.pool()).await.unwrap(), 6);
    (a, b)
}

const DROP_NO_UPDATE: &str = "DROP TRIGGER audit_log_no_update";
const DROP_NO_DELETE: &str = "DROP TRIGGER audit_log_no_delete";

/// What a careful tamperer does after editing an entry: recompute its hash the way the store does
/// (sha256 of the previous hash, a newline, and the entry's fields as one JSON array) and store it.
async fn rehash(store: &Store, seq: i64) {
    let mut conn = raw_connection(store).await;
    let row = sqlx::query("SELECT * FROM audit_log WHERE seq = ?")
        .bind(seq)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let canonical = serde_json::to_string(&(
        seq,
        row.get::<String, _>("at"),
        row.get::<Option<String>, _>("document_id"),
        row.get::<Option<i64>, _>("version"),
        row.get::<String, _>("actor"),
        row.get::<String, _>("action"),
        row.get::<Option<String>, _>("from_status"),
        row.get::<Option<String>, _>("to_status"),
        row.get::<String, _>("detail"),
    ))
    .unwrap();
    let mut h = Sha256::new();
    h.update(row.get::<String, _>("prev_hash").as_bytes());
    h.update(b"\n");
    h.update(canonical.as_bytes());
    let hash = hex::encode(h.finalize());
    sqlx::query("UPDATE audit_log SET hash = ? WHERE seq = ?")
        .bind(&hash)
        .bind(seq)
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}

#[tokio::test]
async fn an_untouched_log_verifies_and_each_entry_chains_to_the_previous_one() {
    let (_dir, store) = open_store().await;
    let (a, b) = six_entries(&store).await;

    let v = audit::verify(store.pool()).await.unwrap();
    assert_eq!(v.first_break, None);
    assert_eq!(v.entries, 6);

    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT seq, prev_hash, hash FROM audit_log ORDER BY seq")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(
        rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5, 6]
    );
    assert_eq!(rows[0].1, audit::GENESIS);
    for pair in rows.windows(2) {
        assert_eq!(
            pair[1].1, pair[0].2,
            "entry {} links to {}",
            pair[1].0, pair[0].0
        );
    }
    assert_eq!(
        v.head_hash, rows[5].2,
        "the head is the newest entry's hash"
    );

    // Every transition is one entry, attributed to its document.
    let of_a: Vec<_> = audit::entries_for(store.pool(), a)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.seq, e.from_status, e.to_status))
        .collect();
    let s = |x: &str| Some(x.to_owned());
    assert_eq!(
        of_a,
        vec![
            (1, None, s("received")),
            (2, s("received"), s("processing")),
            (4, s("processing"), s("ocr_complete")),
            (6, s("ocr_complete"), s("needs_review")),
        ]
    );
    assert_eq!(audit::entries_for(store.pool(), b).await.unwrap().len(), 2);
}

#[tokio::test]
async fn the_triggers_refuse_update_and_delete_of_audit_entries() {
    let (_dir, store) = open_store().await;
    six_entries(&store).await;
    let mut conn = raw_connection(&store).await;

    let err = sqlx::query("UPDATE audit_log SET detail = '{\"forged\":true}' WHERE seq = 3")
        .execute(&mut conn)
        .await
        .expect_err("UPDATE must be refused");
    assert!(err.to_string().contains("append-only"), "{err}");
    let err = sqlx::query("DELETE FROM audit_log WHERE seq = 3")
        .execute(&mut conn)
        .await
        .expect_err("DELETE must be refused");
    assert!(err.to_string().contains("append-only"), "{err}");
    conn.close().await.unwrap();

    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(count, 6);
    assert_eq!(audit::verify(store.pool()).await.unwrap().first_break, None);
}

#[tokio::test]
async fn an_edited_entry_is_named_as_edited() {
    let (_dir, store) = open_store().await;
    six_entries(&store).await;
    execute_raw(
        &store,
        &[
            DROP_NO_UPDATE,
            "UPDATE audit_log SET detail = '{\"forged\":true}' WHERE seq = 3",
        ],
    )
    .await;

    let v = audit::verify(store.pool()).await.unwrap();
    assert_eq!(v.first_break, Some(Break::Edited { seq: 3 }));
    assert_eq!(v.entries, 2, "entries before the break verified");
    assert!(
        Break::Edited { seq: 3 }.to_string().contains("entry 3"),
        "the message names the entry"
    );
}

#[tokio::test]
async fn an_edited_entry_with_a_recomputed_hash_breaks_the_chain_at_the_next_entry() {
    let (_dir, store) = open_store().await;
    six_entries(&store).await;
    execute_raw(
        &store,
        &[
            DROP_NO_UPDATE,
            "UPDATE audit_log SET detail = '{\"forged\":true}' WHERE seq = 3",
        ],
    )
    .await;
    rehash(&store, 3).await;

    let v = audit::verify(store.pool()).await.unwrap();
    assert_eq!(v.first_break, Some(Break::ChainBroken { seq: 4 }));
    assert_eq!(v.entries, 3, "entry 3 itself is self-consistent again");
}

#[tokio::test]
async fn a_deleted_middle_entry_is_named_as_missing() {
    let (_dir, store) = open_store().await;
    six_entries(&store).await;
    execute_raw(
        &store,
        &[DROP_NO_DELETE, "DELETE FROM audit_log WHERE seq = 3"],
    )
    .await;

    let v = audit::verify(store.pool()).await.unwrap();
    assert_eq!(v.first_break, Some(Break::Missing { seq: 3 }));
    assert_eq!(v.entries, 2);
}

#[tokio::test]
async fn a_deleted_newest_entry_is_named_as_truncated() {
    let (_dir, store) = open_store().await;
    six_entries(&store).await;
    execute_raw(
        &store,
        &[DROP_NO_DELETE, "DELETE FROM audit_log WHERE seq = 6"],
    )
    .await;

    // Entries 1..5 are a valid chain on their own: only the head row notices.
    let v = audit::verify(store.pool()).await.unwrap();
    assert_eq!(v.first_break, Some(Break::Truncated { seq: 6 }));
    assert_eq!(v.entries, 5);
}

#[tokio::test]
async fn a_rehashed_edit_of_the_newest_entry_no_longer_matches_the_head() {
    let (_dir, store) = open_store().await;
    six_entries(&store).await;
    execute_raw(
        &store,
        &[
            DROP_NO_UPDATE,
            "UPDATE audit_log SET to_status = 'approved' WHERE seq = 6",
        ],
    )
    .await;
    rehash(&store, 6).await;

    let v = audit::verify(store.pool()).await.unwrap();
    assert_eq!(v.first_break, Some(Break::HeadMismatch { seq: 6 }));
}

#[tokio::test]
async fn entries_appended_after_a_verification_keep_the_chain_valid() {
    let (_dir, store) = open_store().await;
    let (a, _) = six_entries(&store).await;
    let before = audit::verify(store.pool()).await.unwrap();
    transition(&store, a, Status::Approved).await;
    let after = audit::verify(store.pool()).await.unwrap();
    assert_eq!(after.first_break, None);
    assert_eq!(after.entries, 7);
    assert_ne!(after.head_hash, before.head_hash);
}
