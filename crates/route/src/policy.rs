//! The routing policy: which document types exist, how each is recognised (rules), which fields
//! it must carry (extractors), where it goes (routes) and how sure the decision must be
//! (thresholds). Written in TOML; the default ships in `assets/policy/default.toml`.
//!
//! Parsing and validation happen once, here: [`Policy::from_str`] deserialises into private
//! `Raw*` types that remember where each value was written, checks every reference, compiles every
//! regex, and returns plain validated types. Every error names the origin and the line.
//! [`ActivePolicy`] holds the policy in force and only replaces it with one that validated.

use crate::error::{Error, Result};
use crate::normalize::{self, DateOrder};
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use toml::Spanned;

/// The policy embedded in the binary, used when no policy file is configured.
pub const DEFAULT_POLICY_TOML: &str = include_str!("../../../assets/policy/default.toml");

/// The name documents get when no type fits. Never auto-routed; not a type a policy may define.
pub const UNCLASSIFIED: &str = "unclassified";

const EMBEDDED_ORIGIN: &str = "<embedded default policy>";

/// A validated routing policy.
#[derive(Clone, Debug)]
pub struct Policy {
    origin: String,
    fingerprint: String,
    pub thresholds: Thresholds,
    pub date_order: DateOrder,
    /// Phrases that start a signature line ("Signature", "Sign here", "Signed by").
    pub signature_labels: Vec<String>,
    pub fields: BTreeMap<String, FieldExtractor>,
    pub types: BTreeMap<String, DocumentType>,
    pub routes: BTreeMap<String, Route>,
}

/// How sure routing must be; all in 0..1 except `min_words`.
#[derive(Clone, Debug, PartialEq)]
pub struct Thresholds {
    /// A required field read with a lower (minimum word) confidence sends the document to review.
    pub min_field_confidence: f64,
    /// Below this classification confidence the document goes to review.
    pub min_classification_confidence: f64,
    /// The classifier's best type must lead the second by at least this much.
    pub min_margin: f64,
    /// Below this the classifier's best guess is not even proposed: the document is unclassified.
    pub min_guess_confidence: f64,
    /// A document whose mean word confidence is lower is quarantined (unreadable scan).
    pub quarantine_below_ocr_confidence: f64,
    /// A document with fewer recognised words is quarantined (blank or not text).
    pub min_words: usize,
    /// The confidence a clear, unopposed rule match stands for.
    pub rule_confidence: f64,
    /// Two types' rules both match clearly: the second conflicts with the best when it has at
    /// least this share of the best one's points (else the best type wins).
    pub conflict_ratio: f64,
    /// Normalised Levenshtein similarity at which a fuzzy phrase counts as found (and at which
    /// an extracted name snaps to a spelling reviewers confirmed, see [`crate::Vocabulary`]).
    pub fuzzy_similarity: f64,
    /// Words read with less confidence are highlighted for reviewers and are where Tab stops on
    /// the review screen. Routing itself does not use it.
    pub low_word_confidence: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            min_field_confidence: 0.80,
            min_classification_confidence: 0.85,
            min_margin: 0.20,
            min_guess_confidence: 0.50,
            quarantine_below_ocr_confidence: 0.35,
            min_words: 3,
            rule_confidence: 0.95,
            conflict_ratio: 0.50,
            fuzzy_similarity: 0.85,
            low_word_confidence: 0.80,
        }
    }
}

/// What kind of value a field holds, which decides its normalisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// Free text, trimmed.
    Text,
    /// A reference number with at least one digit ("INV-1042").
    Identifier,
    /// A date, normalised to ISO 8601.
    Date,
    /// Money, normalised to a decimal string ("1234.50").
    Amount,
    /// A person's or organisation's name.
    Name,
    /// An e-mail address.
    Email,
}

/// How one field is found. Strategies are tried in this order; the first value that normalises
/// wins: `labels` (value right of the label on its row, else on the row below), `patterns`
/// (regex over the page text; capture group `value` or 1 is the value), `known_values` (any of
/// these names written in the document).
#[derive(Clone, Debug)]
pub struct FieldExtractor {
    pub kind: FieldKind,
    pub labels: Vec<String>,
    pub patterns: Vec<Regex>,
    pub known_values: Vec<String>,
    /// Longest value in words (names and text).
    pub max_words: usize,
}

/// What happens to a recognised type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeAction {
    /// Auto-routed when the decision is confident.
    #[default]
    Auto,
    /// Always reviewed.
    Review,
    /// Always quarantined.
    Quarantine,
}

