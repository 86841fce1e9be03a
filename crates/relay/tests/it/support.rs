use countersign_relay::{tenants, tokens, Config, DatabaseUrl, Store, TenantId};
use countersign_sign::docusign::connect::sign_body;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct Relay {
    pub url: String,
    pub db_path: PathBuf,
    /// A second handle on the same database, for administration and inspection.
    pub store: Store,
    pub client: reqwest::Client,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<Result<(), countersign_relay::RelayError>>>,
    _dir: tempfile::TempDir,
}

pub async fn start() -> Relay {
    start_with(|_| {}).await
}

pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Relay {
    countersign_sign::tls::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("relay.db");
    let url = DatabaseUrl::Sqlite(db_path.clone());
    let mut config = Config::new(url.clone());
    tweak(&mut config);
    // Migrate first so the admin handle and the server agree on the schema from the start.
    let store = Store::open(&url).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(countersign_relay::run(config, listener, shutdown.clone()));
    Relay {
        url: format!("http://{addr}"),
        db_path,
        store,
        client: reqwest::Client::new(),
        shutdown,
        task: Some(task),
        _dir: dir,
    }
}

impl Relay {
    pub async fn add_tenant(&self, tenant: &str, secret: &str) {
        tenants::add_secret(&self.store, &TenantId::parse(tenant).unwrap(), secret)
            .await
            .unwrap();
    }

    pub async fn token(&self, tenant: &str, name: &str) -> String {
        tokens::create_token(&self.store, &TenantId::parse(tenant).unwrap(), name)
            .await
            .unwrap()
    }

    /// Posts `body` to the tenant's hook with the given signature headers (`-1`, `-2`, …).
    pub async fn post_hook(&self, tenant: &str, body: &str, signatures: &[String]) -> (u16, Value) {
        let mut req = self
            .client
            .post(format!("{}/hooks/docusign/{tenant}", self.url))
            .header("content-type", "application/json")
            .body(body.to_owned());
        for (i, sig) in signatures.iter().enumerate() {
            req = req.header(format!("X-DocuSign-Signature-{}", i + 1), sig);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Posts `body` signed with `secret` in `X-DocuSign-Signature-1`.
    pub async fn post_signed(&self, tenant: &str, secret: &str, body: &str) -> (u16, Value) {
        self.post_hook(
            tenant,
            body,
            &[sign_body(secret.as_bytes(), body.as_bytes())],
        )
        .await
    }

    pub async fn events(&self, token: &str, query: &str) -> (u16, Value) {
        let resp = self
            .client
            .get(format!("{}/v1/events?{query}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Events stored for `tenant`, read straight from the database.
    pub async fn stored_count(&self, tenant: &str) -> usize {
        self.store
            .events_after(tenant, 0, 10_000)
            .await
            .unwrap()
            .len()
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("relay stops")
                .unwrap()
                .unwrap();
        }
        self.store.close().await;
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A Connect event body as the sandbox and DocuSign send it.
pub fn connect_body(event: &str, envelope_id: &str, generated: &str) -> String {
    serde_json::json!({
        "event": event,
        "apiVersion": "v2.1",
        "uri": format!("/restapi/v2.1/accounts/acc/envelopes/{envelope_id}"),
        "retryCount": 0,
        "configurationId": 7,
        "generatedDateTime": generated,
        "data": {
            "accountId": "acc",
            "envelopeId": envelope_id,
            "envelopeSummary": {"status": event.trim_start_matches("envelope-")}
        }
    })
    .to_string()
}

pub fn sig(secret: &str, body: &str) -> String {
    sign_body(secret.as_bytes(), body.as_bytes())
}
