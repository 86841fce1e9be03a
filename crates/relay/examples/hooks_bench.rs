//! Throughput check (not a test): starts a relay in-process on a temp SQLite file, posts N signed
//! Connect webhooks with C in flight, and reports stored events per second.
//!
//! ```sh
//! cargo run --release -p countersign-relay --example hooks_bench -- 20000 64
//! ```
//!
//! With `COUNTERSIGN_BENCH_DATABASE=postgres://…` (an empty database) it measures PostgreSQL
//! instead, e.g. on a throwaway server:
//! `scripts/with-postgres.sh sh -c 'COUNTERSIGN_BENCH_DATABASE=$COUNTERSIGN_TEST_POSTGRES_URL
//! target/release/examples/hooks_bench 20000 64'`. All events go to one tenant, the worst case
//! for PostgreSQL, whose inserts are serialised per tenant.

use countersign_relay::{tenants, Config, DatabaseUrl, Store, TenantId};
use countersign_sign::docusign::connect::sign_body;
use futures_util::StreamExt;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let concurrency: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    countersign_sign::tls::install_crypto_provider();

    let dir = tempfile::tempdir().unwrap();
    let url = match std::env::var("COUNTERSIGN_BENCH_DATABASE") {
        Ok(url) => DatabaseUrl::parse(&url).unwrap(),
        Err(_) => DatabaseUrl::Sqlite(dir.path().join("relay.db")),
    };
    let store = Store::open(&url).await.unwrap();
    tenants::add_secret(&store, &TenantId::parse("bench").unwrap(), "secret")
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!(
        "http://{}/hooks/docusign/bench",
        listener.local_addr().unwrap()
    );
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(countersign_relay::run(
        Config::new(url),
        listener,
        shutdown.clone(),
    ));

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let bodies: Vec<(String, String)> = (0..n)
        .map(|i| {
            let body = serde_json::json!({
                "event": "envelope-completed",
                "apiVersion": "v2.1",
                "generatedDateTime": format!("2025-06-01T10:00:00.{i:09}Z"),
                "data": {"accountId": "acc", "envelopeId": format!("E-{i}"),
                         "envelopeSummary": {"status": "completed", "emailSubject": "Please sign"}}
            })
            .to_string();
            let sig = sign_body(b"secret", body.as_bytes());
            (body, sig)
        })
        .collect();

    let started = Instant::now();
    let failures = futures_util::stream::iter(bodies)
        .map(|(body, sig)| {
            let client = client.clone();
            let hook = hook.clone();
            async move {
                match client
                    .post(&hook)
                    .header("X-DocuSign-Signature-1", sig)
                    .body(body)
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => 0usize,
                    _ => 1,
                }
            }
        })
        .buffer_unordered(concurrency)
        .fold(0usize, |acc, f| async move { acc + f })
        .await;
    let elapsed = started.elapsed();
    let stored = store
        .events_after("bench", 0, u32::MAX)
        .await
        .unwrap()
        .len();
    println!(
        "{n} webhooks, {concurrency} in flight: {stored} stored, {failures} failed, {:.2} s, {:.0} stored/s",
        elapsed.as_secs_f64(),
        stored as f64 / elapsed.as_secs_f64()
    );
    shutdown.cancel();
    let _ = server.await;
    store.close().await;
}
