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
