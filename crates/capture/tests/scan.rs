//! Scanning through the real `scanimage` against SANE's `test` backend, which produces real
//! frames (its "Color pattern" picture) and can simulate a busy device, a jam and an empty
//! feeder. Each test gives `scanimage` its own `SANE_CONFIG_DIR` (a `dll.conf` naming `test`, a
//! `test.conf` with its options); nothing global is touched. Needs `sane-utils` installed.
//!
//! The test device's page is 80 × 100 mm: 236 × 295 pixels at 75 dpi.

use countersign_capture::scan::{
    assemble_tiff, Device, Resolutions, Sane, ScanCancel, ScanError, ScanMode, ScanProgress,
    ScanRequest, ScanSource, ScannedPage,
};
use std::io::Cursor;
use std::path::Path;
use std::time::{Duration, Instant};
use tiff::decoder::{Decoder, DecodingResult};
use tiff::tags::Tag;

const WIDTH_75: u32 = 236; // floor(80 mm / 25.4 × 75)
const HEIGHT_75: u32 = 295; // floor(100 mm / 25.4 × 75)

/// A SANE configuration with the test backend, and `scanimage` pointed at it. `test_conf` adds
/// lines to the backend's `test.conf` (after a picture with content: the default is solid black).
fn sane(test_conf: &str) -> (tempfile::TempDir, Sane) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dll.conf"), "test\n").unwrap();
    std::fs::write(
        dir.path().join("test.conf"),
        format!("test-picture \"Color pattern\"\n{test_conf}\n"),
    )
    .unwrap();
    let sane = Sane::new().env("SANE_CONFIG_DIR", dir.path());
    (dir, sane)
}

fn request(mode: ScanMode, source: ScanSource, dpi: u32, pages: Option<u32>) -> ScanRequest {
    ScanRequest {
        device: Some("test:0".into()),
        resolution_dpi: dpi,
        mode,
        source,
        max_pages: pages,
    }
}

fn scan(sane: &Sane, req: &ScanRequest) -> Result<Vec<ScannedPage>, ScanError> {
    sane.scan_batch(req, |_| {})
}

/// How many distinct byte values the frame has: a blank (solid) frame has one.
fn distinct_values(bytes: &[u8]) -> usize {
    let mut seen = [false; 256];
    bytes.iter().for_each(|&b| seen[b as usize] = true);
    seen.iter().filter(|&&s| s).count()
}

/// One IFD of a TIFF as decoded.
struct TiffPage {
    width: u32,
    height: u32,
    /// XResolution and YResolution, as rationals.
    resolution: ((u32, u32), (u32, u32)),
    pixels: Vec<u8>,
}

/// Every IFD of a TIFF, asserting the resolution unit is inches and samples are 8-bit.
fn tiff_pages(bytes: &[u8]) -> Vec<TiffPage> {
    let mut d = Decoder::new(Cursor::new(bytes)).unwrap();
    let mut pages = Vec::new();
    loop {
        let (width, height) = d.dimensions().unwrap();
        let rational = |v: tiff::decoder::ifd::Value| match v {
            tiff::decoder::ifd::Value::Rational(n, d) => (n, d),
            other => panic!("resolution is a rational: {other:?}"),
        };
        let resolution = (
            rational(d.get_tag(Tag::XResolution).unwrap()),
            rational(d.get_tag(Tag::YResolution).unwrap()),
        );
        assert_eq!(d.get_tag_u32(Tag::ResolutionUnit).unwrap(), 2, "inches");
        let pixels = match d.read_image().unwrap() {
            DecodingResult::U8(p) => p,
            _ => panic!("8-bit samples expected"),
        };
        pages.push(TiffPage {
            width,
            height,
            resolution,
            pixels,
        });
        if !d.more_images() {
            break;
        }
        d.next_image().unwrap();
    }
    pages
}

