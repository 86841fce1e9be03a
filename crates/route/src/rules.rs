//! Deterministic type rules: each document type's gates and evidence, scored in points, with the
//! evidence kept as readable strings so a reviewer (and an auditor) can see why a type matched.

use crate::layout::{DocView, PageView};
use crate::normalize;
use crate::policy::{LayoutFingerprint, LayoutLabel, MatchRules, Policy};
use countersign_core::OcrPage;
use serde::{Deserialize, Serialize};

/// Points per kind of evidence (documented in the default policy's header).
const TITLE_POINTS: u32 = 3;
const SENDER_POINTS: u32 = 2;
const LAYOUT_POINTS: u32 = 3;
const PHRASE_POINTS: u32 = 1;

/// How one document type's rules fared on a document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleMatch {
    pub document_type: String,
    pub points: u32,
    /// `points / strong_points`, at most 1; 0 when a gate failed.
    pub strength: f64,
    /// Gates passed and at least `min_points`.
    pub matched: bool,
    /// Gates passed and at least `strong_points`: the rule alone can decide.
    pub clear: bool,
    /// A gate failed (`all`, `none`, page range): the policy rules this type out, and the
    /// classifier does not overrule that.
    #[serde(default)]
    pub excluded: bool,
    /// What was found (and which gate failed), in words.
    pub evidence: Vec<String>,
}

/// Evaluates every type's rules on the pages. Types without any evidence are left out; the
/// rest are ordered by points (most first), then name.
pub fn match_rules(policy: &Policy, pages: &[OcrPage]) -> Vec<RuleMatch> {
    evaluate(policy, &DocView::new(pages))
}

pub(crate) fn evaluate(policy: &Policy, doc: &DocView) -> Vec<RuleMatch> {
    let tokens = doc.tokens();
    let hay = format!(" {} ", tokens.join(" "));
    let heading = doc
        .pages
        .first()
        .and_then(|first| heading_line(policy, first));
    let mut out: Vec<RuleMatch> = policy
        .types
        .values()
        .map(|t| evaluate_type(&t.name, &t.rules, policy, doc, &tokens, &hay, heading))
        .filter(|m| m.points > 0)
        .collect();
    out.sort_by(|a, b| {
        b.points
            .cmp(&a.points)
            .then_with(|| a.document_type.cmp(&b.document_type))
    });
    out
}

fn contains(hay: &str, phrase: &str) -> bool {
    hay.contains(&format!(" {} ", normalize::tokens(phrase).join(" ")))
}

