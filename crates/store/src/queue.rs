//! The queue's reads: documents (at their current version) per status, and one page of them,
//! optionally only those the full-text search finds.
//!
//! Built to stay fast at 100,000 documents and more (see "Review queue" in docs/benchmarks.md):
//! - Everything filters and sorts on the document row (`status`, `due_date`, `created_at`, kept in
//!   sync with the current version by triggers, migration 0008), through indexes that match each
//!   ORDER BY, so a page reads `offset + limit` index entries rather than sorting the filter.
//! - The records themselves (the version join, the JSON columns) are read for the page's rows only.
//! - A search runs the FTS5 query once per call, into a temp table of matching index rowids, and
//!   joins it to documents by `documents.search_rowid` (an integer), never by reading document
//!   ids out of the index's content table. Few matches: each match is looked up. Many matches
//!   (a common word): the filter's own index is walked in order and each entry is checked
//!   against the matches, stopping once the page is full.
//! - Counts and page come from one read transaction, so they agree with each other.

use crate::documents::{record_from_row, RECORD_COLUMNS};
use crate::{Result, StoreError};
use countersign_core::{DocumentRecord, Status};
use sqlx::{Connection, Row, SqliteConnection, SqlitePool};
use std::collections::BTreeMap;

/// At most this many matches, a search is joined from the matches to the documents (a lookup
/// each, at random places in the index); above, from the documents (scans in index order) to the
/// matches. Measured at 100,000 documents: either way costs about the same around 2,000.
const FEW_MATCHES: u64 = 2_000;

/// How a page is sorted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Newest first.
    Newest,
    /// Soonest `due_date` first (documents without one after those with one), then oldest.
    Priority,
}

pub struct Query<'a> {
    /// The statuses shown; `None`: every document.
    pub statuses: Option<&'a [Status]>,
    /// An FTS5 query over `search_index`; only the documents it finds are counted and shown.
    pub search: Option<&'a str>,
    pub order: Order,
    pub offset: u32,
    pub limit: u32,
}

/// What the queue shows.
#[derive(Clone, Debug, Default)]
pub struct Page {
    /// Documents per status of their current version (with the search applied). Statuses with
    /// none are absent.
    pub counts: BTreeMap<Status, u32>,
    /// Rows `offset..offset + limit` of the documents in `statuses` (with the search applied).
    pub records: Vec<DocumentRecord>,
}

/// How a search's matches are joined to documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Join {
    NoSearch,
    FromMatches,
    FromDocuments,
}

pub async fn page(pool: &SqlitePool, q: &Query<'_>) -> Result<Page> {
    page_with(pool, q, FEW_MATCHES).await
}

async fn page_with(pool: &SqlitePool, q: &Query<'_>, few_matches: u64) -> Result<Page> {
    let mut conn = pool.acquire().await?;
    // Per connection, outside the transaction: created once, emptied by each rollback.
    sqlx::query("CREATE TEMP TABLE IF NOT EXISTS queue_matches (search_rowid INTEGER PRIMARY KEY)")
        .execute(&mut *conn)
        .await?;
    let mut tx = conn.begin().await?;
    let result = read(&mut tx, q, few_matches).await;
    // Read-only but for the temp table: rolling back empties it.
    tx.rollback().await?;
    result
}

async fn read(conn: &mut SqliteConnection, q: &Query<'_>, few_matches: u64) -> Result<Page> {
    let join = match q.search {
        None => Join::NoSearch,
        Some(search) => {
            let matches = sqlx::query(
                "INSERT INTO temp.queue_matches (search_rowid)
                 SELECT rowid FROM search_index WHERE search_index MATCH ?",
            )
            .bind(search)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if matches <= few_matches {
                Join::FromMatches
            } else {
                Join::FromDocuments
            }
        }
    };
    Ok(Page {
        counts: counts(conn, join).await?,
        records: records(conn, join, q).await?,
    })
}

