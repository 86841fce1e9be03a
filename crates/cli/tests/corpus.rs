//! Every real-world file of the shared corpus (../shared/corpus: scanner-style, hostile, encrypted,
//! corrupt PDFs; multi-page, fax, EXIF-rotated and bomb images) goes through `countersign ingest`:
//! each one comes back within 60 s as a document with pages or as a structured error, never a
//! crash, and every refused original is kept byte for byte in the rejected area.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::{corpus, Env};

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Runs `countersign --json ingest FILE [--password PW]`, killing it after 60 s.
fn ingest(env: &Env, file: &Path, password: Option<&str>) -> (serde_json::Value, Duration) {
    let mut args = vec!["--json", "ingest", file.to_str().unwrap()];
    if let Some(pw) = password {
        args.extend(["--password", pw]);
    }
    let started = Instant::now();
    let mut child = env
        .command(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("{}: ingest did not return within 60 s", file.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let elapsed = started.elapsed();
    assert!(
        out.status.code().is_some(),
        "{}: the CLI was killed by a signal\n{}",
        file.display(),
        support::describe(&out)
    );
    (support::one_json_line(&out), elapsed)
}

#[test]
fn every_corpus_file_becomes_a_document_or_a_structured_error_and_nothing_is_lost() {
    let corpus = corpus();
    let env = Env::new();
    let mut files = files_under(&corpus.join("pdf"));
    files.extend(files_under(&corpus.join("images")));
    assert!(files.len() >= 80, "the corpus has {} files", files.len());

    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut refused = Vec::new();
    for file in &files {
        let (line, _) = ingest(&env, file, None);
        if let Some(err) = line.get("error") {
            let code = err["code"].as_str().unwrap_or_default().to_owned();
            assert!(
                [
                    "unsupported_type",
                    "empty_document",
                    "too_large",
                    "corrupt_pdf",
                    "encrypted_pdf",
                    "corrupt_image",
                    "decode_timeout",
                    "duplicate"
                ]
                .contains(&code.as_str()),
                "{}: unexpected error {line}",
                file.display()
            );
            assert!(!err["message"].as_str().unwrap_or("").is_empty());
            if code != "duplicate" {
                refused.push(file.clone());
            }
            *outcomes.entry(code).or_default() += 1;
        } else {
            let pages = line["page_count"].as_u64().unwrap_or(0);
            assert!(
                pages >= 1,
                "{}: accepted with page_count {pages}: {line}",
                file.display()
            );
            *outcomes.entry("accepted".into()).or_default() += 1;
        }
    }
    eprintln!("corpus outcomes: {outcomes:?}");
    assert!(
        outcomes.get("accepted").copied().unwrap_or(0) >= 60,
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains_key("encrypted_pdf") && outcomes.contains_key("corrupt_pdf"),
        "{outcomes:?}"
    );

    // Every refused original is still on disk, byte for byte, with its reason.
    let kept: Vec<Vec<u8>> = std::fs::read_dir(env.data_dir.join("rejected"))
        .unwrap()
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().ends_with(".reason.json"))
        .map(|e| std::fs::read(e.path()).unwrap())
        .collect();
    for file in &refused {
        let bytes = std::fs::read(file).unwrap();
        assert!(
            kept.contains(&bytes),
            "{} was refused but not kept",
            file.display()
        );
    }
    let listed = env.run(&["--json", "rejected"]);
    assert_eq!(
        support::json_lines(&listed).len(),
        refused.len(),
        "{}",
        support::describe(&listed)
    );
}

#[test]
fn encrypted_pdfs_import_with_their_password_and_not_without() {
    let corpus = corpus();
    // (file, user password) from the corpus README.
    let cases = [
        ("pdf/ocrmypdf/skew-encrypted.pdf", "password"),
        ("pdf/pdfjs/issue3371.pdf", "ELXRTQWS"),
        ("pdf/pdfjs/issue6010_2.pdf", "æøå"),
        ("pdf/pyhanko/minimal-aes256.pdf", "usersecret"),
        ("pdf/pyhanko/minimal-rc4.pdf", "usersecret"),
        ("pdf/qpdf/encrypted-40-bit-R3.pdf", "623"),
    ];
    for (file, password) in cases {
        let env = Env::new();
        let path = corpus.join(file);
        let (refused, _) = ingest(&env, &path, None);
        assert_eq!(
            refused["error"]["code"], "encrypted_pdf",
            "{file}: {refused}"
        );
        let (wrong, _) = ingest(&env, &path, Some("not-the-password"));
        assert_eq!(wrong["error"]["code"], "encrypted_pdf", "{file}: {wrong}");
        let (record, _) = ingest(&env, &path, Some(password));
        assert!(record.get("error").is_none(), "{file}: {record}");
        assert!(
            record["page_count"].as_u64().unwrap_or(0) >= 1,
            "{file}: {record}"
        );
        // The checksum is the original's (still encrypted) bytes; the password is nowhere on disk.
        assert_eq!(
            record["checksum"],
            support::sha256_hex(&std::fs::read(&path).unwrap())
        );
        let log_dir = env.data_dir.join("logs");
        for entry in std::fs::read_dir(&log_dir).unwrap().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            assert!(
                !text.contains(password),
                "{file}: the password is in {}",
                entry.path().display()
            );
        }
        assert!(!env
            .sql("SELECT group_concat(detail) FROM audit_log")
            .contains(password));
        // Imported now, so no longer listed as rejected.
        let listed = env.run(&["--json", "rejected"]);
        assert!(
            support::json_lines(&listed).is_empty(),
            "{file}: {}",
            support::describe(&listed)
        );
        // Its pages render from the unlocked working copy.
        let out = env.run(&["work", "--until-idle"]);
        assert!(out.status.success(), "{}", support::describe(&out));
        let rendered = env.sql(&format!(
            "SELECT COUNT(*) FROM pages WHERE document_id = '{}' AND image_blob IS NOT NULL",
            record["document_id"].as_str().unwrap()
        ));
        assert_eq!(rendered, record["page_count"].to_string(), "{file}");
    }
}
