use crate::support::{
    connect_body, on_both_backends, post_hook, retried, sig, Backend, ServeProcess, TestDb,
};
use countersign_relay::{tenants, tokens, Store, TenantId};
use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLIENTS: usize = 6;
/// Answers after which the relay is killed, with every client still posting.
const KILL_AFTER: usize = 120;

/// The body Connect sends for envelope `id` (its dedup key differs by the envelope id).
fn genuine(id: &str) -> String {
    connect_body("envelope-sent", id, "2025-06-01T10:00:00.000Z")
}

#[derive(Default)]
struct Ledger {
    /// Every genuine event a client sent (answered or not).
    attempted: Vec<String>,
    /// Genuine events answered 200.
    acknowledged: Vec<String>,
}

/// Every event of the token's tenant, paged through `GET /v1/events`: (cursor, envelope id).
async fn fetch_all(client: &reqwest::Client, url: &str, token: &str) -> Vec<(i64, String)> {
    let mut after = 0;
    let mut all = Vec::new();
    loop {
        let page: serde_json::Value = client
            .get(format!("{url}/v1/events?after={after}&limit=100"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let events = page["events"].as_array().unwrap();
        if events.is_empty() {
            return all;
        }
        for e in events {
            let cursor = e["cursor"].as_i64().unwrap();
            assert!(cursor > after, "cursors increase: {cursor} after {after}");
            after = cursor;
            all.push((cursor, e["envelope_id"].as_str().unwrap().to_owned()));
        }
    }
}

/// Several Connect clients post at once; the relay process is SIGKILLed in the middle and
/// restarted on the same database. Every event that was answered 200 must be served, once, and
/// nothing that was not genuinely sent.
async fn every_acknowledged_event_survives_a_sigkill_mid_ingest(backend: Backend) {
    countersign_sign::tls::install_crypto_provider();
    let db = TestDb::new(backend).await;
    let store = Store::open(&db.url).await.unwrap();
    let acme = TenantId::parse("acme").unwrap();
    tenants::add_secret(&store, &acme, "s3cret").await.unwrap();
    let token = tokens::create_token(&store, &acme, "desk").await.unwrap();
    store.close().await;

    let mut relay = ServeProcess::start(&db.cli_arg());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (client, url, ledger) = (client.clone(), relay.url.clone(), ledger.clone());
        clients.push(tokio::spawn(async move {
            for i in 0.. {
                let id = format!("E-{c}-{i}");
                let body = genuine(&id);
                ledger.lock().unwrap().attempted.push(id.clone());
                match post_hook(&client, &url, "acme", &body, &[sig("s3cret", &body)]).await {
                    Ok((200, _)) => ledger.lock().unwrap().acknowledged.push(id),
                    Ok((status, reply)) => panic!("{id}: {status} {reply}"),
                    Err(_) => return, // the relay is gone
                }
            }
        }));
    }
    // A forger posts alongside: nothing of it may ever be served.
    let forger = {
        let (client, url) = (client.clone(), relay.url.clone());
        tokio::spawn(async move {
            for i in 0.. {
                let body =
                    connect_body("envelope-voided", &format!("F-{i}"), "2025-06-01T10:00:00Z");
                match post_hook(&client, &url, "acme", &body, &[sig("guess", &body)]).await {
                    Ok((401, _)) => {}
                    Ok((status, reply)) => panic!("forged F-{i}: {status} {reply}"),
                    Err(_) => return,
                }
            }
        })
    };

    let deadline = Instant::now() + Duration::from_secs(60);
    while ledger.lock().unwrap().acknowledged.len() < KILL_AFTER {
        assert!(
            Instant::now() < deadline,
            "too few answers before the deadline; relay log:\n{}",
            relay.log.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    relay.kill();
    for c in clients {
        c.await.unwrap();
    }
    forger.await.unwrap();
    let (attempted, acknowledged) = {
        let l = ledger.lock().unwrap();
        (l.attempted.clone(), l.acknowledged.clone())
    };
    // Each client's last post was cut off by the kill, so some events were in flight.
    assert_eq!(attempted.len(), acknowledged.len() + CLIENTS);

    let relay = ServeProcess::start(&db.cli_arg());
    let served = fetch_all(&client, &relay.url, &token).await;
    let served_ids: Vec<&str> = served.iter().map(|(_, id)| id.as_str()).collect();
    let unique: HashSet<&str> = served_ids.iter().copied().collect();
    assert_eq!(unique.len(), served_ids.len(), "an event served twice");
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !unique.contains(id.as_str()))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged events lost: {lost:?}",
        lost.len(),
        acknowledged.len()
    );
    let attempted_set: HashSet<&str> = attempted.iter().map(String::as_str).collect();
    let unexpected: Vec<&&str> = served_ids
        .iter()
        .filter(|id| !attempted_set.contains(**id))
        .collect();
    assert!(
        unexpected.is_empty(),
        "served but never sent: {unexpected:?}"
    );
    assert!(served.len() >= acknowledged.len());

    // Connect redelivers what was not answered (and sometimes what was): afterwards every event
    // sent is there exactly once.
    let acknowledged: HashSet<&str> = acknowledged.iter().map(String::as_str).collect();
    for id in &attempted {
        let body = retried(&genuine(id), 1);
        let (status, reply) =
            post_hook(&client, &relay.url, "acme", &body, &[sig("s3cret", &body)])
                .await
                .unwrap();
        assert_eq!(status, 200, "{id}: {reply}");
        if acknowledged.contains(id.as_str()) {
            assert_eq!(reply["status"], "duplicate", "{id}");
        }
    }
    let served = fetch_all(&client, &relay.url, &token).await;
    assert_eq!(served.len(), attempted.len(), "every event sent, once");
    let served: BTreeSet<String> = served.into_iter().map(|(_, id)| id).collect();
    assert_eq!(served, attempted.iter().cloned().collect::<BTreeSet<_>>());
}

on_both_backends!(every_acknowledged_event_survives_a_sigkill_mid_ingest);
