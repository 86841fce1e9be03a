//! `countersign sync`, headless: with a relay (URL and workstation token from the environment)
//! it pulls the provider's webhooks and applies them; without the token it says so.

mod support;

use std::time::{Duration, Instant};
use support::{arg, corpus, describe, one_json_line, Env};
use tokio_util::sync::CancellationToken;

const SECRET: &str = "connect-secret-of-the-cli-test";

/// The relay in-process on a free port, one tenant (`default`, the Connect secret) and a
/// workstation token.
async fn start_relay(
    dir: &std::path::Path,
) -> (
    String,
    String,
    CancellationToken,
    tokio::task::JoinHandle<Result<(), countersign_relay::RelayError>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stop = CancellationToken::new();
    let relay = countersign_relay::start(
        countersign_relay::Config::new(countersign_relay::DatabaseUrl::Sqlite(
            dir.join("relay.db"),
        )),
        listener,
        &countersign_relay::TenantId::parse("default").unwrap(),
        SECRET,
        "cli",
        stop.clone(),
    )
    .await
    .unwrap();
    (relay.url, relay.token, stop, relay.task)
}

/// POSTs the sandbox signing page's "Sign" form for one recipient.
async fn sign_on_sandbox(base_url: &str, envelope: &str, recipient: u32) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = base_url.strip_prefix("http://").unwrap();
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!(
        "POST /sign/{envelope}/{recipient}/sign HTTP/1.0\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n"
    );
    s.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).await.unwrap();
    assert!(String::from_utf8_lossy(&answer).contains(" 303 "));
}

