//! The outbox: sending approved documents for signature never creates two envelopes for one
//! idempotency key — under provider faults (lost answers after the envelope exists, 503s) and
//! when the sending process is killed with SIGKILL in the middle of the batch.

mod support;

use countersign_core::DocumentId;
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use support::{arg, corpus, describe, one_json_line, Env};

/// One real document read, routed as an invoice and approved through the CLI; then `n - 1` more
/// approved documents made from it at the store level (same pages and words, a document row of
/// their own), which is all the outbox looks at.
fn approved_documents(env: &Env, n: usize) -> Vec<String> {
    let page = corpus().join("ocr/tesseract-test/phototest.tif");
    let out = env.run(&["ingest", arg(&page), "--wait", "--json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let id = one_json_line(&out)["document_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = env.run(&[
        "review",
        &id,
        "--type",
        "invoice",
        "--approve",
        "--reviewer",
        "Dana",
        "--json",
    ]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(one_json_line(&out)["status"], "approved");

    const VERSION_COLS: &str = "version, status, page_count, ocr_confidence, document_type, classification_confidence, decision, route, fields, envelope_id, department, policy_tags, retention_class, failure, created_at, updated_at, working_blob, has_text_layer, routing";
    let mut ids = vec![id.clone()];
    let mut sql = String::from("BEGIN;\n");
    for i in 1..n {
        let clone = DocumentId::new().to_string();
        sql.push_str(&format!(
            "INSERT INTO documents (document_id, tenant_id, source, file_name, mime_type, checksum, byte_size, current_version, created_at, updated_at)
               SELECT '{clone}', tenant_id, source, 'invoice-{i:03}.tif', mime_type, printf('%064d', {i}), byte_size, current_version, created_at, updated_at
               FROM documents WHERE document_id = '{id}';
             INSERT INTO versions (document_id, {VERSION_COLS}) SELECT '{clone}', {VERSION_COLS} FROM versions WHERE document_id = '{id}';
             INSERT INTO pages (document_id, version, page_index, width, height, image_blob, thumb_blob, dpi, rotation)
               SELECT '{clone}', version, page_index, width, height, image_blob, thumb_blob, dpi, rotation FROM pages WHERE document_id = '{id}';
             INSERT INTO ocr_pages (document_id, version, page_index, result_blob, raw_blob, engine, mean_confidence, word_count, created_at)
               SELECT '{clone}', version, page_index, result_blob, raw_blob, engine, mean_confidence, word_count, created_at FROM ocr_pages WHERE document_id = '{id}';\n"
        ));
        ids.push(clone);
    }
    sql.push_str("COMMIT;");
    // Through stdin: the script is too long for a command line.
    let mut sqlite = std::process::Command::new("sqlite3")
        .args(["-batch", "-bail"])
        .arg(env.db())
        .stdin(Stdio::piped())
        .spawn()
        .expect("the sqlite3 command-line tool is installed");
    {
        use std::io::Write;
        sqlite
            .stdin
            .take()
            .unwrap()
            .write_all(sql.as_bytes())
            .unwrap();
    }
    assert!(
        sqlite.wait().unwrap().success(),
        "cloning the approved document"
    );
    ids
}

/// `countersign work` sending through the sandbox at `base_url` (lease of 2 s, so a killed
/// worker's job is taken over quickly).
fn worker(env: &Env, base_url: &str, until_idle: bool) -> Child {
    let mut args = vec!["work", "--lease-secs", "2"];
    if until_idle {
        args.push("--until-idle");
    }
    let mut cmd = env.command(&args);
    cmd.env("COUNTERSIGN_PROVIDER_BASE_URL", base_url)
        .env("COUNTERSIGN_PROVIDER_TOKEN", "sandbox-token")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd.spawn().expect("start countersign work")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_sends_under_faults_and_three_sigkills_make_exactly_two_hundred_envelopes() {
    let env = Env::new();
    let ids = approved_documents(&env, 200);

    // The provider: 30 % of creates lose their answer after the envelope exists, 10 % answer 503.
    let sandbox = countersign_sandbox::start(
        countersign_sandbox::Config {
            faults: countersign_sandbox::Faults {
                seed: 7,
                create_response_lost: 0.3,
                create_unavailable: 0.1,
                ..Default::default()
            },
            ..Default::default()
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap();

    // Everything goes into the outbox first (through the CLI: one process for all 200).
    let mut args = vec!["send"];
    args.extend(ids.iter().map(String::as_str));
    // `send` makes one attempt per document; kill it early, mid-batch.
    let mut cmd = env.command(&args);
    cmd.env("COUNTERSIGN_PROVIDER_BASE_URL", &sandbox.base_url)
        .env("COUNTERSIGN_PROVIDER_TOKEN", "sandbox-token")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut send = cmd.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    unsafe { libc::kill(send.id() as i32, libc::SIGKILL) };
    let _ = send.wait();

    // Two more workers killed mid-batch, each after some envelopes went out.
    let envelopes = |url: String| async move {
        let body: serde_json::Value = reqwest_get(&format!("{url}/_sandbox/envelopes")).await;
        body["envelopes"].as_array().cloned().unwrap_or_default()
    };
    for kill in 0..2 {
        let before = envelopes(sandbox.base_url.clone()).await.len();
        let mut w = worker(&env, &sandbox.base_url, false);
        let deadline = Instant::now() + Duration::from_secs(60);
        while envelopes(sandbox.base_url.clone()).await.len() < before + 20
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        unsafe { libc::kill(w.id() as i32, libc::SIGKILL) };
        let _ = w.wait();
        eprintln!(
            "kill {}: {} envelopes so far",
            kill + 2,
            envelopes(sandbox.base_url.clone()).await.len()
        );
    }

    // The last worker drains the outbox.
    let mut last = worker(&env, &sandbox.base_url, true);
    let deadline = Instant::now() + Duration::from_secs(600);
    let status = loop {
        if let Some(s) = last.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the outbox did not drain in 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(status.success());

    // Exactly one envelope per key, 200 in all, and every document holds its own.
    let all = envelopes(sandbox.base_url.clone()).await;
    let keys: BTreeSet<String> = all
        .iter()
        .map(|e| e["idempotency_key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(all.len(), 200, "envelopes created");
    assert_eq!(keys.len(), 200, "one per idempotency key");
    let by_id: BTreeMap<String, String> = all
        .iter()
        .map(|e| {
            (
                e["envelope_id"].as_str().unwrap().to_owned(),
                e["idempotency_key"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let stored = env.sql(
        "SELECT v.envelope_id || '|' || v.status FROM documents d JOIN versions v
           ON v.document_id = d.document_id AND v.version = d.current_version",
    );
    let mut seen = BTreeSet::new();
    for line in stored.lines() {
        let (envelope, status) = line.split_once('|').unwrap();
        assert_eq!(status, "sent", "{line}");
        assert!(
            by_id.contains_key(envelope),
            "{envelope} is an envelope the provider has"
        );
        assert!(
            seen.insert(envelope.to_owned()),
            "{envelope} held by two documents"
        );
    }
    assert_eq!(seen.len(), 200);
    let stats: serde_json::Value =
        reqwest_get(&format!("{}/_sandbox/stats", sandbox.base_url)).await;
    eprintln!("sandbox stats: {stats}");
    assert!(env.run(&["audit", "verify"]).status.success());
    sandbox.stop().await.unwrap();
}

/// A GET returning JSON, over a plain TCP connection (HTTP/1.0, loopback only).
async fn reqwest_get(url: &str) -> serde_json::Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    s.write_all(format!("GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{url}: {e}: {body}"))
}