#[test]
fn list_devices_finds_the_test_device() {
    let (_dir, sane) = sane("");
    let devices = sane.list_devices().unwrap();
    assert_eq!(
        devices.first(),
        Some(&Device {
            name: "test:0".into(),
            vendor: "Noname".into(),
            model: "frontend-tester".into(),
            kind: "virtual device".into(),
        }),
        "{devices:?}"
    );
    assert!(
        devices.iter().any(|d| d.name == "test:1"),
        "the backend's default is two devices"
    );
}

#[test]
fn device_options_lists_resolutions_modes_and_sources() {
    let (_dir, sane) = sane("");
    let o = sane.device_options("test:0").unwrap();
    assert_eq!(o.modes, ["Gray", "Color"]);
    assert_eq!(o.sources, ["Flatbed", "Automatic Document Feeder"]);
    assert_eq!(
        o.resolutions,
        Some(Resolutions::Range {
            min: 1,
            max: 1200,
            step: 1
        })
    );
    assert!(o.depths.contains(&1) && o.depths.contains(&8));
}

#[test]
fn three_gray_pages_at_75_dpi_are_three_real_frames_of_the_page_size() {
    let (_dir, sane) = sane("");
    let pages = scan(
        &sane,
        &request(ScanMode::Gray, ScanSource::Flatbed, 75, Some(3)),
    )
    .unwrap();

    assert_eq!(
        pages.iter().map(|p| p.number).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    for page in &pages {
        assert_eq!((page.width, page.height), (WIDTH_75, HEIGHT_75), "{page:?}");
        assert_eq!(page.dpi, (75, 75), "the PNG's pHYs");
        let img = page.decode().unwrap();
        let gray = img.as_luma8().expect("8-bit grey");
        assert_eq!(gray.dimensions(), (WIDTH_75, HEIGHT_75));
        let distinct = distinct_values(gray.as_raw());
        assert!(
            distinct > 16,
            "a real frame, not a blank page: {distinct} grey levels"
        );
    }
}

#[test]
fn progress_arrives_in_order_for_every_page() {
    let (_dir, sane) = sane("");
    let mut events = Vec::new();
    let pages = sane
        .scan_batch(
            &request(ScanMode::Gray, ScanSource::Flatbed, 75, Some(3)),
            |e| events.push(e),
        )
        .unwrap();
    assert_eq!(pages.len(), 3);

    // started(n) → progress(n) rising → done(n), for n = 1, 2, 3 and nothing else.
    let mut expected_page = 1;
    let mut it = events.iter().peekable();
    while let Some(e) = it.next() {
        assert_eq!(
            e,
            &ScanProgress::PageStarted {
                page: expected_page
            },
            "{events:?}"
        );
        let mut last = -1.0f32;
        let mut progressed = 0;
        while let Some(ScanProgress::PageProgress { page, percent }) = it.peek() {
            assert_eq!(*page, expected_page);
            assert!(*percent > last && *percent <= 100.0, "{events:?}");
            last = *percent;
            progressed += 1;
            it.next();
        }
        assert!(
            progressed > 0,
            "the test device reports progress: {events:?}"
        );
        assert_eq!(
            it.next(),
            Some(&ScanProgress::PageDone {
                page: expected_page
            }),
            "{events:?}"
        );
        expected_page += 1;
    }
    assert_eq!(expected_page, 4, "three pages: {events:?}");
}

#[test]
fn the_assembled_tiff_has_one_ifd_per_page_and_round_trips() {
    let (_dir, sane) = sane("");
    let pages = scan(
        &sane,
        &request(ScanMode::Gray, ScanSource::Flatbed, 75, Some(3)),
    )
    .unwrap();
    let tiff = assemble_tiff(&pages).unwrap();
    assert!(tiff.starts_with(b"II*\0"), "a little-endian TIFF");
    assert_eq!(
        countersign_capture::sniff(&tiff).unwrap().as_str(),
        "image/tiff"
    );

    let decoded = tiff_pages(&tiff);
    assert_eq!(decoded.len(), 3, "3 IFDs");
    for (t, page) in decoded.iter().zip(&pages) {
        assert_eq!((t.width, t.height), (WIDTH_75, HEIGHT_75));
        assert_eq!(t.resolution, ((75, 1), (75, 1)), "the resolution is kept");
        let original = page.decode().unwrap().into_luma8().into_raw();
        assert!(
            t.pixels == original,
            "lossless: page {} differs after the round trip",
            page.number
        );
    }
    // Deflate: the document is smaller than its raw pixels.
    assert!(
        tiff.len() < 3 * (WIDTH_75 * HEIGHT_75) as usize,
        "{} bytes",
        tiff.len()
    );
}

#[test]
fn color_pages_are_rgb_and_lineart_pages_are_black_and_white() {
    let (_dir, sane) = sane("");
    let color = scan(
        &sane,
        &request(ScanMode::Color, ScanSource::Flatbed, 50, None),
    )
    .unwrap();
    assert_eq!(color.len(), 1, "flatbed without max_pages: one page");
    let rgb = color[0].decode().unwrap();
    assert!(rgb.as_rgb8().is_some(), "8-bit RGB: {:?}", rgb.color());
    let color_tiff = tiff_pages(&assemble_tiff(&color).unwrap());
    assert_eq!(color_tiff.len(), 1);
    assert!(
        color_tiff[0].pixels == rgb.to_rgb8().into_raw(),
        "RGB kept losslessly"
    );

    // The test device has no lineart mode; 1-bit grey stands in for it.
    let lineart = scan(
        &sane,
        &request(ScanMode::Lineart, ScanSource::Flatbed, 75, None),
    )
    .unwrap();
    let tiff = assemble_tiff(&lineart).unwrap();
    let decoded = tiff_pages(&tiff);
    assert_eq!(decoded.len(), 1);
    let page = &decoded[0];
    assert_eq!((page.width, page.height), (WIDTH_75, HEIGHT_75));
    assert_eq!(distinct_values(&page.pixels), 2, "black and white only");
    assert!(page.pixels.iter().all(|&p| p == 0 || p == 255));
}

#[test]
fn the_feeder_is_scanned_until_it_is_empty_or_max_pages() {
    // The test device's feeder "empties" after 10 sheets.
    let (_dir, sane) = sane("");
    let all = scan(&sane, &request(ScanMode::Gray, ScanSource::Adf, 25, None)).unwrap();
    assert_eq!(all.len(), 10);
    assert_eq!(all.last().unwrap().number, 10);
    let two = scan(
        &sane,
        &request(ScanMode::Gray, ScanSource::Adf, 25, Some(2)),
    )
    .unwrap();
    assert_eq!(two.len(), 2);
    let more_than_loaded = scan(
        &sane,
        &request(ScanMode::Gray, ScanSource::Adf, 25, Some(12)),
    )
    .unwrap();
    assert_eq!(more_than_loaded.len(), 10, "the feeder ran out first");
}

#[test]
fn an_unknown_device_is_scanner_not_found() {
    let (_dir, sane) = sane("");
    let mut req = request(ScanMode::Gray, ScanSource::Flatbed, 75, None);
    req.device = Some("nosuch:0".into());
    let e = scan(&sane, &req).unwrap_err();
    assert_eq!(e.code(), "scanner_not_found", "{e}");
    assert!(e.to_string().contains("nosuch:0"), "{e}");
}

#[test]
fn with_no_device_named_the_first_one_listed_is_used_and_none_is_scanner_not_found() {
    let (_dir, sane_) = sane("");
    let mut req = request(ScanMode::Gray, ScanSource::Flatbed, 25, None);
    req.device = None;
    assert_eq!(scan(&sane_, &req).unwrap().len(), 1);

    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("dll.conf"), "").unwrap();
    let none = Sane::new().env("SANE_CONFIG_DIR", empty.path());
    assert_eq!(none.list_devices().unwrap(), []);
    let e = scan(&none, &req).unwrap_err();
    assert_eq!(e.code(), "scanner_not_found", "{e}");
}

