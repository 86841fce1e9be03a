//! Field extraction from the OCR layout, and signature lines for anchors.
//!
//! Labels and known values match exactly (case and punctuation aside); rules tolerate OCR slips,
//! extraction does not, so a misread label sends a document to review rather than yielding the
//! wrong line's value. A field's extractor is tried strategy by strategy (see [`FieldExtractor`]): a label's value is
//! looked for to its right on the same row, then on the row below overlapping the label; then
//! regex patterns over the page text; then known values. A candidate counts only if it
//! normalises as the field's kind (a date must parse, an amount must be money), which is what
//! keeps a label in running text from yielding the rest of the sentence.
//!
//! Each field carries the words it came from: confidence is the lowest word confidence (one
//! misread character spoils an amount), bbox is their union, page is the OCR page index.
//!
//! A tenant's [`Vocabulary`] (names reviewers confirmed) is the one place extraction tolerates
//! OCR slips, and only in values of `name` and `text` fields: a value within
//! `thresholds.fuzzy_similarity` of a confirmed name takes that spelling (confidence at least the
//! similarity), and a field nothing else found is found where a confirmed name is written, as
//! with `known_values`.

use crate::hints::Vocabulary;
use crate::layout::{DocView, PageView};
use crate::normalize::{self, DateOrder};
use crate::policy::{FieldExtractor, FieldKind, Policy};
use countersign_core::{Field, OcrPage};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A line that asks for a signature ("Signature: ____", "Sign here").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignatureBlock {
    /// OCR page index.
    pub page: u32,
    /// Box of the label words.
    pub bbox: [u32; 4],
    /// The label as read.
    pub label: String,
    /// Box of the whole line the label is on (the space to sign is usually on it).
    pub line_bbox: [u32; 4],
}

/// The fields a document type lists (required, then optional) that could be read.
pub fn extract_fields(
    policy: &Policy,
    document_type: &str,
    pages: &[OcrPage],
) -> BTreeMap<String, Field> {
    extract_for_type(
        policy,
        document_type,
        &DocView::new(pages),
        &Vocabulary::default(),
    )
}

/// Like [`extract_fields`], with the names the tenant's reviewers confirmed.
pub fn extract_fields_with(
    policy: &Policy,
    document_type: &str,
    pages: &[OcrPage],
    vocabulary: &Vocabulary,
) -> BTreeMap<String, Field> {
    extract_for_type(policy, document_type, &DocView::new(pages), vocabulary)
}

/// One field by name (any field the policy has an extractor for), e.g. to re-read a field
/// after a reviewer changed the type.
pub fn extract_field(policy: &Policy, field: &str, pages: &[OcrPage]) -> Option<Field> {
    let ext = policy.fields.get(field)?;
    extract_one(ext, policy.date_order, &DocView::new(pages))
}

/// The signature lines of the document, in reading order.
pub fn signature_blocks(policy: &Policy, pages: &[OcrPage]) -> Vec<SignatureBlock> {
    find_signature_blocks(policy, &DocView::new(pages))
}

pub(crate) fn extract_for_type(
    policy: &Policy,
    document_type: &str,
    doc: &DocView,
    vocabulary: &Vocabulary,
) -> BTreeMap<String, Field> {
    let Some(ty) = policy.types.get(document_type) else {
        return BTreeMap::new();
    };
    ty.required_fields
        .iter()
        .chain(&ty.optional_fields)
        .filter_map(|name| {
            let ext = policy.fields.get(name)?;
            let confirmed = match ext.kind {
                FieldKind::Name | FieldKind::Text => vocabulary.entries(name),
                _ => &[],
            };
            // A confirmed name found written keeps the confidence of its words.
            let found = match extract_one(ext, policy.date_order, doc) {
                Some(f) => snap_to_confirmed(f, confirmed, policy.thresholds.fuzzy_similarity),
                None => find_written(doc, confirmed)?,
            };
            Some((name.clone(), found))
        })
        .collect()
}

