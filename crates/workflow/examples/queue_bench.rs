//! Review-queue benchmark (issue 6: "the queue of 100,000 documents filters in < 50 ms").
//!
//! Builds a store of `--docs` documents (default 100,000) through the store's own migrations
//! (`Store::open`), with direct inserts in one transaction: each document has a current version
//! in a status drawn from a realistic mix, field values (invoice number, vendor, total, a due date
//! on half of them), a routing outcome, and a search-index row with 2–5 KB of page text. Then it
//! times `queue()` — the counts of every filter plus the first page of 200 rows — for every
//! filter and for a few searches, and prints median and p95 in ms as a markdown table.
//!
//! ```sh
//! cargo run --release -p countersign-workflow --example queue_bench -- [--docs N] [--runs N] [--data-dir DIR] [--search WORDS]…
//! ```
//!
//! With `--data-dir`, a store already built there (with at least `--docs` documents) is reused
//! as it is, and a new one is kept there; without it, the store lives in a temp dir.

use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};
use countersign_core::Status;
use countersign_store::Store;
use countersign_workflow::queue::{queue, QueueFilter, QueueQuery};
use countersign_workflow::Workspace;
use std::path::PathBuf;
use std::time::Instant;

struct Args {
    docs: u32,
    runs: u32,
    data_dir: Option<PathBuf>,
    /// Searches to time besides the built-in ones.
    searches: Vec<String>,
}

fn args() -> Args {
    let mut out = Args {
        docs: 100_000,
        runs: 20,
        data_dir: None,
        searches: vec![],
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| usage(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--docs" => out.docs = value().parse().unwrap_or_else(|_| usage("--docs N")),
            "--runs" => out.runs = value().parse().unwrap_or_else(|_| usage("--runs N")),
            "--data-dir" => out.data_dir = Some(value().into()),
            "--search" => out.searches.push(value()),
            _ => usage(&format!("unknown argument {a}")),
        }
    }
    out
}

fn usage(msg: &str) -> ! {
    eprintln!("queue_bench: {msg}\nusage: queue_bench [--docs N] [--runs N] [--data-dir DIR] [--search WORDS]…");
    std::process::exit(2)
}

/// splitmix64: deterministic, so every run builds the same store.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Words of business paperwork, most frequent first; then made-up words, less and less frequent
/// (a Zipf law, as in real text).
const COMMON: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "a",
    "in",
    "for",
    "is",
    "on",
    "total",
    "invoice",
    "amount",
    "date",
    "page",
    "payment",
    "due",
    "tax",
    "number",
    "please",
    "account",
    "service",
    "net",
    "terms",
    "qty",
    "description",
    "unit",
    "price",
    "subtotal",
    "vat",
    "bank",
    "customer",
    "order",
    "ship",
    "bill",
    "address",
    "phone",
    "email",
    "thank",
    "you",
    "your",
    "business",
    "reference",
    "contract",
    "agreement",
    "party",
    "parties",
    "signature",
    "signed",
    "hereby",
    "shall",
    "effective",
    "period",
    "notice",
    "delivery",
    "goods",
    "services",
    "receipt",
    "balance",
    "remit",
    "street",
    "suite",
    "city",
    "state",
    "zip",
    "country",
    "company",
    "limited",
    "inc",
    "llc",
    "department",
    "approved",
    "authorized",
    "representative",
    "name",
    "title",
    "schedule",
];

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ren", "tas", "vor", "del", "qui", "bar", "sen", "tol", "mur", "ang", "fel",
    "dra", "pis", "cor", "hen", "lux", "net", "ober", "pra", "sil", "tum", "val", "wen", "yor",
    "zet",
];

const VENDORS: &[&str] = &[
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Wonka",
    "Cyberdyne",
    "Soylent",
    "Tyrell",
    "Massive",
    "Gringotts",
    "Oscorp",
    "Monarch",
    "Nakatomi",
    "Virtucon",
    "Pied Piper",
    "Dunder Mifflin",
];

struct Corpus {
    words: Vec<String>,
    /// Cumulative Zipf weights, for sampling by binary search.
    cumulative: Vec<f64>,
}

impl Corpus {
    fn new(rng: &mut Rng) -> Corpus {
        let mut words: Vec<String> = COMMON.iter().map(|w| w.to_string()).collect();
        while words.len() < 30_000 {
            let n = 2 + rng.below(3) as usize;
            let w: String = (0..n)
                .map(|_| SYLLABLES[rng.below(SYLLABLES.len() as u64) as usize])
                .collect();
            words.push(w);
        }
        let mut total = 0.0;
        let cumulative = (0..words.len())
            .map(|r| {
                total += 1.0 / (r as f64 + 2.7);
                total
            })
            .collect();
        Corpus { words, cumulative }
    }

