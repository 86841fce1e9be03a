use crate::support::*;
use countersign_sandbox::{Config, Faults, WebhookTarget};
use countersign_sign::docusign::connect::verify_signature;
use countersign_sign::SecretString;
use std::time::Duration;

const SECRET: &str = "hook-secret";

fn config(receiver: &Receiver, faults: Faults) -> Config {
    Config {
        webhooks: vec![WebhookTarget {
            url: receiver.url.clone(),
            secret: SecretString::from(SECRET),
        }],
        webhook_retry_delay: Duration::from_millis(20),
        faults,
        ..Config::default()
    }
}

#[tokio::test]
async fn every_event_arrives_signed_in_order_with_the_envelope_summary() {
    let receiver = Receiver::start(0).await;
    let s = start(Config {
        auto_sign: Some(Duration::from_millis(10)),
        ..config(&receiver, Faults::default())
    })
    .await;
    let id = create(&s, "hook-key").await;
    eventually(10, "envelope-completed", || async {
        receiver.events().last().map(String::as_str) == Some("envelope-completed")
    })
    .await;
    assert_eq!(
        receiver.events(),
        [
            "envelope-sent",
            "recipient-sent",
            "recipient-delivered",
            "envelope-delivered",
            "recipient-completed",
            "recipient-sent",
            "recipient-delivered",
            "recipient-completed",
            "envelope-completed"
        ]
    );
    for r in receiver.received.lock().unwrap().iter() {
        let sig = r.signature.as_deref().expect("every webhook is signed");
        assert!(verify_signature(SECRET.as_bytes(), &r.body, sig));
        let mut tampered = r.body.clone();
        tampered[10] ^= 1;
        assert!(!verify_signature(SECRET.as_bytes(), &tampered, sig));
    }
    let last = receiver.received.lock().unwrap().last().unwrap().json();
    assert_eq!(last["apiVersion"], "v2.1");
    assert_eq!(last["retryCount"], 0);
    assert_eq!(last["configurationId"], 1001);
    assert!(last["generatedDateTime"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        last["uri"],
        format!("/restapi/v2.1/accounts/{}/envelopes/{id}", s.account_id)
    );
    assert_eq!(last["data"]["accountId"], s.account_id.as_str());
    assert_eq!(last["data"]["envelopeId"], id.as_str());
    let summary = &last["data"]["envelopeSummary"];
    assert_eq!(summary["status"], "completed");
    assert!(summary["statusChangedDateTime"].is_string());
    assert_eq!(summary["recipients"]["signers"][1]["status"], "completed");
    assert_eq!(
        summary["customFields"]["textCustomFields"][0]["value"],
        "hook-key"
    );
    let recipient_event = receiver.received.lock().unwrap()[1].json();
    assert_eq!(recipient_event["data"]["recipientId"], "1");
}

#[tokio::test]
async fn a_failed_delivery_is_retried_with_retry_count() {
    let receiver = Receiver::start(2).await;
    let s = start(config(&receiver, Faults::default())).await;
    let _id = create(&s, "k").await;
    eventually(10, "both events despite two failures", || async {
        receiver.count() >= 2
    })
    .await;
    let events = receiver.received.lock().unwrap().clone();
    let mut kinds: Vec<String> = events
        .iter()
        .map(|r| r.json()["event"].as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["envelope-sent", "recipient-sent"]);
    assert!(
        events
            .iter()
            .any(|r| r.json()["retryCount"].as_u64().unwrap() >= 1),
        "a retried message says so"
    );
    for r in &events {
        assert!(verify_signature(
            SECRET.as_bytes(),
            &r.body,
            r.signature.as_deref().unwrap()
        ));
    }
    let st = stats(&s).await;
    assert_eq!(st["webhook_failed_attempts"], 2);
}

#[tokio::test]
async fn drop_fault_sends_nothing() {
    let receiver = Receiver::start(0).await;
    let s = start(config(
        &receiver,
        Faults {
            webhook_drop: 1.0,
            ..Faults::default()
        },
    ))
    .await;
    let _id = create(&s, "k").await;
    eventually(5, "two drops", || async {
        stats(&s).await["webhooks_dropped"] == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(receiver.count(), 0);
}

#[tokio::test]
async fn duplicate_fault_sends_each_event_twice() {
    let receiver = Receiver::start(0).await;
    let s = start(config(
        &receiver,
        Faults {
            webhook_duplicate: 1.0,
            ..Faults::default()
        },
    ))
    .await;
    let _id = create(&s, "k").await;
    eventually(5, "four deliveries", || async { receiver.count() == 4 }).await;
    assert_eq!(
        receiver.events(),
        [
            "envelope-sent",
            "envelope-sent",
            "recipient-sent",
            "recipient-sent"
        ]
    );
    let bodies: Vec<Vec<u8>> = receiver
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.body.clone())
        .collect();
    assert_eq!(bodies[0], bodies[1], "a duplicate is the same message");
}

#[tokio::test]
async fn reorder_fault_sends_an_event_after_the_next_one() {
    let receiver = Receiver::start(0).await;
    let s = start(config(
        &receiver,
        Faults {
            webhook_reorder: 1.0,
            ..Faults::default()
        },
    ))
    .await;
    let id = create(&s, "k").await;
    eventually(5, "the first two events", || async {
        receiver.count() == 2
    })
    .await;
    let r = http()
        .put(format!("{}/{id}", envelopes_url(&s)))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"status": "voided", "voidedReason": "test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // The void is held back, then goes out on its own after the hold time.
    eventually(5, "the held event", || async { receiver.count() == 3 }).await;
    assert_eq!(
        receiver.events(),
        ["recipient-sent", "envelope-sent", "envelope-voided"]
    );
}
