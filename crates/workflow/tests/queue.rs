//! The review queue over a real store: counts per filter, priority order, full-text search, paging.
//!
//! Documents are made through the store's own API (insert, lifecycle transitions, routing, the
//! search index), as the Route stage leaves them, without rendering or OCR.

use countersign_core::{
    Decision, DecisionAction, DocumentId, Field, MimeType, Source, Status, TenantId,
};
use countersign_store::documents::{self, NewDocument, Routing};
use countersign_store::review::{self, Derive};
use countersign_workflow::queue::{queue, QueueFilter, QueuePage, QueueQuery};
use countersign_workflow::{ErrorCode, Workspace};
use std::collections::{BTreeMap, VecDeque};

/// The shortest way through the lifecycle from `received` to `to`, not by way of `failed` (whose
/// retry leads straight to signing, past the routing).
fn path_to(to: Status) -> Vec<Status> {
    let mut prev: BTreeMap<Status, Status> = BTreeMap::new();
    let mut todo = VecDeque::from([Status::Received]);
    while let Some(s) = todo.pop_front() {
        if s == Status::Failed {
            continue;
        }
        for &n in s.allowed_next() {
            if n != Status::Received && !prev.contains_key(&n) {
                prev.insert(n, s);
                todo.push_back(n);
            }
        }
    }
    let mut path = vec![];
    let mut at = to;
    while at != Status::Received {
        path.push(at);
        at = prev[&at];
    }
    path.reverse();
    path
}

/// A document as the pipeline would leave it in `status`: routed with `fields` (and indexed for
/// search with `body`) once its OCR is complete.
struct Doc<'a> {
    file_name: &'a str,
    status: Status,
    fields: &'a [(&'a str, &'a str)],
    body: &'a str,
}

fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, Field> {
    pairs
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                Field {
                    value: v.to_string(),
                    confidence: 0.95,
                    page: 0,
                    bbox: [0, 0, 10, 10],
                },
            )
        })
        .collect()
}

async fn route(
    tx: &mut countersign_store::Tx,
    id: DocumentId,
    version: u32,
    file_name: &str,
    pairs: &[(&str, &str)],
    body: &str,
) {
    let fields = fields(pairs);
    let decision = Decision {
        action: DecisionAction::Review,
        reasons: vec![],
    };
    documents::set_routing(
        tx,
        id,
        version,
        &Routing {
            ocr_confidence: 0.95,
            document_type: "invoice",
            classification_confidence: 0.9,
            decision: &decision,
            route: None,
            fields: &fields,
            department: None,
            policy_tags: &[],
            retention_class: None,
            outcome: &serde_json::json!({}),
        },
    )
    .await
    .unwrap();
    let search_fields = pairs
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join("\n");
    review::index_document(tx, id, file_name, body, &search_fields)
        .await
        .unwrap();
}

async fn add(ws: &Workspace, doc: Doc<'_>) -> DocumentId {
    let mut tx = ws.store().write().await.unwrap();
    let id = documents::insert(
        &mut tx,
        &NewDocument {
            tenant_id: TenantId::default(),
            source: Source::Upload,
            file_name: doc.file_name.to_owned(),
            mime_type: MimeType::Pdf,
            checksum: format!("{:064x}", DocumentId::new().as_uuid().as_u128()),
            byte_size: 1000,
            page_count: Some(1),
            has_text_layer: false,
            working_blob: None,
            actor: "test".into(),
        },
    )
    .await
    .unwrap();
    for step in path_to(doc.status) {
        documents::transition(&mut tx, id, step, "test", None, serde_json::json!({}))
            .await
            .unwrap();
        if step == Status::OcrComplete {
            route(&mut tx, id, 1, doc.file_name, doc.fields, doc.body).await;
        }
    }
    tx.commit().await.unwrap();
    id
}

async fn open() -> (tempfile::TempDir, Workspace) {
    let tmp = tempfile::tempdir().unwrap();
    let ws = Workspace::open(&tmp.path().join("data")).await.unwrap();
    (tmp, ws)
}

async fn page(ws: &Workspace, filter: QueueFilter, search: Option<&str>) -> QueuePage {
    page_at(ws, filter, search, 0, 500).await
}

