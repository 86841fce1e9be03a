use crate::support::{connect_body, on_both_backends, sig, start, Backend};

async fn a_genuine_event_is_stored_and_delivered(backend: Backend) {
    let relay = start(backend).await;
    relay.add_tenant("acme", "s3cret").await;
    let token = relay.token("acme", "desk-1").await;
    let body = connect_body("envelope-completed", "E-1", "2025-06-01T10:00:00.000Z");
    let (status, reply) = relay.post_signed("acme", "s3cret", &body).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["status"], "stored");

    let (status, page) = relay.events(&token, "after=0").await;
    assert_eq!(status, 200);
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e["tenant"], "acme");
    assert_eq!(e["event"], "envelope-completed");
    assert_eq!(e["envelope_id"], "E-1");
    assert_eq!(e["generated_at"], "2025-06-01T10:00:00.000Z");
    assert!(e["received_at"].as_str().unwrap().ends_with('Z'));
    // The body comes back as the JSON that was signed.
    let original: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(e["body"], original);
    assert_eq!(page["next_cursor"], e["cursor"]);
    relay.stop().await;
}

async fn a_forged_signature_gets_401_and_nothing_is_stored(backend: Backend) {
    let relay = start(backend).await;
    relay.add_tenant("acme", "s3cret").await;
    let body = connect_body("envelope-completed", "E-1", "2025-06-01T10:00:00Z");
    let (status, reply) = relay.post_hook("acme", &body, &[sig("wrong", &body)]).await;
    assert_eq!(status, 401);
    assert_eq!(reply["code"], "invalid_signature");
    assert!(reply["message"].is_string());
    // Signed for other bytes than those sent.
    let other = connect_body("envelope-voided", "E-1", "2025-06-01T10:00:00Z");
    let (status, _) = relay
        .post_hook("acme", &body, &[sig("s3cret", &other)])
        .await;
    assert_eq!(status, 401);
    let (status, _) = relay
        .post_hook("acme", &body, &["not base64!".into()])
        .await;
    assert_eq!(status, 401);
    assert_eq!(relay.stored_count("acme").await, 0);
    relay.stop().await;
}

async fn an_unsigned_event_gets_401(backend: Backend) {
    let relay = start(backend).await;
    relay.add_tenant("acme", "s3cret").await;
    let body = connect_body("envelope-completed", "E-1", "2025-06-01T10:00:00Z");
    let (status, reply) = relay.post_hook("acme", &body, &[]).await;
    assert_eq!(status, 401);
    assert_eq!(reply["code"], "missing_signature");
    assert_eq!(relay.stored_count("acme").await, 0);
    relay.stop().await;
}

async fn an_unknown_tenant_gets_401(backend: Backend) {
    let relay = start(backend).await;
    relay.add_tenant("acme", "s3cret").await;
    let body = connect_body("envelope-completed", "E-1", "2025-06-01T10:00:00Z");
    let (status, reply) = relay.post_signed("nobody", "s3cret", &body).await;
    assert_eq!(status, 401);
    assert_eq!(reply["code"], "invalid_signature");
    assert_eq!(relay.stored_count("nobody").await, 0);
    relay.stop().await;
}

async fn rotation_accepts_old_and_new_secret_until_the_old_is_retired(backend: Backend) {
    let relay = start(backend).await;
    relay.add_tenant("acme", "old").await;
    relay.add_tenant("acme", "new").await;
    let a = connect_body("envelope-sent", "E-1", "2025-06-01T10:00:00Z");
    let b = connect_body("envelope-sent", "E-2", "2025-06-01T10:00:01Z");
    let c = connect_body("envelope-sent", "E-3", "2025-06-01T10:00:02Z");
    assert_eq!(relay.post_signed("acme", "old", &a).await.0, 200);
    assert_eq!(relay.post_signed("acme", "new", &b).await.0, 200);
    // Connect during rotation: several signature headers, any one verifying is enough.
    let (status, _) = relay
        .post_hook("acme", &c, &[sig("unrelated", &c), sig("new", &c)])
        .await;
    assert_eq!(status, 200);
    assert_eq!(relay.stored_count("acme").await, 3);

    let acme = countersign_relay::TenantId::parse("acme").unwrap();
    assert!(
        countersign_relay::tenants::retire_secret(&relay.store, &acme, "old")
            .await
            .unwrap()
    );
    let d = connect_body("envelope-sent", "E-4", "2025-06-01T10:00:03Z");
    assert_eq!(relay.post_signed("acme", "old", &d).await.0, 401);
    assert_eq!(relay.post_signed("acme", "new", &d).await.0, 200);
    relay.stop().await;
}

async fn a_duplicate_gets_200_and_is_delivered_once(backend: Backend) {
    let relay = start(backend).await;
    relay.add_tenant("acme", "s3cret").await;
    let token = relay.token("acme", "desk").await;
    let body = connect_body("envelope-completed", "E-1", "2025-06-01T10:00:00Z");
    assert_eq!(
        relay.post_signed("acme", "s3cret", &body).await.1["status"],
        "stored"
    );
    let (status, reply) = relay.post_signed("acme", "s3cret", &body).await;
    assert_eq!(status, 200);
    assert_eq!(reply["status"], "duplicate");
    // A Connect retry: same notification, bumped retryCount, different bytes.
    let retry = body.replace("\"retryCount\":0", "\"retryCount\":1");
    assert_ne!(retry, body);
    assert_eq!(
        relay.post_signed("acme", "s3cret", &retry).await.1["status"],
        "duplicate"
    );
    let (_, page) = relay.events(&token, "after=0").await;
    assert_eq!(page["events"].as_array().unwrap().len(), 1);
    relay.stop().await;
}

async fn an_oversized_body_gets_413(backend: Backend) {
    let relay = start(backend).await;
    relay.add_tenant("acme", "s3cret").await;
    let padding = "x".repeat(1024 * 1024);
    let body = format!(
        r#"{{"event":"envelope-sent","generatedDateTime":"2025-06-01T10:00:00Z","data":{{"envelopeId":"E-1"}},"pad":"{padding}"}}"#
    );
    let (status, reply) = relay.post_signed("acme", "s3cret", &body).await;
    assert_eq!(status, 413);
    assert_eq!(reply["code"], "too_large");
    assert_eq!(relay.stored_count("acme").await, 0);
    relay.stop().await;
}

async fn a_malformed_event_gets_400(backend: Backend) {
    let relay = start(backend).await;
    relay.add_tenant("acme", "s3cret").await;
    for body in [
        "not json",
        r#"{"event":"envelope-sent"}"#,
        r#"{"data":{"envelopeId":"E-1"}}"#,
        r#"{"event":"envelope-sent","data":{"envelopeId":""}}"#,
        r#"[1,2,3]"#,
    ] {
        let (status, reply) = relay.post_signed("acme", "s3cret", body).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(reply["code"], "malformed_event", "{body}");
    }
    assert_eq!(relay.stored_count("acme").await, 0);
    relay.stop().await;
}

on_both_backends!(
    a_genuine_event_is_stored_and_delivered,
    a_forged_signature_gets_401_and_nothing_is_stored,
    an_unsigned_event_gets_401,
    an_unknown_tenant_gets_401,
    rotation_accepts_old_and_new_secret_until_the_old_is_retired,
    a_duplicate_gets_200_and_is_delivered_once,
    an_oversized_body_gets_413,
    a_malformed_event_gets_400,
);
