//! The classifier learns from documents a person confirmed, and the Route stage uses it.

use countersign_core::Source;
use countersign_ocr::synth::{self, Font};
use countersign_workflow::worker::{self, Until, WorkerOptions};
use countersign_workflow::Workspace;

async fn work(ws: &Workspace) {
    worker::run(ws, &WorkerOptions::new(Until::Idle), &worker::Cancel::new())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmed_documents_train_the_classifier_that_routing_then_consults() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = Workspace::open(&tmp.path().join("data")).await.unwrap();
    // Nothing confirmed yet: nothing to learn from.
    let none = countersign_workflow::classifier::retrain(&ws)
        .await
        .unwrap();
    assert!(!none.trained && none.reason.is_some());
    assert!(countersign_workflow::classifier::current_model(&ws)
        .await
        .unwrap()
        .is_none());

    // Four documents of two kinds, read and routed.
    let mut ids = Vec::new();
    for (n, text) in synth::TEXTS.iter().take(2).enumerate() {
        for font in [Font::Times, Font::Helvetica] {
            let (page, _) = synth::render_page(text, font).unwrap();
            let path = tmp
                .path()
                .join(format!("{}-{}.png", text.name, font.name()));
            std::fs::write(&path, synth::encode_png(&page, synth::DPI).unwrap()).unwrap();
            let id = countersign_workflow::ingest_path(&ws, &path, Source::Upload, "test")
                .await
                .unwrap()
                .record
                .document_id;
            ids.push((id, format!("kind_{n}")));
        }
    }
    work(&ws).await;

    // A person confirms each one's type (the review step's effect on the store: the version's
    // type and an approval).
    let db = tmp.path().join("data/countersign.db");
    for (id, kind) in &ids {
        let out = std::process::Command::new("sqlite3")
            .arg(&db)
            .arg(format!(
                "UPDATE versions SET document_type = '{kind}', status = 'approved' WHERE document_id = '{id}'"
            ))
            .output()
            .expect("the sqlite3 tool");
        assert!(out.status.success(), "{out:?}");
    }
    let summary = countersign_workflow::classifier::retrain(&ws)
        .await
        .unwrap();
    assert!(summary.trained, "{summary:?}");
    assert_eq!(summary.examples, 4);
    assert_eq!(summary.per_type.get("kind_0"), Some(&2));
    let model = countersign_workflow::classifier::current_model(&ws)
        .await
        .unwrap()
        .expect("a stored model");
    let (first, _) = synth::render_page(&synth::TEXTS[0], Font::Courier).unwrap();
    let path = tmp.path().join("unseen.png");
    std::fs::write(&path, synth::encode_png(&first, synth::DPI).unwrap()).unwrap();
    let text = countersign_workflow::ocr_file(&path).await.unwrap().pages[0]
        .text
        .clone();
    let scores = model.predict(&text);
    assert_eq!(scores[0].0, "kind_0", "{scores:?}");
    ws.close().await;
}
