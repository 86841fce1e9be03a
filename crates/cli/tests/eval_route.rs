//! `countersign eval generate-docs` + `eval route`: a small labelled set (two documents per
//! class) is generated, read with real OCR and routed; the JSON report has one line per document
//! and a summary, and no document is auto-routed with the wrong type. The OCR cache gives the same
//! outcome without OCR; cross-validation and `--train-on` never train on a routed document.

mod support;

use std::collections::BTreeSet;
use support::Env;

#[test]
fn eval_route_reports_per_document_and_a_summary_and_never_auto_routes_a_wrong_type() {
    let env = Env::new();
    let set = env.inputs.join("docs");
    let out = env.run(&[
        "--json",
        "eval",
        "generate-docs",
        support::arg(&set),
        "--count",
        "2",
    ]);
    assert!(out.status.success(), "{}", support::describe(&out));
    let generated = support::json_lines(&out);
    assert_eq!(generated.last().unwrap()["documents"], 12, "6 classes × 2");
    for g in &generated[..generated.len() - 1] {
        let label_path = g["label"].as_str().unwrap();
        let label: serde_json::Value =
            serde_json::from_slice(&std::fs::read(label_path).unwrap()).unwrap();
        assert_eq!(label["document_type"], g["document_type"]);
        assert!(label["fields"].is_object(), "{label}");
        assert!(std::path::Path::new(g["file"].as_str().unwrap()).is_file());
    }

    let cache = env.inputs.join("ocr-cache");
    let out = env.run(&[
        "--json",
        "eval",
        "route",
        support::arg(&set),
        "--ocr-cache",
        support::arg(&cache),
    ]);
    assert!(out.status.success(), "{}", support::describe(&out));
    let lines = support::json_lines(&out);
    let (summary, docs) = lines.split_last().unwrap();
    assert_eq!(docs.len(), 12);
    let types: BTreeSet<&str> = docs
        .iter()
        .map(|d| d["expected_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        BTreeSet::from([
            "hr_form",
            "invoice",
            "nda",
            "purchase_order",
            "unclassified",
            "vendor_agreement"
        ])
    );
    for d in docs {
        assert!(d.get("error").is_none(), "{d}");
        let action = d["action"].as_str().unwrap();
        assert!(
            ["auto_route", "review", "quarantine"].contains(&action),
            "{d}"
        );
        assert!(d["document_type"].is_string(), "{d}");
        assert!(d["classification_confidence"].is_number(), "{d}");
        assert!(d["reasons"].is_array() && d["fields"].is_object(), "{d}");
        assert_eq!(
            d["correct"],
            d["document_type"] == d["expected_type"],
            "{d}"
        );
        if action == "auto_route" {
            assert_eq!(
                d["document_type"], d["expected_type"],
                "auto-routed wrong: {d}"
            );
            assert!(d["reasons"].as_array().unwrap().is_empty(), "{d}");
        }
        if d["expected_type"] == "unclassified" {
            assert_ne!(
                action, "auto_route",
                "an unclassified document is flagged: {d}"
            );
        }
    }

    assert_eq!(summary["summary"], true);
    assert_eq!(summary["documents"], 12);
    assert_eq!(summary["failed"], 0);
    assert_eq!(summary["auto_routed_wrong_type"], 0, "{summary}");
    assert_eq!(summary["all_unclassified_flagged"], true, "{summary}");
    assert_eq!(summary["unclassified_documents"], 2);
    let accuracy = summary["accuracy"].as_f64().unwrap();
    let correct = docs.iter().filter(|d| d["correct"] == true).count();
    assert!((accuracy - correct as f64 / 12.0).abs() < 1e-9, "{summary}");
    // The confusion matrix has a row per expected type and adds up to the documents.
    let confusion = summary["confusion"].as_object().unwrap();
    assert_eq!(confusion.len(), 6, "{summary}");
    let cells: u64 = confusion
        .values()
        .flat_map(|row| row.as_object().unwrap().values())
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(cells, 12);
    for t in types {
        assert_eq!(summary["per_type"][t]["documents"], 2, "{summary}");
    }
    let recall = &summary["field_recall"];
    for field in [
        "invoice_number",
        "total_amount",
        "po_number",
        "party_a",
        "employee_name",
    ] {
        assert!(
            recall[field]["labelled"].as_u64().unwrap() >= 1,
            "{field}: {summary}"
        );
        assert_eq!(recall[field]["required"], true, "{field}");
    }
    assert!(summary["required_field_recall"].is_number(), "{summary}");
    assert!(summary["auto_routed_share"].is_number(), "{summary}");
    assert!(
        summary["clean_correct_typed_auto_routed_share"].is_number(),
        "{summary}"
    );
    assert!(summary["targets"].is_object(), "{summary}");
    assert_eq!(summary["classifier"]["mode"], "none", "{summary}");

    // The OCR cache: one entry per document, and a second run reads it with the same outcome.
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 12);
    let again = |extra: &[&str]| {
        let mut args = vec![
            "--json",
            "eval",
            "route",
            support::arg(&set),
            "--ocr-cache",
            support::arg(&cache),
        ];
        args.extend_from_slice(extra);
        let out = env.run(&args);
        assert!(out.status.success(), "{}", support::describe(&out));
        support::json_lines(&out)
    };
    let outcome = |d: &serde_json::Value| {
        (
            d["file"].as_str().unwrap().to_string(),
            d["document_type"].as_str().unwrap().to_string(),
            d["action"].as_str().unwrap().to_string(),
            d["fields"].clone(),
        )
    };
    let cached = again(&[]);
    assert_eq!(cached.len(), 13);
    let first: Vec<_> = docs.iter().map(outcome).collect();
    let second: Vec<_> = cached[..12].iter().map(outcome).collect();
    assert_eq!(first, second);

    // Cross-validation: one classifier per fold, never trained on the documents it routes.
    let cv = again(&["--cross-validate", "2"]);
    let summary = cv.last().unwrap();
    assert_eq!(summary["classifier"]["mode"], "cross_validate", "{summary}");
    let per_model = summary["classifier"]["examples_per_model"]
        .as_array()
        .unwrap();
    assert_eq!(per_model.len(), 2, "{summary}");
    let trained: u64 = per_model.iter().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(
        trained, 12,
        "each document trains only the other fold's model"
    );
    assert_eq!(summary["auto_routed_wrong_type"], 0, "{summary}");
    assert_eq!(summary["all_unclassified_flagged"], true, "{summary}");

    // Training on the evaluated files themselves is refused file by file.
    let same = again(&["--train-on", support::arg(&set)]);
    let summary = same.last().unwrap();
    assert_eq!(summary["classifier"]["mode"], "train_on", "{summary}");
    assert_eq!(summary["classifier"]["excluded_same_file"], 12, "{summary}");
    assert_eq!(summary["classifier"]["external_examples"], 0, "{summary}");
    for d in &same[..12] {
        assert_ne!(d["classified_by"], "classifier", "{d}");
        assert_ne!(d["classified_by"], "rules_and_classifier", "{d}");
    }
}
