//! The routing decision: which type a document is, what it carries, where it goes, and whether
//! that can happen without a person (`auto_route`), needs one (`review`) or must be set aside
//! (`quarantine`), with the reasons in sentences a reviewer can act on.
//!
//! Classification: a clear rule match that no other type's rules clearly match decides (the
//! classifier, if any, is consulted and a confident disagreement is a reason for review). Two
//! clear matches are a conflict. Without a clear match the classifier decides, except for a
//! type the policy's gates exclude (`none`, `all`, page range: the classifier only knows words);
//! a classifier too unsure to guess leaves one weakly matching type standing (for review), as if
//! there were no classifier; otherwise the document is `unclassified`, which is never
//! auto-routed.
//!
//! A reviewer's [`Hints`] override: their type decides (confidence 1.0, basis `reviewer`; rules
//! and classifier are still evaluated and recorded) and their field values replace the extracted
//! ones (confidence 1.0), so they satisfy required fields and name recipients.

use crate::classify::Model;
use crate::extract::{self, SignatureBlock};
use crate::hints::{self, Hints};
use crate::layout::DocView;
use crate::policy::{FallbackPosition, Policy, RecipientRule, TypeAction, UNCLASSIFIED};
use crate::rules::{self, RuleMatch};
use countersign_core::{Decision, DecisionAction, Field, OcrPage};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What decided the document type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassificationBasis {
    /// A clear rule match; no classifier, or it did not agree.
    Rules,
    /// A clear rule match the classifier agrees with.
    RulesAndClassifier,
    /// The classifier (rules were not clear).
    Classifier,
    /// Nothing: the document is unclassified.
    None,
    /// A reviewer set the type.
    Reviewer,
}

/// One classifier probability.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TypeScore {
    pub document_type: String,
    pub probability: f64,
}

/// A resolved recipient: fixed by the route, or named by an extracted field (`None` when that
/// field was not read: the reviewer fills it in).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recipient {
    pub role: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// Signing order, 1 first (carbon copies: when they receive their copy).
    pub routing_order: u32,
    /// The fields the name/email came from, if any.
    pub from_fields: Vec<String>,
}

/// Where an anchor text was found in the OCR text layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnchorPosition {
    pub page: u32,
    pub bbox: [u32; 4],
}

/// A signing position for the provider: anchored to `anchor_text` (with offsets), or at the
/// fallback position when the text is not on the document. The n-th anchor rule with a given
/// text is paired with the n-th signature line bearing that text, in reading order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignatureAnchor {
    pub role: Option<String>,
    pub anchor_text: String,
    pub x_offset: i32,
    pub y_offset: i32,
    pub found: Option<AnchorPosition>,
    pub fallback: FallbackPosition,
}

/// Everything routing concluded about one document version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouteOutcome {
    /// A policy type, or `unclassified`.
    pub document_type: String,
    /// 0..1
    pub classification_confidence: f64,
    pub classified_by: ClassificationBasis,
    /// Every type whose rules found evidence, most points first.
    pub rule_matches: Vec<RuleMatch>,
    /// Classifier probabilities, highest first (empty without a classifier).
    pub classifier_scores: Vec<TypeScore>,
    /// Mean word confidence of the document (`None` without words).
    pub ocr_confidence: Option<f64>,
    pub fields: BTreeMap<String, Field>,
    pub signature_blocks: Vec<SignatureBlock>,
    pub decision: Decision,
    /// The route a reviewer would approve into (`None` when unclassified or quarantined).
    pub route: Option<String>,
    pub department: Option<String>,
    pub policy_tags: Vec<String>,
    pub retention_class: Option<String>,
    pub recipients: Vec<Recipient>,
    pub carbon_copies: Vec<Recipient>,
    pub anchors: Vec<SignatureAnchor>,
    /// sha256 of the policy text the decision was made under.
    pub policy_fingerprint: String,
}

/// Routes a document: rules, classifier, fields, signature lines, decision and route.
/// Deterministic: the same pages, policy and model give the same outcome.
pub fn route(policy: &Policy, pages: &[OcrPage], classifier: Option<&Model>) -> RouteOutcome {
    route_with(policy, pages, classifier, &Hints::default())
}

