//! The `countersign` CLI contract of DESIGN.md, driven through the real binary: JSON Lines on
//! stdout, `{"error": {"code", "message"}}` with a stable code and a non-zero exit, and
//! `audit verify` catching edits made to the database behind the product's back.
//! Every test has its own data dir.

mod support;

use std::process::Command;
use support::{arg, describe, json_lines, one_json_line, png, sha256_hex, Env};

/// The document record's fields (DESIGN.md "Document record"); all present, `null` when unknown.
const RECORD_FIELDS: [&str; 21] = [
    "document_id",
    "version",
    "source",
    "file_name",
    "mime_type",
    "checksum",
    "page_count",
    "status",
    "ocr_confidence",
    "document_type",
    "classification_confidence",
    "decision",
    "route",
    "fields",
    "envelope_id",
    "tenant_id",
    "department",
    "policy_tags",
    "retention_class",
    "created_at",
    "updated_at",
];

/// Ingests one file with `--json` and returns its record, asserting success.
fn ingest(env: &Env, path: &std::path::Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["ingest", arg(path), "--json"];
    args.extend_from_slice(extra);
    let out = env.run(&args);
    assert!(out.status.success(), "ingest failed\n{}", describe(&out));
    one_json_line(&out)
}

#[test]
fn ingest_json_prints_one_record_whose_checksum_is_the_sha256_of_the_file() {
    let env = Env::new();
    let bytes = png(64, 48, 1);
    let path = env.input("scan.png", &bytes);

    let record = ingest(&env, &path, &[]);

    let ours = sha256_hex(&bytes);
    let tool = Command::new("sha256sum").arg(&path).output().unwrap();
    assert!(tool.status.success());
    let tool = String::from_utf8(tool.stdout).unwrap();
    let tool = tool.split_whitespace().next().unwrap();
    assert_eq!(ours, tool, "our sha256 agrees with sha256sum");
    assert_eq!(record["checksum"], ours.as_str());

    for field in RECORD_FIELDS {
        assert!(record.get(field).is_some(), "`{field}` missing: {record}");
    }
    assert_eq!(record["status"], "received");
    assert_eq!(record["version"], 1);
    assert_eq!(record["source"], "upload");
    assert_eq!(record["file_name"], "scan.png");
    assert_eq!(record["mime_type"], "image/png");
    assert_eq!(record["tenant_id"], "default");
    assert!(record.get("ocr").is_none(), "ocr only when asked for");
    let id = record["document_id"].as_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");

    // The original is kept, byte for byte, in the blob store under its checksum.
    let blob = env.data_dir.join("blobs").join(&ours[..2]).join(&ours);
    assert_eq!(std::fs::read(blob).unwrap(), bytes);
    // And `show` reads back the same record.
    let shown = one_json_line(&env.run(&["show", id, "--json"]));
    assert_eq!(shown, record);
}

#[test]
fn a_second_ingest_of_the_same_bytes_is_a_duplicate_naming_the_first_document() {
    let env = Env::new();
    let bytes = png(32, 32, 2);
    let first = ingest(&env, &env.input("a.png", &bytes), &[]);
    // Same bytes under another name: still the same document.
    let again = env.input("copy-of-a.png", &bytes);

    let out = env.run(&["ingest", arg(&again), "--json"]);
    assert!(!out.status.success(), "{}", describe(&out));
    let line = one_json_line(&out);
    let error = &line["error"];
    assert_eq!(error["code"], "duplicate", "{line}");
    assert_eq!(error["document_id"], first["document_id"], "{line}");
    assert!(
        !error["message"].as_str().unwrap_or("").is_empty(),
        "{line}"
    );
    assert_eq!(line.as_object().unwrap().len(), 1, "only `error`: {line}");

    assert_eq!(env.sql("SELECT COUNT(*) FROM documents"), "1");
    assert_eq!(env.sql("SELECT COUNT(*) FROM jobs"), "1");
}

