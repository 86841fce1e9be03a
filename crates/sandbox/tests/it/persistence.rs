use crate::support::*;
use countersign_sandbox::{Config, DataLocation};

#[tokio::test]
async fn envelopes_documents_and_history_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = || Config {
        data: DataLocation::Dir(dir.path().to_owned()),
        ..Config::default()
    };
    let s = start(config()).await;
    let id = create(&s, "durable-key").await;
    assert_eq!(sign(&s, &id, "1").await, 303);
    s.stop().await.unwrap();
    assert!(dir.path().join("sandbox.db").is_file());

    let s = start(config()).await;
    let env = get_envelope(&s, &id).await;
    assert_eq!(env["status"], "delivered");
    assert_eq!(
        env["customFields"]["textCustomFields"][0]["value"],
        "durable-key"
    );
    assert_eq!(
        sign(&s, &id, "2").await,
        303,
        "signing carries on after the restart"
    );
    assert_eq!(status_of(&s, &id).await, "completed");
    let cert = http()
        .get(format!("{}/{id}/documents/certificate", envelopes_url(&s)))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(cert.starts_with(b"%PDF-"));
    let keys: Vec<_> = admin_envelopes(&s)
        .await
        .iter()
        .map(|e| e["idempotency_key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys, ["durable-key"]);
}