/// [`route`] with a reviewer's corrections and the tenant's vocabulary (see [`Hints`]).
/// A hinted type or field value that does not pass [`hints::check_document_type`] /
/// [`hints::check_field_value`] is not applied and is a reason for review. Deterministic: the
/// same pages, policy, model and hints give the same outcome.
pub fn route_with(
    policy: &Policy,
    pages: &[OcrPage],
    classifier: Option<&Model>,
    hints: &Hints,
) -> RouteOutcome {
    let doc = DocView::new(pages);
    let t = &policy.thresholds;
    let rule_matches = rules::evaluate(policy, &doc);
    let classifier_scores: Vec<TypeScore> = classifier
        .map(|m| {
            m.predict(&doc.text())
                .into_iter()
                .map(|(document_type, probability)| TypeScore {
                    document_type,
                    probability,
                })
                .collect()
        })
        .unwrap_or_default();
    let mut hint_reasons = Vec::new();
    let reviewer_type = match hints.document_type.as_deref() {
        Some(t) => match hints::check_document_type(policy, t) {
            Ok(()) => Some(t),
            Err(e) => {
                hint_reasons.push(format!("reviewer's type not applied: {e}"));
                None
            }
        },
        None => None,
    };
    let class = match reviewer_type {
        Some(t) => Classification {
            document_type: t.to_string(),
            confidence: 1.0,
            basis: ClassificationBasis::Reviewer,
            reasons: if t == UNCLASSIFIED {
                vec!["a reviewer marked the document unclassified".to_string()]
            } else {
                Vec::new()
            },
        },
        None => classify(
            policy,
            &rule_matches,
            classifier.map(|_| &classifier_scores[..]),
        ),
    };

    let mut quarantine = Vec::new();
    let word_count = doc.word_count();
    let ocr_confidence = doc.mean_confidence();
    if word_count == 0 {
        quarantine.push("no text was recognised".to_string());
    } else if word_count < t.min_words {
        quarantine.push(format!(
            "only {word_count} words were recognised (at least {} needed)",
            t.min_words
        ));
    }
    if let Some(c) = ocr_confidence.filter(|c| *c < t.quarantine_below_ocr_confidence) {
        quarantine.push(format!(
            "mean OCR confidence {c:.2} < {:.2}: the scan is unreadable",
            t.quarantine_below_ocr_confidence
        ));
    }

    let ty = policy.types.get(&class.document_type);
    let mut review = class.reasons.clone();
    review.append(&mut hint_reasons);
    if let Some(ty) = ty {
        match ty.action {
            TypeAction::Auto => {}
            TypeAction::Review => {
                review.push(format!("policy sends every {} document to review", ty.name))
            }
            TypeAction::Quarantine => {
                quarantine.push(format!("policy quarantines every {} document", ty.name))
            }
        }
    }

    let mut fields = match ty {
        Some(ty) => extract::extract_for_type(policy, &ty.name, &doc, &hints.vocabulary),
        None => BTreeMap::new(),
    };
    for (name, value) in &hints.fields {
        match hints::check_field_value(policy, name, value) {
            Ok(value) => {
                let (page, bbox) = fields.get(name).map_or((0, [0; 4]), |f| (f.page, f.bbox));
                fields.insert(
                    name.clone(),
                    Field {
                        value,
                        confidence: 1.0,
                        page,
                        bbox,
                    },
                );
            }
            Err(e) => review.push(format!("reviewer's value not applied: {e}")),
        }
    }
    if let Some(ty) = ty {
        for name in &ty.required_fields {
            match fields.get(name) {
                None => review.push(format!("{name} missing")),
                Some(f) if f.confidence < t.min_field_confidence => review.push(format!(
                    "{name} read with confidence {:.2} < {:.2}",
                    f.confidence, t.min_field_confidence
                )),
                Some(_) => {}
            }
        }
    }
    let signature_blocks = extract::find_signature_blocks(policy, &doc);

    let decision = if !quarantine.is_empty() {
        Decision {
            action: DecisionAction::Quarantine,
            reasons: quarantine,
        }
    } else if !review.is_empty() || ty.is_none() {
        Decision {
            action: DecisionAction::Review,
            reasons: review,
        }
    } else {
        Decision {
            action: DecisionAction::AutoRoute,
            reasons: Vec::new(),
        }
    };

    let route = ty
        .filter(|_| decision.action != DecisionAction::Quarantine)
        .and_then(|ty| policy.routes.get(&ty.route));
    let resolve = |rules: &[RecipientRule]| -> Vec<Recipient> {
        let mut out: Vec<Recipient> = rules
            .iter()
            .map(|r| {
                let from = |f: &Option<String>| {
                    f.as_ref()
                        .and_then(|name| fields.get(name))
                        .map(|field| field.value.clone())
                };
                Recipient {
                    role: r.role.clone(),
                    name: r.name.clone().or_else(|| from(&r.name_from)),
                    email: r.email.clone().or_else(|| from(&r.email_from)),
                    routing_order: r.order,
                    from_fields: r.name_from.iter().chain(&r.email_from).cloned().collect(),
                }
            })
            .collect();
        out.sort_by_key(|r| r.routing_order);
        out
    };
    let anchors = route
        .map(|r| {
            let mut used: BTreeMap<String, usize> = BTreeMap::new();
            r.anchors
                .iter()
                .map(|a| {
                    let key = crate::normalize::tokens(&a.text).join(" ");
                    let nth = used.entry(key.clone()).or_insert(0);
                    let found = signature_blocks
                        .iter()
                        .filter(|b| crate::normalize::tokens(&b.label).join(" ") == key)
                        .nth(*nth)
                        .map(|b| AnchorPosition {
                            page: b.page,
                            bbox: b.bbox,
                        });
                    *nth += 1;
                    SignatureAnchor {
                        role: a.role.clone(),
                        anchor_text: a.text.clone(),
                        x_offset: a.x_offset,
                        y_offset: a.y_offset,
                        found,
                        fallback: a.fallback,
                    }
                })
                .collect()
        })
        .unwrap_or_default();

    let recipients = route.map(|r| resolve(&r.recipients)).unwrap_or_default();
    let carbon_copies = route.map(|r| resolve(&r.cc)).unwrap_or_default();
    RouteOutcome {
        document_type: class.document_type,
        classification_confidence: class.confidence,
        classified_by: class.basis,
        rule_matches,
        classifier_scores,
        ocr_confidence,
        fields,
        signature_blocks,
        decision,
        route: route.map(|r| r.name.clone()),
        department: route.and_then(|r| r.department.clone()),
        policy_tags: route.map(|r| r.policy_tags.clone()).unwrap_or_default(),
        retention_class: route.and_then(|r| r.retention_class.clone()),
        recipients,
        carbon_copies,
        anchors,
        policy_fingerprint: policy.fingerprint().to_string(),
    }
}

struct Classification {
    document_type: String,
    confidence: f64,
    basis: ClassificationBasis,
    /// Why the type is not settled (each one sends the document to review).
    reasons: Vec<String>,
}

fn prob(scores: &[TypeScore], ty: &str) -> f64 {
    scores
        .iter()
        .find(|s| s.document_type == ty)
        .map_or(0.0, |s| s.probability)
}

