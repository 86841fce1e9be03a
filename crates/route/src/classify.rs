//! A small statistical text classifier: multinomial naive Bayes over word unigrams and bigrams,
//! with probabilities calibrated by a softmax temperature fitted on cross-validated predictions.
//!
//! It learns from reviewer-confirmed documents (`train(&[(text, type)])`), is deterministic (same
//! examples, same model, same scores), and serialises to JSON so the workflow can store it. Hand
//! written rather than linfa: the model is a few counting loops, and linfa would bring ndarray
//! and a BLAS choice for no gain.
//!
//! Scoring: a document's score for a class is the mean log-likelihood per feature, shrunk towards
//! zero for short documents (divided by `n + SHRINK` rather than `n`), plus the class prior on the
//! same scale. Probabilities are `softmax(score / temperature)`. Naive Bayes' raw posteriors are
//! wildly over-confident; the per-feature mean and the fitted temperature make 0.9 mean roughly
//! "right nine times in ten" on data like the training set.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Additive (Lidstone) smoothing of feature counts.
const ALPHA: f64 = 0.2;
/// Pseudo-count of features that pulls short documents' scores towards uniform.
const SHRINK: f64 = 20.0;
const FORMAT_VERSION: u32 = 1;
/// Share of probability the calibration target leaves to the other classes.
const LABEL_SMOOTHING: f64 = 0.03;

/// A trained classifier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    version: u32,
    /// Class labels (document types), sorted.
    classes: Vec<String>,
    /// Training documents per class.
    doc_counts: Vec<u32>,
    /// Total feature occurrences per class.
    feature_totals: Vec<u64>,
    /// Feature → occurrences per class (same order as `classes`).
    counts: BTreeMap<String, Vec<u32>>,
    /// Softmax temperature fitted by cross-validation.
    temperature: f64,
}

/// Lower-case word unigrams and bigrams. Numbers become `<num>` (amounts and dates say little
/// about the type and would only grow the vocabulary).
pub fn features(text: &str) -> Vec<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .filter_map(|w| {
            if w.chars().any(|c| c.is_ascii_digit()) {
                Some("<num>".to_string())
            } else if w.chars().count() >= 2 {
                Some(w.to_lowercase())
            } else {
                None
            }
        })
        .collect();
    let mut out = words.clone();
    out.extend(words.windows(2).map(|w| format!("{} {}", w[0], w[1])));
    out
}

struct Counts {
    classes: Vec<String>,
    doc_counts: Vec<u32>,
    feature_totals: Vec<u64>,
    counts: BTreeMap<String, Vec<u32>>,
}

fn count<T: AsRef<str>, L: AsRef<str>>(examples: &[(T, L)], classes: &[String]) -> Counts {
    let k = classes.len();
    let mut c = Counts {
        classes: classes.to_vec(),
        doc_counts: vec![0; k],
        feature_totals: vec![0; k],
        counts: BTreeMap::new(),
    };
    for (text, label) in examples {
        let Ok(ci) = classes.binary_search_by(|x| x.as_str().cmp(label.as_ref())) else {
            continue;
        };
        c.doc_counts[ci] += 1;
        for f in features(text.as_ref()) {
            c.counts.entry(f).or_insert_with(|| vec![0; k])[ci] += 1;
            c.feature_totals[ci] += 1;
        }
    }
    c
}

impl Counts {
    fn scores(&self, feats: &[String]) -> Vec<f64> {
        scores(&self.doc_counts, &self.feature_totals, &self.counts, feats)
    }
}

/// Unscaled scores per class (before temperature): mean log-likelihood per known feature, with
/// the prior, shrunk for short documents.
fn scores(
    doc_counts: &[u32],
    feature_totals: &[u64],
    counts: &BTreeMap<String, Vec<u32>>,
    feats: &[String],
) -> Vec<f64> {
    let k = doc_counts.len();
    let vocab = counts.len() as f64;
    let docs: f64 = doc_counts.iter().map(|&d| d as f64).sum();
    let known: Vec<&Vec<u32>> = feats.iter().filter_map(|f| counts.get(f)).collect();
    // Unknown features count in the length: a text the model barely knows stays near uniform.
    let n = feats.len() as f64;
    (0..k)
        .map(|ci| {
            let denom = feature_totals[ci] as f64 + ALPHA * vocab;
            let loglik: f64 = known
                .iter()
                .map(|c| ((c[ci] as f64 + ALPHA) / denom).ln())
                .sum();
            let prior = ((doc_counts[ci] as f64 + 1.0) / (docs + k as f64)).ln();
            (loglik + prior) / (n + SHRINK)
        })
        .collect()
}

