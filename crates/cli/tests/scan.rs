//! `countersign scan` through the real binary and the real `scanimage`, against SANE's `test`
//! backend: each test gives the child its own `SANE_CONFIG_DIR` (a `dll.conf` naming `test`, a
//! `test.conf` with a picture that has content). Scans are at 50 dpi to stay fast.

mod support;

use std::process::{Command, Output};
use support::{describe, json_lines, one_json_line, sha256_hex, Env};

/// A SANE configuration dir for the test backend, with extra `test.conf` lines.
fn sane_config(test_conf: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dll.conf"), "test\n").unwrap();
    std::fs::write(
        dir.path().join("test.conf"),
        format!("test-picture \"Color pattern\"\n{test_conf}\n"),
    )
    .unwrap();
    dir
}

fn scan_command(env: &Env, sane: &tempfile::TempDir, args: &[&str]) -> Command {
    let mut cmd = env.command(args);
    cmd.env("SANE_CONFIG_DIR", sane.path());
    cmd
}

fn run(mut cmd: Command) -> Output {
    cmd.output().expect("run countersign")
}

/// The error object of a failed `--json` command, asserting exit code 1.
fn error_of(out: &Output) -> serde_json::Value {
    assert_eq!(out.status.code(), Some(1), "{}", describe(out));
    one_json_line(out)["error"].clone()
}

fn documents(env: &Env) -> Vec<serde_json::Value> {
    let out = env.run(&["list", "--json"]);
    assert!(out.status.success(), "{}", describe(&out));
    json_lines(&out)
}

#[test]
fn scan_of_two_pages_with_wait_prints_one_settled_multi_page_tiff_record() {
    let env = Env::new();
    let sane = sane_config("");
    let out = run(scan_command(
        &env,
        &sane,
        &[
            "scan",
            "--device",
            "test:0",
            "--pages",
            "2",
            "--resolution",
            "50",
            "--json",
            "--wait",
        ],
    ));
    assert!(out.status.success(), "{}", describe(&out));
    let record = one_json_line(&out);

    assert_eq!(record["source"], "scanner");
    assert_eq!(record["mime_type"], "image/tiff");
    assert_eq!(
        record["page_count"], 2,
        "the worker counted the TIFF's pages: {record}"
    );
    // Rendered, recognised and routed: SANE's test pattern has no text, so it is quarantined.
    assert_eq!(record["status"], "quarantined", "{record}");
    assert_eq!(record["document_type"], "unclassified");
    let name = record["file_name"].as_str().unwrap();
    let stamp = name
        .strip_prefix("scan-")
        .and_then(|n| n.strip_suffix(".tif"));
    assert!(
        stamp.is_some_and(|s| s.len() == 15
            && s.chars().enumerate().all(|(i, c)| if i == 8 {
                c == '-'
            } else {
                c.is_ascii_digit()
            })),
        "scan-YYYYMMDD-HHMMSS.tif: {name}"
    );

    // The original is the TIFF, kept under its checksum.
    let checksum = record["checksum"].as_str().unwrap();
    let blob = std::fs::read(
        env.data_dir
            .join("blobs")
            .join(&checksum[..2])
            .join(checksum),
    )
    .unwrap();
    assert!(blob.starts_with(b"II*\0"), "a TIFF");
    assert_eq!(sha256_hex(&blob), checksum);

    // Progress went to stderr as plain lines (stderr is not a terminal here).
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("scanning page 1") && stderr.contains("page 2 scanned"),
        "{stderr}"
    );
    // And `show` reads back the same document.
    let id = record["document_id"].as_str().unwrap();
    assert_eq!(one_json_line(&env.run(&["show", id, "--json"])), record);
}

#[test]
fn scan_without_wait_prints_the_received_record() {
    let env = Env::new();
    let sane = sane_config("");
    let out = run(scan_command(
        &env,
        &sane,
        &["--json", "scan", "--resolution", "50", "--mode", "color"],
    ));
    assert!(out.status.success(), "{}", describe(&out));
    let record = one_json_line(&out);
    assert_eq!(record["status"], "received");
    assert_eq!(record["source"], "scanner");
    assert_eq!(
        record["page_count"], 1,
        "one page from the flatbed by default"
    );
}

