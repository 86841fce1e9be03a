//! What people tell routing: a reviewer's corrections to one document ([`Hints::document_type`],
//! [`Hints::fields`]) and the names a tenant's reviewers confirmed before ([`Vocabulary`]).
//!
//! A reviewer's type and fields win over what routing concluded (confidence 1.0); the
//! vocabulary only helps extraction: a name read with OCR slips snaps to the confirmed spelling,
//! and a name no label or pattern found is looked for in the text. Reviewer input is checked
//! with [`check_document_type`] and [`check_field_value`] before it is stored; both are pure and
//! their errors are sentences for the reviewer.

use crate::normalize;
use crate::policy::{FieldKind, Policy, UNCLASSIFIED};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The longest value a reviewer may set, in characters.
pub const MAX_FIELD_VALUE_CHARS: usize = 500;

/// A reviewer's corrections and the tenant's vocabulary, for [`crate::route_with`].
/// `Hints::default()` is no correction and no vocabulary ([`crate::route`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Hints {
    /// The type a reviewer set (a policy type or `unclassified`): routing uses it with
    /// confidence 1.0 instead of its own classification. Check it with [`check_document_type`];
    /// a type the policy does not define is not applied and is a reason for review.
    pub document_type: Option<String>,
    /// Field values a reviewer set, by field name, as [`check_field_value`] returned them. Each
    /// replaces the extracted value with confidence 1.0 (page and bbox kept from the extracted
    /// field, else page 0 and an empty bbox); a policy field the type does not list is added all
    /// the same. `route_with` checks them again: a value that fails is not applied and is a
    /// reason for review.
    pub fields: BTreeMap<String, String>,
    /// Names the tenant's reviewers confirmed before.
    pub vocabulary: Vocabulary,
}

/// Names reviewers confirmed before, per field (`vendor_name` → `["Acme Industrial Supply
/// Co."]`). Used for `name` and `text` fields only (a near miss of an invoice number is another
/// invoice, not an OCR slip): an extracted value within `thresholds.fuzzy_similarity` of an entry
/// takes the entry's spelling, and a field nothing else found is found where an entry is written
/// in the document, like the policy's `known_values`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Vocabulary {
    pub fields: BTreeMap<String, Vec<String>>,
}

impl Vocabulary {
    /// The confirmed names of a field (empty when there are none).
    pub fn entries(&self, field: &str) -> &[String] {
        self.fields.get(field).map_or(&[], Vec::as_slice)
    }

    /// Records a confirmed name; `false` (and no change) when the field already has it, case
    /// and punctuation aside, or the value has no words.
    pub fn add(&mut self, field: &str, value: &str) -> bool {
        let key = normalize::tokens(value);
        if key.is_empty() {
            return false;
        }
        let list = self.fields.entry(field.to_string()).or_default();
        if list.iter().any(|v| normalize::tokens(v) == key) {
            return false;
        }
        list.push(value.trim().to_string());
        true
    }
}

/// Reviewer input routing cannot take; the message says what to fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HintError {
    #[error("unknown field {name:?}; the policy's fields are: {}", known.join(", "))]
    UnknownField { name: String, known: Vec<String> },
    #[error("{name} is empty")]
    EmptyValue { name: String },
    #[error("{name} is {chars} characters long; at most {max} are allowed", max = MAX_FIELD_VALUE_CHARS)]
    ValueTooLong { name: String, chars: usize },
    /// `what` is e.g. "a date"; `value` is the text as given.
    #[error("{name}: not {what}: {value}")]
    InvalidValue {
        name: String,
        what: &'static str,
        value: String,
    },
    #[error("unknown document type {document_type:?}; the known types are: {}", known.join(", "))]
    UnknownDocumentType {
        document_type: String,
        known: Vec<String>,
    },
}

impl HintError {
    /// Stable code for boundaries (CLI `--json`, Tauri).
    pub fn code(&self) -> &'static str {
        match self {
            HintError::UnknownField { .. } => "unknown_field",
            HintError::EmptyValue { .. } => "empty_value",
            HintError::ValueTooLong { .. } => "value_too_long",
            HintError::InvalidValue { .. } => "invalid_value",
            HintError::UnknownDocumentType { .. } => "unknown_document_type",
        }
    }
}

/// Checks a value a reviewer typed for field `name` and returns it normalised as extraction
/// would: dates → ISO 8601 (numeric dates read in the policy's date order), amounts → a decimal
/// string, names → whitespace collapsed and stray punctuation trimmed, e-mail addresses →
/// lower case, identifiers and text → trimmed.
pub fn check_field_value(policy: &Policy, name: &str, value: &str) -> Result<String, HintError> {
    let Some(ext) = policy.fields.get(name) else {
        return Err(HintError::UnknownField {
            name: name.to_string(),
            known: policy.fields.keys().cloned().collect(),
        });
    };
    let v = value.trim();
    if v.is_empty() {
        return Err(HintError::EmptyValue {
            name: name.to_string(),
        });
    }
    let chars = v.chars().count();
    if chars > MAX_FIELD_VALUE_CHARS {
        return Err(HintError::ValueTooLong {
            name: name.to_string(),
            chars,
        });
    }
    let (normalised, what) = match ext.kind {
        FieldKind::Date => (normalize::date(v, policy.date_order), "a date"),
        FieldKind::Amount => (normalize::amount(v), "an amount"),
        // A reviewer's name is not held to the extractor's word limit.
        FieldKind::Name => (normalize::name(v, usize::MAX), "a name"),
        FieldKind::Email => (normalize::email(v), "an e-mail address"),
        FieldKind::Identifier | FieldKind::Text => (Some(v.to_string()), "text"),
    };
    normalised.ok_or_else(|| HintError::InvalidValue {
        name: name.to_string(),
        what,
        value: v.to_string(),
    })
}