#[derive(Clone, Debug)]
pub struct DocumentType {
    pub name: String,
    pub description: Option<String>,
    pub route: String,
    pub required_fields: Vec<String>,
    pub optional_fields: Vec<String>,
    pub action: TypeAction,
    pub rules: MatchRules,
}

/// How a type is recognised. Gates (`all`, `none`, page range) must pass; then evidence scores
/// points: a `title` phrase in the top quarter of the first page 3, a `sender` 2, a `layout`
/// fingerprint 3, each `any` phrase, `fuzzy` phrase and `regex` 1. The rule matches with
/// `min_points` and matches clearly with `strong_points`.
#[derive(Clone, Debug)]
pub struct MatchRules {
    pub title: Vec<String>,
    pub any: Vec<String>,
    pub all: Vec<String>,
    pub none: Vec<String>,
    pub regex: Vec<Regex>,
    pub fuzzy: Vec<String>,
    pub senders: Vec<String>,
    pub min_pages: Option<u32>,
    pub max_pages: Option<u32>,
    pub layouts: Vec<LayoutFingerprint>,
    pub min_points: u32,
    pub strong_points: u32,
}

/// A known template: label phrases and where their centres sit on the page (0..1 of width and
/// height). It matches when at least `min_score` of the labels are within `tolerance`.
#[derive(Clone, Debug, PartialEq)]
pub struct LayoutFingerprint {
    pub name: String,
    pub labels: Vec<LayoutLabel>,
    pub tolerance: f64,
    pub min_score: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutLabel {
    pub text: String,
    pub x: f64,
    pub y: f64,
}

/// Where a type goes: recipients, copies, anchors and the record's routing attributes.
#[derive(Clone, Debug)]
pub struct Route {
    pub name: String,
    pub department: Option<String>,
    pub retention_class: Option<String>,
    pub policy_tags: Vec<String>,
    pub recipients: Vec<RecipientRule>,
    pub cc: Vec<RecipientRule>,
    pub anchors: Vec<AnchorRule>,
}

/// A recipient, fixed (`name`, `email`) or taken from extracted fields (`name_from`,
/// `email_from`).
#[derive(Clone, Debug, PartialEq)]
pub struct RecipientRule {
    pub role: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub name_from: Option<String>,
    pub email_from: Option<String>,
    /// Signing order (1 first); recipients sharing an order sign in parallel.
    pub order: u32,
}

/// Where a role signs: next to `text` wherever it is written (offsets in pixels), else at the
/// fallback position.
#[derive(Clone, Debug, PartialEq)]
pub struct AnchorRule {
    pub role: Option<String>,
    pub text: String,
    pub x_offset: i32,
    pub y_offset: i32,
    pub fallback: FallbackPosition,
}

/// A fixed signing position: 1-based page number and pixels from the page's top-left corner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FallbackPosition {
    pub page_number: u32,
    pub x: u32,
    pub y: u32,
}

impl Policy {
    /// The embedded default policy.
    pub fn embedded_default() -> Policy {
        Policy::from_str(DEFAULT_POLICY_TOML, EMBEDDED_ORIGIN)
            .expect("the embedded default policy is valid (checked by its unit test)")
    }

    /// Reads and validates a policy file.
    pub fn load(path: &Path) -> Result<Policy> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::PolicyUnreadable {
            path: path.to_path_buf(),
            source,
        })?;
        Policy::from_str(&text, &path.display().to_string())
    }

    /// Parses and validates policy text; `origin` names it in errors (usually the file path).
    pub fn from_str(text: &str, origin: &str) -> Result<Policy> {
        let ctx = Ctx { text, origin };
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| ctx.line(s.start)).unwrap_or(1);
            ctx.error_at(line, e.message().trim_end().to_string())
        })?;
        let fingerprint = hex::encode(Sha256::digest(text.as_bytes()));
        raw.validate(&ctx, fingerprint)
    }

    /// Where the policy came from: a file path, or `<embedded default policy>`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// sha256 (hex) of the policy text: identifies the policy a decision was made under, so a
    /// change of policy can be detected and a re-decision recorded as a new version.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Every document type with the route it goes to, `(type, route)`, sorted by type name:
    /// the choices of a reviewer's "reroute" picker (`unclassified` is not among them).
    pub fn document_types(&self) -> Vec<(String, String)> {
        self.types
            .values()
            .map(|t| (t.name.clone(), t.route.clone()))
            .collect()
    }
}

/// The policy in force. A reload that fails validation leaves the previous policy in place and
/// returns the error, so a typo in the file never silently disables routing.
#[derive(Clone, Debug)]
pub struct ActivePolicy {
    current: Arc<Policy>,
}

