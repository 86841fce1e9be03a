use crate::support::{connect_body, on_both_backends, sig, start, Backend};

async fn metrics_count_received_rejected_duplicates_delivered_and_lag(backend: Backend) {
    let relay = start(backend).await;
    relay.add_tenant("acme", "s3cret").await;
    let token = relay.token("acme", "desk-1").await;
    let a = connect_body("envelope-sent", "E-1", "2025-06-01T10:00:00Z");
    let b = connect_body("envelope-completed", "E-1", "2025-06-01T10:05:00Z");
    assert_eq!(relay.post_signed("acme", "s3cret", &a).await.0, 200);
    assert_eq!(relay.post_signed("acme", "s3cret", &a).await.0, 200);
    assert_eq!(
        relay.post_hook("acme", &a, &[sig("forged", &a)]).await.0,
        401
    );
    assert_eq!(relay.post_hook("acme", &a, &[]).await.0, 401);
    let (_, page) = relay.events(&token, "after=0").await;
    let first = page["next_cursor"].as_i64().unwrap();
    assert_eq!(relay.post_signed("acme", "s3cret", &b).await.0, 200);
    assert!(first > 0);

    let resp = relay
        .client
        .get(format!("{}/metrics", relay.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = resp.text().await.unwrap();
    for line in [
        "# TYPE countersign_relay_events_received_total counter",
        "countersign_relay_events_received_total 2",
        "countersign_relay_events_rejected_total{reason=\"forged\"} 1",
        "countersign_relay_events_rejected_total{reason=\"unsigned\"} 1",
        "countersign_relay_events_rejected_total{reason=\"too_large\"} 0",
        "countersign_relay_events_duplicate_total 1",
        "countersign_relay_events_delivered_total 1",
        "# TYPE countersign_relay_client_lag gauge",
        // desk-1 fetched the first event; the second is still waiting for it.
        "countersign_relay_client_lag{tenant=\"acme\",token=\"desk-1\"} 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    relay.stop().await;
}

async fn healthz_answers_ok(backend: Backend) {
    let relay = start(backend).await;
    let resp = relay
        .client
        .get(format!("{}/healthz", relay.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    relay.stop().await;
}

on_both_backends!(
    metrics_count_received_rejected_duplicates_delivered_and_lag,
    healthz_answers_ok,
);