#[test]
fn errors_are_one_json_line_with_a_stable_code_and_a_non_zero_exit() {
    // (what is wrong, arguments after the data dir, expected code, whether an ingest was attempted)
    let random_id = random_uuid();
    let cases: Vec<(&str, Vec<String>, &str, bool)> = vec![
        (
            "an empty file",
            vec!["ingest".into(), "{in}/empty.png".into()],
            "empty_document",
            true,
        ),
        (
            "a text file named .pdf",
            vec!["ingest".into(), "{in}/x.pdf".into()],
            "unsupported_type",
            true,
        ),
        (
            "a missing path",
            vec!["ingest".into(), "{in}/no-such-file.png".into()],
            "unreadable_file",
            true,
        ),
        (
            "a malformed id",
            vec!["show".into(), "not-a-uuid".into()],
            "invalid_argument",
            false,
        ),
        (
            "an unknown id",
            vec!["show".into(), random_id.clone()],
            "not_found",
            false,
        ),
        (
            "an unknown status filter (a flag clap rejects)",
            vec!["list".into(), "--status".into(), "done".into()],
            "invalid_argument",
            false,
        ),
    ];
    for (what, args, code, ingests) in cases {
        let env = Env::new();
        env.input("empty.png", b"");
        env.input(
            "x.pdf",
            b"Dear reader, this is plain text and not a PDF at all.\n",
        );
        let inputs = arg(&env.inputs).to_owned();
        let mut args: Vec<String> = args.iter().map(|a| a.replace("{in}", &inputs)).collect();
        args.push("--json".into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();

        let out = env.run(&args);
        assert!(
            !out.status.success(),
            "{what}: must exit non-zero\n{}",
            describe(&out)
        );
        let line = one_json_line(&out);
        assert_eq!(line["error"]["code"], code, "{what}: {line}");
        let message = line["error"]["message"].as_str().unwrap_or("");
        assert!(!message.is_empty(), "{what}: a message: {line}");
        if ingests {
            assert_eq!(
                env.sql("SELECT COUNT(*) FROM documents"),
                "0",
                "{what}: nothing stored"
            );
        }
        if code == "not_found" {
            assert!(
                message.contains(&random_id),
                "{what}: names the id: {message}"
            );
        }
    }
}

#[test]
fn audit_verify_passes_on_an_untouched_store_and_names_an_edited_entry() {
    let env = Env::new();
    for seed in 0..3 {
        ingest(
            &env,
            &env.input(&format!("{seed}.png"), &png(16, 16, seed)),
            &[],
        );
    }
    let ok = env.run(&["audit", "verify", "--json"]);
    assert!(ok.status.success(), "{}", describe(&ok));
    let report = one_json_line(&ok);
    assert_eq!(report["ok"], true);
    assert_eq!(report["entries"], 3);
    assert!(env.run(&["audit", "verify"]).status.success());

    // The append-only trigger refuses the edit until it is dropped, as a tamperer would.
    let refused = support::sqlite3(
        &env.db(),
        "UPDATE audit_log SET actor = 'mallory' WHERE seq = 2",
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("append-only"));
    env.sql(
        "DROP TRIGGER audit_log_no_update; \
         UPDATE audit_log SET actor = 'mallory' WHERE seq = 2;",
    );

    let broken = env.run(&["audit", "verify", "--json"]);
    assert!(!broken.status.success(), "{}", describe(&broken));
    let report = one_json_line(&broken);
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["first_break"]["seq"], 2, "{report}");
    assert_eq!(report["first_break"]["problem"], "edited", "{report}");
    assert!(
        report["first_break"]["message"]
            .as_str()
            .unwrap()
            .contains("entry 2"),
        "{report}"
    );
    let text = env.run(&["audit", "verify"]);
    assert!(!text.status.success());
    assert!(
        String::from_utf8_lossy(&text.stderr).contains("audit entry 2"),
        "{}",
        describe(&text)
    );
}

#[test]
fn audit_verify_names_a_deleted_entry() {
    let env = Env::new();
    for seed in 0..3 {
        ingest(
            &env,
            &env.input(&format!("{seed}.png"), &png(16, 16, seed)),
            &[],
        );
    }
    assert!(env.run(&["audit", "verify"]).status.success());
    env.sql("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 2;");

    let broken = env.run(&["audit", "verify", "--json"]);
    assert!(!broken.status.success(), "{}", describe(&broken));
    let report = one_json_line(&broken);
    assert_eq!(report["first_break"]["seq"], 2, "{report}");
    assert_eq!(report["first_break"]["problem"], "missing", "{report}");
    let text = env.run(&["audit", "verify"]);
    assert!(!text.status.success());
    assert!(
        String::from_utf8_lossy(&text.stderr).contains("audit entry 2 is missing"),
        "{}",
        describe(&text)
    );
}

#[test]
fn ingest_wait_returns_once_the_document_has_settled() {
    let env = Env::new();
    let record = ingest(&env, &env.input("page.png", &png(120, 80, 3)), &["--wait"]);

    // Rendered, recognised and routed: a page of bars has no text, so it is quarantined as
    // `unclassified`, saying why.
    assert_eq!(record["status"], "quarantined", "{record}");
    assert_eq!(record["document_type"], "unclassified", "{record}");
    assert_eq!(record["decision"]["action"], "quarantine", "{record}");
    assert!(
        record["decision"]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("no text"),
        "{record}"
    );
    assert!(record["failure"].is_null(), "{record}");
    assert_eq!(record["page_count"], 1, "{record}");
    let id = record["document_id"].as_str().unwrap();
    assert_eq!(
        env.sql(&format!(
            "SELECT page_index, width, height FROM pages WHERE document_id = '{id}'"
        )),
        "0|120|80"
    );
    assert_eq!(
        env.sql(&format!(
            "SELECT state FROM jobs WHERE document_id = '{id}'"
        )),
        "done"
    );
}

