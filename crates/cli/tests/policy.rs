//! The routing policy: a valid user policy is installed (and audited); an invalid one is refused
//! with its file and line, and the previous policy stays in force for the documents routed next.

mod support;

use sha2::{Digest, Sha256};
use support::{arg, corpus, describe, json_lines, one_json_line, Env};

const DEFAULT: &str = include_str!("../../../assets/policy/default.toml");

#[test]
fn an_invalid_policy_names_its_line_and_the_previous_one_stays_in_force() {
    let env = Env::new();
    let good_text = format!("{DEFAULT}\n# our copy, reviewed by legal ops\n");
    let good = env.input("policy.toml", good_text.as_bytes());
    let good_fp = hex::encode(Sha256::digest(good_text.as_bytes()));

    let check = |path: &std::path::Path| {
        let mut cmd = env.command(&["policy", "check", "--json"]);
        cmd.env("COUNTERSIGN_POLICY", path);
        cmd.output().unwrap()
    };
    let out = check(&good);
    assert!(out.status.success(), "{}", describe(&out));
    let ok = one_json_line(&out);
    assert_eq!(ok["fingerprint"], good_fp.as_str());
    assert_eq!(ok["origin"], good.to_str().unwrap());
    assert!(ok["types"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "invoice"));
    assert!(env
        .sql("SELECT action FROM audit_log")
        .lines()
        .any(|a| a == "policy_installed"));

    // A typo in a key, on a line we know.
    let line = good_text
        .lines()
        .position(|l| l.starts_with("department ="))
        .unwrap()
        + 1;
    let bad_text = good_text.replacen("department =", "departmnt =", 1);
    let bad = env.input("policy-bad.toml", bad_text.as_bytes());
    let out = check(&bad);
    assert!(!out.status.success());
    let err = &json_lines(&out)[0]["error"];
    assert_eq!(err["code"], "invalid_policy", "{err}");
    let message = err["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("policy-bad.toml:{line}:")),
        "names file and line {line}: {message}"
    );
    assert!(message.contains("stays in force"), "{message}");

    // A document processed while the bad file is configured is routed under the good policy.
    let page = corpus().join("ocr/tesseract-test/phototest.tif");
    let mut ingest = env.command(&["ingest", arg(&page), "--wait", "--json"]);
    ingest.env("COUNTERSIGN_POLICY", &bad);
    let out = ingest.output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let record = one_json_line(&out);
    let id = record["document_id"].as_str().unwrap();
    assert_ne!(record["status"], "processing");
    let detail = env.sql(&format!(
        "SELECT detail FROM audit_log WHERE document_id = '{id}' AND from_status = 'ocr_complete'"
    ));
    assert!(
        detail.contains(&good_fp),
        "routed under the good policy: {detail}"
    );
    // Only the good policy was ever installed.
    assert_eq!(env.sql("SELECT COUNT(*) FROM policies"), "1");
    assert!(env.run(&["audit", "verify"]).status.success());
}

#[test]
fn deciding_again_under_a_new_policy_makes_a_new_version_and_keeps_the_old_decision() {
    let env = Env::new();
    let page = corpus().join("ocr/tesseract-test/phototest.tif");
    let first = one_json_line(&env.run(&["ingest", arg(&page), "--wait", "--json"]));
    let id = first["document_id"].as_str().unwrap().to_owned();
    assert_eq!(first["document_type"], "unclassified", "{first}");
    assert_eq!(first["status"], "needs_review");

    // A policy that knows this kind of page.
    let text = format!(
        "{DEFAULT}\n[types.fox_memo]\nroute = \"hr\"\nrequired_fields = []\n\n\
         [types.fox_memo.rules]\ntitle = [\"this is a lot of 12 point text\"]\n\
         any = [\"quick brown dog\", \"lazy fox\"]\n"
    );
    let policy = env.input("policy.toml", text.as_bytes());
    let mut redecide = env.command(&["reprocess", &id, "--route-only", "--wait", "--json"]);
    redecide.env("COUNTERSIGN_POLICY", &policy);
    let out = redecide.output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let second = one_json_line(&out);
    assert_eq!(second["version"], 2);
    assert_eq!(second["document_type"], "fox_memo", "{second}");
    assert!(second["classification_confidence"].as_f64().unwrap() > 0.5);
    // History is not rewritten: version 1 keeps its decision, and its words were not read again.
    assert_eq!(
        env.sql(&format!(
            "SELECT version, document_type FROM versions WHERE document_id = '{id}' ORDER BY version"
        )),
        "1|unclassified\n2|fox_memo"
    );
    assert_eq!(
        env.sql(&format!(
            "SELECT COUNT(DISTINCT result_blob) FROM ocr_pages WHERE document_id = '{id}'"
        )),
        "1",
        "the same words, not a new reading"
    );
    assert!(env
        .sql(&format!(
            "SELECT action FROM audit_log WHERE document_id = '{id}'"
        ))
        .lines()
        .any(|a| a == "redecide"));
}
