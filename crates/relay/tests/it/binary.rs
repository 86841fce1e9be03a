use crate::support::{connect_body, sig};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_countersign-relay");

fn relay_cli(args: &[&str]) -> std::process::Output {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Every byte of the database, WAL and shared-memory files included.
fn database_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        all.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    all
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn token_create_prints_the_token_once_and_stores_it_hashed_and_serve_accepts_it() {
    countersign_sign::tls::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("relay.db").display());
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
    assert!(!contains(&database_bytes(dir.path()), token.as_bytes()));
    assert!(!contains(
        &database_bytes(dir.path()),
        &token.as_bytes()[8..]
    ));

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
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &db])
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let url = BufReader::new(stderr)
        .lines()
        .map(|l| l.unwrap())
        .find_map(|l| {
            l.strip_prefix("countersign-relay listening on ")
                .map(str::to_owned)
        })
        .expect("a listening line");
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
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status.as_u16(), 200);
    assert_eq!(page["events"][0]["envelope_id"], "E-1");
}

#[test]
fn tenant_create_twice_adds_a_second_secret() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("relay.db").display());
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
}