#[test]
fn a_source_the_device_lacks_is_an_unsupported_setting_naming_what_it_has() {
    let (_dir, sane) = sane("");
    let e = scan(
        &sane,
        &request(ScanMode::Gray, ScanSource::AdfDuplex, 75, None),
    )
    .unwrap_err();
    assert_eq!(e.code(), "unsupported_scan_setting", "{e}");
    assert!(e.to_string().contains("Automatic Document Feeder"), "{e}");
    let e = scan(
        &sane,
        &request(ScanMode::Gray, ScanSource::Flatbed, 4800, None),
    )
    .unwrap_err();
    assert_eq!(e.code(), "unsupported_scan_setting", "{e}");
}

#[test]
fn device_failures_have_their_codes() {
    let cases = [
        ("SANE_STATUS_DEVICE_BUSY", "scanner_busy", "busy"),
        ("SANE_STATUS_JAMMED", "scan_failed", "jammed"),
        ("SANE_STATUS_COVER_OPEN", "scan_failed", "cover"),
        ("SANE_STATUS_NO_DOCS", "no_pages", "no page"),
    ];
    for (status, code, words) in cases {
        let (_dir, sane) = sane(&format!("read-status-code \"{status}\""));
        let e = scan(
            &sane,
            &request(ScanMode::Gray, ScanSource::Flatbed, 25, Some(2)),
        )
        .unwrap_err();
        assert_eq!(e.code(), code, "{status}: {e}");
        assert!(e.to_string().contains(words), "{status}: {e}");
    }
}