impl ActivePolicy {
    pub fn new(policy: Policy) -> ActivePolicy {
        ActivePolicy {
            current: Arc::new(policy),
        }
    }

    /// The policy at `path` if given, else the embedded default. An invalid file is an error
    /// here (there is nothing previous to keep).
    pub fn open(path: Option<&Path>) -> Result<ActivePolicy> {
        let policy = match path {
            Some(p) => Policy::load(p)?,
            None => Policy::embedded_default(),
        };
        Ok(ActivePolicy::new(policy))
    }

    pub fn current(&self) -> Arc<Policy> {
        Arc::clone(&self.current)
    }

    /// Loads `path`; on success it becomes the policy in force, on failure the previous one
    /// stays and the error says why.
    pub fn reload(&mut self, path: &Path) -> Result<Arc<Policy>> {
        let policy = Policy::load(path)?;
        self.current = Arc::new(policy);
        Ok(self.current())
    }

    /// Like [`ActivePolicy::reload`], from text.
    pub fn replace_with_text(&mut self, text: &str, origin: &str) -> Result<Arc<Policy>> {
        let policy = Policy::from_str(text, origin)?;
        self.current = Arc::new(policy);
        Ok(self.current())
    }
}

// ---------------------------------------------------------------------------------------------
// Raw TOML shape: what the file says, with the positions needed for error messages.

struct Ctx<'a> {
    text: &'a str,
    origin: &'a str,
}

