//! After sending: the envelope's status comes back from the provider (forwards only), a
//! completed envelope's signed PDF and certificate become evidence with their checksums, an
//! envelope out for signature can be voided, and a voided one is sent again as a new version.

use countersign_core::{DocumentId, Source, Status};
use countersign_workflow::review::{self, ReviewChange, ReviewDecision};
use countersign_workflow::send;
use countersign_workflow::worker::{self, Until, WorkerOptions};
use countersign_workflow::{ErrorCode, Workspace};
use std::path::{Path, PathBuf};

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

async fn idle(ws: &Workspace) {
    worker::run(ws, &WorkerOptions::new(Until::Idle), &worker::Cancel::new())
        .await
        .unwrap();
}

/// A workspace whose signature provider is at `base_url` (its temp dir lives as long as it).
async fn workspace_with_provider(base_url: &str) -> (tempfile::TempDir, Workspace) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("countersign.toml"),
        format!("[provider]\nbase_url = \"{base_url}\"\n"),
    )
    .unwrap();
    let ws = Workspace::open(&data).await.unwrap();
    (tmp, ws)
}

/// A page read, typed as an invoice (fixed signers in the default policy) and approved.
async fn approved_invoice(ws: &Workspace, page: &Path) -> DocumentId {
    let id = countersign_workflow::ingest_path(ws, page, Source::Upload, "test")
        .await
        .unwrap()
        .record
        .document_id;
    idle(ws).await;
    let invoice = ReviewChange::SetType {
        document_type: "invoice".into(),
    };
    review::change_document(ws, id, None, invoice, "Dana")
        .await
        .unwrap();
    review::decide_document(ws, id, None, ReviewDecision::Approve, "Dana")
        .await
        .unwrap();
    id
}

/// An approved invoice put in the outbox and sent.
async fn sent_document(ws: &Workspace, page: &Path) -> DocumentId {
    let id = approved_invoice(ws, page).await;
    send::queue_for_signature(ws, id, "Dana").await.unwrap();
    idle(ws).await;
    id
}

/// The sandbox's signing page: what a recipient's "Sign" button posts.
async fn sign_as(base_url: &str, envelope: &str, recipient: u32) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = base_url.strip_prefix("http://").unwrap();
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    s.write_all(
        format!(
            "POST /sign/{envelope}/{recipient}/sign HTTP/1.0\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.0 303") || answer.starts_with("HTTP/1.1 303"),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_envelope_brings_back_its_evidence_and_a_voided_one_is_sent_again() {
    let sandbox = countersign_sandbox::start(Default::default(), "127.0.0.1:0")
        .await
        .unwrap();
    let (tmp, ws) = workspace_with_provider(&sandbox.base_url).await;

    // Signed by both signers on the provider's page; the status and the evidence come back.
    let a = sent_document(&ws, &corpus().join("ocr/tesseract-test/phototest.tif")).await;
    let record = countersign_workflow::show(&ws, a, Default::default())
        .await
        .unwrap();
    assert_eq!(record.status, Status::Sent);
    let envelope = record.envelope_id.clone().unwrap();
    let links = send::signing_links(&ws, a).await.unwrap();
    assert_eq!(links.len(), 2, "{links:?}");
    assert!(links[0]
        .url
        .ends_with(&format!("/sign/{}/1", envelope.as_str())));
    // Nothing signed yet: a refresh changes nothing.
    let same = send::refresh_envelope(&ws, a, "test").await.unwrap();
    assert_eq!(same.status, Status::Sent);
    sign_as(&sandbox.base_url, envelope.as_str(), 1).await;
    sign_as(&sandbox.base_url, envelope.as_str(), 2).await;
    let done = send::refresh_envelope(&ws, a, "test").await.unwrap();
    assert_eq!(done.status, Status::Completed);
    // Only the steps the provider reported: `sent → completed`, no `delivered` nobody saw.
    let moves: Vec<(String, String)> = countersign_store::audit::entries_for(ws.store().pool(), a)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "transition")
        .filter_map(|e| Some((e.from_status?, e.to_status?)))
        .collect();
    assert!(
        moves.contains(&("sent".into(), "completed".into())),
        "{moves:?}"
    );
    assert!(!moves.iter().any(|m| m.1 == "delivered"), "{moves:?}");
    let evidence = send::evidence(&ws, a).await.unwrap();
    let kinds: Vec<&str> = evidence.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["certificate", "signed_pdf"]);
    let signed = send::evidence_bytes(&ws, a, "signed_pdf").await.unwrap();
    assert!(signed.starts_with(b"%PDF-"));
    use sha2::Digest;
    let sha = hex::encode(sha2::Sha256::digest(&signed));
    assert_eq!(
        evidence
            .iter()
            .find(|e| e.kind == "signed_pdf")
            .unwrap()
            .sha256,
        sha,
        "the evidence names its checksum"
    );
    let (exported, is_signed) = countersign_workflow::export::document_pdf(&ws, a)
        .await
        .unwrap();
    assert!(is_signed);
    assert_eq!(
        exported, signed,
        "export gives the signed PDF once completed"
    );
    // A second refresh neither moves back nor stores the evidence twice.
    let again = send::refresh_envelope(&ws, a, "test").await.unwrap();
    assert_eq!(again.status, Status::Completed);
    assert_eq!(send::evidence(&ws, a).await.unwrap().len(), 2);
    let saved = send::save_evidence(&ws, a, "certificate", &tmp.path().join("downloads"))
        .await
        .unwrap();
    assert!(std::fs::read(&saved).unwrap().starts_with(b"%PDF-"));

    // Voided while out for signature, then sent again: a new version and a new envelope.
    let b = sent_document(&ws, &corpus().join("ocr/tesseract-test/eurotext.tif")).await;
    let err = send::void_envelope(&ws, b, " ", "test").await.unwrap_err();
    assert_eq!(
        err.code,
        ErrorCode::InvalidArgument,
        "voiding needs a reason"
    );
    let voided = send::void_envelope(&ws, b, "wrong counterparty", "test")
        .await
        .unwrap();
    assert_eq!(voided.status, Status::Voided);
    let first_envelope = voided.envelope_id.clone().unwrap();
    let err = send::void_envelope(&ws, b, "again", "test")
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidState);
    let requeued = send::resend(&ws, b, "test").await.unwrap();
    assert_eq!(requeued.status, Status::QueuedForSignature);
    assert_eq!(requeued.version, voided.version + 1);
    assert!(requeued.envelope_id.is_none());
    idle(&ws).await;
    let resent = countersign_workflow::show(&ws, b, Default::default())
        .await
        .unwrap();
    assert_eq!(resent.status, Status::Sent);
    let second_envelope = resent.envelope_id.clone().unwrap();
    assert_ne!(
        second_envelope, first_envelope,
        "a new envelope for the new version"
    );
    // The sandbox holds both, under different idempotency keys.
    assert_ne!(
        send::key_for(&voided, &dummy_outcome(&ws, b, voided.version).await),
        send::key_for(&resent, &dummy_outcome(&ws, b, resent.version).await)
    );

    let audit = countersign_workflow::verify_audit(&ws).await.unwrap();
    assert!(audit.ok, "{:?}", audit.first_break);
    ws.close().await;
    sandbox.stop().await.unwrap();
}