/// The confirmed name closest to the value, if it is at least `threshold` similar (normalised
/// Levenshtein over the tokens, so case and punctuation do not count): the value takes its
/// spelling and the confidence is at least the similarity. Ties go to the earlier entry.
fn snap_to_confirmed(mut field: Field, confirmed: &[String], threshold: f64) -> Field {
    let seen = normalize::tokens(&field.value).join(" ");
    if seen.is_empty() {
        return field;
    }
    let mut best: Option<(f64, &String)> = None;
    for entry in confirmed {
        let want = normalize::tokens(entry).join(" ");
        if want.is_empty() {
            continue;
        }
        let sim = if want == seen {
            1.0
        } else {
            strsim::normalized_levenshtein(&seen, &want)
        };
        if sim >= threshold && best.is_none_or(|(b, _)| sim > b) {
            best = Some((sim, entry));
        }
    }
    if let Some((sim, entry)) = best {
        field.value = entry.clone();
        field.confidence = field.confidence.max(sim);
    }
    field
}

/// The first of some names written in the document (case and punctuation aside), with that
/// spelling and the confidence of the words it was read from.
fn find_written(doc: &DocView, names: &[String]) -> Option<Field> {
    for known in names {
        let toks = normalize::tokens(known);
        for page in &doc.pages {
            if let Some(idx) = page.find_phrase(&toks, false).into_iter().next() {
                return Some(field(page, &idx, known.clone()));
            }
        }
    }
    None
}

fn extract_one(ext: &FieldExtractor, order: DateOrder, doc: &DocView) -> Option<Field> {
    for label in &ext.labels {
        let toks = normalize::tokens(label);
        // A total is written last: for amounts the last occurrence of a label is tried first
        // ("Total" heading a table column comes before the "Total" of the order).
        let amount = ext.kind == FieldKind::Amount;
        let pages: Vec<&PageView> = if amount {
            doc.pages.iter().rev().collect()
        } else {
            doc.pages.iter().collect()
        };
        for page in pages {
            // Labels match exactly (after case and punctuation): a fuzzy "Employee" would also
            // be "Employer". OCR slips in labels cost a review, never a wrong value.
            let mut occurrences = page.find_phrase(&toks, false);
            if amount {
                occurrences.sort_by_key(|occ| std::cmp::Reverse(page.bbox_of(occ)[1]));
            }
            for occ in occurrences {
                if let Some(f) = from_right(page, &occ, ext, order)
                    .or_else(|| from_below(page, &occ, ext, order))
                    .or_else(|| before_next_label(page, &occ, ext, order))
                {
                    return Some(f);
                }
            }
        }
    }
    for re in &ext.patterns {
        for page in &doc.pages {
            for caps in re.captures_iter(&page.text) {
                let Some(m) = caps.name("value").or_else(|| caps.get(1)) else {
                    continue;
                };
                let idx = page.words_in(m.range());
                if idx.is_empty() {
                    continue;
                }
                // Regexes are case-insensitive; a name in running text still starts with a
                // capital ("between the parties" names no one).
                if ext.kind == FieldKind::Name
                    && !m
                        .as_str()
                        .trim_start()
                        .starts_with(|c: char| c.is_uppercase() || c.is_ascii_digit())
                {
                    continue;
                }
                if let Some(value) = normalize_kind(ext, m.as_str(), order) {
                    return Some(field(page, &idx, value));
                }
            }
        }
    }
    find_written(doc, &ext.known_values)
}

fn field(page: &PageView, idx: &[usize], value: String) -> Field {
    Field {
        value,
        confidence: page.min_confidence(idx),
        page: page.index,
        bbox: if page.synthetic {
            [0; 4]
        } else {
            page.bbox_of(idx)
        },
    }
}