#[test]
fn scan_list_json_lists_the_test_device() {
    let env = Env::new();
    let sane = sane_config("");
    let out = run(scan_command(&env, &sane, &["scan", "--list", "--json"]));
    assert!(out.status.success(), "{}", describe(&out));
    let devices = json_lines(&out);
    assert_eq!(devices[0]["name"], "test:0", "{devices:?}");
    assert_eq!(devices[0]["vendor"], "Noname");
    assert_eq!(devices[0]["model"], "frontend-tester");
    assert_eq!(devices[0]["kind"], "virtual device");
}

#[test]
fn scan_of_an_unknown_device_is_scanner_not_found_and_stores_nothing() {
    let env = Env::new();
    let sane = sane_config("");
    let out = run(scan_command(
        &env,
        &sane,
        &["scan", "--device", "nosuch:0", "--json"],
    ));
    let error = error_of(&out);
    assert_eq!(error["code"], "scanner_not_found", "{error}");
    assert!(error["message"].as_str().unwrap().contains("nosuch:0"));
    assert_eq!(documents(&env), Vec::<serde_json::Value>::new());
}

#[test]
fn an_empty_feeder_is_no_pages_and_stores_nothing() {
    let env = Env::new();
    let sane = sane_config("read-status-code \"SANE_STATUS_NO_DOCS\"");
    let out = run(scan_command(
        &env,
        &sane,
        &[
            "scan",
            "--device",
            "test:0",
            "--source",
            "adf",
            "--resolution",
            "50",
            "--json",
        ],
    ));
    let error = error_of(&out);
    assert_eq!(error["code"], "no_pages", "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("feeder"),
        "{error}"
    );
    assert_eq!(documents(&env), Vec::<serde_json::Value>::new());
}

#[test]
fn a_source_the_scanner_lacks_is_unsupported_scan_setting() {
    let env = Env::new();
    let sane = sane_config("");
    let out = run(scan_command(
        &env,
        &sane,
        &["scan", "--source", "duplex", "--json"],
    ));
    let error = error_of(&out);
    assert_eq!(error["code"], "unsupported_scan_setting", "{error}");
}

#[test]
fn without_scanimage_scan_is_scanner_unavailable() {
    let env = Env::new();
    let empty_path = tempfile::tempdir().unwrap();
    let mut cmd = env.command(&["scan", "--list", "--json"]);
    cmd.env("PATH", empty_path.path());
    let error = error_of(&run(cmd));
    assert_eq!(error["code"], "scanner_unavailable", "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("sane-utils"),
        "{error}"
    );
}

#[test]
fn bad_scan_flags_are_invalid_argument() {
    let env = Env::new();
    let out = env.run(&["scan", "--mode", "sepia", "--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert_eq!(one_json_line(&out)["error"]["code"], "invalid_argument");
    let out = env.run(&["scan", "--list", "--pages", "2", "--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
}

#[test]
fn ctrl_c_stops_scanimage_and_stores_nothing() {
    use std::io::{BufRead, BufReader};
    let env = Env::new();
    // ~200 ms per 1000 bytes: a 75 dpi page takes several seconds.
    let sane = sane_config(
        "read-limit true\nread-limit-size 1000\nread-delay true\nread-delay-duration 200000",
    );
    let mut cmd = scan_command(
        &env,
        &sane,
        &[
            "scan",
            "--device",
            "test:0",
            "--pages",
            "3",
            "--resolution",
            "75",
            "--json",
        ],
    );
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("scanning page 1") {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "stderr ended before page 1 started"
        );
    }
    let pid = child.id();
    // Children are listed per thread; scanimage is started from one of the blocking pool's.
    let mut scanimage = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let children =
            std::fs::read_to_string(task.unwrap().path().join("children")).unwrap_or_default();
        scanimage.extend(children.split_whitespace().map(str::to_owned));
    }
    assert!(!scanimage.is_empty(), "scanimage runs as our child");

    let interrupted = std::time::Instant::now();
    unsafe { libc::kill(pid as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    // Promptly: the three slowed-down pages would take well over 10 s.
    assert!(
        interrupted.elapsed() < std::time::Duration::from_secs(6),
        "{:?}",
        interrupted.elapsed()
    );
    let error = error_of(&out);
    assert_eq!(error["code"], "scan_cancelled", "{error}");
    for p in scanimage {
        assert!(
            !std::path::Path::new(&format!("/proc/{p}")).exists(),
            "scanimage {p} was stopped with the CLI"
        );
    }
    assert_eq!(documents(&env), Vec::<serde_json::Value>::new());
}