#[test]
fn without_scanimage_scanning_is_unavailable() {
    let sane = Sane::new().program("/nonexistent/scanimage");
    let e = sane.list_devices().unwrap_err();
    assert_eq!(e.code(), "scanner_unavailable");
    assert!(e.to_string().contains("sane-utils"), "{e}");
    let e = scan(
        &sane,
        &request(ScanMode::Gray, ScanSource::Flatbed, 75, None),
    )
    .unwrap_err();
    assert_eq!(e.code(), "scanner_unavailable");
}

#[test]
fn cancelling_stops_scanimage_mid_page() {
    // Slowed down to ~200 ms per 1000 bytes: a page takes several seconds.
    let (_dir, sane) =
        sane("read-limit true\nread-limit-size 1000\nread-delay true\nread-delay-duration 200000");
    let cancel = ScanCancel::new();
    let started = Instant::now();
    let mut events = Vec::new();
    let e = sane
        .scan_batch_cancellable(
            &request(ScanMode::Gray, ScanSource::Flatbed, 75, Some(3)),
            &cancel,
            |event| {
                if matches!(event, ScanProgress::PageProgress { .. }) {
                    cancel.cancel();
                }
                events.push(event);
            },
        )
        .unwrap_err();
    assert_eq!(e.code(), "scan_cancelled", "{e}");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ScanProgress::PageDone { .. })),
        "{events:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "stopped promptly: {:?}",
        started.elapsed()
    );
}

/// A stand-in `scanimage` that answers `-A` and then hangs without a sound: the seam a broken
/// backend would use.
fn hanging_scanimage(dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("scanimage");
    let pid_file = dir.join("pid");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncase \"$*\" in *-A*) echo '    --resolution 1..1200dpi [75]'; exit 0;; esac\n\
             echo 'Scanning page 1' >&2\necho $$ > '{}'\nexec sleep 60\n",
            pid_file.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[test]
fn a_scanner_that_stops_responding_is_stopped_after_the_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let sane = Sane::new()
        .program(hanging_scanimage(dir.path()))
        .idle_timeout(Duration::from_secs(1));
    let started = Instant::now();
    let e = scan(
        &sane,
        &request(ScanMode::Gray, ScanSource::Flatbed, 75, None),
    )
    .unwrap_err();
    assert_eq!(e.code(), "scan_failed", "{e}");
    assert!(e.to_string().contains("no sign of life"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let pid = std::fs::read_to_string(dir.path().join("pid")).unwrap();
    assert!(
        !Path::new(&format!("/proc/{}", pid.trim())).exists(),
        "the hung process {pid} was killed and reaped"
    );
}
