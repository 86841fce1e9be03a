//! Where one page's CPU goes (a development aid): thread CPU time of loading the page, of each
//! preprocessing stage and of the whole `Engine::recognize`, one engine on one thread, with the CER
//! against `<stem>.gt.txt` when it exists.
//! `OMP_THREAD_LIMIT=1 cargo run --release -p countersign-ocr --example stage_cost -- PAGE.png…`
//! (`TESS_VARS="name=value,…"` sets Tesseract variables on the engine first).
use countersign_ocr::engine::Engine;
use countersign_ocr::preprocess::{self, Options, PageImage, STAGES};

fn cpu_ms() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    let mut engine = Engine::with_options(Options::default()).unwrap();
    if let Ok(vars) = std::env::var("TESS_VARS") {
        for kv in vars.split(',').filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').expect("name=value");
            assert!(engine.set_variable(k, v), "unknown Tesseract variable {k}");
        }
    }
    let mut sums = std::collections::BTreeMap::<String, f64>::new();
    let (mut edits, mut chars) = (0.0, 0.0);
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let t = cpu_ms();
        let mut page = PageImage::new(&bytes, None).unwrap();
        let load = cpu_ms() - t;
        *sums.entry("0 load".into()).or_default() += load;
        let mut line = format!("{file}: load {load:.0}");
        for (name, stage) in STAGES {
            let t = cpu_ms();
            preprocess::run(&mut page, &Options::default(), name, stage).unwrap();
            let ms = cpu_ms() - t;
            *sums.entry(format!("1 {name}")).or_default() += ms;
            line += &format!(" {name} {ms:.0}");
        }
        drop(page);
        if std::env::var_os("STAGES_ONLY").is_some() {
            println!("{line}");
            continue;
        }
        let t = cpu_ms();
        let out = engine.recognize(0, &bytes, None, false).unwrap();
        let total = cpu_ms() - t;
        *sums.entry("2 recognize (all)".into()).or_default() += total;
        line += &format!(" | recognize {total:.0}");
        let gt = file.rsplit_once('.').map(|(s, _)| format!("{s}.gt.txt"));
        if let Some(truth) = gt.and_then(|g| std::fs::read_to_string(g).ok()) {
            let s = countersign_ocr::eval::score(&truth, &out.page.text);
            line += &format!(" CER {:.4}", s.cer);
            edits += s.char_edits as f64;
            chars += s.ref_chars as f64;
        }
        println!("{line}");
    }
    for (k, v) in &sums {
        println!("{k:<22} {v:>8.0} ms");
    }
    if chars > 0.0 {
        println!("weighted CER ~{:.4}", edits / chars);
    }
}