fn classify(
    policy: &Policy,
    rule_matches: &[RuleMatch],
    scores: Option<&[TypeScore]>,
) -> Classification {
    let t = &policy.thresholds;
    // Clear matches that contend with the best one (rule_matches is ordered by points): a type
    // with a small share of the best type's points does not make a conflict.
    let best_points = rule_matches
        .iter()
        .filter(|m| m.clear)
        .map(|m| m.points)
        .max()
        .unwrap_or(0);
    let clear: Vec<&RuleMatch> = rule_matches
        .iter()
        .filter(|m| m.clear && m.points as f64 >= t.conflict_ratio * best_points as f64)
        .collect();
    let top = scores.and_then(|s| s.first());
    let mut reasons = Vec::new();

    let (document_type, confidence, basis) = match clear.as_slice() {
        [only] => {
            let ty = only.document_type.clone();
            match (scores, top) {
                (Some(_), Some(top)) if top.document_type == ty => (
                    ty,
                    t.rule_confidence.max(top.probability),
                    ClassificationBasis::RulesAndClassifier,
                ),
                (Some(s), Some(top)) if top.probability >= t.min_classification_confidence => {
                    reasons.push(format!(
                        "rules say {ty} but the classifier says {} ({:.2})",
                        top.document_type, top.probability
                    ));
                    let c = (t.rule_confidence + prob(s, &ty)) / 2.0;
                    (ty, c, ClassificationBasis::Rules)
                }
                _ => (ty, t.rule_confidence, ClassificationBasis::Rules),
            }
        }
        [_, _, ..] => {
            let names: Vec<String> = clear
                .iter()
                .map(|m| format!("{} ({} points)", m.document_type, m.points))
                .collect();
            reasons.push(match names.as_slice() {
                [a, b] => format!("rules conflict: {a} and {b} both match clearly"),
                _ => format!("rules conflict: {} all match clearly", names.join(", ")),
            });
            // Propose the conflicting type the classifier prefers, if it is sure enough to guess
            // (an unsure classifier adds nothing), else the one with most points.
            let preferred = scores.map(|s| {
                let best = clear
                    .iter()
                    .max_by(|a, b| {
                        prob(s, &a.document_type)
                            .total_cmp(&prob(s, &b.document_type))
                            .then_with(|| b.document_type.cmp(&a.document_type))
                    })
                    .expect("two or more");
                (best, prob(s, &best.document_type))
            });
            let pick = match preferred {
                Some((best, p)) if p >= t.min_guess_confidence => best,
                _ => clear[0],
            };
            let c = scores.map_or(0.5, |s| prob(s, &pick.document_type));
            (pick.document_type.clone(), c, ClassificationBasis::Rules)
        }
        [] => match (scores, top) {
            (Some(s), Some(top)) => {
                let second = s.get(1).map_or(0.0, |x| x.probability);
                if top.document_type == UNCLASSIFIED {
                    reasons.push(format!(
                        "unclassified: the classifier says none of the types ({:.2})",
                        top.probability
                    ));
                    (
                        UNCLASSIFIED.to_string(),
                        top.probability,
                        ClassificationBasis::None,
                    )
                } else if !policy.types.contains_key(&top.document_type) {
                    reasons.push(format!(
                        "unclassified: the classifier suggests {}, which the policy does not define",
                        top.document_type
                    ));
                    (UNCLASSIFIED.to_string(), 0.0, ClassificationBasis::None)
                } else if top.probability < t.min_guess_confidence {
                    // An unsure classifier adds nothing: one weakly matching type is proposed
                    // (for review) as it is without a classifier.
                    match single_weak_match(rule_matches) {
                        Some(only) => {
                            let strong = policy.types[&only.document_type].rules.strong_points;
                            reasons.push(format!(
                                "only weak rule evidence for {} ({} of {} points) and the classifier is unsure ({:.2})",
                                only.document_type, only.points, strong, top.probability
                            ));
                            (
                                only.document_type.clone(),
                                t.rule_confidence * only.strength,
                                ClassificationBasis::Rules,
                            )
                        }
                        None => {
                            reasons.push(format!(
                                "unclassified: {} and the classifier is unsure ({:.2})",
                                rule_summary(rule_matches),
                                top.probability
                            ));
                            (
                                UNCLASSIFIED.to_string(),
                                top.probability,
                                ClassificationBasis::None,
                            )
                        }
                    }
                } else if let Some(m) = rule_matches
                    .iter()
                    .find(|m| m.excluded && m.document_type == top.document_type)
                {
                    // The policy's gates rule the type out (a receipt is not an invoice): the
                    // classifier, which only knows words, does not overrule them.
                    reasons.push(format!(
                        "unclassified: the classifier suggests {} ({:.2}) but the policy's rules exclude it ({})",
                        top.document_type,
                        top.probability,
                        m.evidence
                            .iter()
                            .filter(|e| e.starts_with("excluded") || e.starts_with("required") || e.starts_with("page count"))
                            .cloned()
                            .collect::<Vec<_>>()
                            .join("; ")
                    ));
                    (
                        UNCLASSIFIED.to_string(),
                        top.probability,
                        ClassificationBasis::None,
                    )
                } else {
                    if top.probability - second < t.min_margin {
                        reasons.push(format!(
                            "classifier unsure between {} ({:.2}) and {} ({:.2}): margin {:.2} < {:.2}",
                            top.document_type,
                            top.probability,
                            s[1].document_type,
                            second,
                            top.probability - second,
                            t.min_margin
                        ));
                    }
                    (
                        top.document_type.clone(),
                        top.probability,
                        ClassificationBasis::Classifier,
                    )
                }
            }
            _ => match single_weak_match(rule_matches) {
                Some(only) => {
                    let strong = policy.types[&only.document_type].rules.strong_points;
                    reasons.push(format!(
                            "only weak rule evidence for {} ({} of {} points) and no classifier is trained yet",
                            only.document_type, only.points, strong
                        ));
                    (
                        only.document_type.clone(),
                        t.rule_confidence * only.strength,
                        ClassificationBasis::Rules,
                    )
                }
                None => {
                    reasons.push(format!(
                        "unclassified: {} and no classifier is trained yet",
                        rule_summary(rule_matches)
                    ));
                    (UNCLASSIFIED.to_string(), 0.0, ClassificationBasis::None)
                }
            },
        },
    };

    if document_type != UNCLASSIFIED
        && reasons.is_empty()
        && confidence < t.min_classification_confidence
    {
        reasons.push(format!(
            "classification confidence {confidence:.2} < {:.2} for {document_type}",
            t.min_classification_confidence
        ));
    }
    Classification {
        document_type,
        confidence,
        basis,
        reasons,
    }
}