    fn word(&self, rng: &mut Rng) -> &str {
        let x = rng.unit() * self.cumulative.last().unwrap();
        let i = self.cumulative.partition_point(|c| *c < x);
        &self.words[i.min(self.words.len() - 1)]
    }
}

/// Status mix of a store in use for a while: most documents done, a working set under review.
const STATUS_MIX: &[(Status, f64)] = &[
    (Status::Received, 0.3),
    (Status::Processing, 0.3),
    (Status::OcrComplete, 0.2),
    (Status::NeedsReview, 6.0),
    (Status::Quarantined, 1.5),
    (Status::Failed, 1.0),
    (Status::Routed, 2.0),
    (Status::Approved, 1.5),
    (Status::QueuedForSignature, 0.5),
    (Status::EnvelopeCreated, 0.5),
    (Status::Sent, 4.0),
    (Status::Delivered, 2.0),
    (Status::Completed, 50.0),
    (Status::Archived, 20.0),
    (Status::Rejected, 4.0),
    (Status::Declined, 2.0),
    (Status::Voided, 2.0),
    (Status::Expired, 2.2),
];

fn pick_status(rng: &mut Rng) -> Status {
    let total: f64 = STATUS_MIX.iter().map(|(_, w)| w).sum();
    let mut x = rng.unit() * total;
    for (s, w) in STATUS_MIX {
        if x < *w {
            return *s;
        }
        x -= w;
    }
    Status::Completed
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn field(value: &str, rng: &mut Rng) -> serde_json::Value {
    let x = rng.below(2000) as u32;
    let y = rng.below(3000) as u32;
    serde_json::json!({
        "value": value,
        "confidence": 0.7 + rng.unit() * 0.3,
        "page": 0,
        "bbox": [x, y, x + 300, y + 40],
    })
}

/// Builds `docs` documents into the store in `dir`; returns the wall time in seconds.
async fn build(dir: &std::path::Path, docs: u32) -> anyhow_free::Result<f64> {
    let started = Instant::now();
    let store = Store::open(dir).await?;
    let mut rng = Rng(0x5eed);
    let corpus = Corpus::new(&mut rng);
    let start = Utc.with_ymd_and_hms(2024, 1, 1, 8, 0, 0).unwrap();
    let span_secs = 2 * 365 * 24 * 3600_i64;
    let mut tx = store.pool().begin().await?;
    for i in 0..docs {
        let created = start
            + Duration::seconds(span_secs * i as i64 / docs as i64)
            + Duration::milliseconds(rng.below(60_000) as i64);
        let id = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            created.timestamp() as u64,
            created.timestamp_subsec_nanos(),
        ))
        .to_string();
        let status = pick_status(&mut rng);
        let vendor = VENDORS[rng.below(VENDORS.len() as u64) as usize];
        let invoice = format!("INV-{:07}", i + 1);
        let file_name = match rng.below(3) {
            0 => format!("scan_{}_{:06}.pdf", created.format("%Y%m%d"), i),
            1 => format!("{}_invoice_{}.pdf", vendor.replace(' ', "_"), i + 1),
            _ => format!("IMG_{:05}.jpg", i % 100_000),
        };
        let mut fields = serde_json::Map::new();
        fields.insert("invoice_number".into(), field(&invoice, &mut rng));
        fields.insert("vendor_name".into(), field(vendor, &mut rng));
        let total = format!("{}.{:02}", rng.below(20_000), rng.below(100));
        fields.insert("total".into(), field(&total, &mut rng));
        let due = (rng.below(2) == 0).then(|| {
            (created + Duration::days(rng.below(90) as i64))
                .format("%Y-%m-%d")
                .to_string()
        });
        if let Some(d) = &due {
            fields.insert("due_date".into(), field(d, &mut rng));
        }
        if rng.below(10) < 3 {
            let po = format!("PO-{}", 10_000 + rng.below(90_000));
            fields.insert("po_number".into(), field(&po, &mut rng));
        }
        let fields = serde_json::Value::Object(fields);
        let routed = !matches!(
            status,
            Status::Received | Status::Processing | Status::OcrComplete | Status::Failed
        );

        // Page text: 2–5 KB, a page break every ~1.5 KB, with the vendor, the invoice number and
        // the dates in it as a scan would have them.
        let target = 2000 + rng.below(3000) as usize;
        let mut body = format!(
            "{vendor} Invoice {invoice}\nDate {}\n",
            created.format("%Y-%m-%d")
        );
        if let Some(d) = &due {
            body.push_str(&format!("Due date {d}\n"));
        }
        // A word found in about 20 documents, and one in about 1 in 200.
        if rng.below(5000) == 0 {
            body.push_str("quokka ");
        }
        if rng.below(200) == 0 {
            body.push_str("hollowmere ");
        }
        let mut since_break = 0;
        while body.len() < target {
            let w = corpus.word(&mut rng);
            body.push_str(w);
            since_break += w.len() + 1;
            if since_break > 1500 {
                body.push_str("\n\n");
                since_break = 0;
            } else {
                body.push(if rng.below(12) == 0 { '\n' } else { ' ' });
            }
        }
        body.push_str(&format!("\nTotal {total}\n"));
        let search_fields = fields
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, f)| format!("{k} {}", f["value"].as_str().unwrap()))
            .collect::<Vec<_>>()
            .join("\n");

        // Reviewed documents carry earlier versions (the first in needs_review).
        let versions = if routed && rng.below(10) < 3 {
            2 + rng.below(2) as u32
        } else {
            1
        };
        let updated = created + Duration::hours(1 + rng.below(24 * 20) as i64);
        sqlx::query(
            "INSERT INTO documents (document_id, tenant_id, source, file_name, mime_type, checksum, byte_size,
                current_version, created_at, updated_at) VALUES (?, 'default', ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(["upload", "scanner", "folder", "photo"][rng.below(4) as usize])
        .bind(&file_name)
        .bind(if file_name.ends_with(".jpg") { "image/jpeg" } else { "application/pdf" })
        .bind(format!("{:016x}{:016x}{:016x}{:016x}", rng.next(), rng.next(), rng.next(), i))
        .bind(50_000 + rng.below(2_000_000) as i64)
        .bind(versions as i64)
        .bind(ts(created))
        .bind(ts(updated))
        .execute(&mut *tx)
        .await?;
        let reasons: Vec<String> = match status {
            Status::NeedsReview | Status::Quarantined if rng.below(3) > 0 => {
                vec!["ocr confidence 0.62 is below 0.80".into()]
            }
            _ => vec![],
        };
        let decision = serde_json::json!({
            "action": match status {
                Status::Quarantined => "quarantine",
                Status::NeedsReview => "review",
                _ => "auto_route",
            },
            "reasons": reasons,
        });
        // The routing outcome is kept whole (evidence, scores, recipients): ~1.5 KB.
        let evidence: Vec<serde_json::Value> = (0..8)
            .map(|k| {
                serde_json::json!({"rule": format!("rule_{k}"), "matched": rng.below(2) == 0,
                    "text": "Payment due within thirty days of the invoice date", "page": 0,
                    "bbox": [rng.below(2000), rng.below(3000), 400, 40]})
            })
            .collect();
        let routing = serde_json::json!({"document_type": "invoice", "evidence": evidence,
            "scores": {"invoice": 0.91, "contract": 0.05, "receipt": 0.04},
            "recipients": [{"name": "Accounts Payable", "email": "ap@example.com"}]});
        for v in 1..=versions {
            let st = if v == versions {
                status
            } else {
                Status::NeedsReview
            };
            let failure = (st == Status::Failed).then_some(
                r#"{"stage":"ocr","code":"ocr_unavailable","message":"no OCR engine","retryable":true}"#,
            );
            sqlx::query(
                "INSERT INTO versions (document_id, version, status, page_count, ocr_confidence, document_type,
                    classification_confidence, decision, route, fields, department, policy_tags, retention_class,
                    failure, created_at, updated_at, has_text_layer, routing)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
            )
            .bind(&id)
            .bind(v as i64)
            .bind(st.as_str())
            .bind(1 + rng.below(4) as i64)
            .bind(routed.then(|| 0.6 + rng.unit() * 0.4))
            .bind(routed.then_some("invoice"))
            .bind(routed.then(|| 0.5 + rng.unit() * 0.5))
            .bind(routed.then(|| decision.to_string()))
            .bind(routed.then_some("accounts_payable"))
            .bind(if routed { fields.to_string() } else { "{}".into() })
            .bind(routed.then_some("finance"))
            .bind(if routed { r#"["finance"]"# } else { "[]" })
            .bind(routed.then_some("7y"))
            .bind(failure)
            .bind(ts(created))
            .bind(ts(updated))
            .bind(routed.then(|| routing.to_string()))
            .execute(&mut *tx)
            .await?;
        }
        // The search index holds routed documents: the Route stage fills it, with this call.
        if routed {
            countersign_store::review::index_document(
                &mut tx,
                id.parse()?,
                &file_name,
                &body,
                &search_fields,
            )
            .await?;
        }
        if (i + 1) % 20_000 == 0 {
            eprintln!("  {} documents", i + 1);
        }
    }
    tx.commit().await?;
    store.close().await;
    Ok(started.elapsed().as_secs_f64())
}