async fn dummy_outcome(
    ws: &Workspace,
    id: DocumentId,
    version: u32,
) -> countersign_route::RouteOutcome {
    let json = countersign_store::documents::routing(ws.store().pool(), id, version)
        .await
        .unwrap()
        .unwrap();
    serde_json::from_value(json).unwrap()
}

/// Words of a PDF page as poppler reads them: `(page, text, xMin, yMin, xMax, yMax)` in points.
fn pdf_words(pdf: &[u8]) -> Vec<(u32, String, f64, f64, f64, f64)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signed.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg("-bbox")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(out.status.success());
    let html = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut words = Vec::new();
    let mut page = 0;
    for line in html.lines() {
        let line = line.trim();
        if line.starts_with("<page ") {
            page += 1;
        }
        let Some(rest) = line.strip_prefix("<word ") else {
            continue;
        };
        let attr = |name: &str| -> f64 {
            let start = rest.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
            rest[start..].split('"').next().unwrap().parse().unwrap()
        };
        let text = rest
            .split('>')
            .nth(1)
            .unwrap_or("")
            .split('<')
            .next()
            .unwrap_or("");
        words.push((
            page,
            text.to_owned(),
            attr("xMin"),
            attr("yMin"),
            attr("xMax"),
            attr("yMax"),
        ));
    }
    words
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signature_lands_at_the_anchor_text_of_a_scanned_page() {
    let sandbox = countersign_sandbox::start(Default::default(), "127.0.0.1:0")
        .await
        .unwrap();
    let (tmp, ws) = workspace_with_provider(&sandbox.base_url).await;

    // A scanned NDA: a page image (no text of its own) with a "Signature: ____" line.
    let nda = countersign_ocr::synth::TEXTS
        .iter()
        .find(|t| t.name == "nda")
        .unwrap();
    let (image, _) =
        countersign_ocr::synth::render_page(nda, countersign_ocr::synth::Font::Times).unwrap();
    let scan = tmp.path().join("nda-scan.png");
    std::fs::write(
        &scan,
        countersign_ocr::synth::encode_png(&image, countersign_ocr::synth::DPI).unwrap(),
    )
    .unwrap();
    let id = countersign_workflow::ingest_path(&ws, &scan, Source::Scanner, "test")
        .await
        .unwrap()
        .record
        .document_id;
    idle(&ws).await;
    let read = countersign_workflow::show(&ws, id, Default::default())
        .await
        .unwrap();
    if read.status == Status::NeedsReview {
        if read.document_type.as_deref() != Some("nda") {
            let nda = ReviewChange::SetType {
                document_type: "nda".into(),
            };
            review::change_document(&ws, id, None, nda, "Dana")
                .await
                .unwrap();
        }
        review::decide_document(&ws, id, None, ReviewDecision::Approve, "Dana")
            .await
            .unwrap();
    }
    // The counterparty signs first: give them an address.
    let view = review::review_view(&ws, id).await.unwrap();
    let mut recipients = view.envelope.recipients.clone();
    recipients[0]
        .name
        .get_or_insert_with(|| "Quillon Analytics".into());
    recipients[0].email = Some("counterparty@example.com".into());
    review::set_recipients(&ws, id, None, recipients, "Dana")
        .await
        .unwrap();
    let anchor = review::review_view(&ws, id).await.unwrap().envelope.anchors[0].clone();
    assert!(
        anchor.found,
        "the OCR text layer has the anchor text: {anchor:?}"
    );
    send::queue_for_signature(&ws, id, "Dana").await.unwrap();
    idle(&ws).await;
    let envelope = countersign_workflow::show(&ws, id, Default::default())
        .await
        .unwrap()
        .envelope_id
        .expect("sent");
    sign_as(&sandbox.base_url, envelope.as_str(), 1).await;
    sign_as(&sandbox.base_url, envelope.as_str(), 2).await;
    assert_eq!(
        send::refresh_envelope(&ws, id, "test")
            .await
            .unwrap()
            .status,
        Status::Completed
    );

    // In the signed PDF the counterparty's signature sits on the "Signature:" line, right of
    // the label (the policy's 300 px = 72 pt from the label's left edge).
    let signed = send::evidence_bytes(&ws, id, "signed_pdf").await.unwrap();
    let words = pdf_words(&signed);
    let label = words
        .iter()
        .find(|w| w.1.starts_with("Signature"))
        .unwrap_or_else(|| panic!("the OCR layer's anchor is in the signed PDF: {words:?}"));
    let stamp = words
        .iter()
        .filter(|w| w.0 == label.0 && w.1.starts_with("Signed"))
        .min_by(|a, b| (a.3 - label.3).abs().total_cmp(&(b.3 - label.3).abs()))
        .unwrap_or_else(|| panic!("a signature stamp on the anchor's page: {words:?}"));
    assert!(
        stamp.2 > label.2 + 50.0 && stamp.2 < label.2 + 120.0,
        "the stamp starts right of the label: label {label:?}, stamp {stamp:?}"
    );
    assert!(
        (stamp.3 - label.3).abs() < 30.0,
        "the stamp is on the label's line: label {label:?}, stamp {stamp:?}"
    );
    ws.close().await;
    sandbox.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_wait_in_the_outbox_while_the_provider_is_down_and_drain_when_it_answers() {
    // A provider address nobody answers on yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (_tmp, ws) = workspace_with_provider(&format!("http://127.0.0.1:{port}")).await;
    let id = approved_invoice(&ws, &corpus().join("ocr/tesseract-test/phototest.tif")).await;
    send::queue_for_signature(&ws, id, "Dana").await.unwrap();

    // One attempt: the provider is unreachable, so the send waits, and says why.
    worker::run(
        &ws,
        &WorkerOptions::new(Until::SendTried(vec![id])),
        &worker::Cancel::new(),
    )
    .await
    .unwrap();
    let waiting = countersign_workflow::show(&ws, id, Default::default())
        .await
        .unwrap();
    assert_eq!(waiting.status, Status::QueuedForSignature);
    assert!(waiting.envelope_id.is_none());
    let outbox = send::outbox(&ws).await.unwrap();
    assert_eq!(outbox.waiting, 1);
    assert!(
        outbox.reasons.iter().any(|r| r.contains("unavailable")),
        "{outbox:?}"
    );

    // The provider comes up on that address: the outbox drains by itself.
    let sandbox = countersign_sandbox::start(Default::default(), &format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    idle(&ws).await;
    let sent = countersign_workflow::show(&ws, id, Default::default())
        .await
        .unwrap();
    assert_eq!(sent.status, Status::Sent);
    assert!(sent.envelope_id.is_some());
    assert_eq!(send::outbox(&ws).await.unwrap().waiting, 0);
    assert!(
        started.elapsed() < send::RETRY_CAP + std::time::Duration::from_secs(5),
        "sent within one retry interval"
    );
    ws.close().await;
    sandbox.stop().await.unwrap();
}
