use crate::support::{connect_body, on_both_backends, start, Backend};
use std::time::{Duration, Instant};

async fn a_missing_or_unknown_token_gets_401(backend: Backend) {
    let relay = start(backend).await;
    relay.add_tenant("acme", "s3cret").await;
    let real = relay.token("acme", "desk").await;
    let resp = relay
        .client
        .get(format!("{}/v1/events", relay.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let reply: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(reply["code"], "invalid_token");
    // Same lookup prefix, different rest: still refused.
    let forged = format!("{}{}", &real[..8], "A".repeat(real.len() - 8));
    assert_eq!(relay.events(&forged, "after=0").await.0, 401);
    assert_eq!(relay.events("garbage", "after=0").await.0, 401);
    assert_eq!(relay.events(&real, "after=0").await.0, 200);
    assert_eq!(relay.events(&real, "after=abc").await.0, 400);
    relay.stop().await;
}

async fn another_tenants_token_sees_nothing_of_this_tenant(backend: Backend) {
    let relay = start(backend).await;
    relay.add_tenant("acme", "acme-secret").await;
    relay.add_tenant("globex", "globex-secret").await;
    let acme = relay.token("acme", "desk").await;
    let globex = relay.token("globex", "desk").await;
    let body = connect_body("envelope-completed", "E-ACME", "2025-06-01T10:00:00Z");
    assert_eq!(relay.post_signed("acme", "acme-secret", &body).await.0, 200);
    // Globex's secret does not sign for acme, nor acme's for globex.
    let other = connect_body("envelope-completed", "E-X", "2025-06-01T10:00:00Z");
    assert_eq!(
        relay.post_signed("acme", "globex-secret", &other).await.0,
        401
    );
    assert_eq!(
        relay.post_signed("globex", "acme-secret", &other).await.0,
        401
    );

    let (status, page) = relay.events(&globex, "after=0").await;
    assert_eq!(status, 200);
    assert_eq!(page["events"].as_array().unwrap().len(), 0);
    assert_eq!(page["next_cursor"], 0);
    let (_, page) = relay.events(&acme, "after=0").await;
    assert_eq!(page["events"].as_array().unwrap().len(), 1);
    assert_eq!(page["events"][0]["envelope_id"], "E-ACME");
    relay.stop().await;
}

async fn cursor_paging_returns_every_event_once_in_order(backend: Backend) {
    let relay = start(backend).await;
    relay.add_tenant("acme", "s3cret").await;
    relay.add_tenant("other", "o").await;
    let token = relay.token("acme", "desk").await;
    for i in 0..7 {
        let body = connect_body(
            "envelope-sent",
            &format!("E-{i}"),
            &format!("2025-06-01T10:00:0{i}Z"),
        );
        assert_eq!(relay.post_signed("acme", "s3cret", &body).await.0, 200);
        // Interleave another tenant's events so acme's cursors have gaps.
        let noise = connect_body("envelope-sent", &format!("N-{i}"), "2025-06-01T10:00:00Z");
        assert_eq!(relay.post_signed("other", "o", &noise).await.0, 200);
    }
    let mut after = 0;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let (status, page) = relay
            .events(&token, &format!("after={after}&limit=3"))
            .await;
        assert_eq!(status, 200);
        let events = page["events"].as_array().unwrap().clone();
        if events.is_empty() {
            assert_eq!(page["next_cursor"], after);
            break;
        }
        pages += 1;
        for e in &events {
            let cursor = e["cursor"].as_i64().unwrap();
            assert!(cursor > after, "cursors increase");
            after = cursor;
            seen.push(e["envelope_id"].as_str().unwrap().to_owned());
        }
        assert_eq!(page["next_cursor"], after);
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..7).map(|i| format!("E-{i}")).collect();
    assert_eq!(seen, expected);
    relay.stop().await;
}

async fn a_long_poll_returns_as_soon_as_an_event_arrives(backend: Backend) {
    let relay = start(backend).await;
    relay.add_tenant("acme", "s3cret").await;
    let token = relay.token("acme", "desk").await;
    let started = Instant::now();
    let poll = {
        let client = relay.client.clone();
        let url = format!("{}/v1/events?after=0&wait=30", relay.url);
        tokio::spawn(async move {
            let resp = client.get(url).bearer_auth(token).send().await.unwrap();
            let page: serde_json::Value = resp.json().await.unwrap();
            (Instant::now(), page)
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let body = connect_body("envelope-completed", "E-1", "2025-06-01T10:00:00Z");
    let posted = Instant::now();
    assert_eq!(relay.post_signed("acme", "s3cret", &body).await.0, 200);
    let (returned, page) = tokio::time::timeout(Duration::from_secs(5), poll)
        .await
        .expect("the poll returns long before its 30 s wait")
        .unwrap();
    assert!(returned >= posted, "the poll waited for the event");
    assert!(returned - started < Duration::from_secs(5));
    assert_eq!(page["events"][0]["envelope_id"], "E-1");
    relay.stop().await;
}

async fn a_long_poll_with_nothing_new_times_out_empty(backend: Backend) {
    let relay = start(backend).await;
    relay.add_tenant("acme", "s3cret").await;
    relay.add_tenant("other", "o").await;
    let token = relay.token("acme", "desk").await;
    let started = Instant::now();
    let poll = {
        let client = relay.client.clone();
        let url = format!("{}/v1/events?after=0&wait=1", relay.url);
        tokio::spawn(async move {
            let resp = client.get(url).bearer_auth(token).send().await.unwrap();
            resp.json::<serde_json::Value>().await.unwrap()
        })
    };
    // Another tenant's event must not end this tenant's poll.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let body = connect_body("envelope-completed", "E-1", "2025-06-01T10:00:00Z");
    assert_eq!(relay.post_signed("other", "o", &body).await.0, 200);
    let page = poll.await.unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(950), "waited {elapsed:?}");
    assert!(elapsed < Duration::from_secs(4), "waited {elapsed:?}");
    assert_eq!(page["events"].as_array().unwrap().len(), 0);
    assert_eq!(page["next_cursor"], 0);
    relay.stop().await;
}

on_both_backends!(
    a_missing_or_unknown_token_gets_401,
    another_tenants_token_sees_nothing_of_this_tenant,
    cursor_paging_returns_every_event_once_in_order,
    a_long_poll_returns_as_soon_as_an_event_arrives,
    a_long_poll_with_nothing_new_times_out_empty,
);