/// Checks a type a reviewer chose: a type of the policy, or `unclassified`.
pub fn check_document_type(policy: &Policy, document_type: &str) -> Result<(), HintError> {
    if document_type == UNCLASSIFIED || policy.types.contains_key(document_type) {
        return Ok(());
    }
    Err(HintError::UnknownDocumentType {
        document_type: document_type.to_string(),
        known: policy
            .types
            .keys()
            .cloned()
            .chain([UNCLASSIFIED.to_string()])
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_values_are_normalised_by_kind() {
        let p = Policy::embedded_default();
        assert_eq!(
            check_field_value(&p, "due_date", " March 5, 2024 ").unwrap(),
            "2024-03-05"
        );
        // The default policy reads numeric dates month first.
        assert_eq!(
            check_field_value(&p, "effective_date", "01/02/2024").unwrap(),
            "2024-01-02"
        );
        assert_eq!(
            check_field_value(&p, "total_amount", "$1,234.50").unwrap(),
            "1234.50"
        );
        assert_eq!(
            check_field_value(&p, "vendor_name", "  Acme   Industrial\tSupply Co. ").unwrap(),
            "Acme Industrial Supply Co."
        );
        assert_eq!(
            check_field_value(&p, "invoice_number", " INV-1042 ").unwrap(),
            "INV-1042"
        );
        // Longer than the extractor's max_words (5 for employee_name): a reviewer may say so.
        assert_eq!(
            check_field_value(&p, "employee_name", "Maria de los Angeles Garcia Lopez").unwrap(),
            "Maria de los Angeles Garcia Lopez"
        );
    }

    #[test]
    fn date_order_of_the_policy_is_used() {
        let text = crate::policy::DEFAULT_POLICY_TOML
            .replace("date_order = \"mdy\"", "date_order = \"dmy\"");
        let p = Policy::from_str(&text, "t.toml").unwrap();
        assert_eq!(
            check_field_value(&p, "due_date", "01/02/2024").unwrap(),
            "2024-02-01"
        );
    }

    #[test]
    fn bad_field_values_are_refused_with_what_to_fix() {
        let p = Policy::embedded_default();
        let err = check_field_value(&p, "vendor", "Acme").unwrap_err();
        assert_eq!(err.code(), "unknown_field");
        let msg = err.to_string();
        assert!(msg.starts_with("unknown field \"vendor\"; "), "{msg}");
        assert!(
            msg.contains("vendor_name") && msg.contains("total_amount"),
            "{msg}"
        );

        let err = check_field_value(&p, "due_date", "31/31/2024").unwrap_err();
        assert_eq!(err.code(), "invalid_value");
        assert_eq!(err.to_string(), "due_date: not a date: 31/31/2024");

        let err = check_field_value(&p, "total_amount", "twelve").unwrap_err();
        assert_eq!(err.to_string(), "total_amount: not an amount: twelve");

        let err = check_field_value(&p, "vendor_name", "   ").unwrap_err();
        assert_eq!(
            err,
            HintError::EmptyValue {
                name: "vendor_name".into()
            }
        );
        assert_eq!(err.to_string(), "vendor_name is empty");

        let long = "A".repeat(MAX_FIELD_VALUE_CHARS + 1);
        let err = check_field_value(&p, "vendor_name", &long).unwrap_err();
        assert_eq!(err.code(), "value_too_long");
        assert_eq!(
            err.to_string(),
            "vendor_name is 501 characters long; at most 500 are allowed"
        );
        let exact = "A".repeat(MAX_FIELD_VALUE_CHARS);
        assert_eq!(check_field_value(&p, "vendor_name", &exact).unwrap(), exact);
    }

    #[test]
    fn document_types_are_the_policy_types_or_unclassified() {
        let p = Policy::embedded_default();
        assert_eq!(check_document_type(&p, "invoice"), Ok(()));
        assert_eq!(check_document_type(&p, UNCLASSIFIED), Ok(()));
        let err = check_document_type(&p, "receipt").unwrap_err();
        assert_eq!(err.code(), "unknown_document_type");
        assert_eq!(
            err.to_string(),
            "unknown document type \"receipt\"; the known types are: hr_form, invoice, nda, \
             purchase_order, vendor_agreement, unclassified"
        );
    }

    #[test]
    fn vocabulary_adds_each_name_once() {
        let mut v = Vocabulary::default();
        assert!(v.add("vendor_name", " Acme Industrial Supply Co. "));
        assert!(!v.add("vendor_name", "ACME INDUSTRIAL SUPPLY CO"));
        assert!(!v.add("vendor_name", " , "));
        assert!(v.add("vendor_name", "Initech LLC"));
        assert_eq!(
            v.entries("vendor_name"),
            ["Acme Industrial Supply Co.", "Initech LLC"]
        );
        assert!(v.entries("party_a").is_empty());
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(serde_json::from_str::<Vocabulary>(&json).unwrap(), v);
        assert_eq!(
            serde_json::from_str::<Hints>("{}").unwrap(),
            Hints::default()
        );
    }
}