/// Runs the CLI off the async workers (it is a blocking child process).
async fn run(env: &Env, vars: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let mut cmd = env.command(args);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_once_pulls_the_relay_and_a_signed_document_completes() {
    countersign_sign::tls::install_crypto_provider();
    let tmp = tempfile::tempdir().unwrap();
    let (relay_url, token, stop, relay) = start_relay(tmp.path()).await;
    let sandbox = countersign_sandbox::start(
        countersign_sandbox::Config {
            webhooks: vec![countersign_sandbox::WebhookTarget {
                url: format!("{relay_url}/hooks/docusign/default"),
                secret: countersign_sign::SecretString::from(SECRET.to_owned()),
            }],
            ..Default::default()
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap();

    let env = Env::new();
    let vars = [
        ("COUNTERSIGN_PROVIDER_BASE_URL", sandbox.base_url.as_str()),
        ("COUNTERSIGN_RELAY_URL", relay_url.as_str()),
        ("COUNTERSIGN_RELAY_TOKEN", token.as_str()),
    ];
    let page = corpus().join("ocr/tesseract-test/phototest.tif");
    let out = run(&env, &vars, &["ingest", arg(&page), "--wait", "--json"]).await;
    assert!(out.status.success(), "{}", describe(&out));
    let id = one_json_line(&out)["document_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let review = [
        "review",
        &id,
        "--type",
        "invoice",
        "--approve",
        "--reviewer",
        "Dana",
        "--json",
    ];
    let out = run(&env, &vars, &review).await;
    assert!(out.status.success(), "{}", describe(&out));
    let out = run(&env, &vars, &["send", &id, "--json"]).await;
    assert!(out.status.success(), "{}", describe(&out));
    let sent = one_json_line(&out);
    assert_eq!(sent["status"], "sent");
    let envelope = sent["envelope_id"].as_str().unwrap().to_owned();

    sign_on_sandbox(&sandbox.base_url, &envelope, 1).await;
    sign_on_sandbox(&sandbox.base_url, &envelope, 2).await;

    // `sync --once` until the webhooks have made it through the relay.
    let start = Instant::now();
    let mut applied = 0;
    loop {
        let out = run(&env, &vars, &["sync", "--once", "--json"]).await;
        assert!(out.status.success(), "{}", describe(&out));
        let report = one_json_line(&out);
        assert_eq!(report["relay_url"], relay_url.as_str());
        applied += report["pulled"]["applied"].as_u64().unwrap();
        let out = run(&env, &vars, &["show", &id, "--json"]).await;
        if one_json_line(&out)["status"] == "completed" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "never completed: {report}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(applied >= 1, "the status came through the relay");
    // Its evidence came with it: export gives the signed PDF.
    let pdf = env.input("signed.pdf", b"");
    let out = run(&env, &vars, &["export", &id, "--pdf", arg(&pdf), "--json"]).await;
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(one_json_line(&out)["signed"], true);

    // A relay URL without a token: a clear error, exit ≠ 0.
    let no_token = [
        ("COUNTERSIGN_PROVIDER_BASE_URL", sandbox.base_url.as_str()),
        ("COUNTERSIGN_RELAY_URL", relay_url.as_str()),
    ];
    let out = run(&env, &no_token, &["sync", "--once", "--json"]).await;
    assert!(!out.status.success());
    let err = one_json_line(&out);
    assert_eq!(err["error"]["code"], "missing_credentials", "{err}");

    sandbox.stop().await.unwrap();
    stop.cancel();
    relay.await.unwrap().unwrap();
}

/// Signed Connect events posted straight to the relay, as DocuSign would post them.
async fn post_event(relay_url: &str, envelope: &str, event: &str, status: &str, at: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut summary = serde_json::json!({ "envelopeId": envelope, "status": status });
    if status == "declined" {
        summary["recipients"] = serde_json::json!({ "signers": [
            { "recipientId": "1", "name": "Pat Signer", "status": "declined", "declinedReason": "wrong amount" }
        ]});
    }
    let body = serde_json::json!({
        "event": event,
        "apiVersion": "v2.1",
        "uri": format!("/restapi/v2.1/accounts/a/envelopes/{envelope}"),
        "retryCount": 0,
        "configurationId": 1,
        "generatedDateTime": at,
        "data": { "accountId": "a", "envelopeId": envelope, "envelopeSummary": summary }
    })
    .to_string();
    let signature =
        countersign_sign::docusign::connect::sign_body(SECRET.as_bytes(), body.as_bytes());
    let host = relay_url.strip_prefix("http://").unwrap();
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!(
        "POST /hooks/docusign/default HTTP/1.0\r\nHost: {host}\r\nContent-Type: application/json\r\nX-DocuSign-Signature-1: {signature}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).await.unwrap();
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.0 200")
            || String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_killed_with_sigkill_while_applying_loses_and_doubles_nothing() {
    use std::process::Stdio;
    countersign_sign::tls::install_crypto_provider();
    let tmp = tempfile::tempdir().unwrap();
    let (relay_url, token, stop, relay) = start_relay(tmp.path()).await;

    // 400 documents out for signature (one read and approved, cloned at the store level with an
    // envelope each: all the status loop looks at).
    const N: usize = 400;
    let env = Env::new();
    let vars = [
        ("COUNTERSIGN_RELAY_URL", relay_url.as_str()),
        ("COUNTERSIGN_RELAY_TOKEN", token.as_str()),
    ];
    let page = corpus().join("ocr/tesseract-test/phototest.tif");
    let out = run(&env, &vars, &["ingest", arg(&page), "--wait", "--json"]).await;
    assert!(out.status.success(), "{}", describe(&out));
    let id = one_json_line(&out)["document_id"]
        .as_str()
        .unwrap()
        .to_owned();
    const COLS: &str = "status, page_count, ocr_confidence, document_type, classification_confidence, decision, route, fields, envelope_id, department, policy_tags, retention_class, failure, created_at, updated_at, working_blob, has_text_layer, routing";
    let sql = format!(
        "BEGIN;
         INSERT INTO documents (document_id, tenant_id, source, file_name, mime_type, checksum, byte_size, current_version, created_at, updated_at)
           WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {N} - 1)
           SELECT printf('01900000-0000-7000-8000-%012d', n.i), tenant_id, source, printf('contract-%d.tif', n.i), mime_type,
                  printf('%064d', n.i), byte_size, 1, created_at, updated_at
           FROM documents, n WHERE document_id = '{id}';
         INSERT INTO versions (document_id, version, {COLS})
           WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {N} - 1)
           SELECT printf('01900000-0000-7000-8000-%012d', n.i), 1, {COLS} FROM versions, n
           WHERE document_id = '{id}' AND version = 1;
         UPDATE versions SET status = 'sent', envelope_id = printf('env-%04d', CAST(substr(document_id, 25) AS INTEGER))
           WHERE document_id LIKE '01900000-%';
         COMMIT;"
    );
    env.sql(&sql);

    // Three events per envelope wait at the relay: sent, delivered, declined.
    for i in 0..N {
        let e = format!("env-{i:04}");
        for (k, (event, status)) in [
            ("envelope-sent", "sent"),
            ("envelope-delivered", "delivered"),
            ("envelope-declined", "declined"),
        ]
        .into_iter()
        .enumerate()
        {
            let at = format!("2026-11-27T10:00:{:02}.{k:03}Z", i % 60);
            post_event(&relay_url, &e, event, status, &at).await;
        }
    }

    // `countersign sync` applying them, killed with SIGKILL part-way.
    let mut cmd = env.command(&["sync"]);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let receipts = |env: &Env| -> usize {
        let out = support::sqlite3(&env.db(), "SELECT count(*) FROM provider_events");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0)
    };
    let start = Instant::now();
    while receipts(&env) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "sync never applied anything"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();
    let at_kill = receipts(&env);
    assert!(
        at_kill < 3 * N,
        "killed too late to test anything ({at_kill})"
    );

    // Restarted: it finishes, and every event was applied exactly once.
    let out = run(&env, &vars, &["sync", "--once", "--json"]).await;
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(receipts(&env), 3 * N);
    assert_eq!(
        env.sql("SELECT count(DISTINCT relay_cursor) FROM provider_events"),
        (3 * N).to_string()
    );
    // Each envelope: declined, and its document back in review as version 2 saying why.
    assert_eq!(
        env.sql(
            "SELECT count(*) FROM versions WHERE envelope_id LIKE 'env-%' AND status = 'declined'"
        ),
        N.to_string()
    );
    assert_eq!(
        env.sql(
            "SELECT count(*) FROM documents d JOIN versions v ON v.document_id = d.document_id AND v.version = d.current_version
             WHERE d.document_id LIKE '01900000-%' AND v.version = 2 AND v.status = 'needs_review'
               AND json_extract(v.decision, '$.reasons[0]') = 'declined by Pat Signer: wrong amount'"
        ),
        N.to_string()
    );
    let out = run(&env, &vars, &["audit", "verify", "--json"]).await;
    assert!(out.status.success(), "{}", describe(&out));
    eprintln!("killed after {at_kill} of {} receipts", 3 * N);

    stop.cancel();
    relay.await.unwrap().unwrap();
}
