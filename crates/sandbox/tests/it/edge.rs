use crate::support::*;
use countersign_sandbox::Config;
use countersign_sign::SecretString;
use serde_json::{json, Value};

/// (status, errorCode) of a POST of `body` (raw bytes) with `token`.
async fn post_raw(url: &str, token: Option<&str>, body: Vec<u8>) -> (u16, Value) {
    let mut req = http()
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn code(v: &Value) -> &str {
    v["errorCode"].as_str().unwrap_or("<no errorCode>")
}

#[tokio::test]
async fn malformed_or_incomplete_definitions_get_docusign_errors() {
    let s = start_default().await;
    let url = envelopes_url(&s);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut d = definition("k");
        f(&mut d);
        serde_json::to_vec(&d).unwrap()
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "not JSON",
            b"{\"emailSubject\": ".to_vec(),
            "INVALID_REQUEST_BODY",
        ),
        ("empty body", Vec::new(), "INVALID_REQUEST_BODY"),
        (
            "wrong type",
            br#"{"documents": "x"}"#.to_vec(),
            "INVALID_REQUEST_BODY",
        ),
        (
            "no documents",
            with(&|d| d["documents"] = json!([])),
            "ENVELOPE_IS_INCOMPLETE",
        ),
        (
            "no documentBase64",
            with(&|d| {
                d["documents"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("documentBase64")
                    .map(|_| ())
                    .unwrap()
            }),
            "ENVELOPE_IS_INCOMPLETE",
        ),
        (
            "bad base64",
            with(&|d| d["documents"][0]["documentBase64"] = json!("%%%not base64")),
            "INVALID_REQUEST_BODY",
        ),
        (
            "not a PDF",
            with(&|d| d["documents"][0]["documentBase64"] = json!(b64(b"\x89PNG\r\n\x1a\n...."))),
            "FORMAT_CONVERSION_ERROR",
        ),
        (
            "corrupt PDF",
            with(&|d| d["documents"][0]["documentBase64"] = json!(b64(b"%PDF-1.7 garbage"))),
            "FORMAT_CONVERSION_ERROR",
        ),
        (
            "docx",
            with(&|d| d["documents"][0]["fileExtension"] = json!("docx")),
            "FORMAT_CONVERSION_ERROR",
        ),
        (
            "no subject",
            with(&|d| d["emailSubject"] = json!("")),
            "ENVELOPE_IS_INCOMPLETE",
        ),
        (
            "no signers",
            with(&|d| d["recipients"]["signers"] = json!([])),
            "ENVELOPE_IS_INCOMPLETE",
        ),
        (
            "bad email",
            with(&|d| d["recipients"]["signers"][0]["email"] = json!("jane")),
            "INVALID_EMAIL_ADDRESS_FOR_RECIPIENT",
        ),
        (
            "duplicate recipient id",
            with(&|d| d["recipients"]["signers"][1]["recipientId"] = json!("1")),
            "INVALID_RECIPIENT_ID",
        ),
        (
            "tab on a missing page",
            with(&|d| {
                d["recipients"]["signers"][1]["tabs"]["signHereTabs"][0]["pageNumber"] = json!("9")
            }),
            "TAB_PAGENUMBER_IS_NOT_IN_DOCUMENT",
        ),
        (
            "tab on a missing document",
            with(&|d| {
                d["recipients"]["signers"][1]["tabs"]["signHereTabs"][0]["documentId"] = json!("7")
            }),
            "TAB_REFERS_TO_MISSING_DOCUMENT",
        ),
        (
            "required anchor absent",
            with(&|d| {
                let tab = &mut d["recipients"]["signers"][0]["tabs"]["signHereTabs"][0];
                tab["anchorString"] = json!("Initials here");
                tab["anchorIgnoreIfNotPresent"] = json!("false");
            }),
            "ANCHOR_TAB_STRING_NOT_FOUND",
        ),
    ];
    for (what, body, expected) in cases {
        let (status, v) = post_raw(&url, Some(TOKEN), body).await;
        assert_eq!(status, 400, "{what}: {v}");
        assert_eq!(code(&v), expected, "{what}: {v}");
        assert!(
            v["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}"
        );
    }
    assert!(
        admin_envelopes(&s).await.is_empty(),
        "nothing refused was stored"
    );
}

#[tokio::test]
async fn absent_anchor_is_fine_when_it_may_be_ignored() {
    let s = start_default().await;
    let mut d = definition("k");
    d["recipients"]["signers"][0]["tabs"]["signHereTabs"][0]["anchorString"] =
        json!("Not on the page");
    let (status, v) = post_envelope(&s, &d).await;
    assert_eq!(status, 201, "{v}");
}

#[tokio::test]
async fn missing_or_wrong_credentials_and_unknown_accounts_are_refused() {
    let s = start(Config {
        token: Some(SecretString::from("the-one-token")),
        ..Config::default()
    })
    .await;
    let body = serde_json::to_vec(&definition("k")).unwrap();
    let url = envelopes_url(&s);
    let (status, v) = post_raw(&url, None, body.clone()).await;
    assert_eq!((status, code(&v)), (401, "USER_AUTHENTICATION_FAILED"));
    let (status, v) = post_raw(&url, Some("another-token"), body.clone()).await;
    assert_eq!((status, code(&v)), (401, "USER_AUTHENTICATION_FAILED"));
    let r = http()
        .get(&url)
        .header("authorization", "Basic dXNlcjpwdw==")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let other_account = url.replace(&s.account_id, "11111111-2222-3333-4444-555555555555");
    let (status, v) = post_raw(&other_account, Some("the-one-token"), body.clone()).await;
    assert_eq!((status, code(&v)), (400, "USER_LACKS_MEMBERSHIP"));
    let (status, v) = post_raw(&url, Some("the-one-token"), body).await;
    assert_eq!(status, 201, "{v}");
}

#[tokio::test]
async fn any_non_empty_token_is_accepted_without_a_fixed_one() {
    let s = start_default().await;
    let body = serde_json::to_vec(&definition("k")).unwrap();
    let (status, _) = post_raw(&envelopes_url(&s), Some("whatever"), body.clone()).await;
    assert_eq!(status, 201);
    let r = http()
        .post(envelopes_url(&s))
        .header("authorization", "Bearer ")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_with_413() {
    let s = start(Config {
        max_body_bytes: 4096,
        ..Config::default()
    })
    .await;
    let big = vec![b' '; 10_000];
    let (status, v) = post_raw(&envelopes_url(&s), Some(TOKEN), big).await;
    assert_eq!((status, code(&v)), (413, "REQUEST_ENTITY_TOO_LARGE"));
}

#[tokio::test]
async fn unknown_envelopes_and_routes_get_docusign_errors() {
    let s = start_default().await;
    let r = http()
        .get(format!(
            "{}/00000000-0000-0000-0000-000000000000",
            envelopes_url(&s)
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(code(&v), "ENVELOPE_DOES_NOT_EXIST");
    let r = http()
        .get(format!(
            "{}/restapi/v2.1/accounts/{}/users",
            s.base_url, s.account_id
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(code(&v), "RESOURCE_NOT_FOUND");
}

#[tokio::test]
async fn listing_requires_from_date_and_finds_by_custom_field_at_once() {
    let s = start_default().await;
    let r = http()
        .get(envelopes_url(&s))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let a = create(&s, "key-a").await;
    let _b = create(&s, "key-b").await;
    let r: Value = http()
        .get(envelopes_url(&s))
        .query(&[
            ("from_date", "2000-01-01"),
            ("custom_field", "countersign_idempotency_key=key-a"),
            ("include", "custom_fields"),
        ])
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["resultSetSize"], "1", "{r}");
    assert_eq!(r["envelopes"][0]["envelopeId"], a.as_str());
    assert_eq!(
        r["envelopes"][0]["customFields"]["textCustomFields"][0]["value"],
        "key-a"
    );
    // A from_date after creation finds nothing.
    let r: Value = http()
        .get(envelopes_url(&s))
        .query(&[
            ("from_date", "2999-01-01"),
            ("custom_field", "countersign_idempotency_key=key-a"),
        ])
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["resultSetSize"], "0");
}