fn normalize_kind(ext: &FieldExtractor, text: &str, order: DateOrder) -> Option<String> {
    match ext.kind {
        FieldKind::Date => normalize::date(text, order),
        FieldKind::Amount => normalize::amount(text),
        FieldKind::Identifier => normalize::identifier(text),
        FieldKind::Email => normalize::email(text),
        FieldKind::Name => normalize::name(text, ext.max_words),
        FieldKind::Text => {
            let words: Vec<&str> = text.split_whitespace().collect();
            (!words.is_empty() && words.len() <= ext.max_words).then(|| words.join(" "))
        }
    }
}

fn label_height(page: &PageView, occ: &[usize]) -> u32 {
    let b = page.bbox_of(occ);
    b[3].saturating_sub(b[1]).max(1)
}

/// Whether a word reads as a label of its own ("Date:"), which ends a name value.
fn is_label_word(text: &str) -> bool {
    text.len() > 1 && text.ends_with(':')
}

fn from_right(
    page: &PageView,
    occ: &[usize],
    ext: &FieldExtractor,
    order: DateOrder,
) -> Option<Field> {
    let mut right = page.right_of(occ);
    // A lone ":" after the label belongs to the label.
    let colon_after = page.words[*occ.last()?].text.ends_with(':')
        || right
            .first()
            .is_some_and(|&i| page.words[i].token.is_empty() && page.words[i].text == ":");
    right.retain(|&i| !page.words[i].token.is_empty() || page.words[i].text.len() > 1);
    let first = *right.first()?;
    let runs = page.runs(&right);
    match ext.kind {
        FieldKind::Name | FieldKind::Text => {
            // In running text a label is followed by more text; a form label has a colon or a
            // gap before its value.
            let gap = page.words[first].bbox[0].saturating_sub(page.bbox_of(occ)[2]);
            if !colon_after && gap <= 2 * label_height(page, occ) {
                return None;
            }
            // A heading row of a form ("EMPLOYEE NAME   EMPLOYEE ID", values on the row below):
            // without a colon, capitals on either side of the gap are headings, not a value.
            if !colon_after
                && (all_capitals(page, occ) || all_capitals(page, &runs[0]))
                && from_below(page, occ, ext, order).is_some()
            {
                return None;
            }
            text_value(page, &runs[0], ext, order)
        }
        FieldKind::Amount => {
            let candidates: Vec<usize> = right.iter().copied().take(10).collect();
            scan_values(page, until_label(page, &candidates), ext, order)
        }
        _ => scan_values(page, until_label(page, &runs[0]), ext, order),
    }
}

/// Last resort for a name after a label with a colon, when neither the row (it goes on with
/// another label) nor the row below had it: the words up to the next label ("Full Name: Raymond
/// Amy Date: 02/04/2022" → "Raymond Amy").
fn before_next_label(
    page: &PageView,
    occ: &[usize],
    ext: &FieldExtractor,
    order: DateOrder,
) -> Option<Field> {
    if !matches!(ext.kind, FieldKind::Name | FieldKind::Text)
        || !page.words[*occ.last()?].text.ends_with(':')
    {
        return None;
    }
    let right = page.right_of(occ);
    let runs = page.runs(&right);
    let value = until_label(page, runs.first()?);
    // Only a run that goes on with a label, and at least two words before it: in "Vendor: Ship
    // To:" the next label is two words long and no vendor is named.
    if value.len() < 2 || value.len() == runs[0].len() {
        return None;
    }
    text_value(page, value, ext, order)
}

fn from_below(
    page: &PageView,
    occ: &[usize],
    ext: &FieldExtractor,
    order: DateOrder,
) -> Option<Field> {
    if !isolated(page, occ) {
        return None;
    }
    let below = page.below(occ);
    let runs = page.runs(&below);
    let run = runs.first()?;
    match ext.kind {
        FieldKind::Name | FieldKind::Text => text_value(page, run, ext, order),
        _ => scan_values(page, until_label(page, run), ext, order),
    }
}