async fn counts(conn: &mut SqliteConnection, join: Join) -> Result<BTreeMap<Status, u32>> {
    let sql = match join {
        // A scan of the narrow (status, search_rowid) index.
        Join::NoSearch => "SELECT status, COUNT(*) AS n FROM documents GROUP BY status",
        // The same scan, each entry looked up in the matches (`+`: not the search_rowid index).
        Join::FromDocuments => {
            "SELECT status, COUNT(*) AS n FROM documents
             WHERE +search_rowid IN temp.queue_matches GROUP BY status"
        }
        Join::FromMatches => {
            "SELECT d.status, COUNT(*) AS n
             FROM temp.queue_matches m CROSS JOIN documents d ON d.search_rowid = m.search_rowid
             GROUP BY d.status"
        }
    };
    let mut out = BTreeMap::new();
    for r in sqlx::query(sql).fetch_all(&mut *conn).await? {
        let status: Option<String> = r.get("status");
        let status: Status = status
            .as_deref()
            .unwrap_or("NULL")
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("documents.status: {e}")))?;
        out.insert(status, r.get::<i64, _>("n") as u32);
    }
    Ok(out)
}

async fn records(
    conn: &mut SqliteConnection,
    join: Join,
    q: &Query<'_>,
) -> Result<Vec<DocumentRecord>> {
    // The same expressions as the indexes documents_queue_priority and documents_queue_newest
    // (documents_created for every status), so that an index delivers the order; and the keys
    // only, so that the rows are read from the index alone.
    let (key_columns, order, keys_order) = match q.order {
        Order::Priority => (
            "d.due_date IS NULL AS k0, d.due_date AS k1, d.created_at AS k2, d.document_id AS k3",
            "d.due_date IS NULL, d.due_date, d.created_at, d.document_id",
            "k0, k1, k2, k3",
        ),
        Order::Newest => (
            "d.created_at AS k2, d.document_id AS k3",
            "d.created_at DESC, d.document_id DESC",
            "k2 DESC, k3 DESC",
        ),
    };
    let source = match join {
        Join::FromMatches => {
            "temp.queue_matches m CROSS JOIN documents d ON d.search_rowid = m.search_rowid"
        }
        Join::NoSearch | Join::FromDocuments => "documents d",
    };
    let matched = match join {
        Join::FromDocuments => " AND +d.search_rowid IN temp.queue_matches",
        Join::NoSearch | Join::FromMatches => "",
    };
    let select = format!("SELECT d.rowid AS r, {key_columns} FROM {source}");
    // The page's keys first. An index gives one status in order, not several (`status IN (…)`
    // would read and sort all of a large filter's entries): so with several statuses, the first
    // `offset + limit` of each, merged.
    let per_status = join != Join::FromMatches && q.statuses.is_some_and(|s| s.len() > 1);
    let keys = match q.statuses {
        Some(statuses) if per_status => {
            let arm = format!(
                "SELECT * FROM ({select} WHERE d.status = ?{matched} ORDER BY {order} LIMIT ?)"
            );
            let arms = vec![arm; statuses.len()].join(" UNION ALL ");
            format!("{arms} ORDER BY {keys_order} LIMIT ? OFFSET ?")
        }
        Some(statuses) => {
            let marks = vec!["?"; statuses.len()].join(", ");
            format!(
                "{select} WHERE d.status IN ({marks}){matched} ORDER BY {order} LIMIT ? OFFSET ?"
            )
        }
        None => format!("{select} WHERE 1 = 1{matched} ORDER BY {order} LIMIT ? OFFSET ?"),
    };
    // Then the records of those rows only.
    let sql = format!(
        "SELECT {RECORD_COLUMNS}
         FROM ({keys}) p
         CROSS JOIN documents d ON d.rowid = p.r
         JOIN versions v ON v.document_id = d.document_id AND v.version = d.current_version
         ORDER BY {}",
        keys_order
            .split(", ")
            .map(|k| format!("p.{k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut query = sqlx::query(&sql);
    let statuses = q.statuses.unwrap_or_default();
    if per_status {
        let first = q.offset as i64 + q.limit as i64;
        for s in statuses {
            query = query.bind(s.as_str()).bind(first);
        }
    } else {
        for s in statuses {
            query = query.bind(s.as_str());
        }
    }
    let rows = query
        .bind(q.limit as i64)
        .bind(q.offset as i64)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(record_from_row).collect()
}

#[cfg(test)]
mod tests {
    //! The three ways a page is read (no search; search joined from the matches; from the
    //! documents) against the same answer worked out in Rust from every record.

    use super::*;
    use crate::documents::{self, NewDocument, Routing};
    use crate::Store;
    use countersign_core::TenantId;
    use countersign_core::{Decision, DecisionAction, DocumentId, Field, MimeType, Source};

    const STATUSES: [Status; 6] = [
        Status::NeedsReview,
        Status::Quarantined,
        Status::Routed,
        Status::Approved,
        Status::Completed,
        Status::Rejected,
    ];

    /// Received → … → `to` (the statuses used here only).
    fn path_to(to: Status) -> &'static [Status] {
        use Status::*;
        match to {
            NeedsReview => &[Processing, OcrComplete, NeedsReview],
            Quarantined => &[Processing, OcrComplete, Quarantined],
            Routed => &[Processing, OcrComplete, Routed],
            Approved => &[Processing, OcrComplete, NeedsReview, Approved],
            Rejected => &[Processing, OcrComplete, NeedsReview, Rejected],
            Completed => &[
                Processing,
                OcrComplete,
                Routed,
                QueuedForSignature,
                EnvelopeCreated,
                Sent,
                Completed,
            ],
            _ => unreachable!(),
        }
    }

    /// 40 documents: statuses in turn, a due date on some (with ties), and page text where
    /// "alpha" is on every one, "beta" on every third, "gamma" on one.
    async fn store() -> (tempfile::TempDir, Store, Vec<(DocumentId, String)>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let mut bodies = vec![];
        for i in 0..40u32 {
            let mut tx = store.write().await.unwrap();
            let id = documents::insert(
                &mut tx,
                &NewDocument {
                    tenant_id: TenantId::default(),
                    source: Source::Upload,
                    file_name: format!("doc{i}.pdf"),
                    mime_type: MimeType::Pdf,
                    checksum: format!("{i:064x}"),
                    byte_size: 1,
                    page_count: Some(1),
                    has_text_layer: false,
                    working_blob: None,
                    actor: "test".into(),
                },
            )
            .await
            .unwrap();
            let mut body = String::from("alpha");
            if i % 3 == 0 {
                body.push_str(" beta");
            }
            if i == 17 {
                body.push_str(" gamma");
            }
            for &step in path_to(STATUSES[(i * 7 % 6) as usize]) {
                documents::transition(&mut tx, id, step, "test", None, serde_json::json!({}))
                    .await
                    .unwrap();
                if step == Status::OcrComplete {
                    let mut fields = BTreeMap::new();
                    if i % 4 != 0 {
                        let field = Field {
                            value: format!("2024-0{}-01", 1 + i % 5),
                            confidence: 1.0,
                            page: 0,
                            bbox: [0; 4],
                        };
                        fields.insert("due_date".to_string(), field);
                    }
                    let decision = Decision {
                        action: DecisionAction::Review,
                        reasons: vec![],
                    };
                    let routing = Routing {
                        ocr_confidence: 1.0,
                        document_type: "invoice",
                        classification_confidence: 1.0,
                        decision: &decision,
                        route: None,
                        fields: &fields,
                        department: None,
                        policy_tags: &[],
                        retention_class: None,
                        outcome: &serde_json::json!({}),
                    };
                    documents::set_routing(&mut tx, id, 1, &routing)
                        .await
                        .unwrap();
                    crate::review::index_document(&mut tx, id, "f.pdf", &body, "")
                        .await
                        .unwrap();
                }
            }
            tx.commit().await.unwrap();
            bodies.push((id, body));
        }
        (dir, store, bodies)
    }

    /// The page worked out from every record.
    fn expected(
        records: &[DocumentRecord],
        bodies: &[(DocumentId, String)],
        q: &Query<'_>,
    ) -> (BTreeMap<Status, u32>, Vec<DocumentId>) {
        let found = |r: &&DocumentRecord| match q.search {
            None => true,
            Some(s) => {
                let word = s.trim_matches(|c| c == '"' || c == '*');
                bodies
                    .iter()
                    .any(|(id, b)| *id == r.document_id && b.split(' ').any(|w| w == word))
            }
        };
        let mut counts = BTreeMap::new();
        for r in records.iter().filter(found) {
            *counts.entry(r.status).or_insert(0) += 1;
        }
        let mut rows: Vec<&DocumentRecord> = records
            .iter()
            .filter(found)
            .filter(|r| q.statuses.is_none_or(|s| s.contains(&r.status)))
            .collect();
        let due = |r: &DocumentRecord| r.fields.get("due_date").map(|f| f.value.clone());
        match q.order {
            Order::Priority => rows.sort_by_key(|r| {
                (
                    due(r).is_none(),
                    due(r),
                    r.created_at,
                    r.document_id.to_string(),
                )
            }),
            Order::Newest => {
                rows.sort_by_key(|r| std::cmp::Reverse((r.created_at, r.document_id.to_string())))
            }
        }
        let page = rows
            .iter()
            .skip(q.offset as usize)
            .take(q.limit as usize)
            .map(|r| r.document_id)
            .collect();
        (counts, page)
    }

    #[tokio::test]
    async fn every_way_of_reading_a_page_gives_the_same_rows_as_sorting_every_record() {
        let (_dir, store, bodies) = store().await;
        let records = documents::list(store.pool(), None).await.unwrap();
        assert_eq!(records.len(), 40);
        let review = [Status::NeedsReview];
        let ready = [Status::Routed, Status::Approved];
        let done = [Status::Completed, Status::Rejected, Status::Quarantined];
        let mut checked = 0;
        for statuses in [None, Some(&review[..]), Some(&ready[..]), Some(&done[..])] {
            for order in [Order::Priority, Order::Newest] {
                for search in [
                    None,
                    Some("\"alpha\"*"),
                    Some("\"beta\"*"),
                    Some("\"gamma\"*"),
                ] {
                    for (offset, limit) in [(0, 500), (0, 3), (4, 5), (38, 10)] {
                        let q = Query {
                            statuses,
                            search,
                            order,
                            offset,
                            limit,
                        };
                        let want = expected(&records, &bodies, &q);
                        for few_matches in [0, u64::MAX] {
                            let got = page_with(store.pool(), &q, few_matches).await.unwrap();
                            let ids: Vec<DocumentId> =
                                got.records.iter().map(|r| r.document_id).collect();
                            let what = format!(
                                "{statuses:?} {order:?} {search:?} {offset}+{limit} \
                                 (matches joined from the {})",
                                if few_matches == 0 {
                                    "documents"
                                } else {
                                    "matches"
                                }
                            );
                            assert_eq!(got.counts, want.0, "counts of {what}");
                            assert_eq!(ids, want.1, "rows of {what}");
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 4 * 2 * 4 * 4 * 2);
    }

    /// Migration 0008 on a store written before it: the queue reads the same as a new store's.
    #[tokio::test]
    async fn a_store_made_before_migration_8_is_filled_in() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("migrations-0001-0007");
        std::fs::create_dir(&old).unwrap();
        for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).unwrap()
        {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            if name.as_str() < "0008" {
                std::fs::copy(&path, old.join(name)).unwrap();
            }
        }
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(data.join(crate::DATABASE_FILE))
            .create_if_missing(true);
        let pool = SqlitePool::connect_with(options).await.unwrap();
        let migrator = sqlx::migrate::Migrator::new(old.as_path()).await.unwrap();
        assert_eq!(migrator.iter().count(), 7);
        migrator.run(&pool).await.unwrap();
        // As the code of migration 7 wrote them: version 2 current for the second document, a due
        // date on the newest, an index row each (the second's indexed twice, the first row deleted).
        let ids = [DocumentId::new(), DocumentId::new(), DocumentId::new()];
        for (n, id) in ids.iter().enumerate() {
            sqlx::query(
                "INSERT INTO documents (document_id, tenant_id, source, file_name, mime_type, checksum,
                    byte_size, current_version, created_at, updated_at)
                 VALUES (?, 'default', 'upload', 'f.pdf', 'application/pdf', ?, 1, ?, ?, ?)",
            )
            .bind(id.to_string())
            .bind(format!("{n:064x}"))
            .bind(if n == 1 { 2 } else { 1 })
            .bind(format!("2024-01-0{}T00:00:00.000000Z", n + 1))
            .bind(format!("2024-01-0{}T00:00:00.000000Z", n + 1))
            .execute(&pool)
            .await
            .unwrap();
        }
        let versions = [
            (0, 1, "needs_review", "{}"),
            (1, 1, "needs_review", "{}"),
            (1, 2, "approved", "{}"),
            (
                2,
                1,
                "needs_review",
                r#"{"due_date":{"value":"2024-06-01","confidence":1.0,"page":0,"bbox":[0,0,0,0]}}"#,
            ),
        ];
        for (n, version, status, fields) in versions {
            sqlx::query(
                "INSERT INTO versions (document_id, version, status, fields, created_at, updated_at)
                 VALUES (?, ?, ?, ?, '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z')",
            )
            .bind(ids[n].to_string())
            .bind(version)
            .bind(status)
            .bind(fields)
            .execute(&pool)
            .await
            .unwrap();
        }
        for (n, body) in [
            (1, "stale words"),
            (0, "alpha"),
            (1, "beta"),
            (2, "alpha beta"),
        ] {
            sqlx::query("DELETE FROM search_index WHERE document_id = ?")
                .bind(ids[n].to_string())
                .execute(&pool)
                .await
                .unwrap();
            sqlx::query("INSERT INTO search_index (document_id, file_name, body, fields) VALUES (?, 'f.pdf', ?, '')")
                .bind(ids[n].to_string())
                .bind(body)
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;

        let store = Store::open(&data).await.unwrap();
        let review = [Status::NeedsReview];
        let read = |search: Option<&'static str>| {
            let pool = store.pool().clone();
            async move {
                let q = Query {
                    statuses: Some(&review),
                    search,
                    order: Order::Priority,
                    offset: 0,
                    limit: 10,
                };
                page(&pool, &q).await.unwrap()
            }
        };
        let p = read(None).await;
        let counts: Vec<_> = p.counts.into_iter().collect();
        assert_eq!(counts, [(Status::NeedsReview, 2), (Status::Approved, 1)]);
        let rows: Vec<_> = p.records.iter().map(|r| r.document_id).collect();
        assert_eq!(rows, [ids[2], ids[0]], "the one with a due date first");
        let p = read(Some("beta")).await;
        assert_eq!(p.counts.values().sum::<u32>(), 2);
        assert_eq!(
            p.records.iter().map(|r| r.document_id).collect::<Vec<_>>(),
            [ids[2]]
        );
        assert!(read(Some("stale")).await.counts.is_empty());
        // And indexing again after the migration replaces the migrated row.
        let mut tx = store.write().await.unwrap();
        crate::review::index_document(&mut tx, ids[2], "f.pdf", "gamma", "")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(read(Some("alpha"))
            .await
            .records
            .iter()
            .all(|r| r.document_id != ids[2]));
        assert_eq!(read(Some("gamma")).await.records.len(), 1);
    }

    /// A search writes its matches to a temp table only: it reads while another connection
    /// holds the write lock (a long processing step) instead of waiting for it.
    #[tokio::test]
    async fn a_search_does_not_wait_for_the_write_lock() {
        let (_dir, store, _) = store().await;
        let writing = store.write().await.unwrap();
        let q = Query {
            statuses: None,
            search: Some("\"beta\"*"),
            order: Order::Newest,
            offset: 0,
            limit: 10,
        };
        for few_matches in [0, u64::MAX] {
            let read = page_with(store.pool(), &q, few_matches);
            let p = tokio::time::timeout(std::time::Duration::from_secs(5), read)
                .await
                .expect("the read does not wait for the writer")
                .unwrap();
            assert_eq!(p.records.len(), 10);
        }
        writing.rollback().await.unwrap();
    }
}
