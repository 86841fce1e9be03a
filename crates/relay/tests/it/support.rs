use countersign_relay::{tenants, tokens, Config, DatabaseUrl, Store, TenantId};
use countersign_sign::docusign::connect::sign_body;
use serde_json::Value;
use sqlx::Connection;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The test server's URL, exported by scripts/with-postgres.sh.
const POSTGRES_URL_VAR: &str = "COUNTERSIGN_TEST_POSTGRES_URL";

/// Which database a test runs on. Most tests run on both (see [`on_both_backends`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Turns each listed `async fn NAME(backend: Backend)` of the calling module into two tests,
/// `sqlite::NAME` and `postgres::NAME`, so one body covers both stores.
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::support::Backend::Sqlite).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::support::Backend::Postgres).await
                }
            )+
        }
    };
}
pub(crate) use on_both_backends;

/// A fresh, empty database for one test: a SQLite file in a temp dir, or a new database on the
/// PostgreSQL test server (left for the throwaway cluster to take away: dropping one costs a
/// checkpoint, about a second).
pub struct TestDb {
    pub url: DatabaseUrl,
    _dir: Option<tempfile::TempDir>,
}

static DATABASES: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                TestDb {
                    url: DatabaseUrl::Sqlite(dir.path().join("relay.db")),
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let server = std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| {
                    panic!(
                        "{POSTGRES_URL_VAR} is not set, so the PostgreSQL tests cannot run: run \
                         them under scripts/with-postgres.sh, which starts a throwaway server \
                         (e.g. `scripts/with-postgres.sh cargo test -p countersign-relay`)"
                    )
                });
                let name = format!(
                    "relay_test_{}_{}",
                    std::process::id(),
                    DATABASES.fetch_add(1, Ordering::Relaxed)
                );
                let mut conn = sqlx::PgConnection::connect(&server)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("cannot reach the test server {POSTGRES_URL_VAR}: {e}")
                    });
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                conn.close().await.unwrap();
                TestDb {
                    url: DatabaseUrl::Postgres(with_database(&server, &name)),
                    _dir: None,
                }
            }
        }
    }

    /// The `--database` argument of the binary.
    pub fn cli_arg(&self) -> String {
        match &self.url {
            DatabaseUrl::Sqlite(path) => format!("sqlite:{}", path.display()),
            DatabaseUrl::Postgres(url) => url.clone(),
        }
    }

    /// Backdates an event, through a connection of its own (as an operator's SQL would).
    pub async fn set_received_at(&self, envelope_id: &str, received_at: &str) {
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let mut conn =
                    sqlx::SqliteConnection::connect(&format!("sqlite:{}", path.display()))
                        .await
                        .unwrap();
                sqlx::query("UPDATE events SET received_at = ? WHERE envelope_id = ?")
                    .bind(received_at)
                    .bind(envelope_id)
                    .execute(&mut conn)
                    .await
                    .unwrap();
                conn.close().await.unwrap();
            }
            DatabaseUrl::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::query("UPDATE events SET received_at = $1 WHERE envelope_id = $2")
                    .bind(received_at)
                    .bind(envelope_id)
                    .execute(&mut conn)
                    .await
                    .unwrap();
                conn.close().await.unwrap();
            }
        }
    }

    /// Everything the database holds, as bytes to search: every file of the SQLite database (WAL
    /// and shared memory included), or every row of the relay's tables as PostgreSQL text.
    pub async fn all_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                for entry in std::fs::read_dir(path.parent().unwrap()).unwrap() {
                    all.extend(std::fs::read(entry.unwrap().path()).unwrap());
                }
            }
            DatabaseUrl::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                for table in ["tenants", "hmac_secrets", "tokens", "events"] {
                    let rows: Vec<(String,)> =
                        sqlx::query_as(&format!("SELECT t::text FROM {table} t"))
                            .fetch_all(&mut conn)
                            .await
                            .unwrap();
                    for (row,) in rows {
                        all.extend(row.into_bytes());
                        all.push(b'\n');
                    }
                }
                conn.close().await.unwrap();
            }
        }
        all
    }
}

