//! The status loop end to end, with real parts: the sandbox provider posts HMAC-signed Connect
//! webhooks to a real relay (in-process, SQLite), the desktop's `sync` pulls them by cursor and
//! applies them to a real store. Checked: the desktop ends in exactly the sandbox's states under
//! duplicated, reordered and forged webhooks; a desktop offline for 500 events catches up
//! exactly; a webhook lost for good is made up for by reconciliation, at most one poll per
//! envelope per 15 minutes.

use countersign_core::{DocumentId, EnvelopeId, MimeType, Source, Status, TenantId};
use countersign_relay::client::Client;
use countersign_sign::docusign::{connect, DocuSign, DocuSignConfig};
use countersign_sign::{Anchor, EnvelopeRequest, Position, Provider, SecretString, Signer};
use countersign_store::documents::{self, NewDocument};
use countersign_workflow::sync::{self, Reconcile, RelayLink, SyncStatus};
use countersign_workflow::Workspace;
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const TENANT: &str = "default";
const SECRET: &str = "connect-hmac-secret-of-the-test";

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

/// A sandbox whose webhooks go to a relay, and a desktop workspace that knows both.
struct Rig {
    _tmp: tempfile::TempDir,
    ws: Workspace,
    sandbox: countersign_sandbox::Running,
    relay_url: String,
    relay_cancel: CancellationToken,
    relay_task: tokio::task::JoinHandle<Result<(), countersign_relay::RelayError>>,
    link: RelayLink,
    /// Creates envelopes and voids them, as another sender would.
    provider: DocuSign,
    http: reqwest::Client,
    pdf: Vec<u8>,
}