fn softmax(scores: &[f64], temperature: f64) -> Vec<f64> {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = scores
        .iter()
        .map(|s| ((s - max) / temperature).exp())
        .collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}

/// Fits the temperature minimising the cross-entropy of held-out predictions (k-fold, folds by
/// example index so the result is deterministic) against slightly smoothed labels: on separable
/// training data plain likelihood would push the temperature to zero and every answer to 1.0.
fn fit_temperature<T: AsRef<str>, L: AsRef<str>>(examples: &[(T, L)], classes: &[String]) -> f64 {
    let folds = examples.len().min(5);
    if classes.len() < 2 || folds < 2 {
        return 1.0;
    }
    let mut held_out: Vec<(Vec<f64>, usize)> = Vec::new();
    for fold in 0..folds {
        let train: Vec<(&str, &str)> = examples
            .iter()
            .enumerate()
            .filter(|(i, _)| i % folds != fold)
            .map(|(_, (t, l))| (t.as_ref(), l.as_ref()))
            .collect();
        let counts = count(&train, classes);
        for (_, (text, label)) in examples
            .iter()
            .enumerate()
            .filter(|(i, _)| i % folds == fold)
        {
            if let Ok(ci) = classes.binary_search_by(|x| x.as_str().cmp(label.as_ref())) {
                held_out.push((counts.scores(&features(text.as_ref())), ci));
            }
        }
    }
    // Log-spaced grid from 1e-4 to 10: per-feature score gaps are small numbers.
    let mut best = (f64::INFINITY, 1.0);
    for step in 0..=100 {
        let t = 10f64.powf(-4.0 + 5.0 * step as f64 / 100.0);
        let k = classes.len() as f64;
        let nll: f64 = held_out
            .iter()
            .map(|(s, ci)| {
                softmax(s, t)
                    .iter()
                    .enumerate()
                    .map(|(j, p)| {
                        let target = if j == *ci {
                            1.0 - LABEL_SMOOTHING
                        } else {
                            LABEL_SMOOTHING / (k - 1.0)
                        };
                        -target * p.max(1e-12).ln()
                    })
                    .sum::<f64>()
            })
            .sum();
        if nll < best.0 {
            best = (nll, t);
        }
    }
    best.1
}

impl Model {
    /// Trains on labelled texts. Labels are document types (a label `unclassified` is allowed:
    /// it teaches what is none of the types).
    pub fn train<T: AsRef<str>, L: AsRef<str>>(examples: &[(T, L)]) -> Result<Model> {
        if examples.is_empty() {
            return Err(Error::Model("no training examples".into()));
        }
        let mut classes: Vec<String> = examples
            .iter()
            .map(|(_, l)| l.as_ref().to_string())
            .collect();
        classes.sort();
        classes.dedup();
        if classes.iter().any(|c| c.trim().is_empty()) {
            return Err(Error::Model("a training example has an empty label".into()));
        }
        let temperature = fit_temperature(examples, &classes);
        let c = count(examples, &classes);
        Ok(Model {
            version: FORMAT_VERSION,
            classes: c.classes,
            doc_counts: c.doc_counts,
            feature_totals: c.feature_totals,
            counts: c.counts,
            temperature,
        })
    }

    /// Probabilities per class, highest first (ties by name); they sum to 1.
    pub fn predict(&self, text: &str) -> Vec<(String, f64)> {
        let scores = scores(
            &self.doc_counts,
            &self.feature_totals,
            &self.counts,
            &features(text),
        );
        let probs = softmax(&scores, self.temperature);
        let mut out: Vec<(String, f64)> = self.classes.iter().cloned().zip(probs).collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }

    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// Training documents per class.
    pub fn examples_per_class(&self) -> BTreeMap<String, u32> {
        self.classes
            .iter()
            .cloned()
            .zip(self.doc_counts.iter().copied())
            .collect()
    }

    pub fn temperature(&self) -> f64 {
        self.temperature
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a model always serialises")
    }

