use crate::support::*;
use countersign_sandbox::{Config, Faults};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn set_faults(s: &countersign_sandbox::Running, faults: Value) -> reqwest::Response {
    http()
        .post(format!("{}/_sandbox/faults", s.base_url))
        .json(&faults)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_lost_answer_leaves_the_envelope_created() {
    let s = start(Config {
        faults: Faults {
            create_response_lost: 1.0,
            ..Faults::default()
        },
        ..Config::default()
    })
    .await;
    let outcome = http()
        .post(envelopes_url(&s))
        .bearer_auth(TOKEN)
        .json(&definition("lost-key"))
        .send()
        .await;
    let read = match outcome {
        Err(e) => Err(e),
        Ok(r) => r.bytes().await.map(|_| ()),
    };
    assert!(read.is_err(), "the client must not get the answer");
    let all = admin_envelopes(&s).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["idempotency_key"], "lost-key");
    assert_eq!(stats(&s).await["lost_responses"], 1);
}

#[tokio::test]
async fn unavailable_answers_503_and_creates_nothing() {
    let s = start_default().await;
    let r = set_faults(&s, json!({"create_unavailable": 1.0})).await;
    assert_eq!(r.status().as_u16(), 200);
    let (status, v) = post_envelope(&s, &definition("k")).await;
    assert_eq!(
        (status, v["errorCode"].as_str()),
        (503, Some("SERVICE_UNAVAILABLE"))
    );
    assert!(admin_envelopes(&s).await.is_empty());
    // Faults can be turned off again.
    set_faults(&s, json!({})).await;
    let (status, _) = post_envelope(&s, &definition("k")).await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn rate_limit_fault_answers_429_with_retry_after_then_recovers() {
    let s = start_default().await;
    set_faults(&s, json!({"rate_limit_next": 1, "retry_after_secs": 7})).await;
    let r = http()
        .get(format!("{}?from_date=2000-01-01", envelopes_url(&s)))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(r.headers()["retry-after"], "7");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["errorCode"], "HOURLY_APIINVOCATION_LIMIT_EXCEEDED");
    let r = http()
        .get(format!("{}?from_date=2000-01-01", envelopes_url(&s)))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

#[tokio::test]
async fn latency_delays_every_api_call() {
    let s = start_default().await;
    set_faults(&s, json!({"latency_ms": 150})).await;
    let t = Instant::now();
    let r = http()
        .get(format!("{}?from_date=2000-01-01", envelopes_url(&s)))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(t.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn a_slow_index_hides_new_envelopes_from_custom_field_searches_only() {
    let s = start_default().await;
    set_faults(&s, json!({"list_index_delay_ms": 400})).await;
    let id = create(&s, "slow-key").await;
    let search = || async {
        let v: Value = http()
            .get(envelopes_url(&s))
            .query(&[
                ("from_date", "2000-01-01"),
                ("custom_field", "countersign_idempotency_key=slow-key"),
            ])
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["resultSetSize"].as_str().unwrap().to_owned()
    };
    assert_eq!(search().await, "0");
    assert_eq!(
        status_of(&s, &id).await,
        "sent",
        "the envelope itself is there"
    );
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(search().await, "1");
}

#[tokio::test]
async fn faults_are_validated_and_readable() {
    let s = start_default().await;
    let r = set_faults(&s, json!({"webhook_drop": 2.0})).await;
    assert_eq!(r.status().as_u16(), 400);
    let r = set_faults(&s, json!({"no_such_fault": 1})).await;
    assert_eq!(r.status().as_u16(), 400);
    set_faults(&s, json!({"seed": 9, "create_unavailable": 0.25})).await;
    let v: Value = http()
        .get(format!("{}/_sandbox/faults", s.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["seed"], 9);
    assert_eq!(v["create_unavailable"], 0.25);
}