/// Whether some words are written in capitals only (at least two letters, no lower case).
fn all_capitals(page: &PageView, words: &[usize]) -> bool {
    let text = page.join(words);
    text.chars().filter(|c| c.is_alphabetic()).count() >= 2 && !text.chars().any(char::is_lowercase)
}

/// The words before the next label ("INV-1042 Date: 01/05/2024" → "INV-1042").
fn until_label<'a>(page: &PageView, words: &'a [usize]) -> &'a [usize] {
    let end = words
        .iter()
        .position(|&i| is_label_word(&page.words[i].text))
        .unwrap_or(words.len());
    &words[..end]
}

/// A label stands alone on its row (a form or table header), not inside a sentence: no word
/// closer than one and a half line heights on either side. A box key just before it ("e
/// Employee's name", "1 Wages", "12a Code": a letter or number of at most three characters, as tax
/// forms number their boxes) is part of the form, not a sentence.
fn isolated(page: &PageView, occ: &[usize]) -> bool {
    let b = page.bbox_of(occ);
    let h = label_height(page, occ);
    let limit = h * 3 / 2;
    let box_key = |w: &crate::layout::Word| w.token.chars().count() <= 3;
    !page.words.iter().enumerate().any(|(i, w)| {
        if occ.contains(&i) || w.token.is_empty() {
            return false;
        }
        if box_key(w) && w.bbox[2] <= b[0] && page.words[occ[0]].line == w.line {
            // A box key starts the line and is the only word before the label.
            let other = page.words.iter().enumerate().any(|(j, o)| {
                j != i
                    && !occ.contains(&j)
                    && !o.token.is_empty()
                    && o.line == w.line
                    && o.bbox[2] <= b[0]
            });
            if !other {
                return false;
            }
        }
        let overlap = w.bbox[3].min(b[3]).saturating_sub(w.bbox[1].max(b[1]));
        let same_row = overlap * 2 >= h.min(w.bbox[3].saturating_sub(w.bbox[1]).max(1));
        same_row
            && ((w.bbox[2] <= b[0] && b[0] - w.bbox[2] < limit)
                || (w.bbox[0] >= b[2] && w.bbox[0] - b[2] < limit))
    })
}

/// A name or text value: the run's words, unless a label is among them (then the value is not
/// here: "Vendor  Ship To:" is a heading row).
fn text_value(
    page: &PageView,
    run: &[usize],
    ext: &FieldExtractor,
    order: DateOrder,
) -> Option<Field> {
    if run.iter().any(|&i| is_label_word(&page.words[i].text)) {
        return None;
    }
    let words: Vec<usize> = run.iter().copied().take(ext.max_words).collect();
    if words.len() < run.len() {
        return None;
    }
    let value = normalize_kind(ext, &page.join(&words), order)?;
    Some(field(page, &words, value))
}

/// The first stretch of words (left to right, longest first) that normalises as the field's
/// kind. Amounts are tried twice: first only what reads as money, then any number.
fn scan_values(
    page: &PageView,
    words: &[usize],
    ext: &FieldExtractor,
    order: DateOrder,
) -> Option<Field> {
    let max_len = match ext.kind {
        FieldKind::Date => 6,
        FieldKind::Amount => 3,
        _ => 1,
    };
    let passes: &[bool] = if ext.kind == FieldKind::Amount {
        &[true, false]
    } else {
        &[false]
    };
    for &money_only in passes {
        for start in 0..words.len() {
            let longest = (start + max_len).min(words.len());
            for end in (start + 1..=longest).rev() {
                let text = page.join(&words[start..end]);
                if money_only && !normalize::looks_like_money(&text) {
                    continue;
                }
                if let Some(value) = normalize_kind(ext, &text, order) {
                    return Some(field(page, &words[start..end], value));
                }
            }
        }
    }
    None
}