fn evaluate_type(
    name: &str,
    rules: &MatchRules,
    policy: &Policy,
    doc: &DocView,
    tokens: &[&str],
    hay: &str,
    heading: Option<u32>,
) -> RuleMatch {
    let mut points = 0;
    let mut evidence = Vec::new();
    let mut gates_ok = true;

    let pages = doc.pages.len() as u32;
    if rules.min_pages.is_some_and(|m| pages < m) || rules.max_pages.is_some_and(|m| pages > m) {
        gates_ok = false;
        evidence.push(format!(
            "page count {pages} outside {}..{}",
            rules.min_pages.map_or(String::new(), |m| m.to_string()),
            rules.max_pages.map_or(String::new(), |m| m.to_string())
        ));
    }
    for phrase in &rules.all {
        if !contains(hay, phrase) {
            gates_ok = false;
            evidence.push(format!("required phrase {phrase:?} absent"));
        }
    }
    for phrase in &rules.none {
        if contains(hay, phrase) {
            gates_ok = false;
            evidence.push(format!("excluded phrase {phrase:?} present"));
        }
    }

    if let Some(first) = doc.pages.first() {
        // Longest phrases first: a title is one piece of evidence, so "service agreement" inside
        // "cloud service agreement" does not score again.
        let mut phrases: Vec<&String> = rules.title.iter().collect();
        phrases.sort_by_key(|p| std::cmp::Reverse(normalize::tokens(p).len()));
        let mut used: Vec<usize> = Vec::new();
        for phrase in phrases {
            let found: Vec<Vec<usize>> = title_occurrences(first, phrase)
                .into_iter()
                .filter(|occ| {
                    in_title_zone(first, occ)
                        || heading.is_some_and(|line| starts_heading(first, occ, line))
                })
                .collect();
            if found.is_empty() || found.iter().all(|occ| occ.iter().any(|i| used.contains(i))) {
                continue;
            }
            used.extend(found.iter().flatten().copied());
            points += TITLE_POINTS;
            let below = !found.iter().any(|occ| in_title_zone(first, occ));
            if below {
                evidence.push(format!("title {phrase:?} (heading below the top quarter)"));
            } else {
                evidence.push(format!("title {phrase:?}"));
            }
        }
    }
    for phrase in &rules.any {
        if contains(hay, phrase) {
            points += PHRASE_POINTS;
            evidence.push(format!("phrase {phrase:?}"));
        }
    }
    for phrase in &rules.fuzzy {
        // A fuzzy phrase is there for OCR slips: found exactly as an `any` phrase, it has
        // already scored, and one phrase is one piece of evidence.
        let key = normalize::tokens(phrase);
        if rules
            .any
            .iter()
            .any(|a| normalize::tokens(a) == key && contains(hay, a))
        {
            continue;
        }
        if let Some((sim, seen)) = fuzzy_find(tokens, phrase, policy.thresholds.fuzzy_similarity) {
            points += PHRASE_POINTS;
            if sim >= 1.0 {
                evidence.push(format!("fuzzy {phrase:?} (exact)"));
            } else {
                evidence.push(format!("fuzzy {phrase:?} ≈ {seen:?} ({sim:.2})"));
            }
        }
    }
    for re in &rules.regex {
        if doc.pages.iter().any(|p| re.is_match(&p.text)) {
            points += PHRASE_POINTS;
            evidence.push(format!("regex /{}/", re.as_str()));
        }
    }
    for sender in &rules.senders {
        if contains(hay, sender) {
            points += SENDER_POINTS;
            evidence.push(format!("sender {sender:?}"));
        }
    }
    for layout in &rules.layouts {
        let score = doc
            .pages
            .iter()
            .map(|p| layout_score(p, layout))
            .fold(0.0, f64::max);
        if score >= layout.min_score && score > 0.0 {
            points += LAYOUT_POINTS;
            evidence.push(format!("layout {:?} ({score:.2})", layout.name));
        }
    }

    let matched = gates_ok && points >= rules.min_points;
    let clear = gates_ok && points >= rules.strong_points;
    let strength = if gates_ok {
        (points as f64 / rules.strong_points as f64).min(1.0)
    } else {
        0.0
    };
    RuleMatch {
        document_type: name.to_string(),
        points,
        strength,
        matched,
        clear,
        excluded: !gates_ok,
        evidence,
    }
}

/// The height that "top quarter" refers to: the image height, or for text-only pages the height
/// of the text.
fn page_height(page: &PageView) -> u32 {
    if page.height > 0 && !page.synthetic {
        page.height
    } else {
        page.words.iter().map(|w| w.bbox[3]).max().unwrap_or(0)
    }
}

/// Where a title phrase is written on a page. One-word titles match exactly ("invoiced" is not
/// "invoice"); longer ones tolerate a slip.
fn title_occurrences(page: &PageView, phrase: &str) -> Vec<Vec<usize>> {
    let toks = normalize::tokens(phrase);
    page.find_phrase(&toks, toks.len() >= 2)
}

fn in_title_zone(page: &PageView, occ: &[usize]) -> bool {
    page.bbox_of(occ)[1] <= page_height(page) / 4
}

/// Words that say "number" after a title ("Invoice No. 42", "Facture n° 17", "Rechnung Nr. 5").
const NUMBER_WORDS: [&str; 7] = ["no", "nr", "n", "number", "num", "nummer", "numero"];

/// Whether a phrase found on a page starts a heading line: it is the first word of its line and
/// the line has nothing after it, or goes on with a colon or a number ("FACTURE: ABC12345",
/// "Facture n°562044387 du 02 Juillet 2015", "Invoice # 17"), not with running text
/// ("Invoice processing moves to…").
fn heads_line(page: &PageView, occ: &[usize]) -> bool {
    let Some(&first) = occ.first() else {
        return false;
    };
    let line: Vec<usize> = page
        .line_of(first)
        .into_iter()
        .filter(|&i| !page.words[i].token.is_empty())
        .collect();
    if line.first() != Some(&first) {
        return false;
    }
    let last = *occ.last().expect("non-empty");
    let after: Vec<usize> = line
        .iter()
        .copied()
        .filter(|i| !occ.contains(i) && page.words[*i].bbox[0] >= page.words[last].bbox[0])
        .collect();
    let Some(&next) = after.first() else {
        return true;
    };
    let next = &page.words[next];
    // A phrase followed by an amount is a line of figures ("Total Due $1,234.50"), not a title.
    if normalize::looks_like_money(&next.text) {
        return false;
    }
    page.words[last].text.ends_with(':')
        || next.text.starts_with([':', '#', '№'])
        || next.token.chars().any(|c| c.is_ascii_digit())
        || NUMBER_WORDS.contains(&next.token.as_str())
}

