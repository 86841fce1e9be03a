use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Kills the child (by its own pid) when the test ends, pass or fail.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn serve_prints_its_address_and_serves() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_countersign-sandbox"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--auto-sign",
                "0.05",
                "--faults",
                "seed=3,latency_ms=1",
            ])
            .arg("--data-dir")
            .arg(dir.path())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary runs"),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();
    let http = crate::support::http();
    let health = http.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let faults: serde_json::Value = http
        .get(format!("{url}/_sandbox/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(faults["seed"], 3);
    assert_eq!(faults["latency_ms"], 1);
    assert!(dir.path().join("sandbox.db").is_file());
}

#[test]
fn bad_flags_fail_with_a_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_countersign-sandbox"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--faults",
            "webhook_drop=3",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("webhook_drop"));
    let out = Command::new(env!("CARGO_BIN_EXE_countersign-sandbox"))
        .args(["serve", "--webhook-url", "http://127.0.0.1:1/hook"])
        .env_remove("COUNTERSIGN_SANDBOX_WEBHOOK_SECRET")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--webhook-secret"));
}