pub(crate) fn find_signature_blocks(policy: &Policy, doc: &DocView) -> Vec<SignatureBlock> {
    let mut labels: Vec<Vec<String>> = policy
        .signature_labels
        .iter()
        .map(|l| normalize::tokens(l))
        .collect();
    // Longest first, so "Authorized Signature" is one block, not a "Signature" block.
    labels.sort_by_key(|t| std::cmp::Reverse(t.len()));
    let mut blocks = Vec::new();
    for page in &doc.pages {
        let mut used = BTreeSet::new();
        for toks in &labels {
            for occ in page.find_phrase(toks, true) {
                if occ.iter().any(|i| used.contains(i)) {
                    continue;
                }
                let line = page.line_of(occ[0]);
                // A long line is a sentence about signatures, not a place to sign.
                if line.len() > 8 {
                    continue;
                }
                used.extend(occ.iter().copied());
                let (bbox, line_bbox) = if page.synthetic {
                    ([0; 4], [0; 4])
                } else {
                    (page.bbox_of(&occ), page.bbox_of(&line))
                };
                blocks.push(SignatureBlock {
                    page: page.index,
                    bbox,
                    label: page.join(&occ),
                    line_bbox,
                });
            }
        }
    }
    blocks.sort_by_key(|b| (b.page, b.bbox[1], b.bbox[0]));
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::testing::page;

    fn default_policy() -> Policy {
        Policy::embedded_default()
    }

    fn invoice() -> OcrPage {
        page(0)
            .line(80, &[(100, "Acme Widgets Ltd"), (1300, "INVOICE")])
            .line(
                200,
                &[
                    (100, "Bill To"),
                    (900, "Invoice Number:"),
                    (1250, "INV-1042"),
                ],
            )
            .line(
                240,
                &[
                    (100, "Globex Corporation"),
                    (900, "Invoice Date:"),
                    (1250, "January 2, 2024"),
                ],
            )
            .line(
                280,
                &[
                    (100, "12 Main Street"),
                    (900, "Due Date:"),
                    (1250, "02/01/2024"),
                ],
            )
            .line(900, &[(100, "Description"), (900, "Qty"), (1200, "Amount")])
            .line(940, &[(100, "Widgets"), (900, "3"), (1200, "$1,200.00")])
            .line(1400, &[(1200, "Total Due")])
            .line(1440, &[(1200, "$1,234.50")])
            .last_confidence(0.71)
            .build()
    }

    #[test]
    fn invoice_fields_come_from_right_and_below_their_labels() {
        let p = default_policy();
        let fields = extract_fields(&p, "invoice", &[invoice()]);
        let number = &fields["invoice_number"];
        assert_eq!(number.value, "INV-1042");
        assert_eq!(number.page, 0);
        assert_eq!(number.bbox, [1250, 200, 1250 + 12 * 8, 220]);
        assert!((number.confidence - 0.96).abs() < 1e-9);

        let total = &fields["total_amount"];
        assert_eq!(total.value, "1234.50");
        assert_eq!(total.bbox, [1200, 1440, 1200 + 12 * 9, 1460]);
        assert!((total.confidence - 0.71).abs() < 1e-9, "min of the words");

        assert_eq!(fields["due_date"].value, "2024-02-01");
        assert!(!fields.contains_key("po_number"));
    }

    #[test]
    fn value_below_a_label_needs_the_label_to_stand_alone() {
        let p = default_policy();
        // "Total Due" inside a sentence: the number on the next line is not its value.
        let sentence = page(0)
            .line(100, &[(100, "The Total Due will follow.")])
            .line(130, &[(100, "$99.00 deposit")])
            .build();
        assert_eq!(extract_field(&p, "total_amount", &[sentence]), None);
    }

    #[test]
    fn amount_on_the_label_row_skips_dates_before_it() {
        let p = default_policy();
        let aws = page(0)
            .line(
                300,
                &[
                    (900, "TOTAL AMOUNT DUE ON August 3 , 2014"),
                    (1600, "$4.11"),
                ],
            )
            .build();
        assert_eq!(
            extract_field(&p, "total_amount", &[aws]).unwrap().value,
            "4.11"
        );
    }

    #[test]
    fn names_need_a_colon_or_a_gap_after_the_label() {
        let p = default_policy();
        let form = page(0)
            .line(
                100,
                &[
                    (100, "Employee Name:"),
                    (300, "Jane Q. Doe"),
                    (900, "Employee ID:"),
                    (1100, "E-77"),
                ],
            )
            .build();
        let f = extract_field(&p, "employee_name", &[form]).unwrap();
        assert_eq!(f.value, "Jane Q. Doe");

        // Regression: a fuzzy label match read the employer as the employee.
        let employer = page(0)
            .line(100, &[(100, "Employer:"), (300, "Initech LLC")])
            .build();
        assert_eq!(extract_field(&p, "employee_name", &[employer]), None);

        let prose = page(0)
            .line(100, &[(100, "The Employee shall return all equipment")])
            .build();
        assert_eq!(extract_field(&p, "employee_name", &[prose]), None);

        let boxed = page(0)
            .line(
                100,
                &[(100, "Bill From"), (900, "Invoice No:"), (1100, "77")],
            )
            .line(140, &[(100, "Initech LLC")])
            .build();
        assert_eq!(
            extract_field(&p, "vendor_name", &[boxed]).unwrap().value,
            "Initech LLC"
        );
    }

    #[test]
    fn parties_come_from_the_between_sentence() {
        let p = default_policy();
        let nda = page(0)
            .line(60, &[(500, "MUTUAL NON-DISCLOSURE AGREEMENT")])
            .line(
                200,
                &[(
                    100,
                    "This Agreement is entered into by and between Acme Corp.,",
                )],
            )
            .line(
                230,
                &[(
                    100,
                    "a Delaware corporation (\"Acme\"), and Beta Labs LLC (\"Beta\"),",
                )],
            )
            .line(260, &[(100, "effective as of March 5, 2024.")])
            .build();
        let fields = extract_fields(&p, "nda", &[nda]);
        assert_eq!(fields["party_a"].value, "Acme Corp.");
        assert_eq!(fields["party_b"].value, "Beta Labs LLC");
        assert_eq!(fields["effective_date"].value, "2024-03-05");
        // The bbox of party_b covers "Beta Labs LLC" on its line only.
        let b = fields["party_b"].bbox;
        assert_eq!((b[1], b[3]), (230, 250));
    }

    #[test]
    fn text_only_pages_still_yield_values_without_boxes() {
        let p = default_policy();
        let mut text = page(0).build();
        text.text = "PURCHASE ORDER\nPO Number: PO-5521\nVendor: Initech LLC".into();
        text.mean_confidence = 0.9;
        let fields = extract_fields(&p, "purchase_order", &[text]);
        assert_eq!(fields["po_number"].value, "PO-5521");
        assert_eq!(fields["po_number"].bbox, [0; 4]);
        assert_eq!(fields["vendor_name"].value, "Initech LLC");
        assert!((fields["vendor_name"].confidence - 0.9).abs() < 1e-9);
    }

    #[test]
    fn heading_rows_have_their_values_below() {
        // Regression: "EMPLOYEE ID" (the next heading) was read as the employee's name.
        let p = default_policy();
        let form = page(0)
            .line(100, &[(100, "EMPLOYEE NAME"), (900, "EMPLOYEE ID")])
            .line(140, &[(100, "Yuki Novak"), (900, "E-40417")])
            .build();
        let f = extract_field(&p, "employee_name", &[form]).unwrap();
        assert_eq!(f.value, "Yuki Novak");
        let po = page(0)
            .line(100, &[(100, "Vendor"), (900, "SHIP TO")])
            .line(140, &[(100, "Northwind Software Co."), (900, "Plant 4")])
            .build();
        assert_eq!(
            extract_field(&p, "vendor_name", &[po]).unwrap().value,
            "Northwind Software Co."
        );
        // A value in capitals after a label with a colon is still the value.
        let caps = page(0)
            .line(100, &[(100, "Vendor:"), (900, "ACME TOOLING LLC")])
            .line(140, &[(100, "Ship To:"), (900, "Plant 4")])
            .build();
        assert_eq!(
            extract_field(&p, "vendor_name", &[caps]).unwrap().value,
            "ACME TOOLING LLC"
        );
    }

    #[test]
    fn amounts_take_the_last_total() {
        // Regression: the "Total" heading of a table column gave the first line's amount.
        let p = default_policy();
        let po = page(0)
            .line(300, &[(100, "Description"), (900, "Qty"), (1200, "Total")])
            .line(340, &[(100, "Hex bolts"), (900, "3"), (1200, "$14,794.75")])
            .line(380, &[(100, "Washers"), (900, "9"), (1200, "$23,042.25")])
            .line(440, &[(1000, "Total:"), (1200, "$37,837.00")])
            .build();
        assert_eq!(
            extract_field(&p, "total_amount", &[po]).unwrap().value,
            "37837.00"
        );
    }

    #[test]
    fn agreement_dates_and_parties_in_running_text() {
        let p = default_policy();
        // Regression: a party's name wrapped onto the next line was cut at the line end, and
        // "19th" was taken for a year.
        let nda = page(0)
            .line(100, &[(100, "THIS AGREEMENT is made effective on the 19th day of October, 2023 between Summit Peak Packaging")])
            .line(130, &[(100, "Corporation, with offices at 6327 Park Avenue (the \"Discloser\"), and Riverton")])
            .line(160, &[(100, "Facilities GmbH (the \"Recipient\").")])
            .build();
        let fields = extract_fields(&p, "nda", &[nda]);
        assert_eq!(fields["effective_date"].value, "2023-10-19");
        assert_eq!(fields["party_a"].value, "Summit Peak Packaging Corporation");
        assert_eq!(fields["party_b"].value, "Riverton Facilities GmbH");
        // "entered into as of DATE (the "Effective Date")": the date comes before its name.
        for (text, want) in [
            ("This Agreement is entered into as of March 5, 2025 (the \"Effective Date\") by and between", "2025-03-05"),
            ("Signed on 12/01/2024 and entered into as of the 3rd day of June, 2024.", "2024-06-03"),
            ("Agreement dated 5 March 2025 between the parties", "2025-03-05"),
            ("which starts on 2025-04-01 (the Effective Date).", "2025-04-01"),
        ] {
            let doc = page(0).line(100, &[(100, text)]).build();
            assert_eq!(
                extract_field(&p, "effective_date", &[doc]).map(|f| f.value).as_deref(),
                Some(want),
                "{text}"
            );
        }
    }

    #[test]
    fn known_values_are_a_last_resort() {
        let text = Policy::from_str(
            "version = 1\n[fields.vendor_name]\nkind = \"name\"\nknown_values = [\"Amazon Web Services\"]\n",
            "t.toml",
        )
        .unwrap();
        let aws = page(0)
            .line(50, &[(100, "amazon web services invoice")])
            .build();
        let f = extract_field(&text, "vendor_name", &[aws]).unwrap();
        assert_eq!(f.value, "Amazon Web Services");
    }

    #[test]
    fn signature_lines_are_found_once_each() {
        let p = default_policy();
        let doc = page(0)
            .line(
                100,
                &[(
                    100,
                    "Electronic signatures are accepted under this agreement and binding",
                )],
            )
            .line(1800, &[(100, "Authorized Signature: ____________")])
            .line(1900, &[(100, "Signature:"), (900, "Date:")])
            .build();
        let blocks = signature_blocks(&p, &[doc]);
        assert_eq!(blocks.len(), 2, "{blocks:?}");
        assert_eq!(blocks[0].label, "Authorized Signature:");
        assert_eq!(blocks[0].bbox[1], 1800);
        assert_eq!(blocks[1].label, "Signature:");
        assert_eq!(blocks[1].line_bbox[2], 900 + 12 * 5);
    }
}
