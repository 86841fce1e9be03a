use countersign_sandbox::{Config, Running};
use countersign_sign::docusign::{DocuSign, DocuSignConfig};
use countersign_sign::{
    idempotency_key, Anchor, CarbonCopy, EnvelopeRequest, Position, SecretString, Signer,
};
use std::collections::BTreeMap;
use std::time::Duration;

pub const TOKEN: &str = "tok-9f3c1e-never-log-me";

pub async fn sandbox(config: Config) -> Running {
    countersign_sandbox::start(config, "127.0.0.1:0")
        .await
        .expect("the sandbox starts")
}

/// The adapter's settings for `base_url`, with a rate limit tests do not notice.
pub fn adapter_config(base_url: &str, account_id: &str) -> DocuSignConfig {
    let mut c = DocuSignConfig::new(base_url, account_id, SecretString::from(TOKEN));
    c.calls_per_hour = 1_000_000;
    c.burst = 100_000;
    c.request_timeout = Duration::from_secs(20);
    c
}

pub fn adapter(s: &Running) -> DocuSign {
    DocuSign::new(adapter_config(&s.base_url, &s.account_id)).unwrap()
}

/// A one-page PDF with a real text layer that contains "Signature:".
pub fn simple_pdf() -> Vec<u8> {
    countersign_sandbox::pdf::text_document(&[
        (14.0, "Mutual non-disclosure agreement".into()),
        (12.0, String::new()),
        (12.0, "Signature:".into()),
    ])
    .unwrap()
}

fn anchor(on_document: bool) -> Anchor {
    Anchor {
        anchor_text: "Signature:".into(),
        x_offset: 80.0,
        y_offset: 0.0,
        on_document,
        fallback: Position {
            page_number: 1,
            x: 300.0,
            y: 650.0,
        },
    }
}

/// Jane signs at the anchor, then Lee at the fallback place; Archive gets a copy.
pub fn request(pdf: Vec<u8>, document: &str) -> EnvelopeRequest {
    EnvelopeRequest {
        pdf,
        document_name: format!("{document}.pdf"),
        email_subject: "Please sign the NDA".into(),
        email_blurb: Some("Sent by Countersign".into()),
        signers: vec![
            Signer {
                role: "counterparty".into(),
                name: "Jane Doe".into(),
                email: "jane@example.com".into(),
                routing_order: 1,
                anchors: vec![anchor(true)],
            },
            Signer {
                role: "legal".into(),
                name: "Lee Roe".into(),
                email: "lee@example.com".into(),
                routing_order: 2,
                anchors: vec![anchor(false)],
            },
        ],
        carbon_copies: vec![CarbonCopy {
            role: "archive".into(),
            name: "Archive".into(),
            email: "archive@example.com".into(),
            routing_order: 3,
        }],
        idempotency_key: idempotency_key(document, 1, "nda:legal"),
        metadata: BTreeMap::from([("countersign_document_id".into(), document.into())]),
    }
}

pub fn http() -> reqwest::Client {
    countersign_sign::tls::install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs as `recipient` on the sandbox's signing page; returns the HTTP status.
pub async fn sign_on_page(s: &Running, envelope_id: &str, recipient: &str) -> u16 {
    http()
        .post(format!(
            "{}/sign/{envelope_id}/{recipient}/sign",
            s.base_url
        ))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// `GET /_sandbox/envelopes`.
pub async fn all_envelopes(s: &Running) -> Vec<serde_json::Value> {
    let v: serde_json::Value = http()
        .get(format!("{}/_sandbox/envelopes", s.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["envelopes"].as_array().unwrap().clone()
}

pub async fn set_faults(s: &Running, faults: serde_json::Value) {
    let r = http()
        .post(format!("{}/_sandbox/faults", s.base_url))
        .json(&faults)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

pub async fn sandbox_stats(s: &Running) -> serde_json::Value {
    http()
        .get(format!("{}/_sandbox/stats", s.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
