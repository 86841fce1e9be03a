//! Two relay instances on one PostgreSQL database, as behind a load balancer.

use crate::support::{connect_body, post_hook, retried, sig, start, Backend, Relay};
use countersign_relay::DatabaseUrl;
use sqlx::Connection;
use std::collections::HashSet;
use std::time::{Duration, Instant};

const WRITERS: usize = 4;
const EVENTS_PER_WRITER: usize = 30;

/// Starts a `wait=30` long-poll on `relay` after `after`; returns when it answers.
fn long_poll(
    relay: &Relay,
    token: &str,
    after: i64,
) -> tokio::task::JoinHandle<(Instant, serde_json::Value)> {
    let client = relay.client.clone();
    let url = format!("{}/v1/events?after={after}&wait=30", relay.url);
    let token = token.to_owned();
    tokio::spawn(async move {
        let resp = client.get(url).bearer_auth(token).send().await.unwrap();
        let page: serde_json::Value = resp.json().await.unwrap();
        (Instant::now(), page)
    })
}

/// Posts to A, and asserts that a long-poll held on B returns with it well within its 30 s.
async fn a_post_to_a_wakes_a_poll_on_b(a: &Relay, b: &Relay, token: &str, after: i64, id: &str) {
    let poll = long_poll(b, token, after);
    // Let the poll reach its wait (it would also find the event by querying; that proves less).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let body = connect_body("envelope-completed", id, "2025-06-01T09:00:00Z");
    let posted = Instant::now();
    let (status, reply) = a.post_signed("acme", "s3cret", &body).await;
    assert_eq!(status, 200, "{reply}");
    let (returned, page) = tokio::time::timeout(Duration::from_secs(10), poll)
        .await
        .expect("the poll on B returns long before its 30 s wait")
        .unwrap();
    let woke_after = returned.saturating_duration_since(posted);
    assert!(
        woke_after < Duration::from_secs(2),
        "woke after {woke_after:?}"
    );
    assert_eq!(page["events"][0]["envelope_id"], id, "{page}");
}

#[tokio::test]
async fn two_instances_share_one_postgres_database() {
    let a = start(Backend::Postgres).await;
    let b = a.start_another().await;
    a.add_tenant("acme", "s3cret").await;
    let token = b.token("acme", "desk").await;

    a_post_to_a_wakes_a_poll_on_b(&a, &b, &token, 0, "E-FIRST").await;

    // Writers post alternately to A and B; each event is also redelivered at the same moment to
    // the other instance (a Connect retry), so the duplicate races across instances. A reader
    // pages through B with long-polls meanwhile and must see every event once, in order.
    let reader = {
        let (client, url, token) = (b.client.clone(), b.url.clone(), token.clone());
        tokio::spawn(async move {
            let mut after = 0;
            let mut seen: Vec<(i64, String)> = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(60);
            while seen.len() < 1 + WRITERS * EVENTS_PER_WRITER && Instant::now() < deadline {
                let page: serde_json::Value = client
                    .get(format!("{url}/v1/events?after={after}&wait=5&limit=7"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                for e in page["events"].as_array().unwrap() {
                    let cursor = e["cursor"].as_i64().unwrap();
                    assert!(cursor > after, "cursor {cursor} after {after}");
                    after = cursor;
                    seen.push((cursor, e["envelope_id"].as_str().unwrap().to_owned()));
                }
                assert_eq!(page["next_cursor"], after);
            }
            seen
        })
    };
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (a, b) = (
            (a.client.clone(), a.url.clone()),
            (b.client.clone(), b.url.clone()),
        );
        writers.push(tokio::spawn(async move {
            for i in 0..EVENTS_PER_WRITER {
                let id = format!("E-{w}-{i}");
                let body = connect_body("envelope-sent", &id, "2025-06-01T10:00:00Z");
                let retry = retried(&body, 1);
                let (first, second) = if (w + i) % 2 == 0 { (&a, &b) } else { (&b, &a) };
                let (body_sig, retry_sig) = ([sig("s3cret", &body)], [sig("s3cret", &retry)]);
                let (one, two) = tokio::join!(
                    post_hook(&first.0, &first.1, "acme", &body, &body_sig),
                    post_hook(&second.0, &second.1, "acme", &retry, &retry_sig),
                );
                let (one, two) = (one.unwrap(), two.unwrap());
                assert_eq!((one.0, two.0), (200, 200), "{id}: {} {}", one.1, two.1);
                let mut statuses = [
                    one.1["status"].as_str().unwrap().to_owned(),
                    two.1["status"].as_str().unwrap().to_owned(),
                ];
                statuses.sort();
                assert_eq!(statuses, ["duplicate", "stored"], "{id}: stored once");
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let seen = reader.await.unwrap();
    let ids: Vec<&str> = seen.iter().map(|(_, id)| id.as_str()).collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "an event delivered twice");
    let mut expected: HashSet<String> = (0..WRITERS)
        .flat_map(|w| (0..EVENTS_PER_WRITER).map(move |i| format!("E-{w}-{i}")))
        .collect();
    expected.insert("E-FIRST".into());
    let missing: Vec<&String> = expected
        .iter()
        .filter(|id| !unique.contains(id.as_str()))
        .collect();
    assert!(missing.is_empty(), "never delivered: {missing:?}");
    assert_eq!(ids.len(), expected.len());
    assert_eq!(a.stored_count("acme").await, expected.len());

    a.stop().await;
    b.stop().await;
}

/// The LISTEN connections that carry wake-ups between instances are replaced when they drop.
#[tokio::test]
async fn a_dropped_listen_connection_is_replaced() {
    let a = start(Backend::Postgres).await;
    let b = a.start_another().await;
    a.add_tenant("acme", "s3cret").await;
    let token = b.token("acme", "desk").await;
    let DatabaseUrl::Postgres(url) = &a.db.url else {
        unreachable!()
    };
    let mut admin = sqlx::PgConnection::connect(url).await.unwrap();
    // A listener that is ready: connected, its LISTEN done, waiting.
    let ready_listeners = "SELECT pid FROM pg_stat_activity
         WHERE datname = current_database() AND application_name LIKE '%(listen)'
           AND query LIKE 'LISTEN%' AND state = 'idle'";
    let mut listeners: Vec<(i32,)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while listeners.len() < 2 {
        assert!(Instant::now() < deadline, "listeners: {listeners:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
        listeners = sqlx::query_as(ready_listeners)
            .fetch_all(&mut admin)
            .await
            .unwrap();
    }
    let killed: Vec<(bool,)> = sqlx::query_as(&format!(
        "SELECT pg_terminate_backend(pid) FROM ({ready_listeners}) l"
    ))
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(killed, [(true,), (true,)]);

    let old: HashSet<i32> = listeners.iter().map(|(pid,)| *pid).collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now: Vec<(i32,)> = sqlx::query_as(ready_listeners)
            .fetch_all(&mut admin)
            .await
            .unwrap();
        if now.len() == 2 && now.iter().all(|(pid,)| !old.contains(pid)) {
            break;
        }
        assert!(Instant::now() < deadline, "not replaced: {now:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    admin.close().await.unwrap();

    a_post_to_a_wakes_a_poll_on_b(&a, &b, &token, 0, "E-AFTER").await;
    a.stop().await;
    b.stop().await;
}