impl Rig {
    async fn new(faults: countersign_sandbox::Faults) -> Rig {
        countersign_sign::tls::install_crypto_provider();
        let tmp = tempfile::tempdir().unwrap();
        // The relay: a tenant with the Connect secret, and a workstation token.
        let db = countersign_relay::DatabaseUrl::Sqlite(tmp.path().join("relay.db"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let relay_cancel = CancellationToken::new();
        let relay = countersign_relay::start(
            countersign_relay::Config::new(db),
            listener,
            &countersign_relay::TenantId::parse(TENANT).unwrap(),
            SECRET,
            "desktop",
            relay_cancel.clone(),
        )
        .await
        .unwrap();
        let (relay_url, token, relay_task) = (relay.url, relay.token, relay.task);
        // The provider, posting Connect webhooks to the relay.
        let sandbox = countersign_sandbox::start(
            countersign_sandbox::Config {
                webhooks: vec![countersign_sandbox::WebhookTarget {
                    url: format!("{relay_url}/hooks/docusign/{TENANT}"),
                    secret: SecretString::from(SECRET.to_owned()),
                }],
                faults,
                ..Default::default()
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        // The desktop.
        let data = tmp.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(
            data.join("countersign.toml"),
            format!(
                "[provider]\nbase_url = \"{}\"\n\n[relay]\nurl = \"{relay_url}\"\n",
                sandbox.base_url
            ),
        )
        .unwrap();
        let ws = Workspace::open(&data).await.unwrap();
        let link = RelayLink {
            client: Client::new(&relay_url, SecretString::from(token)).unwrap(),
            tenant: TENANT.into(),
        };
        let mut settings = DocuSignConfig::new(
            sandbox.base_url.clone(),
            sandbox.account_id.clone(),
            SecretString::from("sandbox".to_owned()),
        );
        settings.calls_per_hour = 3_600_000;
        settings.burst = 10_000;
        let provider = DocuSign::new(settings).unwrap();
        let pdf = std::fs::read(corpus().join("pdf/ocrmypdf/aspect.pdf")).unwrap();
        Rig {
            _tmp: tmp,
            ws,
            sandbox,
            relay_url,
            relay_cancel,
            relay_task,
            link,
            provider,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            pdf,
        }
    }

    /// `n` envelopes with two signers each, created at the provider, and for each a desktop
    /// document in `sent` holding it (as the send step leaves them).
    async fn sent_documents(&self, n: usize) -> Vec<(DocumentId, EnvelopeId)> {
        let envelopes: Vec<EnvelopeId> = futures_util::stream::iter(0..n)
            .map(|i| self.create_envelope(i))
            .buffered(4)
            .collect()
            .await;
        let mut tx = self.ws.store().write().await.unwrap();
        let mut out = Vec::with_capacity(n);
        for (i, envelope) in envelopes.into_iter().enumerate() {
            out.push((self.insert_sent(&mut tx, i, &envelope).await, envelope));
        }
        tx.commit().await.unwrap();
        out
    }

    /// A desktop document in `sent` holding `envelope`, as the send step leaves it.
    async fn insert_sent(
        &self,
        tx: &mut countersign_store::Tx,
        i: usize,
        envelope: &EnvelopeId,
    ) -> DocumentId {
        let id = documents::insert(
            tx,
            &NewDocument {
                tenant_id: TenantId::new(TENANT),
                source: Source::Upload,
                file_name: format!("contract-{i}.pdf"),
                mime_type: MimeType::Pdf,
                checksum: format!("{:064x}", (i as u128) << 64 | rand_u64() as u128),
                byte_size: self.pdf.len() as u64,
                page_count: Some(1),
                has_text_layer: true,
                working_blob: None,
                actor: "test".into(),
            },
        )
        .await
        .unwrap();
        for s in [
            Status::Processing,
            Status::OcrComplete,
            Status::Routed,
            Status::QueuedForSignature,
            Status::EnvelopeCreated,
        ] {
            documents::transition(tx, id, s, "test", None, serde_json::json!({}))
                .await
                .unwrap();
        }
        documents::set_envelope_id(tx, id, 1, envelope)
            .await
            .unwrap();
        documents::transition(tx, id, Status::Sent, "test", None, serde_json::json!({}))
            .await
            .unwrap();
        id
    }

    async fn create_envelope(&self, i: usize) -> EnvelopeId {
        let signer = |n: u32| Signer {
            role: format!("signer{n}"),
            name: format!("Signer {n}-{i}"),
            email: format!("s{n}.{i}@example.com"),
            routing_order: n,
            anchors: vec![Anchor {
                anchor_text: "Signature:".into(),
                x_offset: 80.0,
                y_offset: 0.0,
                on_document: false,
                fallback: Position {
                    page_number: 1,
                    x: 72.0,
                    y: 600.0 + 40.0 * n as f32,
                },
            }],
        };
        self.provider
            .create_envelope(&EnvelopeRequest {
                pdf: self.pdf.clone(),
                document_name: format!("contract-{i}.pdf"),
                email_subject: format!("Please sign contract {i}"),
                email_blurb: None,
                signers: vec![signer(1), signer(2)],
                carbon_copies: vec![],
                idempotency_key: format!("sync-test-{i}-{}", rand_u64()),
                metadata: BTreeMap::new(),
            })
            .await
            .unwrap()
    }

    /// What a recipient does on the sandbox's signing page.
    async fn open(&self, e: &EnvelopeId, r: u32) {
        let url = format!("{}/sign/{}/{r}", self.sandbox.base_url, e.as_str());
        let resp = self.http.get(url).send().await.unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
    }

    async fn sign(&self, e: &EnvelopeId, r: u32) {
        let url = format!("{}/sign/{}/{r}/sign", self.sandbox.base_url, e.as_str());
        let resp = self.http.post(url).form(&[("x", "")]).send().await.unwrap();
        assert!(resp.status().is_redirection(), "{}", resp.status());
    }

    async fn decline(&self, e: &EnvelopeId, r: u32, reason: &str) {
        let url = format!("{}/sign/{}/{r}/decline", self.sandbox.base_url, e.as_str());
        let resp = self
            .http
            .post(url)
            .form(&[("reason", reason)])
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_redirection(), "{}", resp.status());
    }

    /// Plays one envelope's part of the script: `i % 10` picks completed (0–3), declined (4–5),
    /// voided (6–7), delivered (8) or left sent (9).
    async fn play(&self, i: usize, e: &EnvelopeId) {
        match i % 10 {
            0..=3 => {
                self.open(e, 1).await;
                self.sign(e, 1).await;
                self.open(e, 2).await;
                self.sign(e, 2).await;
            }
            4 | 5 => {
                self.open(e, 1).await;
                self.decline(e, 1, "wrong amount").await;
            }
            6 | 7 => self.provider.void(e, "replaced").await.unwrap(),
            8 => self.open(e, 1).await,
            _ => {}
        }
    }

    /// The sandbox's status of every envelope.
    async fn provider_states(&self) -> HashMap<String, String> {
        let url = format!("{}/_sandbox/envelopes", self.sandbox.base_url);
        let v: serde_json::Value = self
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["envelopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["envelope_id"].as_str().unwrap().to_owned(),
                    e["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    async fn sandbox_stats(&self) -> serde_json::Value {
        let url = format!("{}/_sandbox/stats", self.sandbox.base_url);
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The status of the version holding each envelope, on the desktop.
    async fn desktop_states(&self) -> HashMap<String, String> {
        use sqlx::Row;
        sqlx::query("SELECT envelope_id, status FROM versions WHERE envelope_id IS NOT NULL")
            .fetch_all(self.ws.store().pool())
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get("envelope_id"), r.get("status")))
            .collect()
    }

    /// Envelopes whose desktop status is not what the provider's status means.
    async fn mismatches(&self) -> Vec<String> {
        let provider = self.provider_states().await;
        let desktop = self.desktop_states().await;
        let mut wrong = Vec::new();
        for (envelope, state) in &provider {
            let want = countersign_workflow::send::status_for(
                countersign_sign::EnvelopeState::from_docusign(state),
            )
            .map(|s| s.as_str().to_owned());
            let have = desktop.get(envelope).cloned();
            if want != have {
                wrong.push(format!("{envelope}: provider {state}, desktop {have:?}"));
            }
        }
        wrong
    }

    /// Waits until the desktop holds the provider's states (or fails, listing the differences).
    async fn converge(&self, within: Duration) {
        let start = Instant::now();
        loop {
            let wrong = self.mismatches().await;
            if wrong.is_empty() {
                return;
            }
            if start.elapsed() > within {
                panic!(
                    "{} envelopes differ after {within:?}, e.g. {:?}",
                    wrong.len(),
                    &wrong[..wrong.len().min(5)]
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// A relay counter from `/metrics` (summed over labels).
    async fn relay_metric(&self, name: &str) -> f64 {
        let text = self
            .http
            .get(format!("{}/metrics", self.relay_url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// Posts a webhook the provider never sent: a `completed` for this envelope, signed with
    /// the wrong secret (or not at all). Returns the relay's status code.
    async fn forge(&self, e: &EnvelopeId, n: u64) -> u16 {
        let body = serde_json::json!({
            "event": "envelope-completed",
            "apiVersion": "v2.1",
            "uri": format!("/restapi/v2.1/accounts/x/envelopes/{}", e.as_str()),
            "retryCount": 0,
            "configurationId": 0,
            "generatedDateTime": chrono::Utc::now().to_rfc3339(),
            "data": {
                "accountId": self.sandbox.account_id,
                "envelopeId": e.as_str(),
                "envelopeSummary": { "status": "completed", "envelopeId": e.as_str() }
            }
        })
        .to_string();
        let mut req = self
            .http
            .post(format!("{}/hooks/docusign/{TENANT}", self.relay_url))
            .header("content-type", "application/json");
        if n % 3 != 0 {
            let forged =
                connect::sign_body(format!("not-the-secret-{n}").as_bytes(), body.as_bytes());
            req = req.header("X-DocuSign-Signature-1", forged);
        }
        req.body(body).send().await.unwrap().status().as_u16()
    }

    async fn stop(self) {
        self.ws.close().await;
        self.sandbox.stop().await.unwrap();
        self.relay_cancel.cancel();
        self.relay_task.await.unwrap().unwrap();
    }
}

fn rand_u64() -> u64 {
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    t ^ (N
        .fetch_add(1, Ordering::Relaxed)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// The status loop running as in the app (long-polling the relay), until the token fires.
fn run_sync(
    rig: &Rig,
) -> (
    CancellationToken,
    tokio::task::JoinHandle<()>,
    tokio::sync::watch::Receiver<SyncStatus>,
) {
    let cancel = CancellationToken::new();
    let (tx, rx) = tokio::sync::watch::channel(SyncStatus::default());
    let ws = rig.ws.clone();
    let link = rig.link.clone();
    let c = cancel.clone();
    let task = tokio::spawn(async move {
        sync::run(&ws, Some(link), Duration::from_secs(3600), tx, &c).await;
    });
    (cancel, task, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_webhooks_with_duplicates_reordering_and_forgeries_end_in_the_providers_states(
) {
    let envelopes: usize = std::env::var("COUNTERSIGN_SYNC_ENVELOPES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1300);
    let rig = Rig::new(countersign_sandbox::Faults {
        seed: 8,
        // Of all posts (forgeries included): ~20 % duplicates, ~10 % held back.
        webhook_duplicate: 0.30,
        webhook_reorder: 0.145,
        ..Default::default()
    })
    .await;
    let started = Instant::now();
    let docs = rig.sent_documents(envelopes).await;
    eprintln!(
        "{} envelopes created in {:?}",
        docs.len(),
        started.elapsed()
    );
    let (cancel, task, status) = run_sync(&rig);

    // The signers act; a forger posts `completed` for envelopes that are not.
    let rig = Arc::new(rig);
    let forged_401 = Arc::new(AtomicU64::new(0));
    let forged = Arc::new(AtomicU64::new(0));
    futures_util::stream::iter(docs.iter().cloned().enumerate())
        .for_each_concurrent(6, |(i, (_, e))| {
            let rig = rig.clone();
            let (forged, forged_401) = (forged.clone(), forged_401.clone());
            async move {
                rig.play(i, &e).await;
                // About 5 % of all posts: 2 forgeries per 5 envelopes (~6.3 genuine posts each).
                if i % 5 < 2 {
                    let n = forged.fetch_add(1, Ordering::Relaxed);
                    if rig.forge(&e, n).await == 401 {
                        forged_401.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        })
        .await;
    eprintln!("script played in {:?}", started.elapsed());
    rig.converge(Duration::from_secs(180)).await;
    eprintln!("converged in {:?}", started.elapsed());
    // Late duplicates and held-back messages change nothing.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(rig.mismatches().await, Vec::<String>::new());
    cancel.cancel();
    task.await.unwrap();
    assert!(status.borrow().online, "{:?}", *status.borrow());

    // What was thrown at it.
    let stats = rig.sandbox_stats().await;
    let delivered = stats["webhooks_delivered"].as_u64().unwrap();
    let duplicated = stats["webhooks_duplicated"].as_u64().unwrap();
    let reordered = stats["webhooks_reordered"].as_u64().unwrap();
    let forged = forged.load(Ordering::Relaxed);
    let total = delivered + forged;
    eprintln!(
        "webhooks: {total} posted = {delivered} from the provider ({duplicated} duplicates, \
         {reordered} held back) + {forged} forged; {:?} in all",
        started.elapsed()
    );
    if envelopes >= 1300 {
        assert!(total >= 10_000, "{total} webhooks");
    }
    let share = |n: u64| n as f64 / total as f64;
    assert!((0.17..0.23).contains(&share(duplicated)), "{stats}");
    assert!((0.08..0.12).contains(&share(reordered)), "{stats}");
    assert!((0.04..0.06).contains(&share(forged)), "{forged} of {total}");

    // Every forgery refused, none stored; every stored event received once by the desktop.
    assert_eq!(forged_401.load(Ordering::Relaxed), forged);
    assert_eq!(
        rig.relay_metric("countersign_relay_events_rejected_total")
            .await as u64,
        forged
    );
    let stored = rig
        .relay_metric("countersign_relay_events_received_total")
        .await as u64;
    assert_eq!(stored, delivered - duplicated, "{stats}");
    let receipts = countersign_store::sync::receipt_count(rig.ws.store().pool())
        .await
        .unwrap() as u64;
    assert_eq!(receipts, stored);

    // Completed: evidence stored once each; declined: back in review saying why.
    for (i, (id, _)) in docs.iter().enumerate() {
        let record = countersign_workflow::show(&rig.ws, *id, Default::default())
            .await
            .unwrap();
        match i % 10 {
            0..=3 => {
                assert_eq!(record.status, Status::Completed);
                let ev = countersign_workflow::send::evidence(&rig.ws, *id)
                    .await
                    .unwrap();
                assert_eq!(ev.len(), 2, "{id}: {ev:?}");
            }
            4 | 5 => {
                assert_eq!(record.status, Status::NeedsReview);
                assert_eq!(record.version, 2);
                let reasons = record.decision.unwrap().reasons;
                assert!(
                    reasons[0].starts_with("declined by Signer 1-")
                        && reasons[0].ends_with(": wrong amount"),
                    "{reasons:?}"
                );
            }
            6 | 7 => assert_eq!(record.status, Status::Voided),
            8 => assert_eq!(record.status, Status::Delivered),
            _ => assert_eq!(record.status, Status::Sent),
        }
    }
    let audit = countersign_workflow::verify_audit(&rig.ws).await.unwrap();
    assert!(audit.ok, "{audit:?}");
    Arc::try_unwrap(rig).ok().unwrap().stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desktop_offline_for_500_events_catches_up_to_the_exact_state() {
    let rig = Rig::new(Default::default()).await;
    let docs = rig.sent_documents(90).await;
    // Offline: the relay cannot be reached.
    let away = RelayLink {
        client: Client::new("http://127.0.0.1:9", SecretString::from("x".to_owned())).unwrap(),
        tenant: TENANT.into(),
    };
    let err = sync::pull(&rig.ws, &away, Duration::ZERO)
        .await
        .unwrap_err();
    assert_eq!(
        err.code,
        countersign_workflow::ErrorCode::ProviderUnavailable
    );
    for (i, (_, e)) in docs.iter().enumerate() {
        rig.play(i, e).await;
    }
    // Wait until the relay holds everything the provider sent: delivered and stored agree, and
    // have not moved for half a second (a webhook still in flight would move them; equal once
    // is not enough — it failed once with one more event arriving after).
    let start = Instant::now();
    let (mut stored, mut settled, mut last) = (0, 0, None);
    while start.elapsed() < Duration::from_secs(30) {
        stored = rig
            .relay_metric("countersign_relay_events_received_total")
            .await as u64;
        let stats = rig.sandbox_stats().await;
        let agree = stats["webhooks_delivered"].as_u64() == Some(stored) && stored > 0;
        settled = if agree && last == Some(stored) {
            settled + 1
        } else {
            0
        };
        last = Some(stored);
        if settled >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(stored >= 500, "{stored} events waiting");
    // Nothing reached the desktop while it was away.
    assert!(rig.desktop_states().await.values().all(|s| s == "sent"));
    // Back online: one catch-up brings it to the provider's state exactly.
    let pulled = sync::catch_up(&rig.ws, &rig.link).await.unwrap();
    assert_eq!(pulled.fetched as u64, stored);
    assert_eq!(rig.mismatches().await, Vec::<String>::new());
    // Pulling again changes nothing (the cursor moved with the statuses).
    let again = sync::catch_up(&rig.ws, &rig.link).await.unwrap();
    assert_eq!(again.fetched, 0);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_lost_for_good_are_made_up_for_by_reconciliation_at_most_once_per_15_minutes() {
    let rig = Rig::new(countersign_sandbox::Faults {
        webhook_drop: 1.0,
        ..Default::default()
    })
    .await;
    let docs = rig.sent_documents(20).await;
    for (i, (_, e)) in docs.iter().enumerate() {
        rig.play(i, e).await;
    }
    assert_eq!(sync::catch_up(&rig.ws, &rig.link).await.unwrap().fetched, 0);
    let t0 = chrono::Utc::now();
    let at = |minutes: i64| Reconcile {
        now: t0 + chrono::Duration::minutes(minutes),
        ..Default::default()
    };
    // Just sent: not stale yet, nobody is asked.
    let r = sync::reconcile(&rig.ws, &at(0)).await.unwrap();
    assert_eq!(r.polled, 0);
    assert_eq!(
        rig.mismatches().await.len(),
        18,
        "all but the two left `sent`"
    );
    // 16 minutes without news: every envelope out for signature is asked about, once.
    let r = sync::reconcile(&rig.ws, &at(16)).await.unwrap();
    assert_eq!(r.polled, 20);
    assert_eq!(r.applied, 18);
    assert_eq!(
        r.evidence_fetched, 0,
        "evidence came with the poll that completed them"
    );
    assert_eq!(rig.mismatches().await, Vec::<String>::new());
    for (i, (id, _)) in docs.iter().enumerate().filter(|(i, _)| i % 10 <= 3) {
        let ev = countersign_workflow::send::evidence(&rig.ws, *id)
            .await
            .unwrap();
        assert_eq!(ev.len(), 2, "document {i}");
    }
    // The four still out for signature (two delivered, two sent) are not asked again within
    // 15 minutes of their poll…
    assert_eq!(sync::reconcile(&rig.ws, &at(30)).await.unwrap().polled, 0);
    // …and are after.
    assert_eq!(sync::reconcile(&rig.ws, &at(32)).await.unwrap().polled, 4);
    // Each poll's answer is kept as a receipt.
    let receipts = countersign_workflow::sync::receipts(&rig.ws, docs[9].0)
        .await
        .unwrap();
    assert_eq!(
        receipts.iter().filter(|r| r.source == "poll").count(),
        2,
        "{receipts:#?}"
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_that_arrive_before_their_envelope_is_stored_are_applied_when_it_is() {
    let rig = Rig::new(Default::default()).await;
    // Signed at once, before the desktop has stored the envelope id (a fast signer).
    let e = rig.create_envelope(0).await;
    rig.play(0, &e).await;
    let start = Instant::now();
    while rig
        .relay_metric("countersign_relay_events_received_total")
        .await
        < 9.0
    {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the relay never got all 9 events"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pulled = sync::catch_up(&rig.ws, &rig.link).await.unwrap();
    assert_eq!((pulled.fetched, pulled.applied), (9, 0));
    // The send step stores the envelope id, then applies what was held for it.
    let mut tx = rig.ws.store().write().await.unwrap();
    let id = rig.insert_sent(&mut tx, 0, &e).await;
    tx.commit().await.unwrap();
    // Two moves: `sent → delivered`, then `completed`.
    assert_eq!(sync::apply_held(&rig.ws, &e).await.unwrap(), 2);
    let record = countersign_workflow::show(&rig.ws, id, Default::default())
        .await
        .unwrap();
    assert_eq!(record.status, Status::Completed);
    assert_eq!(
        countersign_workflow::send::evidence(&rig.ws, id)
            .await
            .unwrap()
            .len(),
        2
    );
    let receipts = sync::receipts(&rig.ws, id).await.unwrap();
    assert_eq!(receipts.len(), 9);
    assert!(receipts.iter().all(|r| r.outcome != "unknown_envelope"));
    // Nothing is held any more.
    assert_eq!(sync::apply_held(&rig.ws, &e).await.unwrap(), 0);
    rig.stop().await;
}
