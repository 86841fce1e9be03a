use crate::support::*;
use countersign_sandbox::{Config, WebhookTarget};
use countersign_sign::docusign::connect::{verify_signature, SIGNATURE_HEADER};
use countersign_sign::docusign::wire::ConnectEvent;
use countersign_sign::{Provider, SecretString};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Inbox = Arc<Mutex<Vec<(Option<String>, Vec<u8>)>>>;

async fn receiver() -> (String, Inbox) {
    let inbox: Inbox = Arc::default();
    let store = inbox.clone();
    let app = axum::Router::new().route(
        "/hooks/docusign/default",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let store = store.clone();
                async move {
                    let sig = headers
                        .get(SIGNATURE_HEADER)
                        .map(|v| v.to_str().unwrap().to_owned());
                    store.lock().unwrap().push((sig, body.to_vec()));
                    "ok"
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/hooks/docusign/default",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, inbox)
}

#[tokio::test]
async fn connect_events_verify_with_the_secret_and_tampering_is_detected() {
    let (url, inbox) = receiver().await;
    let secret = "relay-hmac-secret";
    let s = sandbox(Config {
        auto_sign: Some(Duration::from_millis(20)),
        webhooks: vec![WebhookTarget {
            url,
            secret: SecretString::from(secret),
        }],
        ..Config::default()
    })
    .await;
    let id = adapter(&s)
        .create_envelope(&request(simple_pdf(), "hooked"))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let done = inbox.lock().unwrap().iter().any(|(_, body)| {
            serde_json::from_slice::<ConnectEvent>(body).unwrap().event == "envelope-completed"
        });
        if done {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no envelope-completed webhook"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let received = inbox.lock().unwrap().clone();
    assert!(received.len() >= 5);
    for (sig, body) in &received {
        let sig = sig.as_deref().expect("signed");
        assert!(verify_signature(secret.as_bytes(), body, sig));
        assert!(!verify_signature(b"another-secret", body, sig));
        let event: ConnectEvent = serde_json::from_slice(body).unwrap();
        assert_eq!(event.data.envelope_id, id.as_str());
        // The same event with one field changed no longer verifies.
        let tampered = String::from_utf8(body.clone())
            .unwrap()
            .replace(id.as_str(), "00000000-0000-0000-0000-000000000000");
        assert!(!verify_signature(
            secret.as_bytes(),
            tampered.as_bytes(),
            sig
        ));
    }
    let completed: ConnectEvent = received
        .iter()
        .map(|(_, b)| serde_json::from_slice::<ConnectEvent>(b).unwrap())
        .find(|e| e.event == "envelope-completed")
        .unwrap();
    let summary = completed.data.envelope_summary.unwrap();
    assert_eq!(summary.status.as_deref(), Some("completed"));
    assert_eq!(
        summary
            .custom_fields
            .unwrap()
            .text(countersign_sign::IDEMPOTENCY_FIELD),
        Some(countersign_sign::idempotency_key("hooked", 1, "nda:legal").as_str())
    );
}
