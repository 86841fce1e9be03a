//! Times the engine on one image with preprocessing on and off (a development aid):
//! `cargo run --release -p countersign-ocr --example probe -- FILE [DPI]`.
use countersign_ocr::engine::Engine;
use countersign_ocr::preprocess::Options;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bytes = std::fs::read(&args[1]).expect("an image file");
    let dpi = args.get(2).and_then(|d| d.parse().ok());
    {
        let pix = countersign_ocr::lept::Pix::read(&bytes)
            .unwrap()
            .to_gray()
            .unwrap();
        let started = Instant::now();
        let binary = pix.threshold(128).unwrap();
        for halve in [true, false] {
            println!(
                "leptonica orientation (page halved: {halve}): {:?} in {:.3} s",
                binary.orientation(halve),
                started.elapsed().as_secs_f64()
            );
        }
    }
    let modes: Vec<bool> = match std::env::var("PROBE_MODE").as_deref() {
        Ok("off") => vec![false],
        Ok("on") => vec![true],
        _ => vec![false, true],
    };
    for enabled in modes {
        let mut engine = Engine::with_options(Options {
            enabled,
            ..Options::default()
        })
        .unwrap();
        let started = Instant::now();
        let out = engine.recognize(0, &bytes, dpi, true).unwrap();
        let png_started = Instant::now();
        let _ = countersign_ocr::lept::Pix::read(&bytes)
            .unwrap()
            .png()
            .unwrap();
        println!(
            "png encode of the page: {:.2} s",
            png_started.elapsed().as_secs_f64()
        );
        let cer = std::env::var("GT").ok().map(|gt| {
            countersign_ocr::eval::cer(&std::fs::read_to_string(gt).unwrap(), &out.page.text)
        });
        println!(
            "preprocessing {}: {:.2} s, {} words, confidence {:.3}, CER {:?}",
            if enabled { "on" } else { "off" },
            started.elapsed().as_secs_f64(),
            out.page.words.len(),
            out.page.mean_confidence,
            cer
        );
        if let Some(st) = &out.straightened {
            std::fs::write("/tmp/probe-straightened.png", &st.png).unwrap();
        }
        for s in &out.page.preprocessing {
            println!(
                "  {:<12} {:>5} ms {} {}",
                s.stage, s.millis, s.applied, s.reason
            );
        }
    }
}