impl Ctx<'_> {
    fn line(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        self.text[..offset].matches('\n').count() + 1
    }

    fn error_at(&self, line: usize, message: String) -> Error {
        Error::PolicyInvalid {
            origin: self.origin.to_string(),
            line,
            message,
        }
    }

    fn error<T>(&self, at: &Spanned<T>, message: String) -> Error {
        self.error_at(self.line(at.span().start), message)
    }

    /// The line of a table header such as `[types.invoice]` or `[types.invoice.rules]`, for
    /// errors about a table as a whole; the first line mentioning the key otherwise.
    fn line_of_table(&self, dotted: &str, key: &Spanned<String>) -> usize {
        let header = format!("[{dotted}]");
        let array_header = format!("[[{dotted}]]");
        self.text
            .lines()
            .position(|l| {
                let l = l.trim();
                l.starts_with(&header) || l.starts_with(&array_header)
            })
            .map(|i| i + 1)
            .unwrap_or_else(|| self.line(key.span().start))
    }

    fn regex(&self, pattern: &Spanned<String>, what: &str) -> Result<Regex> {
        RegexBuilder::new(pattern.get_ref())
            .case_insensitive(true)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| {
                let detail = e.to_string();
                let detail = detail.lines().last().unwrap_or("").trim();
                self.error(
                    pattern,
                    format!("{what}: invalid regex {:?}: {detail}", pattern.get_ref()),
                )
            })
    }

    fn unit(&self, v: &Option<Spanned<f64>>, key: &str, default: f64) -> Result<f64> {
        match v {
            None => Ok(default),
            Some(s) if (0.0..=1.0).contains(s.get_ref()) => Ok(*s.get_ref()),
            Some(s) => Err(self.error(s, format!("{key} = {} is outside 0..1", s.get_ref()))),
        }
    }

    fn phrases(&self, list: &[Spanned<String>], what: &str) -> Result<Vec<String>> {
        list.iter()
            .map(|p| {
                if normalize::tokens(p.get_ref()).is_empty() {
                    Err(self.error(p, format!("{what}: empty phrase {:?}", p.get_ref())))
                } else {
                    Ok(p.get_ref().clone())
                }
            })
            .collect()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    version: Spanned<u32>,
    #[serde(default)]
    thresholds: RawThresholds,
    #[serde(default)]
    extraction: RawExtraction,
    #[serde(default)]
    signatures: RawSignatures,
    #[serde(default)]
    fields: BTreeMap<Spanned<String>, RawField>,
    #[serde(default)]
    types: BTreeMap<Spanned<String>, RawType>,
    #[serde(default)]
    routes: BTreeMap<Spanned<String>, RawRoute>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThresholds {
    min_field_confidence: Option<Spanned<f64>>,
    min_classification_confidence: Option<Spanned<f64>>,
    min_margin: Option<Spanned<f64>>,
    min_guess_confidence: Option<Spanned<f64>>,
    quarantine_below_ocr_confidence: Option<Spanned<f64>>,
    min_words: Option<u32>,
    rule_confidence: Option<Spanned<f64>>,
    conflict_ratio: Option<Spanned<f64>>,
    fuzzy_similarity: Option<Spanned<f64>>,
    low_word_confidence: Option<Spanned<f64>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExtraction {
    #[serde(default)]
    date_order: DateOrder,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSignatures {
    labels: Vec<Spanned<String>>,
}

impl Default for RawSignatures {
    fn default() -> Self {
        RawSignatures {
            labels: [
                "Signature",
                "Sign here",
                "Signed by",
                "Authorized signature",
            ]
            .into_iter()
            .map(|s| Spanned::new(0..0, s.to_string()))
            .collect(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    kind: FieldKind,
    #[serde(default)]
    labels: Vec<Spanned<String>>,
    #[serde(default)]
    patterns: Vec<Spanned<String>>,
    #[serde(default)]
    known_values: Vec<Spanned<String>>,
    max_words: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawType {
    description: Option<String>,
    route: Spanned<String>,
    #[serde(default)]
    required_fields: Vec<Spanned<String>>,
    #[serde(default)]
    optional_fields: Vec<Spanned<String>>,
    #[serde(default)]
    action: TypeAction,
    #[serde(default)]
    rules: RawRules,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    #[serde(default)]
    title: Vec<Spanned<String>>,
    #[serde(default)]
    any: Vec<Spanned<String>>,
    #[serde(default)]
    all: Vec<Spanned<String>>,
    #[serde(default)]
    none: Vec<Spanned<String>>,
    #[serde(default)]
    regex: Vec<Spanned<String>>,
    #[serde(default)]
    fuzzy: Vec<Spanned<String>>,
    #[serde(default)]
    senders: Vec<Spanned<String>>,
    min_pages: Option<Spanned<u32>>,
    max_pages: Option<Spanned<u32>>,
    #[serde(default)]
    layouts: Vec<RawLayout>,
    min_points: Option<Spanned<u32>>,
    strong_points: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLayout {
    name: Spanned<String>,
    labels: Vec<Spanned<LayoutLabel>>,
    tolerance: Option<Spanned<f64>>,
    min_score: Option<Spanned<f64>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    department: Option<String>,
    retention_class: Option<String>,
    #[serde(default)]
    policy_tags: Vec<String>,
    #[serde(default)]
    recipients: Vec<Spanned<RawRecipient>>,
    #[serde(default)]
    cc: Vec<Spanned<RawRecipient>>,
    #[serde(default)]
    anchors: Vec<RawAnchor>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecipient {
    role: String,
    name: Option<String>,
    email: Option<String>,
    name_from: Option<Spanned<String>>,
    email_from: Option<Spanned<String>>,
    order: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAnchor {
    role: Option<Spanned<String>>,
    text: Spanned<String>,
    #[serde(default)]
    x_offset: i32,
    #[serde(default)]
    y_offset: i32,
    fallback: FallbackPosition,
}

fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl RawPolicy {
    fn validate(self, ctx: &Ctx, fingerprint: String) -> Result<Policy> {
        if *self.version.get_ref() != 1 {
            return Err(ctx.error(
                &self.version,
                format!(
                    "unsupported policy version {}; this build reads version 1",
                    self.version.get_ref()
                ),
            ));
        }
        let t = &self.thresholds;
        let d = Thresholds::default();
        let thresholds = Thresholds {
            min_field_confidence: ctx.unit(
                &t.min_field_confidence,
                "thresholds.min_field_confidence",
                d.min_field_confidence,
            )?,
            min_classification_confidence: ctx.unit(
                &t.min_classification_confidence,
                "thresholds.min_classification_confidence",
                d.min_classification_confidence,
            )?,
            min_margin: ctx.unit(&t.min_margin, "thresholds.min_margin", d.min_margin)?,
            min_guess_confidence: ctx.unit(
                &t.min_guess_confidence,
                "thresholds.min_guess_confidence",
                d.min_guess_confidence,
            )?,
            quarantine_below_ocr_confidence: ctx.unit(
                &t.quarantine_below_ocr_confidence,
                "thresholds.quarantine_below_ocr_confidence",
                d.quarantine_below_ocr_confidence,
            )?,
            min_words: t.min_words.map_or(d.min_words, |n| n as usize),
            rule_confidence: ctx.unit(
                &t.rule_confidence,
                "thresholds.rule_confidence",
                d.rule_confidence,
            )?,
            conflict_ratio: ctx.unit(
                &t.conflict_ratio,
                "thresholds.conflict_ratio",
                d.conflict_ratio,
            )?,
            fuzzy_similarity: ctx.unit(
                &t.fuzzy_similarity,
                "thresholds.fuzzy_similarity",
                d.fuzzy_similarity,
            )?,
            low_word_confidence: ctx.unit(
                &t.low_word_confidence,
                "thresholds.low_word_confidence",
                d.low_word_confidence,
            )?,
        };

        let signature_labels = ctx.phrases(&self.signatures.labels, "signatures.labels")?;

        let mut fields = BTreeMap::new();
        for (name, raw) in &self.fields {
            let key = format!("fields.{}", name.get_ref());
            if !is_identifier(name.get_ref()) {
                return Err(ctx.error(
                    name,
                    format!("field name {:?} must be snake_case", name.get_ref()),
                ));
            }
            if raw.labels.is_empty() && raw.patterns.is_empty() && raw.known_values.is_empty() {
                return Err(ctx.error_at(
                    ctx.line_of_table(&key, name),
                    format!("[{key}] needs at least one of labels, patterns, known_values"),
                ));
            }
            let mut patterns = Vec::new();
            for p in &raw.patterns {
                let re = ctx.regex(p, &format!("{key}.patterns"))?;
                if re.captures_len() < 2 {
                    return Err(ctx.error(
                        p,
                        format!(
                            "{key}.patterns: {:?} has no capture group for the value",
                            p.get_ref()
                        ),
                    ));
                }
                patterns.push(re);
            }
            let max_words = match &raw.max_words {
                Some(m) if *m.get_ref() == 0 => {
                    return Err(ctx.error(m, format!("{key}.max_words must be at least 1")))
                }
                Some(m) => *m.get_ref() as usize,
                None => 8,
            };
            fields.insert(
                name.get_ref().clone(),
                FieldExtractor {
                    kind: raw.kind,
                    labels: ctx.phrases(&raw.labels, &format!("{key}.labels"))?,
                    patterns,
                    known_values: ctx.phrases(&raw.known_values, &format!("{key}.known_values"))?,
                    max_words,
                },
            );
        }

        let mut routes = BTreeMap::new();
        for (name, raw) in &self.routes {
            let key = format!("routes.{}", name.get_ref());
            let check_field = |f: &Option<Spanned<String>>, what: &str| -> Result<()> {
                match f {
                    Some(f) if !fields.contains_key(f.get_ref()) => Err(ctx.error(
                        f,
                        format!(
                            "{key}: {what} = {:?} names no field in [fields]",
                            f.get_ref()
                        ),
                    )),
                    _ => Ok(()),
                }
            };
            let recipient_rules = |list: &[Spanned<RawRecipient>], what: &str| {
                let mut out = Vec::new();
                for r in list {
                    let raw = r.get_ref();
                    check_field(&raw.name_from, "name_from")?;
                    check_field(&raw.email_from, "email_from")?;
                    if raw.name.is_none() && raw.name_from.is_none() {
                        return Err(ctx.error(
                            r,
                            format!(
                                "{key}.{what}: recipient {:?} needs name or name_from",
                                raw.role
                            ),
                        ));
                    }
                    out.push(RecipientRule {
                        role: raw.role.clone(),
                        name: raw.name.clone(),
                        email: raw.email.clone(),
                        name_from: raw.name_from.as_ref().map(|s| s.get_ref().clone()),
                        email_from: raw.email_from.as_ref().map(|s| s.get_ref().clone()),
                        order: raw.order.unwrap_or(1).max(1),
                    });
                }
                Ok::<_, Error>(out)
            };
            let recipients = recipient_rules(&raw.recipients, "recipients")?;
            let cc = recipient_rules(&raw.cc, "cc")?;
            let mut anchors = Vec::new();
            for a in &raw.anchors {
                if let Some(role) = &a.role {
                    if !recipients.iter().any(|r| &r.role == role.get_ref()) {
                        return Err(ctx.error(
                            role,
                            format!(
                                "{key}.anchors: role {:?} is not a recipient role of this route",
                                role.get_ref()
                            ),
                        ));
                    }
                }
                if a.text.get_ref().trim().is_empty() {
                    return Err(ctx.error(&a.text, format!("{key}.anchors: empty anchor text")));
                }
                if a.fallback.page_number == 0 {
                    return Err(ctx.error(
                        &a.text,
                        format!("{key}.anchors: fallback page_number is 1-based"),
                    ));
                }
                anchors.push(AnchorRule {
                    role: a.role.as_ref().map(|r| r.get_ref().clone()),
                    text: a.text.get_ref().clone(),
                    x_offset: a.x_offset,
                    y_offset: a.y_offset,
                    fallback: a.fallback,
                });
            }
            routes.insert(
                name.get_ref().clone(),
                Route {
                    name: name.get_ref().clone(),
                    department: raw.department.clone(),
                    retention_class: raw.retention_class.clone(),
                    policy_tags: raw.policy_tags.clone(),
                    recipients,
                    cc,
                    anchors,
                },
            );
        }

        let mut types = BTreeMap::new();
        for (name, raw) in &self.types {
            let key = format!("types.{}", name.get_ref());
            if name.get_ref() == UNCLASSIFIED {
                return Err(ctx.error(
                    name,
                    format!("{UNCLASSIFIED:?} is reserved for documents no type fits"),
                ));
            }
            if !is_identifier(name.get_ref()) {
                return Err(ctx.error(
                    name,
                    format!("type name {:?} must be snake_case", name.get_ref()),
                ));
            }
            if !routes.contains_key(raw.route.get_ref()) {
                return Err(ctx.error(
                    &raw.route,
                    format!(
                        "{key}.route = {:?} names no route in [routes] (known: {})",
                        raw.route.get_ref(),
                        routes.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            let mut seen = BTreeSet::new();
            for (list, what) in [
                (&raw.required_fields, "required_fields"),
                (&raw.optional_fields, "optional_fields"),
            ] {
                for f in list {
                    if !fields.contains_key(f.get_ref()) {
                        return Err(ctx.error(
                            f,
                            format!(
                                "{key}.{what}: field {:?} has no extractor in [fields]",
                                f.get_ref()
                            ),
                        ));
                    }
                    if !seen.insert(f.get_ref().clone()) {
                        return Err(ctx.error(
                            f,
                            format!("{key}.{what}: field {:?} is listed twice", f.get_ref()),
                        ));
                    }
                }
            }
            let rules = raw.rules.validate(ctx, &format!("{key}.rules"))?;
            types.insert(
                name.get_ref().clone(),
                DocumentType {
                    name: name.get_ref().clone(),
                    description: raw.description.clone(),
                    route: raw.route.get_ref().clone(),
                    required_fields: raw
                        .required_fields
                        .iter()
                        .map(|f| f.get_ref().clone())
                        .collect(),
                    optional_fields: raw
                        .optional_fields
                        .iter()
                        .map(|f| f.get_ref().clone())
                        .collect(),
                    action: raw.action,
                    rules,
                },
            );
        }

        Ok(Policy {
            origin: ctx.origin.to_string(),
            fingerprint,
            thresholds,
            date_order: self.extraction.date_order,
            signature_labels,
            fields,
            types,
            routes,
        })
    }
}

impl RawRules {
    fn validate(&self, ctx: &Ctx, key: &str) -> Result<MatchRules> {
        let regex = self
            .regex
            .iter()
            .map(|r| ctx.regex(r, &format!("{key}.regex")))
            .collect::<Result<Vec<_>>>()?;
        if let (Some(min), Some(max)) = (&self.min_pages, &self.max_pages) {
            if min.get_ref() > max.get_ref() {
                return Err(ctx.error(
                    max,
                    format!(
                        "{key}: max_pages = {} is below min_pages = {}",
                        max.get_ref(),
                        min.get_ref()
                    ),
                ));
            }
        }
        let min_points = self.min_points.as_ref().map_or(2, |p| *p.get_ref());
        let strong_points = self.strong_points.as_ref().map_or(4, |p| *p.get_ref());
        if let Some(p) = self.min_points.as_ref().filter(|p| *p.get_ref() == 0) {
            return Err(ctx.error(p, format!("{key}.min_points must be at least 1")));
        }
        if strong_points < min_points {
            let at = self.strong_points.as_ref().or(self.min_points.as_ref());
            let message = format!(
                "{key}: strong_points = {strong_points} is below min_points = {min_points}"
            );
            return Err(match at {
                Some(at) => ctx.error(at, message),
                None => ctx.error_at(1, message),
            });
        }
        let mut layouts = Vec::new();
        for l in &self.layouts {
            let what = format!("{key}.layouts {:?}", l.name.get_ref());
            if l.labels.is_empty() {
                return Err(ctx.error(&l.name, format!("{what}: no labels")));
            }
            for label in &l.labels {
                let v = label.get_ref();
                if !(0.0..=1.0).contains(&v.x) || !(0.0..=1.0).contains(&v.y) {
                    return Err(ctx.error(
                        label,
                        format!("{what}: label {:?} position is outside 0..1", v.text),
                    ));
                }
                if normalize::tokens(&v.text).is_empty() {
                    return Err(ctx.error(label, format!("{what}: empty label")));
                }
            }
            layouts.push(LayoutFingerprint {
                name: l.name.get_ref().clone(),
                labels: l.labels.iter().map(|s| s.get_ref().clone()).collect(),
                tolerance: ctx.unit(&l.tolerance, &format!("{what}: tolerance"), 0.05)?,
                min_score: ctx.unit(&l.min_score, &format!("{what}: min_score"), 0.75)?,
            });
        }
        Ok(MatchRules {
            title: ctx.phrases(&self.title, &format!("{key}.title"))?,
            any: ctx.phrases(&self.any, &format!("{key}.any"))?,
            all: ctx.phrases(&self.all, &format!("{key}.all"))?,
            none: ctx.phrases(&self.none, &format!("{key}.none"))?,
            regex,
            fuzzy: ctx.phrases(&self.fuzzy, &format!("{key}.fuzzy"))?,
            senders: ctx.phrases(&self.senders, &format!("{key}.senders"))?,
            min_pages: self.min_pages.as_ref().map(|p| *p.get_ref()),
            max_pages: self.max_pages.as_ref().map(|p| *p.get_ref()),
            layouts,
            min_points,
            strong_points,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"version = 1

[fields.invoice_number]
kind = "identifier"
labels = ["Invoice Number"]

[types.invoice]
route = "ap"
required_fields = ["invoice_number"]

[types.invoice.rules]
any = ["invoice"]
regex = ['inv\s*#']

[routes.ap]
department = "Finance"
"#;

    fn invalid(text: &str) -> (usize, String) {
        match Policy::from_str(text, "policy.toml") {
            Err(Error::PolicyInvalid {
                origin,
                line,
                message,
            }) => {
                assert_eq!(origin, "policy.toml");
                (line, message)
            }
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("policy accepted:\n{text}"),
        }
    }

    #[test]
    fn embedded_default_policy_is_valid_and_has_the_default_types() {
        let p = Policy::from_str(DEFAULT_POLICY_TOML, "default.toml").unwrap();
        let names: Vec<&str> = p.types.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "hr_form",
                "invoice",
                "nda",
                "purchase_order",
                "vendor_agreement"
            ]
        );
        for field in [
            "effective_date",
            "party_a",
            "party_b",
            "counterparty_name",
            "vendor_name",
            "invoice_number",
            "po_number",
            "total_amount",
            "due_date",
            "employee_name",
        ] {
            assert!(p.fields.contains_key(field), "default policy lacks {field}");
        }
        assert_eq!(p.fingerprint().len(), 64);
    }

    #[test]
    fn minimal_policy_loads_with_default_thresholds() {
        let p = Policy::from_str(MINIMAL, "policy.toml").unwrap();
        assert_eq!(p.thresholds, Thresholds::default());
        assert_eq!(p.types["invoice"].route, "ap");
        assert_eq!(p.types["invoice"].rules.min_points, 2);
        assert!(p.types["invoice"].rules.regex[0].is_match("INV #"));
    }

    #[test]
    fn typo_in_a_key_names_its_line() {
        let text = MINIMAL.replace("required_fields", "requred_fields");
        let (line, message) = invalid(&text);
        assert_eq!(line, 9, "{message}");
        assert!(message.contains("requred_fields"), "{message}");
    }

    #[test]
    fn unknown_top_level_table_names_its_line() {
        let text = format!("{MINIMAL}\n[thresholdz]\nmin_margin = 0.1\n");
        let (line, message) = invalid(&text);
        assert_eq!(line, 18, "{message}");
        assert!(message.contains("thresholdz"), "{message}");
    }

    #[test]
    fn bad_regex_names_its_line() {
        let text = MINIMAL.replace(r"inv\s*#", r"inv(\s*#");
        let (line, message) = invalid(&text);
        assert_eq!(line, 13, "{message}");
        assert!(message.contains("invalid regex"), "{message}");
        assert!(message.contains("types.invoice.rules.regex"), "{message}");
    }

    #[test]
    fn unknown_route_names_its_line() {
        let text = MINIMAL.replace("route = \"ap\"", "route = \"accounts\"");
        let (line, message) = invalid(&text);
        assert_eq!(line, 8, "{message}");
        assert!(message.contains("\"accounts\" names no route"), "{message}");
    }

    #[test]
    fn required_field_without_extractor_names_its_line() {
        let text = MINIMAL.replace(
            "required_fields = [\"invoice_number\"]",
            "required_fields = [\"invoice_number\",\n  \"total_amount\"]",
        );
        let (line, message) = invalid(&text);
        assert_eq!(line, 10, "{message}");
        assert!(
            message.contains("\"total_amount\" has no extractor"),
            "{message}"
        );
    }

    #[test]
    fn threshold_outside_unit_interval_names_its_line() {
        let text = MINIMAL.replace(
            "version = 1\n",
            "version = 1\n[thresholds]\nmin_margin = 0.2\nmin_field_confidence = 1.5\n",
        );
        let (line, message) = invalid(&text);
        assert_eq!(line, 4, "{message}");
        assert!(
            message.contains("min_field_confidence = 1.5 is outside 0..1"),
            "{message}"
        );
    }

    #[test]
    fn low_word_confidence_is_a_unit_threshold() {
        let p = Policy::embedded_default();
        assert_eq!(p.thresholds.low_word_confidence, 0.80);
        let text = MINIMAL.replace(
            "version = 1\n",
            "version = 1\n[thresholds]\nlow_word_confidence = 0.6\n",
        );
        let p = Policy::from_str(&text, "policy.toml").unwrap();
        assert_eq!(p.thresholds.low_word_confidence, 0.6);
        let text = MINIMAL.replace(
            "version = 1\n",
            "version = 1\n[thresholds]\nlow_word_confidence = 80\n",
        );
        let (line, message) = invalid(&text);
        assert_eq!(line, 3, "{message}");
        assert!(
            message.contains("low_word_confidence = 80 is outside 0..1"),
            "{message}"
        );
    }

    #[test]
    fn document_types_pair_each_type_with_its_route() {
        let p = Policy::embedded_default();
        let want: Vec<(String, String)> = [
            ("hr_form", "hr"),
            ("invoice", "accounts_payable"),
            ("nda", "legal_nda"),
            ("purchase_order", "procurement"),
            ("vendor_agreement", "vendor_contracts"),
        ]
        .iter()
        .map(|(t, r)| (t.to_string(), r.to_string()))
        .collect();
        assert_eq!(p.document_types(), want);
    }

    #[test]
    fn syntax_error_names_its_line() {
        let text = MINIMAL.replace("department = \"Finance\"", "department = Finance");
        let (line, _) = invalid(&text);
        assert_eq!(line, 16);
    }

    #[test]
    fn unclassified_is_reserved() {
        let text = MINIMAL
            .replace("[types.invoice]", "[types.unclassified]")
            .replace("[types.invoice.rules]", "[types.unclassified.rules]");
        let (line, message) = invalid(&text);
        assert_eq!(line, 7, "{message}");
        assert!(message.contains("reserved"), "{message}");
    }

    #[test]
    fn pattern_needs_a_capture_group() {
        let text = MINIMAL.replace(
            "labels = [\"Invoice Number\"]",
            "patterns = ['invoice no \\S+']",
        );
        let (line, message) = invalid(&text);
        assert_eq!(line, 5, "{message}");
        assert!(message.contains("capture group"), "{message}");
    }

    #[test]
    fn error_display_names_file_and_line() {
        let text = MINIMAL.replace("required_fields", "requred_fields");
        let err = Policy::from_str(&text, "/etc/countersign/policy.toml").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/etc/countersign/policy.toml:9: "),
            "{err}"
        );
        assert_eq!(err.code(), "invalid_policy");
    }

    #[test]
    fn reload_keeps_the_previous_policy_when_the_new_one_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.toml");
        std::fs::write(&path, MINIMAL).unwrap();
        let mut active = ActivePolicy::open(Some(&path)).unwrap();
        let before = active.current().fingerprint().to_string();

        std::fs::write(&path, MINIMAL.replace(r"inv\s*#", r"inv(")).unwrap();
        let err = active.reload(&path).unwrap_err();
        assert!(err.to_string().contains(":13: "), "{err}");
        assert_eq!(active.current().fingerprint(), before);
        assert!(active.current().types.contains_key("invoice"));

        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            active.reload(&path).unwrap_err().code(),
            "policy_unreadable"
        );
        assert_eq!(active.current().fingerprint(), before);

        let changed = MINIMAL.replace("Finance", "Accounts");
        std::fs::write(&path, &changed).unwrap();
        let now = active.reload(&path).unwrap();
        assert_ne!(now.fingerprint(), before);
        assert_eq!(
            active.current().routes["ap"].department.as_deref(),
            Some("Accounts")
        );
    }
}