#[test]
fn list_prints_one_line_per_document_newest_first_and_filters_by_status() {
    let env = Env::new();
    // The first is processed to the end (quarantined: a page without text); the others stay
    // `received`.
    let first = ingest(&env, &env.input("1.png", &png(20, 20, 1)), &["--wait"]);
    let second = ingest(&env, &env.input("2.png", &png(20, 20, 2)), &[]);
    let third = ingest(&env, &env.input("3.png", &png(20, 20, 3)), &[]);
    let ids = |lines: &[serde_json::Value]| -> Vec<String> {
        lines
            .iter()
            .map(|l| l["document_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let id = |r: &serde_json::Value| r["document_id"].as_str().unwrap().to_owned();

    let all = env.run(&["list", "--json"]);
    assert!(all.status.success(), "{}", describe(&all));
    let all = json_lines(&all);
    assert_eq!(ids(&all), vec![id(&third), id(&second), id(&first)]);
    for line in &all {
        for field in RECORD_FIELDS {
            assert!(line.get(field).is_some(), "`{field}` missing: {line}");
        }
    }

    let review = json_lines(&env.run(&["list", "--status", "quarantined", "--json"]));
    assert_eq!(ids(&review), vec![id(&first)]);
    assert_eq!(review[0]["status"], "quarantined");
    let received = json_lines(&env.run(&["list", "--status", "received", "--json"]));
    assert_eq!(ids(&received), vec![id(&third), id(&second)]);
    let routed = env.run(&["list", "--status", "routed", "--json"]);
    assert!(routed.status.success());
    assert!(routed.stdout.is_empty(), "no routed documents, no lines");
}

/// Regression: scripts that start several `countersign` processes against a new data dir at once
/// saw some fail with `internal` (they raced to create the database; see `Store::open`).
#[test]
fn concurrent_ingests_into_a_new_data_dir_all_succeed() {
    let env = Env::new();
    let children: Vec<_> = (0..4u8)
        .map(|seed| {
            let path = env.input(&format!("{seed}.png"), &png(24, 24, 40 + seed));
            env.command(&["ingest", arg(&path), "--json"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn countersign")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        assert_eq!(one_json_line(&out)["status"], "received");
    }
    assert_eq!(env.sql("SELECT COUNT(*) FROM documents"), "4");
    let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../store/migrations"))
        .unwrap()
        .count();
    assert_eq!(
        env.sql("SELECT COUNT(*) FROM _sqlx_migrations"),
        shipped.to_string()
    );
}

/// A version-4 UUID no store has issued (ours are version 7).
fn random_uuid() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let h = sha256_hex(format!("{nanos}:{}", std::process::id()).as_bytes());
    format!(
        "{}-{}-4{}-8{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

#[test]
fn ocr_prints_words_and_boxes_without_touching_the_data_dir() {
    let env = Env::new();
    let page = std::path::PathBuf::from("/work/shared/corpus/ocr/tesseract-test/phototest.tif");
    let page = std::env::var_os("COUNTERSIGN_CORPUS")
        .map(|c| std::path::PathBuf::from(c).join("ocr/tesseract-test/phototest.tif"))
        .unwrap_or(page);
    let out = env.run(&["ocr", page.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let doc = one_json_line(&out);
    let first = &doc["pages"][0];
    assert!(
        first["text"].as_str().unwrap().contains("quick brown dog"),
        "{first}"
    );
    let word = &first["words"][0];
    assert!(
        word["bbox"].as_array().unwrap().len() == 4 && word["confidence"].as_f64().unwrap() > 0.5,
        "{word}"
    );
    assert!(!env.data_dir.exists(), "ocr has no side effects");
}

#[test]
fn export_writes_a_searchable_pdf_whose_text_pdftotext_finds() {
    let env = Env::new();
    let page = std::env::var_os("COUNTERSIGN_CORPUS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/work/shared/corpus".into())
        .join("ocr/tesseract-test/phototest.tif");
    let record = ingest(&env, &page, &["--wait"]);
    assert_eq!(record["status"], "needs_review", "{record}");
    let out_pdf = env.inputs.join("searchable.pdf");
    let out = env.run(&[
        "export",
        record["document_id"].as_str().unwrap(),
        "--pdf",
        out_pdf.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", describe(&out));
    let text = std::process::Command::new("pdftotext")
        .arg(&out_pdf)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("The quick brown dog jumped over the"),
        "{text}"
    );
    // Exporting a document that is not recognised yet says so.
    let early = ingest(&env, &env.input("fresh.png", &png(40, 30, 9)), &[]);
    let out = env.run(&[
        "--json",
        "export",
        early["document_id"].as_str().unwrap(),
        "--pdf",
        out_pdf.to_str().unwrap(),
    ]);
    assert_eq!(one_json_line(&out)["error"]["code"], "not_ready");
}
