use base64::Engine;
use countersign_sandbox::{Config, Running};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

pub const TOKEN: &str = "test-token";

pub async fn start(config: Config) -> Running {
    countersign_sandbox::start(config, "127.0.0.1:0")
        .await
        .expect("the sandbox starts")
}

pub async fn start_default() -> Running {
    start(Config::default()).await
}

/// A plain HTTP client that does not follow redirects (the signing page answers 303).
pub fn http() -> reqwest::Client {
    countersign_sign::tls::install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn envelopes_url(s: &Running) -> String {
    format!(
        "{}/restapi/v2.1/accounts/{}/envelopes",
        s.base_url, s.account_id
    )
}

/// A one-page PDF with a real text layer: "Agreement" and, lower down, "Signature:".
pub fn pdf() -> Vec<u8> {
    countersign_sandbox::pdf::text_document(&[
        (14.0, "Agreement between the parties".into()),
        (12.0, String::new()),
        (12.0, "Signature:".into()),
    ])
    .expect("PDFium writes a PDF")
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Two signers in routing order (1 by anchor, 2 at a fixed place) and a carbon copy.
pub fn definition(key: &str) -> Value {
    json!({
        "emailSubject": "Please sign the agreement",
        "emailBlurb": "Thanks",
        "status": "sent",
        "documents": [{"documentBase64": b64(&pdf()), "documentId": "1", "name": "agreement.pdf", "fileExtension": "pdf"}],
        "recipients": {
            "signers": [
                {"email": "jane@example.com", "name": "Jane Doe", "recipientId": "1", "routingOrder": "1", "roleName": "counterparty",
                 "tabs": {"signHereTabs": [{"anchorString": "Signature:", "anchorXOffset": "80", "anchorYOffset": "0", "anchorUnits": "pixels", "anchorIgnoreIfNotPresent": "true"}]}},
                {"email": "lee@example.com", "name": "Lee Roe", "recipientId": "2", "routingOrder": "2", "roleName": "legal",
                 "tabs": {"signHereTabs": [{"documentId": "1", "pageNumber": "1", "xPosition": "300", "yPosition": "600"}]}}
            ],
            "carbonCopies": [{"email": "archive@example.com", "name": "Archive", "recipientId": "3", "routingOrder": "3"}]
        },
        "customFields": {"textCustomFields": [{"name": "countersign_idempotency_key", "value": key, "show": "false", "required": "false"}]}
    })
}

/// POSTs a definition; returns (status, JSON body).
pub async fn post_envelope(s: &Running, body: &Value) -> (u16, Value) {
    let r = http()
        .post(envelopes_url(s))
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub async fn create(s: &Running, key: &str) -> String {
    let (status, body) = post_envelope(s, &definition(key)).await;
    assert_eq!(status, 201, "{body}");
    body["envelopeId"].as_str().unwrap().to_owned()
}

pub async fn get_envelope(s: &Running, id: &str) -> Value {
    http()
        .get(format!(
            "{}/{id}?include=recipients,custom_fields",
            envelopes_url(s)
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub async fn status_of(s: &Running, id: &str) -> String {
    get_envelope(s, id).await["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub async fn admin_envelopes(s: &Running) -> Vec<Value> {
    let v: Value = http()
        .get(format!("{}/_sandbox/envelopes", s.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["envelopes"].as_array().unwrap().clone()
}

pub async fn stats(s: &Running) -> Value {
    http()
        .get(format!("{}/_sandbox/stats", s.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub async fn sign(s: &Running, id: &str, recipient: &str) -> u16 {
    http()
        .post(format!("{}/sign/{id}/{recipient}/sign", s.base_url))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Polls until `check` holds (or panics after `secs`).
pub async fn eventually<F, Fut>(secs: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if check().await {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// One webhook as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub signature: Option<String>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A webhook receiver on port 0 that records what it gets and answers 500 to the first
/// `fail_first` requests.
pub struct Receiver {
    pub url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
    _shutdown: tokio_util::sync::CancellationToken,
}

impl Receiver {
    pub async fn start(fail_first: usize) -> Receiver {
        use axum::http::{HeaderMap, StatusCode};
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let failures = Arc::new(Mutex::new(fail_first));
        let store = received.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let store = store.clone();
                let failures = failures.clone();
                async move {
                    {
                        let mut f = failures.lock().unwrap();
                        if *f > 0 {
                            *f -= 1;
                            return StatusCode::INTERNAL_SERVER_ERROR;
                        }
                    }
                    store.lock().unwrap().push(Received {
                        signature: headers
                            .get("x-docusign-signature-1")
                            .map(|v| v.to_str().unwrap().to_owned()),
                        body: body.to_vec(),
                    });
                    StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let shutdown = tokio_util::sync::CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
                .unwrap()
        });
        Receiver {
            url,
            received,
            _shutdown: shutdown,
        }
    }

    pub fn events(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.json()["event"].as_str().unwrap().to_owned())
            .collect()
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }
}
