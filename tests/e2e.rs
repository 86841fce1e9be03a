//! End-to-end: the real desktop app in a real window (WebKitGTK under Xvfb), driven through
//! tauri-driver + WebKitWebDriver. Needs a display (the test command runs it under xvfb-run) and
//! `tauri-driver` on PATH or in ~/.cargo/bin (the test command installs it).
//!
//! Screenshots are saved to target/tmp/e2e/ for people to look at.

use countersign_core::{Source, Status};
use fantoccini::{Client, ClientBuilder, Locator};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// tauri-driver and the WebKitWebDriver it starts, killed as one process group when dropped
/// (WebKitWebDriver outlives tauri-driver otherwise).
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        unsafe {
            libc::kill(-(self.child.id() as i32), libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// Where screenshots and driver logs go (target/tmp/e2e/).
fn shots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn tauri_driver() -> PathBuf {
    let in_cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|d| d.join("bin/tauri-driver"));
    match in_cargo_home.filter(|p| p.exists()) {
        Some(p) => p,
        None => PathBuf::from("tauri-driver"),
    }
}

fn start_driver(data_dir: &Path, log: &Path) -> Driver {
    start_driver_with(data_dir, log, &[])
}

/// tauri-driver with extra environment for the app (e.g. `SANE_CONFIG_DIR`).
fn start_driver_with(data_dir: &Path, log: &Path, env: &[(&str, &Path)]) -> Driver {
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "the end-to-end test needs a display: run it under xvfb-run (scripts/bootstrap.sh test does)"
    );
    let port = free_port();
    let native_port = free_port();
    let log_file = std::fs::File::create(log).unwrap();
    let child = Command::new(tauri_driver())
        .args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native_port.to_string(),
        ])
        .env("COUNTERSIGN_DATA_DIR", data_dir)
        .envs(env.iter().map(|(k, v)| (*k, *v)))
        .stdout(Stdio::from(log_file.try_clone().unwrap()))
        .stderr(Stdio::from(log_file))
        .process_group(0)
        .spawn()
        .expect("tauri-driver must be installed (cargo install tauri-driver --version ^2)");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "tauri-driver did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Driver { child, port }
}

async fn connect(driver: &Driver, data_dir: &Path) -> Client {
    let app = env!("CARGO_BIN_EXE_countersign-desktop");
    let caps = serde_json::json!({
        "tauri:options": {
            "application": app,
            "args": ["--data-dir", data_dir.to_str().unwrap()],
        }
    });
    // Plain HTTP to the local driver: no TLS stack needed. A driver that has just started can drop
    // the first session request (seen once in CI: the connection closed mid-reply); the request
    // is sent again, at most three times in all.
    let mut attempt = 1;
    loop {
        let made = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.as_object().unwrap().clone())
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await;
        match made {
            Ok(client) => return client,
            Err(e) if attempt < 3 => {
                eprintln!("WebDriver session, attempt {attempt}: {e}; trying again");
                attempt += 1;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => panic!("a WebDriver session with the app: {e:?}"),
        }
    }
}

/// A screenshot of the window.
///
/// Without a GPU the app has WebKit draw on the CPU without accelerated compositing
/// (`src-tauri/graphics.rs`). There WebKitWebDriver's screenshot waits for the page's next paint,
/// and a page with nothing changing never paints: the command hung (the page itself kept running
/// its frames). So a 1-pixel, nearly transparent element changes every frame while the screenshot
/// is taken, and is removed after 2 s.
async fn screenshot(client: &Client) -> Result<Vec<u8>, fantoccini::error::CmdError> {
    client
        .execute(
            "const d = document.createElement('div'); \
             d.style.cssText = 'position:fixed;left:0;top:0;width:1px;height:1px;z-index:2147483647;pointer-events:none'; \
             document.body.appendChild(d); const t0 = performance.now(); \
             (function tick(now) { d.style.background = Math.floor(now / 16) % 2 ? 'rgba(0,0,0,0.01)' : 'rgba(0,0,0,0.02)'; \
               if (now - t0 < 2000) requestAnimationFrame(tick); else d.remove(); })(t0);",
            vec![],
        )
        .await?;
    client.screenshot().await
}