async fn page_at(
    ws: &Workspace,
    filter: QueueFilter,
    search: Option<&str>,
    offset: u32,
    limit: u32,
) -> QueuePage {
    queue(
        ws,
        &QueueQuery {
            filter,
            search: search.map(str::to_owned),
            offset,
            limit,
        },
    )
    .await
    .unwrap_or_else(|e| panic!("queue {filter:?} {search:?}: {e}"))
}

fn ids(p: &QueuePage) -> Vec<DocumentId> {
    p.items.iter().map(|i| i.record.document_id).collect()
}

fn plain(file_name: &str, status: Status) -> Doc<'_> {
    Doc {
        file_name,
        status,
        fields: &[],
        body: "",
    }
}

#[tokio::test]
async fn counts_per_filter_match_the_statuses_and_follow_status_changes() {
    let (_tmp, ws) = open().await;
    let mix = [
        (Status::Received, 1),
        (Status::Processing, 1),
        (Status::NeedsReview, 3),
        (Status::Quarantined, 2),
        (Status::Failed, 1),
        (Status::Routed, 1),
        (Status::Approved, 2),
        (Status::Sent, 1),
        (Status::Delivered, 1),
        (Status::Completed, 2),
        (Status::Archived, 1),
        (Status::Rejected, 1),
        (Status::Expired, 1),
    ];
    let mut made = vec![];
    for (status, n) in mix {
        for _ in 0..n {
            made.push((add(&ws, plain("a.pdf", status)).await, status));
        }
    }

    let all = page(&ws, QueueFilter::All, None).await;
    let c = &all.counts;
    assert_eq!(
        [
            c.all,
            c.in_progress,
            c.needs_review,
            c.quarantined,
            c.failed,
            c.ready_to_send,
            c.in_signature,
            c.completed,
            c.closed
        ],
        [18, 2, 3, 2, 1, 3, 2, 3, 2]
    );
    for filter in QueueFilter::ALL {
        let p = page(&ws, filter, None).await;
        let expected: Vec<DocumentId> = made
            .iter()
            .filter(|(_, s)| filter.statuses().contains(s))
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(p.total as usize, expected.len(), "{filter:?}");
        let mut got = ids(&p);
        got.sort();
        let mut expected = expected;
        expected.sort();
        assert_eq!(got, expected, "{filter:?} shows exactly its statuses");
    }

    // A decision moves a document between filters.
    let (reviewed, _) = made[2];
    let mut tx = ws.store().write().await.unwrap();
    documents::transition(
        &mut tx,
        reviewed,
        Status::Approved,
        "test",
        None,
        serde_json::json!({}),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let c = page(&ws, QueueFilter::All, None).await.counts;
    assert_eq!((c.needs_review, c.ready_to_send, c.all), (2, 4, 18));

    // So does a new version in another status (a reviewer's decision derives one).
    let (quarantined, _) = made
        .iter()
        .find(|(_, s)| *s == Status::Quarantined)
        .copied()
        .unwrap();
    let mut tx = ws.store().write().await.unwrap();
    let v = review::derive_version(
        &mut tx,
        quarantined,
        1,
        Derive {
            status: Status::NeedsReview,
            replaced_pages: &[],
            routing: None,
            actor: "test",
            action: "release",
            detail: serde_json::json!({}),
            restart: false,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(v, 2);
    let p = page(&ws, QueueFilter::NeedsReview, None).await;
    assert_eq!((p.counts.needs_review, p.counts.quarantined), (3, 1));
    assert!(ids(&p).contains(&quarantined));
}

#[tokio::test]
async fn needs_review_lists_the_soonest_due_date_first_then_the_oldest() {
    let (_tmp, ws) = open().await;
    let waiting = |due: &'static [(&'static str, &'static str)]| Doc {
        file_name: "d.pdf",
        status: Status::NeedsReview,
        fields: due,
        body: "",
    };
    // In order of arrival (oldest first).
    let old_undated = add(&ws, waiting(&[("vendor_name", "Acme")])).await;
    let due_may = add(&ws, waiting(&[("due_date", "2024-05-01")])).await;
    let due_march = add(&ws, waiting(&[("due_date", "2024-03-01")])).await;
    let new_undated = add(&ws, waiting(&[])).await;
    let due_march_later = add(&ws, waiting(&[("due_date", "2024-03-01")])).await;
    let _done = add(&ws, plain("x.pdf", Status::Completed)).await;

    let p = page(&ws, QueueFilter::NeedsReview, None).await;
    assert_eq!(
        ids(&p),
        [
            due_march,
            due_march_later,
            due_may,
            old_undated,
            new_undated
        ]
    );

    // A reviewer's due date on a new version reorders the queue.
    let mut tx = ws.store().write().await.unwrap();
    let v2 = review::derive_version(
        &mut tx,
        new_undated,
        1,
        Derive {
            status: Status::NeedsReview,
            replaced_pages: &[],
            routing: None,
            actor: "test",
            action: "field_corrected",
            detail: serde_json::json!({}),
            restart: false,
        },
    )
    .await
    .unwrap();
    route(
        &mut tx,
        new_undated,
        v2,
        "d.pdf",
        &[("due_date", "2024-01-15")],
        "",
    )
    .await;
    tx.commit().await.unwrap();
    let p = page(&ws, QueueFilter::NeedsReview, None).await;
    assert_eq!(ids(&p)[0], new_undated);
    assert_eq!(ids(&p)[4], old_undated);

    // Outside the review filters, newest first.
    let p = page(&ws, QueueFilter::All, None).await;
    assert_eq!(ids(&p)[1], due_march_later);
    assert_eq!(*ids(&p).last().unwrap(), old_undated);
}

#[tokio::test]
async fn search_finds_page_text_field_values_and_file_names() {
    let (_tmp, ws) = open().await;
    let text = add(
        &ws,
        Doc {
            file_name: "scan_0001.pdf",
            status: Status::NeedsReview,
            fields: &[("vendor_name", "Globex")],
            body: "Statement of account\n\nThe quokka delivery was late.",
        },
    )
    .await;
    let field = add(
        &ws,
        Doc {
            file_name: "scan_0002.pdf",
            status: Status::Approved,
            fields: &[
                ("invoice_number", "INV-0042137"),
                ("vendor_name", "Initech"),
            ],
            body: "Invoice for services rendered",
        },
    )
    .await;
    let named = add(
        &ws,
        Doc {
            file_name: "Hollowmere_lease_2024.pdf",
            status: Status::Completed,
            fields: &[],
            body: "Lease agreement between the parties",
        },
    )
    .await;

    let found = |p: &QueuePage| ids(p);
    // A word of the page text, whole or as a prefix, in any case.
    assert_eq!(
        found(&page(&ws, QueueFilter::All, Some("quokka")).await),
        [text]
    );
    assert_eq!(
        found(&page(&ws, QueueFilter::All, Some("QUOK")).await),
        [text]
    );
    // A field value.
    assert_eq!(
        found(&page(&ws, QueueFilter::All, Some("INV-0042137")).await),
        [field]
    );
    assert_eq!(
        found(&page(&ws, QueueFilter::All, Some("initech")).await),
        [field]
    );
    // The file name.
    assert_eq!(
        found(&page(&ws, QueueFilter::All, Some("hollowmere lease")).await),
        [named]
    );
    // Every word must be found.
    assert!(found(&page(&ws, QueueFilter::All, Some("quokka lease")).await).is_empty());

    // Counts and totals are of the matches; the filter still applies.
    let p = page(&ws, QueueFilter::ReadyToSend, Some("invoice")).await;
    assert_eq!((p.total, p.counts.all, p.counts.ready_to_send), (1, 1, 1));
    assert_eq!(found(&p), [field]);
    let p = page(&ws, QueueFilter::NeedsReview, Some("invoice")).await;
    assert_eq!((p.total, p.items.len(), p.counts.all), (0, 0, 1));

    // Indexing a document again replaces its row: the old words are no longer found.
    let mut tx = ws.store().write().await.unwrap();
    review::index_document(
        &mut tx,
        text,
        "scan_0001.pdf",
        "A wombat",
        "vendor_name Globex",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert!(found(&page(&ws, QueueFilter::All, Some("quokka")).await).is_empty());
    assert_eq!(
        found(&page(&ws, QueueFilter::All, Some("wombat")).await),
        [text]
    );
    assert_eq!(page(&ws, QueueFilter::All, Some("scan")).await.total, 2);
}

#[tokio::test]
async fn search_text_with_fts_syntax_never_errors() {
    let (_tmp, ws) = open().await;
    let id = add(
        &ws,
        Doc {
            file_name: "quokka.pdf",
            status: Status::NeedsReview,
            fields: &[],
            body: "a quokka near the river",
        },
    )
    .await;
    for search in [
        "\"",
        "\"quokka",
        "quokka\"",
        "*",
        "quokka*",
        "NEAR(",
        "NEAR(quokka river)",
        "-",
        "-quokka",
        "quokka -river",
        "quokka OR",
        "AND",
        "NOT quokka",
        "^quokka",
        "body:quokka",
        "(",
        "quokka)",
        "{file_name}: x",
        "+ - * / \" ' ` ~ ! @ # $ % ^ & ( ) [ ] { } ; : , . < > ? | \\",
        "   ",
    ] {
        let result = queue(
            &ws,
            &QueueQuery {
                filter: QueueFilter::All,
                search: Some(search.to_owned()),
                offset: 0,
                limit: 50,
            },
        )
        .await;
        assert!(result.is_ok(), "{search:?}: {:?}", result.err());
    }
    // Operators and punctuation are plain text: the words around them are still found.
    for search in [
        "\"quokka\"",
        "-quokka",
        "quokka*",
        "NEAR(quokka river)",
        "^quokka",
    ] {
        let p = page(&ws, QueueFilter::All, Some(search)).await;
        assert_eq!(ids(&p), [id], "{search:?}");
    }
}

#[tokio::test]
async fn a_limit_of_zero_or_above_500_is_refused() {
    let (_tmp, ws) = open().await;
    add(&ws, plain("a.pdf", Status::NeedsReview)).await;
    for limit in [0, 501, u32::MAX] {
        let err = queue(
            &ws,
            &QueueQuery {
                filter: QueueFilter::NeedsReview,
                search: None,
                offset: 0,
                limit,
            },
        )
        .await
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidArgument, "limit {limit}");
    }
    assert_eq!(
        page_at(&ws, QueueFilter::NeedsReview, None, 0, 500)
            .await
            .items
            .len(),
        1
    );
}

#[tokio::test]
async fn pages_follow_each_other_without_overlap() {
    let (_tmp, ws) = open().await;
    // Ready to send is two statuses, interleaved in age and due date; completed is two as well.
    let dues = [
        "2024-02-01",
        "",
        "2024-01-10",
        "",
        "2024-03-05",
        "2024-01-10",
        "",
    ];
    for (i, due) in dues.iter().enumerate() {
        let status = if i % 2 == 0 {
            Status::Routed
        } else {
            Status::Approved
        };
        let fields: &[(&str, &str)] = if due.is_empty() {
            &[]
        } else {
            &[("due_date", due)]
        };
        add(
            &ws,
            Doc {
                file_name: "r.pdf",
                status,
                fields,
                body: "common words everywhere",
            },
        )
        .await;
        add(
            &ws,
            Doc {
                file_name: "c.pdf",
                status: if i % 3 == 0 {
                    Status::Archived
                } else {
                    Status::Completed
                },
                fields: &[],
                body: "common words everywhere",
            },
        )
        .await;
    }

    for (filter, search) in [
        (QueueFilter::ReadyToSend, None),
        (QueueFilter::Completed, None),
        (QueueFilter::All, None),
        (QueueFilter::ReadyToSend, Some("common")),
        (QueueFilter::All, Some("everywhere")),
    ] {
        let whole = page(&ws, filter, search).await;
        assert_eq!(whole.items.len(), whole.total as usize);
        let mut paged = vec![];
        for offset in (0..whole.total + 3).step_by(3) {
            let p = page_at(&ws, filter, search, offset, 3).await;
            assert_eq!(p.total, whole.total);
            assert!(p.items.len() <= 3);
            paged.extend(ids(&p));
        }
        assert_eq!(paged, ids(&whole), "{filter:?} {search:?}: pages in order");
    }

    // The priority order holds across the two statuses of a filter.
    let p = page(&ws, QueueFilter::ReadyToSend, None).await;
    let due: Vec<String> = p
        .items
        .iter()
        .map(|i| {
            i.record
                .fields
                .get("due_date")
                .map(|f| f.value.clone())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        due,
        [
            "2024-01-10",
            "2024-01-10",
            "2024-02-01",
            "2024-03-05",
            "",
            "",
            ""
        ]
    );
    let created: Vec<_> = p.items[4..].iter().map(|i| i.record.created_at).collect();
    assert!(created.windows(2).all(|w| w[0] < w[1]), "then oldest first");
}
