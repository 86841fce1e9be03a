//! Webhook → desktop status latency on loopback: a real relay (SQLite, in-process), the desktop's
//! status loop long-polling it, a real store. Each round posts one HMAC-signed Connect event
//! (`envelope-delivered`, as DocuSign and the sandbox send it) for a document in `sent`, and
//! times from just before the POST until the store shows `delivered`.
//!
//! ```sh
//! cargo run --release -p countersign-workflow --example sync_latency -- 300
//! ```
//! Prints one JSON line: `{"what":"webhook_to_desktop_ms", n, p50, p95, max}`.

use countersign_core::{DocumentId, EnvelopeId, MimeType, Source, Status, TenantId};
use countersign_relay::client::Client;
use countersign_sign::docusign::connect;
use countersign_sign::SecretString;
use countersign_store::documents::{self, NewDocument};
use countersign_workflow::sync::{self, RelayLink, SyncStatus};
use countersign_workflow::Workspace;
use sqlx::Row;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const SECRET: &str = "latency-bench-secret";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(300);
    countersign_sign::tls::install_crypto_provider();
    let tmp = tempfile::tempdir().unwrap();
    let db = countersign_relay::DatabaseUrl::Sqlite(tmp.path().join("relay.db"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stop = CancellationToken::new();
    let relay = countersign_relay::start(
        countersign_relay::Config::new(db),
        listener,
        &countersign_relay::TenantId::parse("default").unwrap(),
        SECRET,
        "bench",
        stop.clone(),
    )
    .await
    .unwrap();
    let (relay_url, token) = (relay.url, relay.token);

    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let ws = Workspace::open(&data).await.unwrap();
    let docs = sent_documents(&ws, rounds).await;
    let link = RelayLink {
        client: Client::new(&relay_url, SecretString::from(token)).unwrap(),
        tenant: "default".into(),
    };
    let (tx, mut rx) = tokio::sync::watch::channel(SyncStatus::default());
    let loop_ws = ws.clone();
    let loop_stop = stop.clone();
    let status_loop = tokio::spawn(async move {
        sync::run(
            &loop_ws,
            Some(link),
            Duration::from_secs(3600),
            tx,
            &loop_stop,
        )
        .await;
    });
    // Online (the loop is long-polling) before the first round.
    while !rx.borrow_and_update().online {
        rx.changed().await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    let http = reqwest::Client::new();
    let hook = format!("{relay_url}/hooks/docusign/default");
    let mut ms = Vec::with_capacity(rounds);
    for (id, envelope) in &docs {
        let body = serde_json::json!({
            "event": "envelope-delivered",
            "apiVersion": "v2.1",
            "uri": format!("/restapi/v2.1/accounts/a/envelopes/{}", envelope.as_str()),
            "retryCount": 0,
            "configurationId": 0,
            "generatedDateTime": chrono::Utc::now().to_rfc3339(),
            "data": {
                "accountId": "a",
                "envelopeId": envelope.as_str(),
                "envelopeSummary": { "envelopeId": envelope.as_str(), "status": "delivered" }
            }
        })
        .to_string();
        let signature = connect::sign_body(SECRET.as_bytes(), body.as_bytes());
        let start = Instant::now();
        let resp = http
            .post(&hook)
            .header("content-type", "application/json")
            .header("X-DocuSign-Signature-1", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
        loop {
            let status: String =
                sqlx::query("SELECT status FROM versions WHERE document_id = ? AND version = 1")
                    .bind(id.to_string())
                    .fetch_one(ws.store().pool())
                    .await
                    .unwrap()
                    .get("status");
            if status == Status::Delivered.as_str() {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "never applied");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        ms.push(start.elapsed().as_secs_f64() * 1000.0);
        // Rounds apart, as webhooks arrive in life (the loop is back in its long-poll).
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    status_loop.await.unwrap();
    relay.task.await.unwrap().unwrap();
    ws.close().await;
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    println!(
        "{}",
        serde_json::json!({
            "what": "webhook_to_desktop_ms",
            "n": ms.len(),
            "p50": (at(0.5) * 10.0).round() / 10.0,
            "p95": (at(0.95) * 10.0).round() / 10.0,
            "max": (at(1.0) * 10.0).round() / 10.0,
        })
    );
}

/// Documents in `sent`, each holding its own envelope id.
async fn sent_documents(ws: &Workspace, n: usize) -> Vec<(DocumentId, EnvelopeId)> {
    let mut tx = ws.store().write().await.unwrap();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let id = documents::insert(
            &mut tx,
            &NewDocument {
                tenant_id: TenantId::new("default"),
                source: Source::Upload,
                file_name: format!("bench-{i}.pdf"),
                mime_type: MimeType::Pdf,
                checksum: format!("{i:064x}"),
                byte_size: 1,
                page_count: Some(1),
                has_text_layer: true,
                working_blob: None,
                actor: "bench".into(),
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
            documents::transition(&mut tx, id, s, "bench", None, serde_json::json!({}))
                .await
                .unwrap();
        }
        let envelope = EnvelopeId::new(uuid_like(i));
        documents::set_envelope_id(&mut tx, id, 1, &envelope)
            .await
            .unwrap();
        documents::transition(
            &mut tx,
            id,
            Status::Sent,
            "bench",
            None,
            serde_json::json!({}),
        )
        .await
        .unwrap();
        out.push((id, envelope));
    }
    tx.commit().await.unwrap();
    out
}

fn uuid_like(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}