/// `url` with its database name replaced by `name` (query options kept).
fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a postgres:// URL");
    let path_start = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(path_start);
    let query = tail.find('?').map_or("", |i| &tail[i..]);
    format!("{scheme}://{authority}/{name}{query}")
}

pub struct Relay {
    pub url: String,
    pub db: Arc<TestDb>,
    /// A second handle on the same database, for administration and inspection.
    pub store: Store,
    pub client: reqwest::Client,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<Result<(), countersign_relay::RelayError>>>,
}

pub async fn start(backend: Backend) -> Relay {
    start_with(backend, |_| {}).await
}

pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Relay {
    start_on(Arc::new(TestDb::new(backend).await), tweak).await
}

/// A relay in-process on port 0 over `db`, which other relays may share.
pub async fn start_on(db: Arc<TestDb>, tweak: impl FnOnce(&mut Config)) -> Relay {
    countersign_sign::tls::install_crypto_provider();
    let mut config = Config::new(db.url.clone());
    tweak(&mut config);
    // Migrate first so the admin handle and the server agree on the schema from the start.
    let store = Store::open(&db.url).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(countersign_relay::run(config, listener, shutdown.clone()));
    Relay {
        url: format!("http://{addr}"),
        db,
        store,
        client: reqwest::Client::new(),
        shutdown,
        task: Some(task),
    }
}

impl Relay {
    /// Another relay instance on the same database (a second server behind the load balancer).
    pub async fn start_another(&self) -> Relay {
        start_on(self.db.clone(), |_| {}).await
    }

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
        post_hook(&self.client, &self.url, tenant, body, signatures)
            .await
            .unwrap()
    }

    /// Posts `body` signed with `secret` in `X-DocuSign-Signature-1`.
    pub async fn post_signed(&self, tenant: &str, secret: &str, body: &str) -> (u16, Value) {
        self.post_hook(tenant, body, &[sig(secret, body)]).await
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

/// Posts `body` to `{base}/hooks/docusign/{tenant}`; `Err` when the relay did not answer.
pub async fn post_hook(
    client: &reqwest::Client,
    base: &str,
    tenant: &str,
    body: &str,
    signatures: &[String],
) -> reqwest::Result<(u16, Value)> {
    let mut req = client
        .post(format!("{base}/hooks/docusign/{tenant}"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (i, sig) in signatures.iter().enumerate() {
        req = req.header(format!("X-DocuSign-Signature-{}", i + 1), sig);
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    // A reply cut off by a crash is no answer either.
    let bytes = resp.bytes().await?;
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
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

/// The same notification as Connect retries it: other bytes (`retryCount`), same event.
pub fn retried(body: &str, retry: u32) -> String {
    let retried = body.replace("\"retryCount\":0", &format!("\"retryCount\":{retry}"));
    assert_ne!(retried, body);
    retried
}

pub fn sig(secret: &str, body: &str) -> String {
    sign_body(secret.as_bytes(), body.as_bytes())
}

pub const BIN: &str = env!("CARGO_BIN_EXE_countersign-relay");

/// A `countersign-relay serve` child process on a free port; its stderr is drained (and kept
/// for failure messages) by a thread.
pub struct ServeProcess {
    pub child: Child,
    pub url: String,
    pub log: Arc<std::sync::Mutex<String>>,
}

impl ServeProcess {
    pub fn start(database: &str) -> ServeProcess {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--database", database])
            .env("RUST_LOG", "warn")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut log = String::new();
        let url = loop {
            let mut line = String::new();
            if stderr.read_line(&mut line).unwrap() == 0 {
                let _ = child.wait();
                panic!("countersign-relay serve exited before listening:\n{log}");
            }
            log.push_str(&line);
            if let Some(url) = line.trim().strip_prefix("countersign-relay listening on ") {
                break url.to_owned();
            }
        };
        let log = Arc::new(std::sync::Mutex::new(log));
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = stderr.read_to_string(&mut rest);
            sink.lock().unwrap().push_str(&rest);
        });
        ServeProcess { child, url, log }
    }

    /// SIGKILL: no shutdown, no flushing, as in a crash or an OOM kill.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
