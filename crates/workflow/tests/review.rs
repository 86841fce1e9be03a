//! Review: corrections, undo and decisions make new versions with audit entries; the earlier
//! versions keep what they said; a stale version is refused; the corrected words reach the
//! searchable PDF; confirmed names join the tenant's vocabulary.

use countersign_core::{Source, Status};
use countersign_workflow::review::{self, ReviewChange, ReviewDecision};
use countersign_workflow::worker::{self, Until, WorkerOptions};
use countersign_workflow::{ErrorCode, Workspace};
use std::path::PathBuf;

fn corpus() -> PathBuf {
    [
        std::env::var_os("COUNTERSIGN_CORPUS").map(PathBuf::from),
        Some(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/corpus"
        ))),
        Some(PathBuf::from("/work/shared/corpus")),
    ]
    .into_iter()
    .flatten()
    .find(|p| p.join("MANIFEST.tsv").is_file())
    .expect("the shared test corpus (set COUNTERSIGN_CORPUS)")
}

/// phototest.tif read and routed: an unclassified page of English text, so `needs_review`.
async fn flagged_document(ws: &Workspace) -> countersign_core::DocumentId {
    let page = corpus().join("ocr/tesseract-test/phototest.tif");
    let id = countersign_workflow::ingest_path(ws, &page, Source::Upload, "test")
        .await
        .unwrap()
        .record
        .document_id;
    worker::run(ws, &WorkerOptions::new(Until::Idle), &worker::Cancel::new())
        .await
        .unwrap();
    id
}

fn word_index(view: &review::ReviewView, text: &str) -> u32 {
    view.record.ocr.as_ref().unwrap().pages[0]
        .words
        .iter()
        .position(|w| w.text == text)
        .unwrap_or_else(|| panic!("no word {text:?} on page 1")) as u32
}

fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrections_and_decisions_are_versions_with_audit_entries() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = Workspace::open(&tmp.path().join("data")).await.unwrap();
    let id = flagged_document(&ws).await;

    let view = review::review_view(&ws, id).await.unwrap();
    assert_eq!(view.record.status, Status::NeedsReview);
    assert_eq!(view.record.document_type.as_deref(), Some("unclassified"));
    assert!(view.reviewable);
    assert!(
        !view.flags.is_empty(),
        "an unclassified document is flagged"
    );
    assert!(view
        .document_types
        .iter()
        .any(|t| t.document_type == "invoice"));
    let v1 = view.record.version;
    let quick = word_index(&view, "quick");

    // A word: a new version whose words (and page text) carry the correction.
    let r = review::change_document(
        &ws,
        id,
        Some(v1),
        ReviewChange::CorrectWord {
            page: 0,
            word: quick,
            text: "Countersigned".into(),
        },
        "Dana",
    )
    .await
    .unwrap();
    assert_eq!(r.version, v1 + 1);
    assert_eq!(r.status, Status::NeedsReview);
    let view = review::review_view(&ws, id).await.unwrap();
    let page = &view.record.ocr.as_ref().unwrap().pages[0];
    assert_eq!(page.words[quick as usize].text, "Countersigned");
    assert_eq!(page.words[quick as usize].confidence, 1.0);
    assert!(page.text.contains("Countersigned"), "{}", page.text);
    // The earlier version still reads what the engine read.
    let old = countersign_workflow::ocr_pages(&ws, id, v1).await.unwrap();
    assert_eq!(old[0].words[quick as usize].text, "quick");

    // The audit entry names the reviewer, the old and the new value.
    let entry = view
        .timeline
        .iter()
        .find(|e| e.action == "correct_word")
        .expect("a correct_word entry");
    assert_eq!(entry.actor, "Dana");
    assert!(
        entry.summary.contains("\"quick\" → \"Countersigned\""),
        "{}",
        entry.summary
    );

    // The searchable PDF's text layer has the corrected word.
    let pdf = countersign_workflow::export::export_pdf(&ws, id)
        .await
        .unwrap();
    let text = pdf_text(&pdf);
    assert!(text.contains("Countersigned"), "{text}");

    // A change made on a version that is no longer current is refused, and stores nothing.
    let stale = review::change_document(
        &ws,
        id,
        Some(v1),
        ReviewChange::SetType {
            document_type: "invoice".into(),
        },
        "Dana",
    )
    .await
    .unwrap_err();
    assert_eq!(stale.code, ErrorCode::Conflict);
    assert_eq!(
        review::review_view(&ws, id).await.unwrap().record.version,
        v1 + 1
    );

    // Bad input: an unknown field, a date that is no date, an unknown type, no reviewer.
    for (change, who) in [
        (
            ReviewChange::SetField {
                field: "colour".into(),
                value: "red".into(),
            },
            "Dana",
        ),
        (
            ReviewChange::SetField {
                field: "due_date".into(),
                value: "31/31/2024".into(),
            },
            "Dana",
        ),
        (
            ReviewChange::SetType {
                document_type: "lease".into(),
            },
            "Dana",
        ),
        (
            ReviewChange::SetType {
                document_type: "invoice".into(),
            },
            "  ",
        ),
    ] {
        let err = review::change_document(&ws, id, None, change.clone(), who)
            .await
            .unwrap_err();
        assert_eq!(
            err.code,
            ErrorCode::InvalidArgument,
            "{change:?}: {}",
            err.message
        );
    }
    assert_eq!(
        review::review_view(&ws, id).await.unwrap().record.version,
        v1 + 1
    );

    // Unclassified cannot be approved; a type and fields make it routable.
    let err = review::decide_document(&ws, id, None, ReviewDecision::Approve, "Dana")
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidState, "{}", err.message);
    review::change_document(
        &ws,
        id,
        None,
        ReviewChange::SetType {
            document_type: "invoice".into(),
        },
        "Dana",
    )
    .await
    .unwrap();
    for (field, value) in [
        ("total_amount", "$1,234.50"),
        ("due_date", "2026-12-31"),
        ("vendor_name", "Acme  Industrial Supply Co."),
    ] {
        review::change_document(
            &ws,
            id,
            None,
            ReviewChange::SetField {
                field: field.into(),
                value: value.into(),
            },
            "Dana",
        )
        .await
        .unwrap();
    }
    let view = review::review_view(&ws, id).await.unwrap();
    let r = &view.record;
    assert_eq!(r.document_type.as_deref(), Some("invoice"));
    assert_eq!(r.classification_confidence, Some(1.0));
    assert_eq!(view.classification.basis.as_deref(), Some("reviewer"));
    assert!(r.route.is_some());
    assert_eq!(r.fields["total_amount"].value, "1234.50");
    assert_eq!(r.fields["total_amount"].confidence, 1.0);
    assert_eq!(r.fields["vendor_name"].value, "Acme Industrial Supply Co.");
    assert!(
        !r.decision
            .as_ref()
            .unwrap()
            .reasons
            .iter()
            .any(|x| x.contains("total_amount")),
        "a reviewer's value is not a reason any more: {:?}",
        r.decision
    );

    // Undo withdraws the last correction (the vendor name) and only that.
    let before = r.version;
    review::change_document(&ws, id, None, ReviewChange::Undo, "Dana")
        .await
        .unwrap();
    let view = review::review_view(&ws, id).await.unwrap();
    assert_eq!(view.record.version, before + 1);
    assert!(
        !view.record.fields.contains_key("vendor_name")
            || view.record.fields["vendor_name"].confidence < 1.0
    );
    assert_eq!(view.record.fields["total_amount"].value, "1234.50");
    assert!(view.timeline.iter().any(|e| e.action == "undo_correction"));
    assert!(
        !view.corrections.iter().any(|c| matches!(&c.target, review::CorrectionTarget::Field { field } if field == "vendor_name")),
        "the undone correction is no longer in effect"
    );

    // Reject and quarantine need a reason.
    for decision in [
        ReviewDecision::Reject { reason: " ".into() },
        ReviewDecision::Quarantine { reason: "".into() },
    ] {
        let err = review::decide_document(&ws, id, None, decision, "Dana")
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidArgument);
    }

    // Approve: a new version in `approved`; the names on it join the vocabulary.
    review::change_document(
        &ws,
        id,
        None,
        ReviewChange::SetField {
            field: "vendor_name".into(),
            value: "Acme Industrial Supply Co.".into(),
        },
        "Dana",
    )
    .await
    .unwrap();
    let approved = review::decide_document(&ws, id, None, ReviewDecision::Approve, "Dana")
        .await
        .unwrap();
    assert_eq!(approved.status, Status::Approved);
    let view = review::review_view(&ws, id).await.unwrap();
    assert!(!view.reviewable);
    assert!(
        !view.envelope.recipients.is_empty(),
        "the invoice route has signers"
    );
    assert!(view
        .timeline
        .iter()
        .any(|e| e.action == "approve" && e.actor == "Dana"));
    let vocab = countersign_store::review::vocabulary(ws.store().pool(), &approved.tenant_id)
        .await
        .unwrap();
    assert_eq!(vocab["vendor_name"], ["Acme Industrial Supply Co."]);

    // Decided documents are not corrected any more.
    let err = review::change_document(
        &ws,
        id,
        None,
        ReviewChange::SetType {
            document_type: "nda".into(),
        },
        "Dana",
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidState);

    // The recipients can be edited for the send step (validated).
    let mut recipients = view.envelope.recipients.clone();
    recipients[0].name = Some("Pat Signer".into());
    recipients[0].email = Some("not-an-email".into());
    let err = review::set_recipients(&ws, id, None, recipients.clone(), "Dana")
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);
    recipients[0].email = Some("pat@example.com".into());
    review::set_recipients(&ws, id, None, recipients, "Dana")
        .await
        .unwrap();
    let view = review::review_view(&ws, id).await.unwrap();
    assert_eq!(
        view.envelope.recipients[0].email.as_deref(),
        Some("pat@example.com")
    );
    assert_eq!(view.record.status, Status::Approved);

    let audit = countersign_workflow::verify_audit(&ws).await.unwrap();
    assert!(audit.ok, "{:?}", audit.first_break);
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quarantined_document_is_released_by_giving_it_a_type() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = Workspace::open(&tmp.path().join("data")).await.unwrap();
    let id = flagged_document(&ws).await;
    let q = review::decide_document(
        &ws,
        id,
        None,
        ReviewDecision::Quarantine {
            reason: "looks like a test page".into(),
        },
        "Sam",
    )
    .await
    .unwrap();
    assert_eq!(q.status, Status::Quarantined);
    // Approving straight from quarantine is refused with a way out.
    let err = review::decide_document(&ws, id, None, ReviewDecision::Approve, "Sam")
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidState);
    assert!(err.message.contains("type"), "{}", err.message);
    let r = review::change_document(
        &ws,
        id,
        None,
        ReviewChange::SetType {
            document_type: "nda".into(),
        },
        "Sam",
    )
    .await
    .unwrap();
    assert_eq!(r.status, Status::NeedsReview);
    assert_eq!(r.document_type.as_deref(), Some("nda"));
    let rejected = review::decide_document(
        &ws,
        id,
        None,
        ReviewDecision::Reject {
            reason: "duplicate of a signed copy".into(),
        },
        "Sam",
    )
    .await
    .unwrap();
    assert_eq!(rejected.status, Status::Rejected);
    let view = review::review_view(&ws, id).await.unwrap();
    assert!(view
        .timeline
        .iter()
        .any(|e| e.summary == "Rejected: \"duplicate of a signed copy\""));
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirming_a_word_as_read_and_undoing_it_restores_the_engines_reading() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = Workspace::open(&tmp.path().join("data")).await.unwrap();
    let id = flagged_document(&ws).await;
    let view = review::review_view(&ws, id).await.unwrap();
    let i = word_index(&view, "lazy");
    let read = view.record.ocr.as_ref().unwrap().pages[0].words[i as usize].clone();
    assert!(read.confidence < 1.0);

    // Enter on an unchanged word: the reviewer vouches for it; it is no longer flagged.
    let confirm = ReviewChange::CorrectWord {
        page: 0,
        word: i,
        text: "lazy".into(),
    };
    review::change_document(&ws, id, None, confirm.clone(), "Dana")
        .await
        .unwrap();
    let view = review::review_view(&ws, id).await.unwrap();
    let w = &view.record.ocr.as_ref().unwrap().pages[0].words[i as usize];
    assert_eq!((w.text.as_str(), w.confidence), ("lazy", 1.0));
    assert!(view.timeline.iter().any(|e| e.action == "confirm_word"));
    // Nothing left to confirm.
    let err = review::change_document(&ws, id, None, confirm, "Dana")
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);

    // Undo gives the word back as the engine read it, confidence included.
    review::change_document(&ws, id, None, ReviewChange::Undo, "Dana")
        .await
        .unwrap();
    let view = review::review_view(&ws, id).await.unwrap();
    assert_eq!(
        view.record.ocr.as_ref().unwrap().pages[0].words[i as usize],
        read
    );
    let err = review::change_document(&ws, id, None, ReviewChange::Undo, "Dana")
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidState, "nothing left to undo");
    ws.close().await;
}