    pub fn from_json(json: &str) -> Result<Model> {
        let model: Model =
            serde_json::from_str(json).map_err(|e| Error::Model(format!("unreadable: {e}")))?;
        let k = model.classes.len();
        if model.version != FORMAT_VERSION {
            return Err(Error::Model(format!(
                "format version {} is not {FORMAT_VERSION}",
                model.version
            )));
        }
        if k == 0
            || model.doc_counts.len() != k
            || model.feature_totals.len() != k
            || model.counts.values().any(|c| c.len() != k)
            || !(model.temperature > 0.0 && model.temperature.is_finite())
        {
            return Err(Error::Model("inconsistent model".into()));
        }
        Ok(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn examples() -> Vec<(String, &'static str)> {
        let invoice = [
            "INVOICE Invoice Number INV-1 Bill To Acme Total Due $100.00 Payment terms net 30",
            "Tax invoice number 42 bill to Globex amount due 1,200.00 due date remit to",
            "Invoice # 77 invoice date balance due subtotal tax total due please remit payment",
            "Commercial invoice no 9 bill to customer amount due payment due within 30 days",
            "INVOICE invoice date due date bill to subtotal total amount due thank you",
        ];
        let nda = [
            "Mutual non-disclosure agreement between Acme and Beta confidential information",
            "Confidentiality agreement the receiving party shall protect confidential information",
            "Non-disclosure agreement disclosing party receiving party trade secrets return or destroy",
            "This NDA protects confidential information disclosed by the disclosing party",
            "Mutual NDA purpose evaluation confidential information term of confidentiality",
        ];
        let po = [
            "PURCHASE ORDER PO Number 5521 ship to plant vendor unit price quantity",
            "Purchase order number 88 vendor ship to delivery date buyer unit price",
            "PO # 12 order date ship to vendor shipping method requested by buyer",
            "Purchase order vendor ship to qty unit price total order terms of purchase",
            "PURCHASE ORDER buyer vendor delivery date ship via unit price extended price",
        ];
        let mut out = Vec::new();
        for i in 0..5 {
            out.push((invoice[i].to_string(), "invoice"));
            out.push((nda[i].to_string(), "nda"));
            out.push((po[i].to_string(), "purchase_order"));
        }
        out
    }

    #[test]
    fn learns_the_types_and_ranks_them() {
        let m = Model::train(&examples()).unwrap();
        assert_eq!(m.classes(), ["invoice", "nda", "purchase_order"]);
        let p = m.predict("Invoice number 1001, bill to Initech, total due $5.00, due date");
        assert_eq!(p[0].0, "invoice", "{p:?}");
        assert!(p[0].1 > 0.6, "{p:?}");
        let sum: f64 = p.iter().map(|x| x.1).sum();
        assert!((sum - 1.0).abs() < 1e-9);
        let p = m.predict("the receiving party keeps the confidential information secret");
        assert_eq!(p[0].0, "nda", "{p:?}");
        let p = m.predict("purchase order: ship to our warehouse, vendor to confirm unit price");
        assert_eq!(p[0].0, "purchase_order", "{p:?}");
    }

    #[test]
    fn unrelated_text_is_not_confident() {
        let m = Model::train(&examples()).unwrap();
        let p = m.predict("the quick brown fox jumps over the lazy dog");
        assert!(p[0].1 < 0.6, "{p:?}");
        let p = m.predict("");
        assert!(p[0].1 < 0.5, "{p:?}");
    }

    #[test]
    fn training_is_deterministic_and_round_trips_through_json() {
        let a = Model::train(&examples()).unwrap();
        let b = Model::train(&examples()).unwrap();
        assert_eq!(a, b);
        let json = a.to_json();
        let back = Model::from_json(&json).unwrap();
        assert_eq!(back, a);
        let text = "invoice number 5 total due";
        assert_eq!(back.predict(text), a.predict(text));
        assert_eq!(a.examples_per_class()["nda"], 5);
    }

    #[test]
    fn bad_models_are_refused() {
        assert_eq!(
            Model::train::<&str, &str>(&[]).unwrap_err().code(),
            "invalid_model"
        );
        assert!(Model::from_json("{}").is_err());
        let mut v: serde_json::Value =
            serde_json::from_str(&Model::train(&examples()).unwrap().to_json()).unwrap();
        v["doc_counts"] = serde_json::json!([1]);
        assert!(Model::from_json(&v.to_string()).is_err());
    }

    #[test]
    fn features_are_unigrams_and_bigrams() {
        assert_eq!(
            features("Total Due: $1,234"),
            [
                "total",
                "due",
                "<num>",
                "<num>",
                "total due",
                "due <num>",
                "<num> <num>"
            ]
        );
    }
}
