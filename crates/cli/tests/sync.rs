//! `countersign sync`, headless: with a relay (URL and workstation token from the environment)
//! it pulls the provider's webhooks and applies them; without the token it says so.

mod support;

use std::time::{Duration, Instant};
use support::{arg, corpus, describe, one_json_line, Env};
use tokio_util::sync::CancellationToken;

const SECRET: &str = "connect-secret-of-the-cli-test";

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
    let db = countersign_relay::DatabaseUrl::Sqlite(tmp.path().join("relay.db"));
    let store = countersign_relay::Store::open(&db).await.unwrap();
    let tenant = countersign_relay::TenantId::parse("default").unwrap();
    countersign_relay::tenants::add_secret(&store, &tenant, SECRET)
        .await
        .unwrap();
    let token = countersign_relay::tokens::create_token(&store, &tenant, "cli")
        .await
        .unwrap();
    store.close().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay_url = format!("http://{}", listener.local_addr().unwrap());
    let stop = CancellationToken::new();
    let relay = tokio::spawn(countersign_relay::run(
        countersign_relay::Config::new(db),
        listener,
        stop.clone(),
    ));
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
