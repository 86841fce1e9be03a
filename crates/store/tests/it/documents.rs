use crate::support::{insert_document, open_store, transition};
use countersign_core::{Failure, Status, TransitionError};
use countersign_store::{audit, documents, StoreError};

#[tokio::test]
async fn an_illegal_transition_is_refused_and_writes_nothing() {
    let (_dir, store) = open_store().await;
    let id = insert_document(&store, "doc").await;
    let head_before = audit::head_seq(store.pool()).await.unwrap();

    let mut tx = store.write().await.unwrap();
    let err = documents::transition(
        &mut tx,
        id,
        Status::Completed,
        "test",
        None,
        serde_json::json!({}),
    )
    .await
    .expect_err("received → completed is not in the lifecycle");
    assert!(
        matches!(
            err,
            StoreError::Transition(TransitionError {
                from: Status::Received,
                to: Status::Completed
            })
        ),
        "{err:?}"
    );
    // Committed on purpose: the refusal itself must have written nothing, not merely been rolled
    // back by the caller.
    tx.commit().await.unwrap();

    assert_eq!(audit::head_seq(store.pool()).await.unwrap(), head_before);
    let entries = audit::entries_for(store.pool(), id).await.unwrap();
    assert_eq!(entries.len(), 1, "only the ingest entry: {entries:?}");
    let mut conn = store.pool().acquire().await.unwrap();
    assert_eq!(
        documents::get(&mut conn, id).await.unwrap().status,
        Status::Received
    );
}

#[tokio::test]
async fn a_failure_is_stored_with_the_failed_status_and_cleared_on_retry() {
    let (_dir, store) = open_store().await;
    let id = insert_document(&store, "doc").await;
    transition(&store, id, Status::Processing).await;
    let failure = Failure {
        stage: "ocr".into(),
        code: "ocr_unavailable".into(),
        message: "no engine".into(),
        retryable: true,
    };

    let mut tx = store.write().await.unwrap();
    let record = documents::transition(
        &mut tx,
        id,
        Status::Failed,
        "worker",
        Some(&failure),
        serde_json::json!({}),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(record.status, Status::Failed);
    assert_eq!(record.failure.as_ref(), Some(&failure));
    let last = audit::entries_for(store.pool(), id)
        .await
        .unwrap()
        .pop()
        .unwrap();
    let detail: serde_json::Value = serde_json::from_str(&last.detail).unwrap();
    assert_eq!(detail["failure"]["code"], "ocr_unavailable");

    transition(&store, id, Status::Processing).await;
    let mut conn = store.pool().acquire().await.unwrap();
    let record = documents::get(&mut conn, id).await.unwrap();
    assert_eq!(record.status, Status::Processing);
    assert_eq!(record.failure, None);
}