fn starts_heading(page: &PageView, occ: &[usize], line: u32) -> bool {
    occ.first().is_some_and(|&i| page.words[i].line == line) && heads_line(page, occ)
}

/// The title of a first page that has none in its top quarter (a letter-style invoice under a
/// letterhead and address block, a template after a page of instructions): the top-most line
/// of the first page that starts with some type's title phrase and reads as a heading (see
/// [`heads_line`]). Only that one line counts, so one document has one title.
fn heading_line(policy: &Policy, first: &PageView) -> Option<u32> {
    let titles: Vec<&String> = policy.types.values().flat_map(|t| &t.rules.title).collect();
    let top_quarter = titles.iter().any(|phrase| {
        title_occurrences(first, phrase)
            .iter()
            .any(|occ| in_title_zone(first, occ))
    });
    if top_quarter {
        return None;
    }
    titles
        .iter()
        .flat_map(|phrase| title_occurrences(first, phrase))
        .filter(|occ| heads_line(first, occ))
        .min_by_key(|occ| (first.bbox_of(occ)[1], first.bbox_of(occ)[0]))
        .map(|occ| first.words[occ[0]].line)
}

/// A phrase found exactly or approximately (normalised Levenshtein over windows of one word
/// fewer to one word more, so split and merged words are tolerated). Returns the best
/// similarity and the text it matched.
pub(crate) fn fuzzy_find(tokens: &[&str], phrase: &str, threshold: f64) -> Option<(f64, String)> {
    let want = normalize::tokens(phrase);
    if want.is_empty() {
        return None;
    }
    let target = want.join(" ");
    let n = want.len();
    let mut best: Option<(f64, String)> = None;
    for size in [n, n.saturating_sub(1).max(1), n + 1] {
        if size > tokens.len() {
            continue;
        }
        for window in tokens.windows(size) {
            let seen = window.join(" ");
            let (a, b) = (seen.chars().count(), target.chars().count());
            if a.abs_diff(b) * 3 > b {
                continue;
            }
            let sim = if seen == target {
                1.0
            } else {
                strsim::normalized_levenshtein(&seen, &target)
            };
            if sim >= threshold && best.as_ref().is_none_or(|(s, _)| sim > *s) {
                best = Some((sim, seen));
                if sim >= 1.0 {
                    return best;
                }
            }
        }
    }
    best
}

/// Share of a fingerprint's labels found on the page within tolerance of their position.
fn layout_score(page: &PageView, layout: &LayoutFingerprint) -> f64 {
    if page.synthetic || page.width == 0 || page.height == 0 || layout.labels.is_empty() {
        return 0.0;
    }
    let found = layout
        .labels
        .iter()
        .filter(|label| {
            page.find_phrase(&normalize::tokens(&label.text), true)
                .iter()
                .any(|idx| {
                    let (cx, cy) = centre(page, idx);
                    (cx - label.x).abs() <= layout.tolerance
                        && (cy - label.y).abs() <= layout.tolerance
                })
        })
        .count();
    found as f64 / layout.labels.len() as f64
}

fn centre(page: &PageView, idx: &[usize]) -> (f64, f64) {
    let b = page.bbox_of(idx);
    (
        (b[0] + b[2]) as f64 / 2.0 / page.width as f64,
        (b[1] + b[3]) as f64 / 2.0 / page.height as f64,
    )
}

