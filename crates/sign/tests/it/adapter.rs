use crate::support::*;
use countersign_core::EnvelopeId;
use countersign_sandbox::Config;
use countersign_sign::docusign::DocuSign;
use countersign_sign::{EnvelopeState, Provider, ProviderError, SecretString};
use sha2::{Digest, Sha256};

#[tokio::test]
async fn create_status_find_void_and_downloads_round_trip() {
    let s = sandbox(Config::default()).await;
    let a = adapter(&s);
    let pdf = simple_pdf();
    let req = request(pdf.clone(), "doc-1");
    let id = a.create_envelope(&req).await.unwrap();

    let status = a.envelope_status(&id).await.unwrap();
    assert_eq!(status.envelope_id, id);
    assert_eq!(status.state, EnvelopeState::Sent);
    assert_eq!(status.provider_status, "sent");
    assert_eq!(
        status.idempotency_key.as_deref(),
        Some(req.idempotency_key.as_str())
    );
    assert!(status.status_changed_at.is_some());

    let found = a
        .find_by_idempotency_key(&req.idempotency_key)
        .await
        .unwrap()
        .expect("found by key right after creation");
    assert_eq!(found.envelope_id, id);
    assert!(a
        .find_by_idempotency_key("no-such-key")
        .await
        .unwrap()
        .is_none());

    // Before anyone signs, the combined document is the original.
    let combined = a.combined_pdf(&id).await.unwrap();
    assert_eq!(Sha256::digest(&combined), Sha256::digest(&pdf));
    let cert = a.certificate_pdf(&id).await.unwrap();
    assert!(cert.starts_with(b"%PDF-"));

    a.void(&id, "Sent to the wrong party").await.unwrap();
    let status = a.envelope_status(&id).await.unwrap();
    assert_eq!(status.state, EnvelopeState::Voided);
    assert_eq!(
        status.voided_reason.as_deref(),
        Some("Sent to the wrong party")
    );
    let err = a.void(&id, "again").await.unwrap_err();
    assert!(
        matches!(&err, ProviderError::Rejected { code, .. } if code == "ENVELOPE_CANNOT_VOID_INVALID_STATE"),
        "{err:?}"
    );
}

#[tokio::test]
async fn completion_is_reported_with_its_time() {
    let s = sandbox(Config::default()).await;
    let a = adapter(&s);
    let id = a
        .create_envelope(&request(simple_pdf(), "doc-2"))
        .await
        .unwrap();
    assert_eq!(sign_on_page(&s, id.as_str(), "1").await, 303);
    assert_eq!(
        a.envelope_status(&id).await.unwrap().state,
        EnvelopeState::Delivered
    );
    assert_eq!(sign_on_page(&s, id.as_str(), "2").await, 303);
    let status = a.envelope_status(&id).await.unwrap();
    assert_eq!(status.state, EnvelopeState::Completed);
    assert!(status.state.is_final());
    assert!(status.completed_at.is_some());
}

#[tokio::test]
async fn errors_are_classified() {
    let s = sandbox(Config {
        token: Some(SecretString::from("only-this")),
        ..Config::default()
    })
    .await;
    let a = adapter(&s);
    let err = a
        .create_envelope(&request(simple_pdf(), "d"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "provider_unauthorized", "{err}");
    assert!(all_envelopes(&s).await.is_empty());

    // A refreshed token is used from the next call on.
    a.set_token(SecretString::from("only-this"));
    a.create_envelope(&request(simple_pdf(), "d"))
        .await
        .unwrap();
    let err = a
        .envelope_status(&EnvelopeId::new("00000000-0000-0000-0000-00000000abcd"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ProviderError::Rejected { code, .. } if code == "ENVELOPE_DOES_NOT_EXIST"),
        "{err:?}"
    );
    // A request the provider would refuse is refused before sending.
    let mut bad = request(simple_pdf(), "d");
    bad.signers.clear();
    assert_eq!(
        a.create_envelope(&bad).await.unwrap_err().code(),
        "provider_rejected"
    );

    // Nobody listening: nothing can have happened.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let a = DocuSign::new(adapter_config(&format!("http://{addr}"), "acct")).unwrap();
    let err = a
        .create_envelope(&request(simple_pdf(), "d"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "provider_unavailable", "{err}");
}

#[tokio::test]
async fn a_lost_create_answer_is_an_unknown_outcome() {
    let s = sandbox(Config::default()).await;
    set_faults(&s, serde_json::json!({"create_response_lost": 1.0})).await;
    let err = adapter(&s)
        .create_envelope(&request(simple_pdf(), "d"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "provider_outcome_unknown", "{err}");
    assert_eq!(all_envelopes(&s).await.len(), 1, "yet the envelope exists");
}

#[tokio::test]
async fn a_503_on_create_is_unavailable() {
    let s = sandbox(Config::default()).await;
    set_faults(&s, serde_json::json!({"create_unavailable": 1.0})).await;
    let err = adapter(&s)
        .create_envelope(&request(simple_pdf(), "d"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "provider_unavailable", "{err}");
    assert!(all_envelopes(&s).await.is_empty());
}
