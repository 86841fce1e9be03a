//! Routes plain text files (e.g. `pdftotext -layout` output) with the default policy, or the
//! policy given by `--policy FILE`, and prints one line per file: type, decision, fields.
//! A quick way to see what the rules and extractors make of real documents:
//!
//! ```sh
//! for f in ../shared/corpus/doctypes/invoice/gcp/*.pdf; do pdftotext -layout "$f" "/tmp/$(basename "$f").txt"; done
//! cargo run -p countersign-route --example route_text -- /tmp/*.txt
//! ```

use countersign_core::OcrPage;
use countersign_route::{route, Policy};
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let policy = match args.iter().position(|a| a == "--policy") {
        Some(i) => {
            let path = args.remove(i + 1);
            args.remove(i);
            Policy::load(Path::new(&path))?
        }
        None => Policy::embedded_default(),
    };
    for file in args {
        let text = std::fs::read_to_string(&file)?;
        // pdftotext separates pages with form feeds.
        let pages: Vec<OcrPage> = text
            .split('\u{c}')
            .filter(|p| !p.trim().is_empty())
            .enumerate()
            .map(|(i, t)| OcrPage {
                index: i as u32,
                width: 0,
                height: 0,
                text: t.to_string(),
                mean_confidence: 1.0,
                words: Vec::new(),
                quality: None,
                preprocessing: Vec::new(),
            })
            .collect();
        let out = route(&policy, &pages, None);
        let fields: Vec<String> = out
            .fields
            .iter()
            .map(|(k, f)| format!("{k}={}", f.value))
            .collect();
        println!(
            "{file}\t{}\t{:?}\t{}\t{:?}",
            out.document_type,
            out.decision.action,
            fields.join(" "),
            out.decision.reasons
        );
    }
    Ok(())
}