/// Builds a layout fingerprint from a sample page of a known template: where each label's
/// centre is (0..1, three decimals). Labels not found on the page are left out. Meant for
/// writing `[[types.X.rules.layouts]]` entries.
pub fn layout_fingerprint(page: &OcrPage, labels: &[&str]) -> Vec<LayoutLabel> {
    let view = PageView::new(page);
    if view.width == 0 || view.height == 0 {
        return Vec::new();
    }
    labels
        .iter()
        .filter_map(|text| {
            let idx = view
                .find_phrase(&normalize::tokens(text), false)
                .into_iter()
                .next()?;
            let (x, y) = centre(&view, &idx);
            let round = |v: f64| (v * 1000.0).round() / 1000.0;
            Some(LayoutLabel {
                text: text.to_string(),
                x: round(x),
                y: round(y),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::testing::page;

    fn policy(rules: &str) -> Policy {
        Policy::from_str(
            &format!(
                "version = 1\n[routes.r]\n[types.invoice]\nroute = \"r\"\n[types.invoice.rules]\n{rules}\n\
                 [types.purchase_order]\nroute = \"r\"\n[types.purchase_order.rules]\ntitle = [\"purchase order\"]\nany = [\"ship to\"]\n"
            ),
            "test.toml",
        )
        .unwrap()
    }

    fn invoice_page() -> OcrPage {
        page(0)
            .line(100, &[(700, "INVOICE")])
            .line(300, &[(100, "Bill To"), (900, "Invoce Number: INV-1042")])
            .line(340, &[(100, "Acme Widgets"), (900, "Due Date: 01/02/2024")])
            .line(1500, &[(900, "Total Due $1,234.50")])
            .build()
    }

    #[test]
    fn title_phrases_and_fuzzy_evidence_add_up() {
        let p = policy(
            "title = [\"invoice\"]\nany = [\"bill to\", \"total due\", \"remit to\"]\nfuzzy = [\"invoice number\"]\nregex = ['due\\s+date']",
        );
        let m = match_rules(&p, &[invoice_page()]);
        assert_eq!(m.len(), 1, "{m:?}");
        let inv = &m[0];
        assert_eq!(inv.document_type, "invoice");
        // title 3 + two phrases + fuzzy + regex
        assert_eq!(inv.points, 7, "{:?}", inv.evidence);
        assert!(inv.clear && inv.matched);
        assert!(
            inv.evidence
                .iter()
                .any(|e| e.contains("≈ \"invoce number\"")),
            "{:?}",
            inv.evidence
        );
        assert!(!inv.evidence.iter().any(|e| e.contains("remit")));
    }

    #[test]
    fn a_phrase_found_exactly_scores_once() {
        // Regression: "amount due" in `any` and in `fuzzy` scored two points for one phrase,
        // which made a utility bill a (weak) invoice.
        let p = policy("any = [\"amount due\"]\nfuzzy = [\"amount due\"]");
        let bill = page(0)
            .line(100, &[(100, "Electric Company statement")])
            .line(300, &[(100, "Amount due: $98.10")])
            .build();
        let m = &match_rules(&p, &[bill])[0];
        assert_eq!(m.points, 1, "{:?}", m.evidence);
        // Misread, the fuzzy phrase still finds it.
        let misread = page(0).line(300, &[(100, "Amcunt due: $98.10")]).build();
        let m = &match_rules(&p, &[misread])[0];
        assert_eq!(m.points, 1, "{:?}", m.evidence);
        assert!(m.evidence[0].starts_with("fuzzy"), "{:?}", m.evidence);
    }

    #[test]
    fn title_only_counts_at_the_top_of_the_first_page() {
        let p = policy("title = [\"total due\"]");
        let m = match_rules(&p, &[invoice_page()]);
        assert!(m.is_empty(), "{m:?}");
    }

    #[test]
    fn a_heading_below_the_top_quarter_is_the_title_when_none_is_above() {
        // Regression: a letter-style invoice (letterhead and addresses first, "FACTURE:
        // ABC12345" half-way down) had no title evidence at all.
        let p = policy("title = [\"invoice\", \"facture\"]");
        let letter = |heading: &str| {
            page(0)
                .line(100, &[(100, "CONTOSO LTD.")])
                .line(140, &[(100, "60 RUE EMILE ZOLA")])
                .line(180, &[(100, "34560 PARIS")])
                .line(800, &[(100, heading)])
                .line(900, &[(100, "Purchase Order 4471")])
                .build()
        };
        for heading in [
            "FACTURE: ABC12345",
            "Facture n°562044387 du 02 Juillet 2015",
            "Invoice",
            "Invoice # 17",
        ] {
            let m = match_rules(&p, &[letter(heading)]);
            let inv = m.iter().find(|m| m.document_type == "invoice").unwrap();
            assert_eq!(inv.points, 3, "{heading}: {:?}", inv.evidence);
            assert!(inv.evidence[0].contains("heading below the top quarter"));
            // Only the first heading is the title: the purchase order line below is not.
            assert!(
                !m.iter().any(|m| m.document_type == "purchase_order"),
                "{heading}: {m:?}"
            );
        }
        // Running text is not a heading; nor is a phrase that does not start its line.
        for text in [
            "Invoice processing moves to the new team",
            "Your invoice 17",
        ] {
            let m = match_rules(&p, &[letter(text)]);
            assert!(
                !m.iter().any(|m| m.document_type == "invoice"),
                "{text}: {m:?}"
            );
        }
        // With a title in the top quarter, a heading further down is not another title.
        let titled = page(0)
            .line(100, &[(100, "PURCHASE ORDER")])
            .line(800, &[(100, "Invoice")])
            .build();
        let m = match_rules(&p, &[titled]);
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(m[0].document_type, "purchase_order");
    }

    #[test]
    fn a_title_inside_a_longer_title_scores_once() {
        // Regression: "service agreement" inside "cloud service agreement" scored a second
        // title, which outweighed the other type's evidence.
        let p = policy("title = [\"invoice\", \"tax invoice\"]");
        let doc = page(0).line(100, &[(700, "TAX INVOICE")]).build();
        let m = &match_rules(&p, &[doc])[0];
        assert_eq!(m.points, 3, "{:?}", m.evidence);
        assert_eq!(m.evidence, ["title \"tax invoice\""]);
        // Two separate titles still count twice.
        let doc = page(0)
            .line(100, &[(700, "TAX INVOICE")])
            .line(140, &[(700, "Invoice")])
            .build();
        assert_eq!(match_rules(&p, &[doc])[0].points, 6);
    }

    #[test]
    fn gates_block_a_match_but_keep_the_evidence() {
        let p = policy("title = [\"invoice\"]\nany = [\"bill to\"]\nnone = [\"acme widgets\"]");
        let m = &match_rules(&p, &[invoice_page()])[0];
        assert_eq!(m.points, 4);
        assert!(!m.matched && !m.clear);
        assert!(m.excluded);
        assert_eq!(m.strength, 0.0);
        assert!(m.evidence.iter().any(|e| e.contains("excluded phrase")));

        let p = policy("title = [\"invoice\"]\nmax_pages = 1");
        let two = [invoice_page(), page(1).build()];
        let m = &match_rules(&p, &two)[0];
        assert!(!m.matched);
        assert!(
            m.evidence[0].contains("page count 2 outside ..1"),
            "{:?}",
            m.evidence
        );
    }

    #[test]
    fn senders_and_layouts_score() {
        let sample = invoice_page();
        let fp = layout_fingerprint(&sample, &["Bill To", "Due Date", "Total Due", "Missing"]);
        assert_eq!(fp.len(), 3);
        let labels = fp
            .iter()
            .map(|l| format!("{{ text = {:?}, x = {}, y = {} }}", l.text, l.x, l.y))
            .collect::<Vec<_>>()
            .join(", ");
        let p = policy(&format!(
            "senders = [\"Acme Widgets\"]\nmin_points = 5\nstrong_points = 5\n[[types.invoice.rules.layouts]]\nname = \"acme\"\nlabels = [{labels}]\n"
        ));
        let m = &match_rules(&p, &[sample])[0];
        assert_eq!(m.points, 5, "{:?}", m.evidence);
        assert!(m.matched);
        assert!(
            m.evidence.iter().any(|e| e == "layout \"acme\" (1.00)"),
            "{:?}",
            m.evidence
        );

        // The same labels elsewhere on the page are not the template.
        let moved = page(0)
            .line(1900, &[(100, "Bill To Due Date Total Due")])
            .build();
        let m = match_rules(&p, &[moved]);
        assert!(m.is_empty(), "{m:?}");
    }

    #[test]
    fn fuzzy_find_tolerates_split_and_merged_words() {
        let toks = ["the", "non", "disclosure", "agreement"];
        let (sim, _) = fuzzy_find(&toks, "nondisclosure agreement", 0.85).unwrap();
        assert!(sim > 0.9);
        let toks = ["invoicenumber", "42"];
        assert!(fuzzy_find(&toks, "invoice number", 0.85).is_some());
        assert!(fuzzy_find(&["purchase", "order"], "invoice number", 0.85).is_none());
    }

    #[test]
    fn results_are_ordered_by_points() {
        let p = policy("any = [\"ship to\"]");
        let doc = page(0)
            .line(10, &[(10, "PURCHASE ORDER")])
            .line(400, &[(10, "Ship To: Plant 4")])
            .build();
        let m = match_rules(&p, &[doc]);
        assert_eq!(m[0].document_type, "purchase_order");
        assert_eq!(m[0].points, 4);
        assert_eq!(m[1].document_type, "invoice");
        assert_eq!(m[1].points, 1);
        assert!(!m[1].matched);
    }
}