/// Plain error plumbing for an example (the workspace's own error types do not mix).
mod anyhow_free {
    pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn filter_name(f: QueueFilter) -> String {
    serde_json::to_value(f)
        .expect("filters serialize")
        .as_str()
        .unwrap_or("?")
        .to_owned()
}

struct Case {
    name: String,
    filter: QueueFilter,
    search: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow_free::Result<()> {
    let args = args();
    let tmp;
    let dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().join("data")
        }
    };
    let existing = if dir.join(countersign_store::DATABASE_FILE).exists() {
        // Opening applies pending migrations: on a store built by an older tree, this times them.
        let t = Instant::now();
        let store = Store::open(&dir).await?;
        eprintln!("==> opened in {:.2} s", t.elapsed().as_secs_f64());
        let n = countersign_store::documents::count(store.pool()).await?;
        store.close().await;
        n
    } else {
        0
    };
    if existing >= args.docs as i64 {
        eprintln!("==> reusing the {existing} documents in {}", dir.display());
    } else if existing > 0 {
        usage(&format!(
            "{} holds {existing} documents, fewer than --docs; use another dir",
            dir.display()
        ));
    } else {
        eprintln!("==> building {} documents in {}", args.docs, dir.display());
        let secs = build(&dir, args.docs).await?;
        eprintln!("==> built in {secs:.1} s");
    }
    let db_mb = std::fs::metadata(dir.join(countersign_store::DATABASE_FILE))?.len() as f64 / 1e6;

