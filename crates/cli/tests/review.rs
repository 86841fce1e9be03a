//! `countersign review`: the CLI's side of the review screen. Each correction and the decision is
//! a version with an audit entry (reviewer, old and new value); bad input is refused with
//! `{code, message}` and stores nothing; the exported PDF carries the corrected word.

mod support;

use support::{arg, corpus, describe, json_lines, one_json_line, Env};

/// phototest.tif ingested and routed (an unclassified text page: `needs_review`); its id.
fn flagged(env: &Env) -> String {
    let page = corpus().join("ocr/tesseract-test/phototest.tif");
    let out = env.run(&["ingest", arg(&page), "--wait", "--json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let record = one_json_line(&out);
    assert_eq!(record["status"], "needs_review", "{record}");
    record["document_id"].as_str().unwrap().to_owned()
}

fn error_code(out: &std::process::Output) -> String {
    assert!(
        !out.status.success(),
        "expected a failure: {}",
        describe(out)
    );
    json_lines(out)[0]["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn review_sets_type_fields_and_a_word_then_approves_with_an_audit_trail() {
    let env = Env::new();
    let id = flagged(&env);
    let show = one_json_line(&env.run(&["show", &id, "--with-ocr", "--json"]));
    let words = show["ocr"]["pages"][0]["words"].as_array().unwrap();
    let brown = words.iter().position(|w| w["text"] == "brown").unwrap();

    // Bad input first: nothing is stored.
    for (args, code) in [
        (vec!["--set", "colour=red", "--approve"], "invalid_argument"),
        (
            vec!["--set", "due_date=31/31/2024", "--approve"],
            "invalid_argument",
        ),
        (vec!["--type", "lease", "--approve"], "invalid_argument"),
        (vec!["--word", "1:x=Total", "--approve"], "invalid_argument"),
        (vec!["--word", "9:0=Total", "--approve"], "invalid_argument"),
        // Unclassified: no route to approve into.
        (vec!["--approve"], "invalid_state"),
    ] {
        let mut full = vec!["review", id.as_str()];
        full.extend(&args);
        full.extend(["--reviewer", "Dana Reviewer", "--json"]);
        assert_eq!(error_code(&env.run(&full)), code, "{args:?}");
    }
    // Rejecting needs a reason (a usage error, still JSON with --json).
    let out = env.run(&["review", &id, "--reject", "--reviewer", "Dana", "--json"]);
    assert!(!out.status.success());
    assert_eq!(
        env.sql(&format!(
            "SELECT current_version FROM documents WHERE document_id = '{id}'"
        )),
        "1",
        "nothing was stored"
    );

    let word = format!("1:{brown}=Countersigned");
    let out = env.run(&[
        "review",
        &id,
        "--type",
        "invoice",
        "--set",
        "invoice_number=INV-2026-0042",
        "--set",
        "total_amount=$1,234.50",
        "--word",
        &word,
        "--approve",
        "--reviewer",
        "Dana Reviewer",
        "--json",
    ]);
    assert!(out.status.success(), "{}", describe(&out));
    let record = one_json_line(&out);
    assert_eq!(record["status"], "approved");
    assert_eq!(record["document_type"], "invoice");
    assert_eq!(record["classification_confidence"], 1.0);
    assert_eq!(record["fields"]["invoice_number"]["value"], "INV-2026-0042");
    assert_eq!(record["fields"]["total_amount"]["value"], "1234.50");
    assert_eq!(record["fields"]["total_amount"]["confidence"], 1.0);
    // type, two fields, a word, the decision: five new versions after the original.
    assert_eq!(record["version"], 6);

    // The audit log: who, what, old and new value.
    let rows = env.sql(&format!(
        "SELECT action || '|' || actor || '|' || detail FROM audit_log WHERE document_id = '{id}' AND version > 1 ORDER BY seq"
    ));
    let actions: Vec<&str> = rows.lines().map(|l| l.split('|').next().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "type_confirmed",
            "correct_field",
            "correct_field",
            "correct_word",
            "approve"
        ]
    );
    assert!(rows
        .lines()
        .all(|l| l.split('|').nth(1) == Some("Dana Reviewer")));
    let word_entry = rows
        .lines()
        .find(|l| l.starts_with("correct_word"))
        .unwrap();
    let detail: serde_json::Value =
        serde_json::from_str(word_entry.splitn(3, '|').nth(2).unwrap()).unwrap();
    assert_eq!(detail["old_value"], "brown");
    assert_eq!(detail["new_value"], "Countersigned");
    assert_eq!(detail["reviewer"], "Dana Reviewer");

    // Version 1 still says what was read; the current one has the correction.
    let show = one_json_line(&env.run(&["show", &id, "--with-ocr", "--json"]));
    assert_eq!(
        show["ocr"]["pages"][0]["words"][brown]["text"],
        "Countersigned"
    );

    // The exported searchable PDF has the corrected word in its text layer.
    let pdf = env.inputs.join("out.pdf");
    let out = env.run(&["export", &id, "--pdf", arg(&pdf), "--json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let text = std::process::Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("Countersigned"), "{text}");

    // A decided document is not reviewed again.
    let out = env.run(&["review", &id, "--approve", "--reviewer", "Dana", "--json"]);
    assert_eq!(error_code(&out), "invalid_state");

    let out = env.run(&["audit", "verify", "--json"]);
    assert!(out.status.success(), "{}", describe(&out));
}

#[test]
fn quarantine_needs_a_reason_and_records_it() {
    let env = Env::new();
    let id = flagged(&env);
    let out = env.run(&[
        "review",
        &id,
        "--quarantine",
        "--reason",
        "not one of our documents",
        "--reviewer",
        "Sam",
        "--json",
    ]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(one_json_line(&out)["status"], "quarantined");
    let detail = env.sql(&format!(
        "SELECT detail FROM audit_log WHERE document_id = '{id}' AND action = 'quarantine'"
    ));
    assert!(detail.contains("not one of our documents"), "{detail}");
    assert!(detail.contains("\"reviewer\":\"Sam\""), "{detail}");
}