/// The one type whose rules matched (not clearly), if exactly one did.
fn single_weak_match(rule_matches: &[RuleMatch]) -> Option<&RuleMatch> {
    let mut weak = rule_matches.iter().filter(|m| m.matched);
    match (weak.next(), weak.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

/// "no rule matched" / "rules matched only weakly (invoice 2 points, nda 1 point)".
fn rule_summary(rule_matches: &[RuleMatch]) -> String {
    if rule_matches.is_empty() {
        return "no rule matched".to_string();
    }
    let parts: Vec<String> = rule_matches
        .iter()
        .map(|m| {
            format!(
                "{} {} point{}",
                m.document_type,
                m.points,
                if m.points == 1 { "" } else { "s" }
            )
        })
        .collect();
    format!("rules matched only weakly ({})", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::testing::page;

    fn invoice(total_confidence: f64) -> OcrPage {
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
            .line(1400, &[(1200, "Total Due")])
            .line(1440, &[(1200, "$1,234.50")])
            .last_confidence(total_confidence)
            .build()
    }

    fn nda() -> OcrPage {
        page(0)
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
            .line(
                300,
                &[(
                    100,
                    "Confidential Information disclosed by the Disclosing Party",
                )],
            )
            .line(
                330,
                &[(100, "to the Receiving Party shall be kept secret.")],
            )
            .line(1800, &[(100, "Signature:"), (400, "__________")])
            .line(1950, &[(100, "Signature:"), (400, "__________")])
            .build()
    }

    fn training() -> Vec<(String, String)> {
        let mut out = Vec::new();
        let invoice = [
            "invoice number bill to total due payment terms",
            "tax invoice amount due remit to subtotal",
            "invoice date balance due due date bill to",
        ];
        let nda = [
            "confidential information receiving party secrecy",
            "non-disclosure agreement proprietary discloser",
            "mutual nda secrecy obligations proprietary",
        ];
        let po = [
            "purchase order ship to vendor unit price",
            "po number buyer delivery date ship to",
            "purchase order vendor quantity shipping method",
        ];
        for round in 0..4 {
            for (label, texts) in [("invoice", invoice), ("nda", nda), ("purchase_order", po)] {
                for t in texts {
                    out.push((
                        format!("{t} {}", ["a", "the", "our", "your"][round]),
                        label.to_string(),
                    ));
                }
            }
        }
        out
    }

    #[test]
    fn clean_invoice_is_auto_routed_with_its_route() {
        let policy = Policy::embedded_default();
        let out = route(&policy, &[invoice(0.95)], None);
        assert_eq!(out.document_type, "invoice");
        assert_eq!(out.classified_by, ClassificationBasis::Rules);
        assert!((out.classification_confidence - 0.95).abs() < 1e-9);
        assert_eq!(
            out.decision.action,
            DecisionAction::AutoRoute,
            "{:?}",
            out.decision
        );
        assert!(out.decision.reasons.is_empty());
        assert_eq!(out.fields["invoice_number"].value, "INV-1042");
        assert_eq!(out.fields["total_amount"].value, "1234.50");
        assert_eq!(out.route.as_deref(), Some("accounts_payable"));
        assert_eq!(out.department.as_deref(), Some("Finance"));
        assert_eq!(out.policy_tags, ["requires_dual_approval"]);
        assert_eq!(out.retention_class.as_deref(), Some("finance_7y"));
        let roles: Vec<(&str, u32)> = out
            .recipients
            .iter()
            .map(|r| (r.role.as_str(), r.routing_order))
            .collect();
        assert_eq!(roles, [("ap_approver", 1), ("controller", 2)]);
        assert_eq!(out.rule_matches[0].document_type, "invoice");
        assert!(out.rule_matches[0].clear);
        // No "Approved by" line on the page: the anchor falls back to fixed coordinates.
        assert_eq!(out.anchors[0].found, None);
        assert_eq!(out.anchors[0].fallback.page_number, 1);
        assert_eq!(out.policy_fingerprint, policy.fingerprint());
    }

    #[test]
    fn low_confidence_required_field_sends_to_review() {
        let out = route(&Policy::embedded_default(), &[invoice(0.62)], None);
        assert_eq!(out.decision.action, DecisionAction::Review);
        assert_eq!(
            out.decision.reasons,
            ["total_amount read with confidence 0.62 < 0.80"]
        );
        assert_eq!(
            out.route.as_deref(),
            Some("accounts_payable"),
            "proposed route kept"
        );
    }

    #[test]
    fn missing_required_field_sends_to_review() {
        let page = page(0)
            .line(80, &[(1300, "INVOICE")])
            .line(200, &[(100, "Bill To"), (900, "Invoice Date: 01/05/2024")])
            .line(240, &[(100, "Initech"), (900, "Balance Due $10.00")])
            .build();
        let out = route(&Policy::embedded_default(), &[page], None);
        assert_eq!(out.document_type, "invoice");
        assert_eq!(
            out.decision.action,
            DecisionAction::Review,
            "{:?}",
            out.fields
        );
        assert_eq!(out.decision.reasons, ["invoice_number missing"]);
        assert_eq!(out.fields["total_amount"].value, "10.00");
    }

    #[test]
    fn no_text_is_quarantined() {
        let out = route(&Policy::embedded_default(), &[page(0).build()], None);
        assert_eq!(out.decision.action, DecisionAction::Quarantine);
        assert_eq!(out.decision.reasons, ["no text was recognised"]);
        assert_eq!(out.document_type, UNCLASSIFIED);
        assert_eq!(out.route, None);
        let out = route(&Policy::embedded_default(), &[], None);
        assert_eq!(out.decision.action, DecisionAction::Quarantine);
    }

    #[test]
    fn unreadable_scan_is_quarantined() {
        let page = page(0)
            .confidence(0.2)
            .line(80, &[(100, "lnv0ice Nunber: 1O42 Tota1 Du3 S1,2B4")])
            .build();
        let out = route(&Policy::embedded_default(), &[page], None);
        assert_eq!(out.decision.action, DecisionAction::Quarantine);
        assert_eq!(
            out.decision.reasons,
            ["mean OCR confidence 0.20 < 0.35: the scan is unreadable"]
        );
    }

    #[test]
    fn unclassified_without_rules_or_classifier_goes_to_review() {
        let page = page(0)
            .line(80, &[(100, "Lunch menu for the week")])
            .line(120, &[(100, "Monday soup Tuesday salad")])
            .build();
        let out = route(&Policy::embedded_default(), &[page], None);
        assert_eq!(out.document_type, UNCLASSIFIED);
        assert_eq!(out.decision.action, DecisionAction::Review);
        assert_eq!(
            out.decision.reasons,
            ["unclassified: no rule matched and no classifier is trained yet"]
        );
        assert_eq!(out.route, None);
        assert!(out.fields.is_empty());
    }

    #[test]
    fn conflicting_rules_are_reviewed() {
        let page = page(0)
            .line(80, &[(100, "PURCHASE ORDER"), (1300, "INVOICE")])
            .line(
                200,
                &[(100, "PO Number: 5521"), (900, "Invoice Number: 77")],
            )
            .line(240, &[(100, "Ship To: Plant 4"), (900, "Bill To: Initech")])
            .line(280, &[(100, "Vendor: Initech"), (900, "Total Due: $10.00")])
            .build();
        let out = route(&Policy::embedded_default(), &[page], None);
        assert_eq!(out.decision.action, DecisionAction::Review);
        assert!(
            out.decision.reasons[0].starts_with("rules conflict: ")
                && out.decision.reasons[0].contains("invoice (")
                && out.decision.reasons[0].contains("purchase_order (")
                && out.decision.reasons[0].ends_with("both match clearly"),
            "{:?}",
            out.decision.reasons
        );
    }

    fn conflict() -> OcrPage {
        // An invoice (more points) that reads like a purchase order as well.
        page(0)
            .line(80, &[(100, "PURCHASE ORDER"), (1300, "INVOICE")])
            .line(
                200,
                &[(100, "PO Number: 5521"), (900, "Invoice Number: 77")],
            )
            .line(240, &[(900, "Bill To: Initech")])
            .line(280, &[(900, "Total Due: $10.00 Subtotal $10.00")])
            .build()
    }

    #[test]
    fn a_conflict_proposes_the_classifiers_type_only_when_it_is_sure_enough() {
        let policy = Policy::embedded_default();
        let out = route(&policy, &[conflict()], None);
        assert!(out.decision.reasons[0].starts_with("rules conflict: "));
        assert_eq!(out.document_type, "invoice", "most points");
        // A classifier sure it is a purchase order proposes that.
        let po_texts: Vec<(String, String)> = (0..8)
            .map(|i| {
                let t = if i % 2 == 0 { "purchase_order" } else { "nda" };
                let text = if t == "purchase_order" {
                    format!("purchase order invoice number po number bill to total due {i}")
                } else {
                    format!("confidential information receiving party secrecy {i}")
                };
                (text, t.to_string())
            })
            .collect();
        let sure = Model::train(&po_texts).unwrap();
        let out = route(&policy, &[conflict()], Some(&sure));
        assert!(
            prob(&out.classifier_scores, "purchase_order")
                >= policy.thresholds.min_guess_confidence
        );
        assert_eq!(out.document_type, "purchase_order");
        // Regression: an unsure classifier (it leans to a purchase order by a hair) decided
        // the proposal; the rules' points decide then.
        let vague: Vec<(String, String)> = (0..16)
            .map(|i| {
                let t = ["nda", "hr_form", "invoice", "purchase_order"][i % 4];
                let extra = if t == "purchase_order" {
                    "purchase"
                } else {
                    ""
                };
                (
                    format!("lorem ipsum dolor sit amet {extra} {i}"),
                    t.to_string(),
                )
            })
            .collect();
        let unsure = Model::train(&vague).unwrap();
        let out = route(&policy, &[conflict()], Some(&unsure));
        let (po, inv) = (
            prob(&out.classifier_scores, "purchase_order"),
            prob(&out.classifier_scores, "invoice"),
        );
        assert!(
            po > inv && po < policy.thresholds.min_guess_confidence,
            "{po} {inv}"
        );
        assert_eq!(out.document_type, "invoice");
        assert_eq!(out.decision.action, DecisionAction::Review);
    }

    #[test]
    fn classifier_decides_when_rules_are_silent() {
        let policy = Policy::embedded_default();
        let model = Model::train(&training()).unwrap();
        // Words the classifier knows, but no rule phrase.
        let known = page(0)
            .line(
                80,
                &[(
                    100,
                    "secrecy obligations for proprietary material of the discloser",
                )],
            )
            .build();
        let scores = model.predict(&known.text);
        let out = route(&policy, &[known], Some(&model));
        assert_eq!(out.classifier_scores[0].document_type, "nda");
        assert_eq!(out.classifier_scores[0].probability, scores[0].1);
        assert_eq!(out.document_type, "nda");
        assert_eq!(out.classified_by, ClassificationBasis::Classifier);
        assert_eq!(out.decision.action, DecisionAction::Review);

        let unsure = page(0)
            .line(80, &[(100, "weekly lunch menu soup salad")])
            .build();
        let out = route(&policy, &[unsure], Some(&model));
        assert_eq!(out.document_type, UNCLASSIFIED);
        let p = out.classifier_scores[0].probability;
        assert!(p < 0.5, "{p}");
        assert_eq!(
            out.decision.reasons,
            [format!(
                "unclassified: no rule matched and the classifier is unsure ({p:.2})"
            )]
        );
    }

    #[test]
    fn an_unsure_classifier_leaves_a_weak_rule_match_standing() {
        // Regression: with a classifier trained, a document that only weakly matched one type
        // and that the classifier was unsure about became unclassified; without a classifier
        // it was proposed as that type (for review). An unsure classifier adds nothing.
        let policy = Policy::embedded_default();
        let model = Model::train(&training()).unwrap();
        let weak = page(0)
            .line(80, &[(100, "Quarterly newsletter")])
            .line(
                300,
                &[(100, "Emergency contact and hire date for the records")],
            )
            .build();
        let without = route(&policy, std::slice::from_ref(&weak), None);
        assert_eq!(without.document_type, "hr_form");
        let out = route(&policy, &[weak], Some(&model));
        let p = out.classifier_scores[0].probability;
        assert!(p < policy.thresholds.min_guess_confidence, "{p}");
        assert_eq!(out.document_type, "hr_form");
        assert_eq!(out.classified_by, ClassificationBasis::Rules);
        assert_eq!(out.decision.action, DecisionAction::Review);
        assert!(
            out.decision.reasons[0]
                .starts_with("only weak rule evidence for hr_form (2 of 4 points) and the classifier is unsure ("),
            "{:?}",
            out.decision.reasons
        );
    }

    #[test]
    fn the_classifier_does_not_overrule_a_policy_exclusion() {
        // Regression: a receipt, which the default policy's gates exclude from invoices, was
        // typed an invoice by a classifier that only sees invoice words in it.
        let policy = Policy::embedded_default();
        let model = Model::train(&training()).unwrap();
        let receipt = page(0)
            .line(80, &[(100, "Contoso receipt")])
            .line(200, &[(100, "Receipt Number 334567")])
            .line(240, &[(100, "Bill to: Benson Miller")])
            .line(
                600,
                &[(100, "Subtotal $710.00 amount due $0.00 balance due $0.00")],
            )
            .build();
        let out = route(&policy, &[receipt], Some(&model));
        assert_eq!(out.classifier_scores[0].document_type, "invoice");
        assert!(
            out.classifier_scores[0].probability >= policy.thresholds.min_guess_confidence,
            "{:?}",
            out.classifier_scores
        );
        assert!(out
            .rule_matches
            .iter()
            .any(|m| m.document_type == "invoice" && m.excluded));
        assert_eq!(out.document_type, UNCLASSIFIED);
        assert_eq!(out.classified_by, ClassificationBasis::None);
        assert_ne!(out.decision.action, DecisionAction::AutoRoute);
        assert!(
            out.decision.reasons[0].starts_with("unclassified: the classifier suggests invoice (")
                && out.decision.reasons[0].contains(
                    "the policy's rules exclude it (excluded phrase \"receipt number\" present)"
                ),
            "{:?}",
            out.decision.reasons
        );
    }

    #[test]
    fn confident_classifier_disagreeing_with_rules_is_a_reason() {
        let text = include_str!("../../../assets/policy/default.toml").replace(
            "min_classification_confidence = 0.85",
            "min_classification_confidence = 0.40",
        );
        let policy = Policy::from_str(&text, "test.toml").unwrap();
        let nda_words: Vec<(String, String)> = (0..6)
            .map(|i| {
                (
                    format!("invoice number bill to total due {i}"),
                    "nda".to_string(),
                )
            })
            .chain((0..6).map(|i| {
                (
                    format!("ship to vendor unit price {i}"),
                    "purchase_order".to_string(),
                )
            }))
            .collect();
        let model = Model::train(&nda_words).unwrap();
        let out = route(&policy, &[invoice(0.95)], Some(&model));
        assert_eq!(out.document_type, "invoice");
        assert_eq!(out.decision.action, DecisionAction::Review);
        assert!(
            out.decision.reasons[0].starts_with("rules say invoice but the classifier says nda ("),
            "{:?}",
            out.decision.reasons
        );
    }

    #[test]
    fn agreeing_classifier_raises_confidence() {
        let model = Model::train(&training()).unwrap();
        let out = route(&Policy::embedded_default(), &[invoice(0.95)], Some(&model));
        assert_eq!(out.classified_by, ClassificationBasis::RulesAndClassifier);
        assert!(out.classification_confidence >= 0.95);
        assert_eq!(out.decision.action, DecisionAction::AutoRoute);
    }

    #[test]
    fn nda_recipients_and_anchors_come_from_the_document() {
        let out = route(&Policy::embedded_default(), &[nda()], None);
        assert_eq!(out.document_type, "nda");
        assert_eq!(
            out.decision.action,
            DecisionAction::AutoRoute,
            "{:?}",
            out.decision
        );
        assert_eq!(out.fields["party_a"].value, "Acme Corp.");
        assert_eq!(out.fields["party_b"].value, "Beta Labs LLC");
        assert_eq!(out.fields["effective_date"].value, "2024-03-05");
        let counterparty = &out.recipients[0];
        assert_eq!(counterparty.role, "counterparty");
        assert_eq!(counterparty.name.as_deref(), Some("Beta Labs LLC"));
        assert_eq!(counterparty.email, None);
        assert_eq!(counterparty.from_fields, ["party_b"]);
        assert_eq!(
            out.carbon_copies[0].email.as_deref(),
            Some("legal-archive@example.com")
        );
        // Two "Signature" anchors, paired with the two signature lines in reading order.
        assert_eq!(out.signature_blocks.len(), 2);
        let ys: Vec<Option<u32>> = out
            .anchors
            .iter()
            .map(|a| a.found.as_ref().map(|f| f.bbox[1]))
            .collect();
        assert_eq!(ys, [Some(1800), Some(1950)]);
    }

    #[test]
    fn policy_actions_force_review_or_quarantine() {
        let base = Policy::embedded_default();
        let text = DEFAULT_TOML.replace(
            "route = \"accounts_payable\"",
            "route = \"accounts_payable\"\naction = \"review\"",
        );
        let review = Policy::from_str(&text, "t.toml").unwrap();
        let out = route(&review, &[invoice(0.95)], None);
        assert_eq!(
            out.decision.reasons,
            ["policy sends every invoice document to review"]
        );
        let text = DEFAULT_TOML.replace(
            "route = \"accounts_payable\"",
            "route = \"accounts_payable\"\naction = \"quarantine\"",
        );
        let quarantine = Policy::from_str(&text, "t.toml").unwrap();
        let out = route(&quarantine, &[invoice(0.62)], None);
        assert_eq!(out.decision.action, DecisionAction::Quarantine);
        assert_eq!(
            out.decision.reasons,
            ["policy quarantines every invoice document"]
        );
        assert_eq!(out.route, None);
        assert_ne!(review.fingerprint(), base.fingerprint());
    }

    const DEFAULT_TOML: &str = crate::policy::DEFAULT_POLICY_TOML;

    fn hinted_fields(pairs: &[(&str, &str)]) -> Hints {
        Hints {
            fields: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Hints::default()
        }
    }

    fn hinted_type(t: &str) -> Hints {
        Hints {
            document_type: Some(t.to_string()),
            ..Hints::default()
        }
    }

    #[test]
    fn reviewer_type_decides_with_full_confidence_and_takes_its_route() {
        let policy = Policy::embedded_default();
        let model = Model::train(&training()).unwrap();
        let out = route_with(
            &policy,
            &[nda()],
            Some(&model),
            &hinted_type("vendor_agreement"),
        );
        assert_eq!(out.document_type, "vendor_agreement");
        assert_eq!(out.classification_confidence, 1.0);
        assert_eq!(out.classified_by, ClassificationBasis::Reviewer);
        assert_eq!(serde_json::to_value(out.classified_by).unwrap(), "reviewer");
        // Rules and classifier were still consulted, and recorded.
        assert_eq!(out.rule_matches[0].document_type, "nda");
        assert!(out.rule_matches[0].clear);
        assert!(!out.classifier_scores.is_empty());
        // The reviewer's type's fields, route and recipients.
        assert_eq!(out.fields["counterparty_name"].value, "Beta Labs LLC");
        assert!(!out.fields.contains_key("party_a"));
        assert_eq!(out.route.as_deref(), Some("vendor_contracts"));
        assert_eq!(out.retention_class.as_deref(), Some("contract_10y"));
        assert_eq!(out.recipients[0].name.as_deref(), Some("Beta Labs LLC"));
        assert_eq!(
            out.decision.action,
            DecisionAction::AutoRoute,
            "{:?}",
            out.decision
        );

        // Without the hint the same document is an NDA.
        let plain = route(&policy, &[nda()], Some(&model));
        assert_eq!(plain.document_type, "nda");
        assert_eq!(plain.rule_matches, out.rule_matches);
        assert_eq!(plain.classifier_scores, out.classifier_scores);
    }

    #[test]
    fn reviewer_can_mark_a_document_unclassified() {
        let out = route_with(
            &Policy::embedded_default(),
            &[invoice(0.95)],
            None,
            &hinted_type(UNCLASSIFIED),
        );
        assert_eq!(out.document_type, UNCLASSIFIED);
        assert_eq!(out.classified_by, ClassificationBasis::Reviewer);
        assert_eq!(out.classification_confidence, 1.0);
        assert_eq!(out.decision.action, DecisionAction::Review);
        assert_eq!(
            out.decision.reasons,
            ["a reviewer marked the document unclassified"]
        );
        assert_eq!(out.route, None);
        assert!(out.recipients.is_empty());
        assert!(out.fields.is_empty());
    }

    #[test]
    fn reviewer_type_outside_the_policy_is_not_applied() {
        let out = route_with(
            &Policy::embedded_default(),
            &[invoice(0.95)],
            None,
            &hinted_type("receipt"),
        );
        assert_eq!(out.document_type, "invoice");
        assert_eq!(out.classified_by, ClassificationBasis::Rules);
        assert_eq!(out.decision.action, DecisionAction::Review);
        assert_eq!(out.decision.reasons.len(), 1);
        assert!(
            out.decision.reasons[0]
                .starts_with("reviewer's type not applied: unknown document type \"receipt\""),
            "{:?}",
            out.decision.reasons
        );
    }

    #[test]
    fn reviewer_field_fills_a_missing_required_field() {
        let page = page(0)
            .line(80, &[(1300, "INVOICE")])
            .line(200, &[(100, "Bill To"), (900, "Invoice Date: 01/05/2024")])
            .line(240, &[(100, "Initech"), (900, "Balance Due $10.00")])
            .build();
        let pages = [page];
        let policy = Policy::embedded_default();
        assert_eq!(
            route(&policy, &pages, None).decision.reasons,
            ["invoice_number missing"]
        );
        let out = route_with(
            &policy,
            &pages,
            None,
            &hinted_fields(&[("invoice_number", " INV-77 ")]),
        );
        assert_eq!(
            out.decision.action,
            DecisionAction::AutoRoute,
            "{:?}",
            out.decision
        );
        assert!(out.decision.reasons.is_empty());
        let f = &out.fields["invoice_number"];
        assert_eq!(f.value, "INV-77");
        assert_eq!(f.confidence, 1.0);
        assert_eq!((f.page, f.bbox), (0, [0; 4]), "nothing was read");
        assert_eq!(out.fields["total_amount"].value, "10.00", "others kept");
    }

    #[test]
    fn reviewer_field_replaces_a_doubtful_reading_and_keeps_its_box() {
        let policy = Policy::embedded_default();
        let before = route(&policy, &[invoice(0.62)], None);
        let read = before.fields["total_amount"].clone();
        let out = route_with(
            &policy,
            &[invoice(0.62)],
            None,
            &hinted_fields(&[("total_amount", "$1,234.56")]),
        );
        assert_eq!(out.decision.action, DecisionAction::AutoRoute);
        assert!(out.decision.reasons.is_empty());
        let f = &out.fields["total_amount"];
        assert_eq!(f.value, "1234.56");
        assert_eq!(f.confidence, 1.0);
        assert_eq!((f.page, f.bbox), (read.page, read.bbox));
        assert_ne!(f.bbox, [0; 4]);
    }

    #[test]
    fn reviewer_field_names_the_recipient() {
        let out = route_with(
            &Policy::embedded_default(),
            &[nda()],
            None,
            &hinted_fields(&[("party_b", "  Beta   Laboratories LLC ")]),
        );
        assert_eq!(out.fields["party_b"].value, "Beta Laboratories LLC");
        let counterparty = &out.recipients[0];
        assert_eq!(counterparty.role, "counterparty");
        assert_eq!(counterparty.name.as_deref(), Some("Beta Laboratories LLC"));
        assert_eq!(counterparty.from_fields, ["party_b"]);
        assert_eq!(out.decision.action, DecisionAction::AutoRoute);
    }

    #[test]
    fn invalid_reviewer_values_are_not_applied() {
        let out = route_with(
            &Policy::embedded_default(),
            &[invoice(0.95)],
            None,
            &hinted_fields(&[("due_date", "31/31/2024"), ("vendor", "Acme")]),
        );
        assert_eq!(
            out.fields["due_date"].value, "2024-02-01",
            "the reading stays"
        );
        assert!(!out.fields.contains_key("vendor"));
        assert_eq!(out.decision.action, DecisionAction::Review);
        assert_eq!(out.decision.reasons.len(), 2, "{:?}", out.decision.reasons);
        assert_eq!(
            out.decision.reasons[0],
            "reviewer's value not applied: due_date: not a date: 31/31/2024"
        );
        assert!(out.decision.reasons[1]
            .starts_with("reviewer's value not applied: unknown field \"vendor\"; "));
    }

    fn garbled_purchase_order() -> OcrPage {
        page(0)
            .line(60, &[(600, "PURCHASE ORDER")])
            .line(200, &[(100, "PO Number:"), (400, "PO-5521")])
            .line(
                240,
                &[(100, "Vendor:"), (400, "Acrne Industrial Supp1y Co.")],
            )
            .last_confidence(0.62)
            .line(280, &[(100, "Ship To:"), (400, "Plant 4")])
            .build()
    }

    fn acme_vocabulary() -> Hints {
        let mut hints = Hints::default();
        hints.vocabulary.fields.insert(
            "vendor_name".to_string(),
            vec![
                "Initech LLC".to_string(),
                "Acme Industrial Supply Co.".to_string(),
            ],
        );
        hints
    }

    #[test]
    fn vocabulary_snaps_a_garbled_name_to_the_confirmed_spelling() {
        let policy = Policy::embedded_default();
        let plain = route(&policy, &[garbled_purchase_order()], None);
        assert_eq!(plain.document_type, "purchase_order");
        assert_eq!(
            plain.fields["vendor_name"].value,
            "Acrne Industrial Supp1y Co."
        );
        assert_eq!(
            plain.decision.reasons,
            ["vendor_name read with confidence 0.62 < 0.80"]
        );

        let out = route_with(
            &policy,
            &[garbled_purchase_order()],
            None,
            &acme_vocabulary(),
        );
        let f = &out.fields["vendor_name"];
        assert_eq!(f.value, "Acme Industrial Supply Co.");
        let sim = strsim::normalized_levenshtein(
            "acrne industrial supp1y co",
            "acme industrial supply co",
        );
        assert!(
            sim >= policy.thresholds.fuzzy_similarity && sim < 1.0,
            "{sim}"
        );
        assert!(
            (f.confidence - sim).abs() < 1e-12,
            "{} vs {sim}",
            f.confidence
        );
        assert_eq!(f.bbox, plain.fields["vendor_name"].bbox, "same words");
        assert_eq!(
            out.decision.action,
            DecisionAction::AutoRoute,
            "{:?}",
            out.decision
        );
        let vendor = out.recipients.iter().find(|r| r.role == "vendor").unwrap();
        assert_eq!(vendor.name.as_deref(), Some("Acme Industrial Supply Co."));
        // Nothing else is recorded: apart from the field, the outcome is the plain one.
        assert_eq!(out.rule_matches, plain.rule_matches);
        assert_eq!(out.signature_blocks, plain.signature_blocks);
    }

    #[test]
    fn vocabulary_finds_a_name_no_label_gave() {
        let policy = Policy::embedded_default();
        let page = page(0)
            .line(80, &[(100, "ACME INDUSTRIAL SUPPLY CO"), (1300, "INVOICE")])
            .line(200, &[(900, "Invoice Number:"), (1250, "INV-1042")])
            .line(1400, &[(1200, "Total Due")])
            .line(1440, &[(1200, "$1,234.50")])
            .build();
        let pages = [page];
        let plain = route(&policy, &pages, None);
        assert!(!plain.fields.contains_key("vendor_name"));
        let out = route_with(&policy, &pages, None, &acme_vocabulary());
        let f = &out.fields["vendor_name"];
        assert_eq!(f.value, "Acme Industrial Supply Co.");
        assert!((f.confidence - 0.96).abs() < 1e-9, "{}", f.confidence);
        assert_eq!(f.bbox[1], 80);
        assert_eq!(f.bbox[0], 100);
    }

    #[test]
    fn vocabulary_leaves_other_names_and_identifiers_alone() {
        let policy = Policy::embedded_default();
        let mut hints = acme_vocabulary();
        hints
            .vocabulary
            .fields
            .insert("invoice_number".to_string(), vec!["INV-1043".to_string()]);
        let out = route_with(&policy, &[invoice(0.95)], None, &hints);
        // One character off is another invoice, not an OCR slip.
        assert_eq!(out.fields["invoice_number"].value, "INV-1042");
        // A name far from every confirmed one keeps its reading.
        let po = page(0)
            .line(60, &[(600, "PURCHASE ORDER")])
            .line(200, &[(100, "PO Number:"), (400, "PO-5521")])
            .line(240, &[(100, "Vendor:"), (400, "Globex Corporation")])
            .build();
        let out = route_with(&policy, &[po], None, &hints);
        assert_eq!(out.fields["vendor_name"].value, "Globex Corporation");
        assert!((out.fields["vendor_name"].confidence - 0.96).abs() < 1e-9);
    }

    #[test]
    fn routing_is_deterministic_and_serialises() {
        let policy = Policy::embedded_default();
        let model = Model::train(&training()).unwrap();
        let pages = [invoice(0.95), nda()];
        let a = route(&policy, &pages, Some(&model));
        let b = route(&policy, &pages, Some(&model));
        assert_eq!(a, b);
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(
            json["decision"]["action"],
            serde_json::to_value(a.decision.action).unwrap()
        );
        assert!(json["fields"].is_object());
        let back: RouteOutcome = serde_json::from_value(json).unwrap();
        assert_eq!(back, a);
    }
}