    let opened = Instant::now();
    let ws = Workspace::open(&dir).await?;
    let open_ms = opened.elapsed().as_secs_f64() * 1000.0;

    let mut cases: Vec<Case> = QueueFilter::ALL
        .iter()
        .map(|f| Case {
            name: format!("filter `{}`", filter_name(*f)),
            filter: *f,
            search: None,
        })
        .collect();
    let builtin = [
        ("rare word (~20 docs)", "quokka"),
        ("uncommon word (~0.5 %)", "hollowmere"),
        ("made-up word (~2 %)", "sendelmur"),
        ("vendor name (~5 %)", "Globex"),
        ("common word (~all docs)", "invoice"),
        ("two common words", "total payment"),
        ("invoice number (field value)", "INV-0042137"),
        ("file name", "scan_20240305"),
        ("2-letter prefix (typing)", "pa"),
        ("1-letter prefix (typing)", "t"),
        ("FTS syntax from a user", "\"NEAR( -x* OR"),
    ];
    let extra = args.searches.iter().map(|s| ("given", s.as_str()));
    for (what, search) in builtin.into_iter().chain(extra) {
        for filter in [QueueFilter::NeedsReview, QueueFilter::All] {
            cases.push(Case {
                name: format!("search {what} `{search}`, filter `{}`", filter_name(filter)),
                filter,
                search: Some(search.to_owned()),
            });
        }
    }

    println!(
        "Store: {} documents, {db_mb:.0} MB database; workspace opened in {open_ms:.0} ms; {} runs per case \
         (after one warm-up), `queue()` with limit 200.\n",
        args.docs.max(existing as u32),
        args.runs
    );
    println!("| case | matches (total) | rows | median ms | p95 ms | max ms |");
    println!("|---|---|---|---|---|---|");
    for case in &cases {
        let q = QueueQuery {
            filter: case.filter,
            search: case.search.clone(),
            offset: 0,
            limit: 200,
        };
        let warm = queue(&ws, &q).await?;
        let mut ms = Vec::with_capacity(args.runs as usize);
        for _ in 0..args.runs {
            let t = Instant::now();
            let page = queue(&ws, &q).await?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(page.total, warm.total);
        }
        ms.sort_by(f64::total_cmp);
        println!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.1} |",
            case.name,
            warm.total,
            warm.items.len(),
            percentile(&ms, 50.0),
            percentile(&ms, 95.0),
            ms.last().unwrap()
        );
    }
    ws.close().await;
    Ok(())
}
