use crate::support::{connect_body, on_both_backends, start_with, Backend};
use std::time::{Duration, Instant};

async fn the_purge_removes_events_older_than_the_retention_and_keeps_the_rest(backend: Backend) {
    let relay = start_with(backend, |c| {
        *c = c.clone().with_retention_days(30);
        c.purge_interval = Duration::from_millis(100);
    })
    .await;
    relay.add_tenant("acme", "s3cret").await;
    let token = relay.token("acme", "desk").await;
    let old = connect_body("envelope-sent", "E-OLD", "2025-01-01T00:00:00Z");
    let new = connect_body("envelope-sent", "E-NEW", "2025-06-01T00:00:00Z");
    assert_eq!(relay.post_signed("acme", "s3cret", &old).await.0, 200);
    assert_eq!(relay.post_signed("acme", "s3cret", &new).await.0, 200);

    // Age one event to 31 days, through a separate connection to the same database.
    let aged = (chrono::Utc::now() - chrono::Duration::days(31))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    relay.db.set_received_at("E-OLD", &aged).await;

    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, page) = relay.events(&token, "after=0").await;
        let ids: Vec<&str> = page["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["envelope_id"].as_str().unwrap())
            .collect();
        if ids == ["E-NEW"] {
            break;
        }
        assert!(Instant::now() < deadline, "not purged in time: {ids:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = relay
        .client
        .get(format!("{}/metrics", relay.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("countersign_relay_events_purged_total 1\n"),
        "{text}"
    );
    relay.stop().await;
}

on_both_backends!(the_purge_removes_events_older_than_the_retention_and_keeps_the_rest,);