/// Polls `check` until it returns Some or `timeout` passes; on timeout the failure names what the
/// window showed and leaves a screenshot beside the others.
async fn eventually<T, F, Fut>(client: &Client, what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if Instant::now() > deadline {
            let shots = shots_dir();
            if let Ok(png) = screenshot(client).await {
                let _ = std::fs::write(shots.join("failure.png"), png);
            }
            let body = match client.find(Locator::Css("body")).await {
                Ok(b) => b.text().await.unwrap_or_default(),
                Err(e) => format!("(no body: {e})"),
            };
            panic!("timed out waiting for {what}; the window shows:\n{body}");
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// The visible text of the first element matching `css`, if there is one.
async fn text_of(client: &Client, css: &str) -> Option<String> {
    client.find(Locator::Css(css)).await.ok()?.text().await.ok()
}

/// The rows of the queue as the window shows them: (file name, status), top to bottom.
async fn rows(client: &Client) -> Vec<(String, String)> {
    let js = "return [...document.querySelectorAll('.row')].map(r => \
              [r.querySelector('.name').textContent.trim(), r.querySelector('[data-status]').dataset.status])";
    match client.execute(js, vec![]).await {
        Ok(v) => serde_json::from_value(v).unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

/// The status shown on the row of `file_name`, if the row is there.
async fn row_status(client: &Client, file_name: &str) -> Option<String> {
    rows(client)
        .await
        .into_iter()
        .find(|(n, _)| n == file_name)
        .map(|(_, s)| s)
}

/// A small synthetic "scan": white page, a few dark bars standing in for lines of text.
fn write_page_png(path: &Path, seed: u32) {
    let (w, h) = (300u32, 400u32);
    let mut pixels = vec![255u8; (w * h) as usize];
    for line in 0..12u32 {
        let y0 = 30 + line * 28;
        let len = 120 + ((line * 37 + seed * 53) % 150);
        for y in y0..y0 + 10 {
            for x in 25..25 + len {
                pixels[(y * w + x) as usize] = 30;
            }
        }
    }
    let file = std::fs::File::create(path).unwrap();
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()
        .unwrap()
        .write_image_data(&pixels)
        .unwrap();
}

fn sha256_hex(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// The shared third-party test corpus (../shared/corpus, or `COUNTERSIGN_CORPUS`).
fn corpus() -> PathBuf {
    [
        std::env::var_os("COUNTERSIGN_CORPUS").map(PathBuf::from),
        Some(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/corpus"
        ))),
        Some(PathBuf::from("/work/shared/corpus")),
    ]
    .into_iter()
    .flatten()
    .find(|p| p.join("MANIFEST.tsv").is_file())
    .expect("the shared test corpus (set COUNTERSIGN_CORPUS)")
}

/// Runs the store's jobs (read, route, send) in this process until none is left.
async fn run_jobs(ws: &countersign_workflow::Workspace) {
    use countersign_workflow::worker::{self, Cancel, Until, WorkerOptions};
    worker::run(ws, &WorkerOptions::new(Until::Idle), &Cancel::new())
        .await
        .unwrap();
}

/// One window at a time: the tests share the display.
static ONE_WINDOW: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_a_file_in_the_real_window_and_see_the_queue_update_live() {
    let _window = ONE_WINDOW.lock().unwrap_or_else(|e| e.into_inner());
    let shots = shots_dir();
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let inbox = tmp.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let signed = inbox.join("signed-nda-acme.png");
    let invoice = inbox.join("invoice-0042.png");
    write_page_png(&signed, 1);
    write_page_png(&invoice, 2);

    let driver = start_driver(&data_dir, &shots.join("tauri-driver.log"));
    let client = connect(&driver, &data_dir).await;

    // The empty queue.
    client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("[data-testid=import-button]"))
        .await
        .expect("the window shows the import button");
    eventually(
        &client,
        "the empty queue",
        Duration::from_secs(20),
        || async {
            text_of(&client, "main")
                .await?
                .contains("No documents yet")
                .then_some(())
        },
    )
    .await;

    // Import through the window's own file input (what "Import files…" opens).
    let input = client
        .find(Locator::Css("[data-testid=file-input]"))
        .await
        .unwrap();
    input.send_keys(signed.to_str().unwrap()).await.unwrap();
    let status = eventually(
        &client,
        "the imported file in the queue",
        Duration::from_secs(20),
        || row_status(&client, "signed-nda-acme.png"),
    )
    .await;
    assert!(
        ["received", "processing", "ocr_complete", "quarantined"].contains(&status.as_str()),
        "unexpected status {status}"
    );

    // The app's background worker renders, recognises and routes it, and the row follows by
    // itself; a page of bars has no text, so it is quarantined (`quarantined`).
    eventually(
        &client,
        "the worker's status change to reach the row",
        Duration::from_secs(30),
        || async {
            (row_status(&client, "signed-nda-acme.png").await.as_deref() == Some("quarantined"))
                .then_some(())
        },
    )
    .await;

    // Another process (here: this test, through the same workflow library as the CLI) imports a
    // file into the same data dir; the window shows it without being asked.
    let ws = countersign_workflow::Workspace::open(&data_dir)
        .await
        .unwrap();
    let outside = countersign_workflow::ingest_path(&ws, &invoice, Source::Folder, "e2e-test")
        .await
        .unwrap();
    eventually(
        &client,
        "a document imported outside the app to appear",
        Duration::from_secs(20),
        || row_status(&client, "invoice-0042.png"),
    )
    .await;

    // Newest first.
    let names: Vec<String> = rows(&client).await.into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec!["invoice-0042.png", "signed-nda-acme.png"]);

    // Importing the same bytes again is refused as a duplicate and adds nothing.
    let input = client
        .find(Locator::Css("[data-testid=file-input]"))
        .await
        .unwrap();
    input.send_keys(signed.to_str().unwrap()).await.unwrap();
    eventually(
        &client,
        "the duplicate notice",
        Duration::from_secs(10),
        || async {
            text_of(&client, ".toasts")
                .await?
                .contains("already in the queue")
                .then_some(())
        },
    )
    .await;

    let png = screenshot(&client).await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");
    std::fs::write(shots.join("queue.png"), &png).unwrap();
    client.close().await.unwrap();
    drop(driver);

    // The store agrees with the window: two documents, the checksums of the files' bytes.
    let all = countersign_workflow::list(&ws, None).await.unwrap();
    assert_eq!(all.len(), 2);
    let by_name = |n: &str| all.iter().find(|r| r.file_name == n).unwrap().clone();
    assert_eq!(by_name("signed-nda-acme.png").checksum, sha256_hex(&signed));
    assert_eq!(by_name("signed-nda-acme.png").source, Source::Upload);
    assert_eq!(by_name("signed-nda-acme.png").status, Status::Quarantined);
    assert_eq!(
        by_name("invoice-0042.png").document_id,
        outside.record.document_id
    );
    assert!(countersign_workflow::verify_audit(&ws).await.unwrap().ok);
}

/// What the preview shows: (version label of the selected version, rendered page sizes).
async fn preview_state(client: &Client) -> Option<(String, String, u32, u32)> {
    let js = "const img = document.querySelector('[data-testid=page-image]'); \
              const sel = document.querySelector('[data-testid=version-select]'); \
              if (!img || !sel || !img.complete || img.naturalWidth === 0) return null; \
              return [sel.value, sel.options[sel.selectedIndex].text, img.naturalWidth, img.naturalHeight];";
    let v = client.execute(js, vec![]).await.ok()?;
    serde_json::from_value(v).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_a_page_in_the_real_window_and_get_a_new_version() {
    let _window = ONE_WINDOW.lock().unwrap_or_else(|e| e.into_inner());
    let shots = shots_dir();
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let scan = tmp.path().join("sideways-scan.png");
    write_page_png(&scan, 3); // 300 × 400, portrait

    // Imported before the window opens, rendered by the app's own worker.
    let ws = countersign_workflow::Workspace::open(&data_dir)
        .await
        .unwrap();
    let imported = countersign_workflow::ingest_path(&ws, &scan, Source::Scanner, "e2e-test")
        .await
        .unwrap();
    let id = imported.record.document_id;

    let driver = start_driver(&data_dir, &shots.join("tauri-driver-rotate.log"));
    let client = connect(&driver, &data_dir).await;
    eventually(
        &client,
        "the document in the queue",
        Duration::from_secs(30),
        || row_status(&client, "sideways-scan.png"),
    )
    .await;
    client
        .find(Locator::Css(&format!("[data-document-id='{id}']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // The preview shows the rendered page of v1 (the worker renders it in the background). A
    // document already quarantined (bars are no text) opens on the review screen: its Pages…
    // button leads to the same preview.
    let (v, _, w, h) = eventually(
        &client,
        "page 1 of v1 in the preview",
        Duration::from_secs(30),
        || async {
            if let Ok(pages) = client
                .find(Locator::Css(
                    "[data-testid=review] [data-testid=pages-button]",
                ))
                .await
            {
                let _ = pages.click().await;
            }
            preview_state(&client).await
        },
    )
    .await;
    assert_eq!((v.as_str(), w, h), ("1", 300, 400));

    client
        .find(Locator::Css("[data-testid=rotate-right]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let (_, label, w, h) = eventually(
        &client,
        "the rotated page as a new version",
        Duration::from_secs(30),
        || async { preview_state(&client).await.filter(|(v, _, _, _)| v == "2") },
    )
    .await;
    assert_eq!((w, h), (400, 300), "the page is turned a quarter");
    assert!(label.contains("current"), "{label}");
    eventually(&client, "the thumbnails to load", Duration::from_secs(10), || async {
        let js = "return [...document.querySelectorAll('[data-testid=thumb] img')].every(i => i.complete && i.naturalWidth > 0)";
        (client.execute(js, vec![]).await.ok()? == serde_json::json!(true)).then_some(())
    })
    .await;
    // Let the compositor catch up with the DOM before the picture is taken.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let png = screenshot(&client).await.unwrap();
    std::fs::write(shots.join("preview-rotated.png"), &png).unwrap();

    // The original version is still there, unchanged and read-only.
    client
        .execute(
            "const s = document.querySelector('[data-testid=version-select]'); s.value = '1'; \
             s.dispatchEvent(new Event('change'));",
            vec![],
        )
        .await
        .unwrap();
    let (_, _, w, h) = eventually(&client, "v1 again", Duration::from_secs(20), || async {
        preview_state(&client).await.filter(|(v, _, _, _)| v == "1")
    })
    .await;
    assert_eq!((w, h), (300, 400));
    client
        .find(Locator::Css("[data-testid=readonly-banner]"))
        .await
        .expect("viewing v1 says it is read-only");
    client.close().await.unwrap();
    drop(driver);

    // The store agrees: version 2 is current, made by an audited page edit; v1 keeps its page.
    let record = countersign_workflow::show(&ws, id, Default::default())
        .await
        .unwrap();
    assert_eq!(record.version, 2);
    let v1 = countersign_workflow::pages::list_pages(&ws, id, 1)
        .await
        .unwrap();
    let v2 = countersign_workflow::pages::list_pages(&ws, id, 2)
        .await
        .unwrap();
    assert_eq!((v1[0].width, v1[0].height), (300, 400));
    assert_eq!((v2[0].width, v2[0].height), (400, 300));
    let entries = countersign_store::audit::entries_for(ws.store().pool(), id)
        .await
        .unwrap();
    let edit = entries
        .iter()
        .find(|e| e.action == "edit_pages")
        .expect("an edit_pages audit entry");
    assert_eq!(edit.version, Some(2));
    assert!(edit.detail.contains("\"rotate\""), "{}", edit.detail);
    assert!(countersign_workflow::verify_audit(&ws).await.unwrap().ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_two_pages_from_the_sane_test_device_in_the_real_window() {
    let _window = ONE_WINDOW.lock().unwrap_or_else(|e| e.into_inner());
    let shots = shots_dir();
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    // SANE's `test` backend, enabled for this app only, with a picture that has content.
    let sane = tmp.path().join("sane");
    std::fs::create_dir_all(&sane).unwrap();
    std::fs::write(sane.join("dll.conf"), "test\n").unwrap();
    std::fs::write(sane.join("test.conf"), "test-picture \"Color pattern\"\n").unwrap();

    let driver = start_driver_with(
        &data_dir,
        &shots.join("tauri-driver-scan.log"),
        &[("SANE_CONFIG_DIR", &sane)],
    );
    let client = connect(&driver, &data_dir).await;
    client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("[data-testid=scan-button]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The device picker lists the test scanner.
    eventually(&client, "the test scanner in the device picker", Duration::from_secs(20), || async {
        let js = "const s = document.querySelector('[data-testid=scan-device]'); return s ? s.value : null";
        (client.execute(js, vec![]).await.ok()? == serde_json::json!("test:0")).then_some(())
    })
    .await;
    client
        .execute(
            "const i = document.querySelector('[data-testid=scan-dialog] input'); i.value = '2'; \
             i.dispatchEvent(new Event('input', { bubbles: true }));",
            vec![],
        )
        .await
        .unwrap();
    let png = screenshot(&client).await.unwrap();
    std::fs::write(shots.join("scan-dialog.png"), &png).unwrap();
    client
        .find(Locator::Css("[data-testid=scan-start]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // The scan becomes one document with two pages, from the scanner.
    eventually(
        &client,
        "the scanned document in the queue",
        Duration::from_secs(60),
        || async {
            let rows = rows(&client).await;
            rows.iter()
                .any(|(name, _)| name.starts_with("scan-") && name.ends_with(".tif"))
                .then_some(())
        },
    )
    .await;
    client.close().await.unwrap();
    drop(driver);
    let ws = countersign_workflow::Workspace::open(&data_dir)
        .await
        .unwrap();
    let all = countersign_workflow::list(&ws, None).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].source, Source::Scanner);
    assert_eq!(all[0].page_count, Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_folder_added_in_the_window_imports_a_dropped_file() {
    let _window = ONE_WINDOW.lock().unwrap_or_else(|e| e.into_inner());
    let shots = shots_dir();
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let hot = tmp.path().join("front-desk-inbox");
    std::fs::create_dir_all(&hot).unwrap();

    let driver = start_driver(&data_dir, &shots.join("tauri-driver-folders.log"));
    let client = connect(&driver, &data_dir).await;
    client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("[data-testid=hot-folders-button]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let input = client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("[data-testid=hot-folder-path]"))
        .await
        .unwrap();
    input.send_keys(hot.to_str().unwrap()).await.unwrap();
    client
        .find(Locator::Css(
            "[data-testid=hot-folders] button[type=submit]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually(
        &client,
        "the folder in the list",
        Duration::from_secs(10),
        || async {
            let js = "const l = document.querySelector('[data-testid=hot-folders] ul'); \
                      return l ? l.textContent : ''";
            let text = client.execute(js, vec![]).await.ok()?;
            text.as_str()?.contains("front-desk-inbox").then_some(())
        },
    )
    .await;
    let png = screenshot(&client).await.unwrap();
    std::fs::write(shots.join("hot-folders.png"), &png).unwrap();

    write_page_png(&hot.join("dropped-by-copier.png"), 9);
    eventually(
        &client,
        "the dropped file in the queue",
        Duration::from_secs(30),
        || row_status(&client, "dropped-by-copier.png"),
    )
    .await;
    client.close().await.unwrap();
    drop(driver);
    assert!(hot.join("processed/dropped-by-copier.png").exists());
    let text = std::fs::read_to_string(data_dir.join("countersign.toml")).unwrap();
    assert!(
        text.contains("front-desk-inbox"),
        "kept in countersign.toml"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_scan_shows_page_by_page_ocr_progress_on_its_card() {
    let _window = ONE_WINDOW.lock().unwrap_or_else(|e| e.into_inner());
    let shots = shots_dir();
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let pages = tmp.path().join("scan");
    countersign_ocr::synth::generate_scan12(&pages).unwrap();
    let scan = pages.join(countersign_ocr::synth::SCAN12_PDF);

    let driver = start_driver(&data_dir, &shots.join("tauri-driver-progress.log"));
    let client = connect(&driver, &data_dir).await;
    client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("[data-testid=import-button]"))
        .await
        .expect("the window is up");

    // Another process imports the scan; the app's own worker reads it.
    let ws = countersign_workflow::Workspace::open(&data_dir)
        .await
        .unwrap();
    let imported = countersign_workflow::ingest_path(&ws, &scan, Source::Scanner, "e2e-test")
        .await
        .unwrap();
    let id = imported.record.document_id;

    // The card shows a bar that advances page by page while the pages are read.
    let progress = format!("[data-document-id='{id}'] [data-testid=ocr-progress]");
    let mut seen = Vec::new();
    let first = eventually(
        &client,
        "the OCR progress bar on the card",
        Duration::from_secs(120),
        || async {
            let bar = client.find(Locator::Css(&progress)).await.ok()?;
            let stage = bar.attr("data-stage").await.ok()??;
            let done: u32 = bar.attr("data-done").await.ok()??.parse().ok()?;
            let total: u32 = bar.attr("data-total").await.ok()??.parse().ok()?;
            (stage == "ocr" && done >= 1 && done < total).then_some((done, total))
        },
    )
    .await;
    assert_eq!(first.1, 12);
    seen.push(first.0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::fs::write(
        shots.join("queue-ocr-progress.png"),
        screenshot(&client).await.unwrap(),
    )
    .unwrap();
    let label = text_of(&client, &progress).await.unwrap_or_default();
    assert!(label.contains("of 12"), "{label}");
    let later = eventually(
        &client,
        "the bar to advance",
        Duration::from_secs(120),
        || async {
            let bar = client.find(Locator::Css(&progress)).await.ok()?;
            let done: u32 = bar.attr("data-done").await.ok()??.parse().ok()?;
            (done > first.0).then_some(done)
        },
    )
    .await;
    seen.push(later);
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");

    // When every page is read the bar goes and the document waits for review.
    let status = eventually(
        &client,
        "the read document",
        Duration::from_secs(180),
        || async {
            row_status(&client, "scan12.pdf")
                .await
                .filter(|s| s == Status::NeedsReview.as_str())
        },
    )
    .await;
    assert_eq!(status, "needs_review");
    assert!(
        client.find(Locator::Css(&progress)).await.is_err(),
        "no bar once done"
    );
    client.close().await.unwrap();
    drop(driver);
}

/// `pdftotext` of a PDF, as a signing service or a PDF viewer's search would see its text.
fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn press(client: &Client, keys: &str) {
    client
        .active_element()
        .await
        .expect("an element has the focus")
        .send_keys(keys)
        .await
        .expect("keys sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_a_flagged_document_from_the_keyboard_correct_a_word_and_approve() {
    use fantoccini::key::Key;
    let _window = ONE_WINDOW.lock().unwrap_or_else(|e| e.into_inner());
    let shots = shots_dir();
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");

    // A scanned page in several languages: unclassified, so flagged for review, and Tesseract is
    // unsure of a few words (",.schnelle”" among them).
    let corpus = corpus();
    let ws = countersign_workflow::Workspace::open(&data_dir)
        .await
        .unwrap();
    countersign_workflow::config::write_reviewer_name(&data_dir, "Erin Example").unwrap();
    let id = countersign_workflow::ingest_path(
        &ws,
        &corpus.join("ocr/tesseract-test/eurotext.tif"),
        Source::Scanner,
        "e2e-test",
    )
    .await
    .unwrap()
    .record
    .document_id;
    run_jobs(&ws).await;
    let before = countersign_workflow::review::review_view(&ws, id)
        .await
        .unwrap();
    assert_eq!(before.record.status, Status::NeedsReview);
    let threshold = before.thresholds.low_word_confidence;
    let page = &before.record.ocr.as_ref().unwrap().pages[0];
    let (first_low, old_text) = page
        .words
        .iter()
        .enumerate()
        .find(|(_, w)| w.confidence < threshold)
        .map(|(i, w)| (i, w.text.clone()))
        .expect("a word read with low confidence");

    let driver = start_driver(&data_dir, &shots.join("tauri-driver-review.log"));
    let client = connect(&driver, &data_dir).await;
    client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("[data-filter=needs_review]"))
        .await
        .expect("the window is up");

    // The queue, filtered to what needs review, with its count.
    client
        .find(Locator::Css("[data-filter=needs_review]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let row = format!("[data-document-id='{id}']");
    eventually(
        &client,
        "the flagged document in the queue",
        Duration::from_secs(20),
        || async { client.find(Locator::Css(&row)).await.ok() },
    )
    .await;
    let count = text_of(&client, "[data-filter=needs_review] .count")
        .await
        .unwrap_or_default();
    assert_eq!(count.trim(), "1", "the needs-review count");
    std::fs::write(
        shots.join("review-queue.png"),
        screenshot(&client).await.unwrap(),
    )
    .unwrap();

    // Open it: the review screen with the page, its word boxes, the fields and why it is flagged.
    client
        .find(Locator::Css(&row))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually(
        &client,
        "the review screen",
        Duration::from_secs(20),
        || async {
            client
                .find(Locator::Css(
                    "[data-testid=review] [data-testid=word-boxes]",
                ))
                .await
                .ok()
        },
    )
    .await;
    let why = text_of(&client, "[data-testid=why-flagged]")
        .await
        .unwrap_or_default();
    assert!(
        why.contains("unclassified") || why.to_lowercase().contains("type"),
        "why flagged: {why}"
    );

    // Tab goes to the first low-confidence word: its editor opens with the word as read.
    press(&client, &Key::Tab.to_string()).await;
    let editor = eventually(
        &client,
        "the word editor",
        Duration::from_secs(10),
        || async {
            client
                .find(Locator::Css("[data-testid=word-editor]"))
                .await
                .ok()
        },
    )
    .await;
    let shown = editor.prop("value").await.unwrap().unwrap_or_default();
    assert_eq!(shown, old_text, "the editor starts from the word as read");
    let stop = client
        .find(Locator::Css(&format!("[data-word='0:{first_low}']")))
        .await;
    assert!(
        stop.is_ok(),
        "the first low-confidence word is a stop on the page"
    );
    std::fs::write(
        shots.join("review-word-editor.png"),
        screenshot(&client).await.unwrap(),
    )
    .unwrap();

    // Type the correction; Enter accepts it and a new version appears.
    editor.clear().await.unwrap();
    editor.send_keys("schnelle").await.unwrap();
    editor.send_keys(&Key::Enter.to_string()).await.unwrap();
    let v_after = before.record.version + 1;
    eventually(
        &client,
        "the corrected version",
        Duration::from_secs(20),
        || async {
            let v = text_of(&client, "[data-testid=review-version]").await?;
            (v.trim() == format!("v{v_after}")).then_some(())
        },
    )
    .await;
    // Focus back on the page (the next stop may have opened an editor): Escape closes it.
    press(&client, &Key::Escape.to_string()).await;
    std::fs::write(
        shots.join("review-screen.png"),
        screenshot(&client).await.unwrap(),
    )
    .unwrap();

    // Reroute to a type (an unclassified document cannot be approved), then approve with `a`.
    client
        .find(Locator::Css("[data-testid=reroute-button]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let pick = eventually(
        &client,
        "the type picker",
        Duration::from_secs(10),
        || async {
            client
                .find(Locator::Css("[data-document-type=nda]"))
                .await
                .ok()
        },
    )
    .await;
    pick.click().await.unwrap();
    eventually(
        &client,
        "the rerouted version",
        Duration::from_secs(20),
        || async {
            let v = text_of(&client, "[data-testid=review-version]").await?;
            (v.trim() == format!("v{}", v_after + 1)).then_some(())
        },
    )
    .await;
    client
        .find(Locator::Css("[data-testid=approve-button]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually(
        &client,
        "the send step",
        Duration::from_secs(20),
        || async {
            client
                .find(Locator::Css(
                    "[data-testid=envelope] [data-testid=recipient-row]",
                ))
                .await
                .ok()
        },
    )
    .await;
    std::fs::write(
        shots.join("review-send-step.png"),
        screenshot(&client).await.unwrap(),
    )
    .unwrap();
    client.close().await.unwrap();
    drop(driver);

    // The store: a version per change, the audit entry with the old and new value and the
    // reviewer from settings, the approved status.
    let after = countersign_workflow::review::review_view(&ws, id)
        .await
        .unwrap();
    assert_eq!(after.record.status, Status::Approved);
    assert_eq!(after.record.document_type.as_deref(), Some("nda"));
    let entries = countersign_store::audit::entries_for(ws.store().pool(), id)
        .await
        .unwrap();
    let word = entries
        .iter()
        .find(|e| e.action == "correct_word")
        .expect("an audit entry for the correction");
    assert_eq!(word.actor, "Erin Example");
    assert_eq!(word.version, Some(v_after));
    let detail: serde_json::Value = serde_json::from_str(&word.detail).unwrap();
    assert_eq!(detail["old_value"], old_text.as_str());
    assert_eq!(detail["new_value"], "schnelle");
    assert!(entries
        .iter()
        .any(|e| e.action == "approve" && e.actor == "Erin Example"));
    let words = &after.record.ocr.as_ref().unwrap().pages[0].words;
    assert_eq!(words[first_low].text, "schnelle");

    // The exported searchable PDF carries the corrected word in its text layer.
    let pdf = countersign_workflow::export::export_pdf(&ws, id)
        .await
        .unwrap();
    let text = pdf_text(&pdf);
    assert!(text.contains("schnelle"), "{text}");
    assert!(
        !text.contains(&old_text),
        "the misread word is gone: {text}"
    );
    let audit = countersign_workflow::verify_audit(&ws).await.unwrap();
    assert!(audit.ok, "{:?}", audit.first_break);
    ws.close().await;
}

/// POSTs the sandbox signing page's "Sign" form for one recipient.
async fn sign_on_sandbox(base_url: &str, envelope: &str, recipient: u32) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = base_url.strip_prefix("http://").unwrap();
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!(
        "POST /sign/{envelope}/{recipient}/sign HTTP/1.0\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n"
    );
    s.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.contains(" 303 "), "{answer}");
}

/// The one-machine demo, as the README tells a new user to try it, in the real window on the
/// app's embedded defaults (no provider and no relay configured: the app runs the sandbox provider
/// and a relay on loopback and wires the sandbox's webhooks to it): import the bundled samples,
/// review and approve the invoice, send it, sign it on the sandbox's page, and watch it reach
/// `completed` by itself — the webhook goes sandbox → relay → the app's status loop, no Refresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_import_a_sample_approve_send_sign_and_see_it_complete_by_itself() {
    let _window = ONE_WINDOW.lock().unwrap_or_else(|e| e.into_inner());
    let shots = shots_dir();
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");

    let driver = start_driver(&data_dir, &shots.join("tauri-driver-sign.log"));
    let client = connect(&driver, &data_dir).await;
    // Online: the app's status loop reaches its own relay.
    eventually(
        &client,
        "the relay online",
        Duration::from_secs(20),
        || async {
            let pill = client
                .find(Locator::Css("[data-testid=connection]"))
                .await
                .ok()?;
            (pill.attr("data-kind").await.ok()?? == "online").then_some(())
        },
    )
    .await;
    // Settings say no relay needs setting up (the app runs its own).
    client
        .find(Locator::Css("[data-testid=settings-button]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually(
        &client,
        "the relay settings",
        Duration::from_secs(10),
        || async {
            client
                .find(Locator::Css("[data-testid=relay-local]"))
                .await
                .ok()
        },
    )
    .await;
    std::fs::write(
        shots.join("demo-settings.png"),
        screenshot(&client).await.unwrap(),
    )
    .unwrap();
    press(&client, &fantoccini::key::Key::Escape.to_string()).await;
    // The empty queue offers the samples.
    std::fs::write(
        shots.join("demo-first-run.png"),
        screenshot(&client).await.unwrap(),
    )
    .unwrap();
    client
        .find(Locator::Css("[data-testid=import-samples]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually(
        &client,
        "the sample invoice in review",
        Duration::from_secs(90),
        || async {
            if let Some(error) = text_of(&client, ".toast.error").await {
                panic!("importing the samples failed: {error}");
            }
            (row_status(&client, "invoice-scan.png").await? == "needs_review").then_some(())
        },
    )
    .await;
    let ws = countersign_workflow::Workspace::open(&data_dir)
        .await
        .unwrap();
    let id = countersign_workflow::list(&ws, None)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.file_name == "invoice-scan.png")
        .expect("the sample invoice is stored")
        .document_id;
    let row = format!("[data-document-id='{id}']");
    client
        .find(Locator::Css(&row))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let approve = eventually(
        &client,
        "the approve button",
        Duration::from_secs(20),
        || async {
            client
                .find(Locator::Css("[data-testid=approve-button]"))
                .await
                .ok()
        },
    )
    .await;
    approve.click().await.unwrap();

    // The send step: Send for signature; the outbox sends it in the background.
    let send = eventually(
        &client,
        "the send button",
        Duration::from_secs(20),
        || async {
            let b = client
                .find(Locator::Css("[data-testid=send-button]"))
                .await
                .ok()?;
            b.is_enabled().await.ok()?.then_some(b)
        },
    )
    .await;
    // The button sits low in the side panel: scroll it into view, then press it as a person would.
    client
        .execute(
            "arguments[0].scrollIntoView({block: 'center'})",
            vec![serde_json::to_value(&send).unwrap()],
        )
        .await
        .unwrap();
    if send.click().await.is_err() {
        client
            .execute(
                "document.querySelector('[data-testid=send-button]').click()",
                vec![],
            )
            .await
            .unwrap();
    }
    eventually(
        &client,
        "the envelope out for signature",
        Duration::from_secs(60),
        || async {
            let panel = client
                .find(Locator::Css("[data-testid=envelope-panel]"))
                .await
                .ok()?;
            (panel.attr("data-status").await.ok()?? == "sent").then_some(())
        },
    )
    .await;
    let envelope = countersign_workflow::show(&ws, id, Default::default())
        .await
        .unwrap()
        .envelope_id
        .expect("the envelope id is stored");
    std::fs::write(
        shots.join("sign-sent.png"),
        screenshot(&client).await.unwrap(),
    )
    .unwrap();

    // Both signers sign on the sandbox's page, at the links the envelope panel shows. Nobody
    // presses Refresh: the sandbox's webhooks reach the app through its relay, and the panel
    // shows completion and the evidence.
    let links = eventually(
        &client,
        "the signing links",
        Duration::from_secs(20),
        || async {
            let mut urls = Vec::new();
            for e in client
                .find_all(Locator::Css("[data-testid=signing-url]"))
                .await
                .ok()?
            {
                urls.push(e.attr("data-url").await.ok()??);
            }
            (urls.len() == 2).then_some(urls)
        },
    )
    .await;
    for (i, url) in links.iter().enumerate() {
        let base = url.split("/sign/").next().unwrap();
        assert!(
            url.ends_with(&format!("/sign/{}/{}", envelope.as_str(), i + 1)),
            "{url}"
        );
        sign_on_sandbox(base, envelope.as_str(), i as u32 + 1).await;
    }
    eventually(
        &client,
        "completion with its evidence, by itself",
        Duration::from_secs(30),
        || async {
            let panel = client
                .find(Locator::Css("[data-testid=envelope-panel]"))
                .await
                .ok()?;
            let done = panel.attr("data-status").await.ok()?? == "completed";
            let saved = client
                .find(Locator::Css("[data-testid=save-signed-pdf]"))
                .await
                .is_ok();
            (done && saved).then_some(())
        },
    )
    .await;
    std::fs::write(
        shots.join("sign-completed.png"),
        screenshot(&client).await.unwrap(),
    )
    .unwrap();
    client.close().await.unwrap();
    drop(driver);

    // The status came by webhook (a relay receipt), not by a poll.
    let receipts = countersign_workflow::sync::receipts(&ws, id).await.unwrap();
    let seen: Vec<_> = receipts
        .iter()
        .map(|r| {
            (
                r.source.clone(),
                r.event.clone(),
                r.provider_status.clone(),
                r.outcome.clone(),
            )
        })
        .collect();
    assert!(
        seen.iter()
            .any(|(source, _, status, outcome)| source == "relay"
                && status.as_deref() == Some("completed")
                && outcome == "applied"),
        "{seen:?}"
    );
    let evidence = countersign_workflow::send::evidence(&ws, id).await.unwrap();
    assert_eq!(evidence.len(), 2, "{evidence:?}");
    let (pdf, signed) = countersign_workflow::export::document_pdf(&ws, id)
        .await
        .unwrap();
    assert!(signed && pdf.starts_with(b"%PDF-"));
    assert!(
        pdf_text(&pdf).contains("Signed"),
        "the signed PDF carries the stamps"
    );
    ws.close().await;
}

/// A US Letter page at 300 dpi set in 5.8 pt Times: about 1,500 words, the dense page of the
/// review benchmark (real text, read by the real OCR).
fn write_dense_page(path: &Path) {
    use countersign_ocr::synth::{encode_png, small_print_page, DPI};
    let image = small_print_page(40).expect("PDFium for the typesetter");
    std::fs::write(path, encode_png(&image, DPI).unwrap()).unwrap();
}

fn stats(label: &str, xs: &mut [f64]) -> serde_json::Value {
    xs.sort_by(f64::total_cmp);
    let q = |p: f64| xs[((xs.len() as f64 - 1.0) * p).round() as usize];
    let v = serde_json::json!({
        "what": label, "n": xs.len(), "median_ms": q(0.5), "p95_ms": q(0.95), "max_ms": q(1.0),
    });
    eprintln!("{v}");
    v
}

/// The review screen's speed in the real window (not a pass/fail test: `scripts/bench-review.sh`
/// runs it and docs/benchmarks.md reports it). Switching to the next document until its first
/// page is decoded and painted; panning and zooming a page with ~1,500 word boxes, frame by frame.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run by scripts/bench-review.sh"]
async fn bench_review_screen() {
    let _window = ONE_WINDOW.lock().unwrap_or_else(|e| e.into_inner());
    let shots = shots_dir();
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let corpus = corpus();
    let dense = tmp.path().join("dense-page.png");
    write_dense_page(&dense);
    let mut files: Vec<PathBuf> = [
        "ocr/tesseract-test/phototest.tif",
        "ocr/tesseract-test/eurotext.tif",
        "ocr/tesseract-test/8087_054.3B.tif",
        "ocr/tesseract-test/8071_093.3B.tif",
        "ocr/ocropy/testpage.png",
        "ocr/tesseract-test/phototest_2.tif",
    ]
    .iter()
    .map(|p| corpus.join(p))
    .collect();
    files.push(dense.clone());
    let ws = countersign_workflow::Workspace::open(&data_dir)
        .await
        .unwrap();
    for f in &files {
        countersign_workflow::ingest_path(&ws, f, Source::Upload, "bench")
            .await
            .unwrap();
    }
    run_jobs(&ws).await;
    let listed = countersign_workflow::list(&ws, None).await.unwrap();
    let dense_doc = listed
        .iter()
        .find(|d| d.file_name == "dense-page.png")
        .unwrap();
    let dense_words = countersign_workflow::show(
        &ws,
        dense_doc.document_id,
        countersign_workflow::ShowOptions { with_ocr: true },
    )
    .await
    .unwrap()
    .ocr
    .unwrap()
    .pages[0]
        .words
        .len();
    let reviewable = listed
        .iter()
        .filter(|d| matches!(d.status, Status::NeedsReview | Status::Quarantined))
        .count();
    eprintln!("{reviewable} documents to review; the dense page has {dense_words} words");

    let driver = start_driver(&data_dir, &shots.join("tauri-driver-bench.log"));
    let client = connect(&driver, &data_dir).await;
    client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("[data-filter=all]"))
        .await
        .expect("the window is up");
    client
        .find(Locator::Css("[data-filter=needs_review]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let first = eventually(&client, "a row", Duration::from_secs(20), || async {
        client.find(Locator::Css("[data-document-id]")).await.ok()
    })
    .await;
    first.click().await.unwrap();
    eventually(
        &client,
        "the review screen",
        Duration::from_secs(20),
        || async {
            client
                .find(Locator::Css(
                    "[data-testid=review] [data-testid=page-image]",
                ))
                .await
                .ok()
        },
    )
    .await;

    // Next document, round and round the filter: time to first page.
    let switches = 20;
    let measured = || async {
        client
            .execute(
                "return (window.__countersignMetrics?.switches ?? []).length",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| v.as_u64())
            .unwrap_or(0) as usize
    };
    // Where the open document is in the filter ("3 of 7"), to turn round at the ends.
    let position = || async {
        let text = text_of(&client, "[data-testid=review]")
            .await
            .unwrap_or_default();
        let words: Vec<&str> = text.split_whitespace().collect();
        words
            .windows(3)
            .find(|w| w[1] == "of" && w[0].parse::<u32>().is_ok() && w[2].parse::<u32>().is_ok())
            .map(|w| (w[0].parse::<u32>().unwrap(), w[2].parse::<u32>().unwrap()))
            .unwrap_or((1, 1))
    };
    let mut forward = true;
    for i in 0..switches {
        let (at, of) = position().await;
        if at >= of {
            forward = false;
        } else if at <= 1 {
            forward = true;
        }
        let key = if forward { "j" } else { "k" };
        // A key pressed while the screen is still busy with the last document is ignored by the
        // app (as a person would press again): press until this switch is measured.
        let deadline = Instant::now() + Duration::from_secs(30);
        while measured().await <= i {
            if Instant::now() > deadline {
                std::fs::write(
                    shots.join("bench-failure.png"),
                    screenshot(&client).await.unwrap(),
                )
                .unwrap();
                panic!(
                    "switch {i} was never shown: {}",
                    text_of(&client, "[data-testid=review]")
                        .await
                        .unwrap_or_default()
                );
            }
            client
                .execute("document.activeElement?.blur?.()", vec![])
                .await
                .unwrap();
            client
                .find(Locator::Css("[data-testid=review]"))
                .await
                .unwrap()
                .send_keys(key)
                .await
                .unwrap();
            let pressed = Instant::now();
            while measured().await <= i && pressed.elapsed() < Duration::from_secs(3) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    let mut switch_ms: Vec<f64> = serde_json::from_value(
        client
            .execute("return window.__countersignMetrics.switches", vec![])
            .await
            .unwrap(),
    )
    .unwrap();
    let switch = stats("next document → first page painted", &mut switch_ms);

    // The dense page: pan for 2 s, then zoom in and out, recording every frame's interval.
    let dense_id = dense_doc.document_id;
    eventually(
        &client,
        "back in the queue",
        Duration::from_secs(20),
        || async {
            if let Ok(r) = client.find(Locator::Css("[data-testid=review]")).await {
                let _ = r.send_keys(&fantoccini::key::Key::Escape.to_string()).await;
            }
            client
                .find(Locator::Css("[data-filter=all]"))
                .await
                .ok()?
                .click()
                .await
                .ok()
        },
    )
    .await;
    let row = format!("[data-document-id='{dense_id}']");
    eventually(
        &client,
        "the dense page's row",
        Duration::from_secs(20),
        || async {
            client
                .find(Locator::Css(&row))
                .await
                .ok()?
                .click()
                .await
                .ok()
        },
    )
    .await;
    eventually(
        &client,
        "the dense page",
        Duration::from_secs(20),
        || async {
            client
                .find(Locator::Css(
                    "[data-testid=review] [data-testid=page-image]",
                ))
                .await
                .ok()
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    std::fs::write(
        shots.join("bench-dense-page.png"),
        screenshot(&client).await.unwrap(),
    )
    .unwrap();
    let frames = client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
            const vp = document.querySelector('[data-testid=review] .viewport');
            const zoomIn = document.querySelector('[data-testid=review] [title^="Zoom in"]');
            const zoomOut = document.querySelector('[data-testid=review] [title^="Zoom out"]');
            const pan = [], zoom = [];
            let last = performance.now(), t0 = last, phase = 'pan', steps = 0;
            function frame(now) {
              const dt = now - last; last = now;
              (phase === 'pan' ? pan : zoom).push(dt);
              if (phase === 'pan') {
                vp.scrollTop += 9; vp.scrollLeft = 40 * Math.sin((now - t0) / 300);
                if (now - t0 > 2000) { phase = 'zoom'; t0 = now; }
              } else if (now - t0 > 250 * (steps + 1)) {
                steps++; (steps <= 3 ? zoomIn : zoomOut)?.click();
                if (steps >= 6) { done({pan, zoom, zoomButtons: !!zoomIn}); return; }
              }
              requestAnimationFrame(frame);
            }
            requestAnimationFrame((now) => { last = now; t0 = now; requestAnimationFrame(frame); });"#,
            vec![],
        )
        .await
        .unwrap();
    let mut pan: Vec<f64> = serde_json::from_value(frames["pan"].clone()).unwrap();
    let mut zoom: Vec<f64> = serde_json::from_value(frames["zoom"].clone()).unwrap();
    let dropped = |xs: &[f64]| xs.iter().filter(|&&d| d > 1.5 * 1000.0 / 60.0).count();
    let (pan_dropped, zoom_dropped) = (dropped(&pan), dropped(&zoom));
    let pan_stats = stats("pan frame interval (1,500-box page)", &mut pan);
    let zoom_stats = stats("zoom frame interval (1,500-box page)", &mut zoom);
    let report = serde_json::json!({
        "documents": reviewable,
        "dense_page_words": dense_words,
        "switch": switch,
        "pan": pan_stats, "pan_frames_over_25ms": pan_dropped,
        "zoom": zoom_stats, "zoom_frames_over_25ms": zoom_dropped,
        "zoom_buttons_found": frames["zoomButtons"],
    });
    println!("BENCH {report}");
    client.close().await.unwrap();
    drop(driver);
    ws.close().await;
}
