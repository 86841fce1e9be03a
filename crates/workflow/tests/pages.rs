//! Page edits and inserts make new versions; the earlier versions stay as they were.

use countersign_core::Source;
use countersign_workflow::pages::{self, PageEdit};
use countersign_workflow::worker::{self, Until, WorkerOptions};
use countersign_workflow::{ErrorCode, Workspace};
use std::path::Path;

/// A greyscale PNG of `w`×`h` whose pixels depend on `seed`, written with the `image` crate.
fn write_png(path: &Path, w: u32, h: u32, seed: u8) {
    let img = image::GrayImage::from_fn(w, h, |x, y| {
        image::Luma([(x as u8).wrapping_mul(3) ^ (y as u8) ^ seed])
    });
    img.save(path).unwrap();
}

async fn rendered(ws: &Workspace) {
    worker::run(ws, &WorkerOptions::new(Until::Idle), &worker::Cancel::new())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_make_new_versions_and_keep_the_old_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = Workspace::open(&tmp.path().join("data")).await.unwrap();
    let a = tmp.path().join("a.png");
    write_png(&a, 60, 80, 1);
    let id = countersign_workflow::ingest_path(&ws, &a, Source::Upload, "test")
        .await
        .unwrap()
        .record
        .document_id;

    // Not rendered yet: edits wait.
    let early = pages::edit_pages(
        &ws,
        id,
        vec![PageEdit::Rotate {
            index: 0,
            degrees: 90,
        }],
        "test",
    )
    .await;
    assert_eq!(early.unwrap_err().code, ErrorCode::NotReady);
    rendered(&ws).await;

    // Insert a second file's page after page 1, then rotate, move and reject bad edits.
    let b = tmp.path().join("b.png");
    write_png(&b, 30, 20, 2);
    let file = countersign_workflow::IngestRequest {
        bytes: std::fs::read(&b).unwrap(),
        file_name: "b.png".into(),
        source: Source::Upload,
        actor: "test".into(),
        password: None,
    };
    let v2 = pages::insert_pages(&ws, id, 1, file).await.unwrap();
    assert_eq!((v2.version, v2.page_count), (2, Some(2)));
    let v3 = pages::edit_pages(
        &ws,
        id,
        vec![
            PageEdit::Rotate {
                index: 0,
                degrees: 90,
            },
            PageEdit::Move { from: 1, to: 0 },
        ],
        "test",
    )
    .await
    .unwrap();
    assert_eq!(v3.version, 3);
    let p3 = pages::list_pages(&ws, id, 3).await.unwrap();
    assert_eq!((p3[0].width, p3[0].height), (30, 20), "b moved first");
    assert_eq!((p3[1].width, p3[1].height), (80, 60), "a turned a quarter");
    // v1 and v2 are untouched.
    let p1 = pages::list_pages(&ws, id, 1).await.unwrap();
    assert_eq!(p1.len(), 1);
    assert_eq!((p1[0].width, p1[0].height), (60, 80));
    assert_eq!(pages::list_pages(&ws, id, 2).await.unwrap().len(), 2);
    let original = pages::page_image(&ws, id, 1, 0, false).await.unwrap();
    assert_eq!(
        image::load_from_memory(&original)
            .unwrap()
            .to_luma8()
            .dimensions(),
        (60, 80)
    );

    for (bad, code) in [
        (
            vec![PageEdit::Rotate {
                index: 0,
                degrees: 45,
            }],
            ErrorCode::InvalidArgument,
        ),
        (
            vec![PageEdit::Delete { index: 9 }],
            ErrorCode::InvalidArgument,
        ),
        (vec![], ErrorCode::InvalidArgument),
    ] {
        assert_eq!(
            pages::edit_pages(&ws, id, bad, "test")
                .await
                .unwrap_err()
                .code,
            code
        );
    }
    // Each new version has one audit entry, and the chain holds.
    let entries = countersign_store::audit::entries_for(ws.store().pool(), id)
        .await
        .unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e.action.as_str())
        .filter(|a| *a != "transition")
        .collect();
    assert_eq!(actions, vec!["ingest", "insert_pages", "edit_pages"]);
    assert!(countersign_workflow::verify_audit(&ws).await.unwrap().ok);
    let versions = pages::list_versions(&ws, id).await.unwrap();
    assert_eq!(
        versions
            .iter()
            .map(|v| (v.version, v.current))
            .collect::<Vec<_>>(),
        vec![(1, false), (2, false), (3, true)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_scanned_from_the_sane_test_device_are_inserted_as_a_new_version() {
    let tmp = tempfile::tempdir().unwrap();
    let sane = tmp.path().join("sane");
    std::fs::create_dir_all(&sane).unwrap();
    std::fs::write(sane.join("dll.conf"), "test\n").unwrap();
    std::fs::write(sane.join("test.conf"), "test-picture \"Color pattern\"\n").unwrap();
    // The only test in this binary that touches SANE: set for the scanimage children.
    std::env::set_var("SANE_CONFIG_DIR", &sane);

    let ws = Workspace::open(&tmp.path().join("data")).await.unwrap();
    let a = tmp.path().join("cover.png");
    write_png(&a, 60, 80, 5);
    let id = countersign_workflow::ingest_path(&ws, &a, Source::Upload, "test")
        .await
        .unwrap()
        .record
        .document_id;
    rendered(&ws).await;

    let request = countersign_workflow::scan::ScanRequest {
        device: Some("test:0".into()),
        resolution_dpi: 50,
        max_pages: Some(2),
        ..Default::default()
    };
    let record =
        countersign_workflow::scan::scan_into_document(&ws, id, 1, request, "test", |_| {})
            .await
            .unwrap();
    assert_eq!((record.version, record.page_count), (2, Some(3)));
    let p = pages::list_pages(&ws, id, 2).await.unwrap();
    assert_eq!((p[0].width, p[0].height), (60, 80), "the cover stays first");
    assert!(
        p[1..].iter().all(|pg| pg.rendered && pg.dpi == Some(50)),
        "{p:?}"
    );
}
