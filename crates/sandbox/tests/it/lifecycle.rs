use crate::support::*;
use countersign_sandbox::Config;
use serde_json::{json, Value};
use std::time::Duration;

fn recipient<'a>(env: &'a Value, id: &str) -> &'a Value {
    let r = &env["recipients"];
    r["signers"]
        .as_array()
        .unwrap()
        .iter()
        .chain(r["carbonCopies"].as_array().unwrap())
        .find(|x| x["recipientId"] == id)
        .unwrap()
}

#[tokio::test]
async fn signers_sign_in_routing_order_and_the_envelope_completes() {
    let s = start_default().await;
    let id = create(&s, "k").await;
    let env = get_envelope(&s, &id).await;
    assert_eq!(env["status"], "sent");
    assert_eq!(recipient(&env, "1")["status"], "sent");
    assert_eq!(recipient(&env, "2")["status"], "created");
    assert_eq!(env["recipients"]["currentRoutingOrder"], "1");

    assert_eq!(
        sign(&s, &id, "2").await,
        409,
        "recipient 2 cannot sign before 1"
    );
    assert_eq!(status_of(&s, &id).await, "sent");

    assert_eq!(sign(&s, &id, "1").await, 303);
    let env = get_envelope(&s, &id).await;
    assert_eq!(env["status"], "delivered");
    assert_eq!(recipient(&env, "1")["status"], "completed");
    assert!(recipient(&env, "1")["signedDateTime"].is_string());
    assert_eq!(recipient(&env, "2")["status"], "sent");
    assert_eq!(sign(&s, &id, "1").await, 409, "no signing twice");

    assert_eq!(sign(&s, &id, "2").await, 303);
    let env = get_envelope(&s, &id).await;
    assert_eq!(env["status"], "completed");
    assert!(env["completedDateTime"].is_string());
    assert_eq!(
        recipient(&env, "3")["status"],
        "completed",
        "the copy goes out"
    );
    assert_eq!(sign(&s, &id, "3").await, 409, "a carbon copy signs nothing");
}

#[tokio::test]
async fn signers_with_the_same_order_sign_in_any_order() {
    let s = start_default().await;
    let mut d = definition("k");
    d["recipients"]["signers"][1]["routingOrder"] = json!("1");
    let (_, v) = post_envelope(&s, &d).await;
    let id = v["envelopeId"].as_str().unwrap();
    assert_eq!(sign(&s, id, "2").await, 303);
    assert_eq!(status_of(&s, id).await, "delivered");
    assert_eq!(sign(&s, id, "1").await, 303);
    assert_eq!(status_of(&s, id).await, "completed");
}

#[tokio::test]
async fn opening_the_page_marks_the_recipient_and_envelope_delivered() {
    let s = start_default().await;
    let id = create(&s, "k").await;
    let page = http()
        .get(format!("{}/sign/{id}/2", s.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("Waiting for Jane Doe"));
    assert_eq!(
        status_of(&s, &id).await,
        "sent",
        "not their turn: nothing changes"
    );
    let _ = http()
        .get(format!("{}/sign/{id}/1", s.base_url))
        .send()
        .await
        .unwrap();
    let env = get_envelope(&s, &id).await;
    assert_eq!(env["status"], "delivered");
    assert_eq!(recipient(&env, "1")["status"], "delivered");
    assert!(env["deliveredDateTime"].is_string());
}

#[tokio::test]
async fn declining_declines_the_envelope() {
    let s = start_default().await;
    let id = create(&s, "k").await;
    let r = http()
        .post(format!("{}/sign/{id}/1/decline", s.base_url))
        .form(&[("reason", "Wrong party name")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let env = get_envelope(&s, &id).await;
    assert_eq!(env["status"], "declined");
    assert_eq!(recipient(&env, "1")["declinedReason"], "Wrong party name");
    assert_eq!(sign(&s, &id, "1").await, 409);
}

async fn put(s: &countersign_sandbox::Running, id: &str, body: Value) -> (u16, Value) {
    let r = http()
        .put(format!("{}/{id}", envelopes_url(s)))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn voiding_works_once_and_only_while_open() {
    let s = start_default().await;
    let id = create(&s, "k").await;
    let (status, v) = put(&s, &id, json!({"status": "voided"})).await;
    assert_eq!(status, 400, "a reason is required: {v}");
    let (status, v) = put(
        &s,
        &id,
        json!({"status": "voided", "voidedReason": "Sent by mistake"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["envelopeId"], id.as_str());
    let env = get_envelope(&s, &id).await;
    assert_eq!(env["status"], "voided");
    assert_eq!(env["voidedReason"], "Sent by mistake");
    assert_eq!(
        sign(&s, &id, "1").await,
        409,
        "a voided envelope cannot be signed"
    );
    let (status, v) = put(
        &s,
        &id,
        json!({"status": "voided", "voidedReason": "again"}),
    )
    .await;
    assert_eq!(
        (status, v["errorCode"].as_str()),
        (400, Some("ENVELOPE_CANNOT_VOID_INVALID_STATE"))
    );
    let (status, _) = put(&s, &id, json!({"emailSubject": "x"})).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_draft_is_sent_by_update() {
    let s = start_default().await;
    let mut d = definition("k");
    d["status"] = json!("created");
    let (status, v) = post_envelope(&s, &d).await;
    assert_eq!((status, v["status"].as_str()), (201, Some("created")));
    let id = v["envelopeId"].as_str().unwrap();
    assert_eq!(sign(&s, id, "1").await, 409, "a draft cannot be signed");
    let (status, _) = put(&s, id, json!({"status": "sent"})).await;
    assert_eq!(status, 200);
    assert_eq!(status_of(&s, id).await, "sent");
    assert_eq!(sign(&s, id, "1").await, 303);
}

#[tokio::test]
async fn auto_sign_completes_envelopes_in_routing_order() {
    let s = start(Config {
        auto_sign: Some(Duration::from_millis(30)),
        ..Config::default()
    })
    .await;
    let id = create(&s, "k").await;
    eventually(10, "auto-sign to complete the envelope", || async {
        status_of(&s, &id).await == "completed"
    })
    .await;
    let env = get_envelope(&s, &id).await;
    let t1 = recipient(&env, "1")["signedDateTime"]
        .as_str()
        .unwrap()
        .to_owned();
    let t2 = recipient(&env, "2")["signedDateTime"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(t1 < t2, "signer 1 ({t1}) before signer 2 ({t2})");
}
