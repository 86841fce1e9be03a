use crate::support::{connect_body, on_both_backends, sig, Backend, ServeProcess, TestDb, BIN};
use std::process::Command;

fn relay_cli(args: &[&str]) -> std::process::Output {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn token_create_prints_the_token_once_and_stores_it_hashed_and_serve_accepts_it(
    backend: Backend,
) {
    countersign_sign::tls::install_crypto_provider();
    let test_db = TestDb::new(backend).await;
    let db = test_db.cli_arg();
    relay_cli(&[
        "tenant",
        "create",
        "--database",
        &db,
        "--tenant",
        "acme",
        "--docusign-hmac-secret",
        "s3cret",
    ]);
    let out = relay_cli(&[
        "token",
        "create",
        "--database",
        &db,
        "--tenant",
        "acme",
        "--name",
        "front desk",
    ]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = stdout.lines().last().unwrap().to_owned();
    assert_eq!(token.len(), 43, "32 bytes base64url: {token:?}");
    assert!(token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert_eq!(stdout.matches(token.as_str()).count(), 1, "printed once");
    let stored = test_db.all_bytes().await;
    assert!(contains(&stored, b"front desk"), "the dump sees the tokens");
    assert!(!contains(&stored, token.as_bytes()));
    assert!(!contains(&stored, &token.as_bytes()[8..]));

    // An unknown tenant is refused with a stable code.
    let out = Command::new(BIN)
        .args([
            "token",
            "create",
            "--database",
            &db,
            "--tenant",
            "nobody",
            "--name",
            "x",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stderr).lines().last().unwrap()).unwrap();
    assert_eq!(err["code"], "unknown_tenant");

    // The served relay knows the token and the secret.
    let mut relay = ServeProcess::start(&db);
    let url = relay.url.clone();
    let client = reqwest::Client::new();
    let body = connect_body("envelope-completed", "E-1", "2025-06-01T10:00:00Z");
    let status = client
        .post(format!("{url}/hooks/docusign/acme"))
        .header("X-DocuSign-Signature-1", sig("s3cret", &body))
        .body(body)
        .send()
        .await
        .unwrap()
        .status();
    let page: serde_json::Value = client
        .get(format!("{url}/v1/events?after=0"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    relay.kill();
    assert_eq!(status.as_u16(), 200);
    assert_eq!(page["events"][0]["envelope_id"], "E-1");
}

async fn tenant_create_twice_adds_a_second_secret_and_retire_secret_retires_one(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let db = test_db.cli_arg();
    let first = relay_cli(&[
        "tenant",
        "create",
        "--database",
        &db,
        "--tenant",
        "acme",
        "--docusign-hmac-secret",
        "one",
    ]);
    let second = relay_cli(&[
        "tenant",
        "create",
        "--database",
        &db,
        "--tenant",
        "acme",
        "--docusign-hmac-secret",
        "two",
    ]);
    let again = relay_cli(&[
        "tenant",
        "create",
        "--database",
        &db,
        "--tenant",
        "acme",
        "--docusign-hmac-secret",
        "two",
    ]);
    assert!(String::from_utf8_lossy(&first.stdout).contains("created tenant acme"));
    assert!(String::from_utf8_lossy(&second.stdout).contains("added an HMAC secret"));
    assert!(String::from_utf8_lossy(&again.stdout).contains("already has this HMAC secret"));
    let retire = |secret: &str| {
        let out = relay_cli(&[
            "tenant",
            "retire-secret",
            "--database",
            &db,
            "--tenant",
            "acme",
            "--docusign-hmac-secret",
            secret,
        ]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(retire("one").contains("retired an HMAC secret"));
    assert!(retire("one").contains("no such active HMAC secret"));
}

on_both_backends!(
    token_create_prints_the_token_once_and_stores_it_hashed_and_serve_accepts_it,
    tenant_create_twice_adds_a_second_secret_and_retire_secret_retires_one,
);
