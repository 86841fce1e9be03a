//! The edge: an `envelopeDefinition` as received becomes a [`NewEnvelope`] whose every part has
//! been checked (documents decode and are readable PDFs, recipients are complete, tabs point at
//! pages that exist, required anchors are present), or a DocuSign-shaped error.

use crate::api::ApiError;
use crate::pdf::{self, AnchorText, Mark, MarkKind, Placement};
use base64::Engine;
use countersign_sign::docusign::wire;
use sha2::{Digest, Sha256};
use std::collections::HashSet;

#[derive(Debug)]
pub struct NewEnvelope {
    pub email_subject: String,
    pub email_blurb: Option<String>,
    /// `status: "sent"`; otherwise a draft.
    pub send: bool,
    pub documents: Vec<NewDocument>,
    pub recipients: Vec<NewRecipient>,
    pub custom_fields: Vec<NewField>,
}

#[derive(Debug)]
pub struct NewDocument {
    pub document_id: String,
    pub name: String,
    pub bytes: Vec<u8>,
    pub sha256: String,
    pub page_count: u32,
}

#[derive(Debug)]
pub struct NewRecipient {
    pub recipient_id: String,
    pub signer: bool,
    pub name: String,
    pub email: String,
    pub routing_order: u32,
    pub role_name: Option<String>,
    pub tabs: wire::Tabs,
}

#[derive(Debug)]
pub struct NewField {
    pub name: String,
    pub value: String,
    pub show: Option<String>,
    pub required: Option<String>,
}

fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::bad_request(code, message)
}

/// Checks a definition. CPU-bound (decodes and opens every document): run it off the runtime.
pub fn new_envelope(def: wire::EnvelopeDefinition) -> Result<NewEnvelope, ApiError> {
    let send = match def
        .status
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("sent") => true,
        None | Some("created") => false,
        Some(other) => {
            return Err(bad(
                "INVALID_REQUEST_PARAMETER",
                format!("status `{other}` cannot be set on a new envelope (use sent or created)"),
            ))
        }
    };
    let email_subject = def.email_subject.unwrap_or_default().trim().to_owned();
    if send && email_subject.is_empty() {
        return Err(incomplete("the email subject is missing"));
    }
    if email_subject.chars().count() > 100 {
        return Err(bad(
            "INVALID_EMAIL_SUBJECT",
            "The email subject is longer than 100 characters.",
        ));
    }
    let documents = documents(def.documents.unwrap_or_default())?;
    let recipients = recipients(def.recipients.unwrap_or_default(), &documents, send)?;
    let custom_fields = custom_fields(def.custom_fields.unwrap_or_default())?;
    Ok(NewEnvelope {
        email_subject,
        email_blurb: def.email_blurb.filter(|b| !b.trim().is_empty()),
        send,
        documents,
        recipients,
        custom_fields,
    })
}

fn incomplete(what: &str) -> ApiError {
    bad(
        "ENVELOPE_IS_INCOMPLETE",
        format!(
            "The Envelope is not Complete. A Complete Envelope Requires Documents, Recipients, Tabs, and a Subject Line: {what}."
        ),
    )
}

fn documents(documents: Vec<wire::Document>) -> Result<Vec<NewDocument>, ApiError> {
    if documents.is_empty() {
        return Err(incomplete("there is no document"));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, d) in documents.into_iter().enumerate() {
        let n = i + 1;
        let document_id = d
            .document_id
            .filter(|id| !id.trim().is_empty())
            .ok_or_else(|| {
                bad(
                    "INVALID_REQUEST_PARAMETER",
                    format!("document {n} has no documentId"),
                )
            })?;
        if !seen.insert(document_id.clone()) {
            return Err(bad(
                "INVALID_REQUEST_PARAMETER",
                format!("documentId {document_id} is used twice"),
            ));
        }
        let name = d
            .name
            .filter(|x| !x.trim().is_empty())
            .unwrap_or_else(|| format!("Document {document_id}"));
        if let Some(ext) = d.file_extension.as_deref() {
            if !ext.trim_start_matches('.').eq_ignore_ascii_case("pdf") {
                return Err(bad(
                    "FORMAT_CONVERSION_ERROR",
                    format!("document {document_id}: the sandbox takes PDF documents only (fileExtension `{ext}`)"),
                ));
            }
        }
        let b64 = d
            .document_base64
            .filter(|b| !b.is_empty())
            .ok_or_else(|| incomplete(&format!("document {document_id} has no documentBase64")))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| {
                bad(
                    "INVALID_REQUEST_BODY",
                    format!("document {document_id}: documentBase64 is not base64 ({e})"),
                )
            })?;
        if !bytes.starts_with(b"%PDF-") {
            return Err(bad(
                "FORMAT_CONVERSION_ERROR",
                format!("document {document_id}: the data is not a PDF"),
            ));
        }
        let page_count = pdf::page_count(&bytes).map_err(|e| match e {
            pdf::PdfError::Unavailable(_) => ApiError::internal(e),
            e => bad(
                "FORMAT_CONVERSION_ERROR",
                format!("document {document_id}: {e}"),
            ),
        })?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        out.push(NewDocument {
            document_id,
            name,
            bytes,
            sha256,
            page_count,
        });
    }
    Ok(out)
}

fn recipients(
    recipients: wire::Recipients,
    documents: &[NewDocument],
    send: bool,
) -> Result<Vec<NewRecipient>, ApiError> {
    let signers = recipients.signers.unwrap_or_default();
    if send && signers.is_empty() {
        return Err(incomplete("there is no signer"));
    }
    let mut ids = HashSet::new();
    let mut out = Vec::new();
    let people = signers
        .into_iter()
        .map(|s| {
            (
                true,
                s.recipient_id,
                s.name,
                s.email,
                s.routing_order,
                s.role_name,
                s.tabs,
            )
        })
        .chain(
            recipients
                .carbon_copies
                .unwrap_or_default()
                .into_iter()
                .map(|c| {
                    (
                        false,
                        c.recipient_id,
                        c.name,
                        c.email,
                        c.routing_order,
                        c.role_name,
                        None,
                    )
                }),
        );
    for (signer, recipient_id, name, email, routing_order, role_name, tabs) in people {
        let recipient_id = recipient_id
            .filter(|r| !r.trim().is_empty())
            .ok_or_else(|| {
                bad(
                    "INVALID_RECIPIENT_ID",
                    "every recipient needs a recipientId",
                )
            })?;
        if !ids.insert(recipient_id.clone()) {
            return Err(bad(
                "INVALID_RECIPIENT_ID",
                format!("recipientId {recipient_id} is used twice"),
            ));
        }
        let name = name.filter(|n| !n.trim().is_empty()).ok_or_else(|| {
            bad(
                "INVALID_USERNAME_FOR_RECIPIENT",
                format!("recipient {recipient_id} has no name"),
            )
        })?;
        let email = email.unwrap_or_default();
        if !plausible_email(&email) {
            return Err(bad(
                "INVALID_EMAIL_ADDRESS_FOR_RECIPIENT",
                format!("recipient {recipient_id}: `{email}` is not an email address"),
            ));
        }
        let routing_order = match routing_order.as_deref().map(str::trim) {
            None | Some("") => 1,
            Some(v) => v.parse::<u32>().ok().filter(|o| *o >= 1).ok_or_else(|| {
                bad(
                    "INVALID_REQUEST_PARAMETER",
                    format!("recipient {recipient_id}: routingOrder `{v}` is not a number from 1"),
                )
            })?,
        };
        let tabs = tabs.unwrap_or_default();
        for mark in marks(&tabs)? {
            check_mark(&mark, documents, &recipient_id)?;
        }
        out.push(NewRecipient {
            recipient_id,
            signer,
            name,
            email,
            routing_order,
            role_name: role_name.filter(|r| !r.is_empty()),
            tabs,
        });
    }
    Ok(out)
}

fn check_mark(
    mark: &CheckedMark,
    documents: &[NewDocument],
    recipient: &str,
) -> Result<(), ApiError> {
    match &mark.mark.placement {
        Placement::Fixed { page, .. } => {
            let document_id = mark.document_id.as_deref().unwrap_or("");
            let doc = documents
                .iter()
                .find(|d| d.document_id == document_id)
                .ok_or_else(|| {
                    bad(
                        "TAB_REFERS_TO_MISSING_DOCUMENT",
                        format!("recipient {recipient}: a tab names documentId `{document_id}`, which is not in the envelope"),
                    )
                })?;
            if *page > doc.page_count {
                return Err(bad(
                    "TAB_PAGENUMBER_IS_NOT_IN_DOCUMENT",
                    format!(
                        "recipient {recipient}: a tab is on page {page} of document {}, which has {} pages",
                        doc.document_id, doc.page_count
                    ),
                ));
            }
        }
        Placement::Anchor { anchor, .. } => {
            if !mark.ignore_if_not_present {
                let mut found = false;
                for d in documents {
                    if pdf::contains_anchor(&d.bytes, anchor).map_err(ApiError::internal)? {
                        found = true;
                        break;
                    }
                }
                if !found {
                    return Err(bad(
                        "ANCHOR_TAB_STRING_NOT_FOUND",
                        format!(
                            "The specified Anchor Tab string was not found in the document: `{}`",
                            anchor.text
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// A tab as the sandbox stamps it, plus what only validation needs.
pub struct CheckedMark {
    pub mark: Mark,
    pub document_id: Option<String>,
    pub ignore_if_not_present: bool,
}

/// The signer's tabs as marks to stamp. Fails on a tab with neither an anchor nor a position.
pub fn marks(tabs: &wire::Tabs) -> Result<Vec<CheckedMark>, ApiError> {
    let mut out = Vec::new();
    let kinds = [
        (
            MarkKind::SignHere,
            tabs.sign_here_tabs.as_deref().unwrap_or_default(),
        ),
        (
            MarkKind::DateSigned,
            tabs.date_signed_tabs.as_deref().unwrap_or_default(),
        ),
    ];
    for (kind, list) in kinds {
        for tab in list {
            out.push(mark(kind, tab)?);
        }
    }
    Ok(out)
}

fn mark(kind: MarkKind, tab: &wire::Tab) -> Result<CheckedMark, ApiError> {
    let number = |name: &str, v: &Option<String>| -> Result<f32, ApiError> {
        match v.as_deref().map(str::trim) {
            None | Some("") => Ok(0.0),
            Some(s) => s
                .parse::<f32>()
                .ok()
                .filter(|f| f.is_finite())
                .ok_or_else(|| {
                    bad(
                        "INVALID_REQUEST_PARAMETER",
                        format!("{name} `{s}` is not a number"),
                    )
                }),
        }
    };
    let flag = |v: &Option<String>| v.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("true"));
    if let Some(text) = tab.anchor_string.as_deref().filter(|s| !s.is_empty()) {
        let unit = match tab
            .anchor_units
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("") | Some("pixels") => 1.0,
            Some("inches") => 72.0,
            Some("cms") => 72.0 / 2.54,
            Some("mms") => 72.0 / 25.4,
            Some(other) => {
                return Err(bad(
                    "INVALID_REQUEST_PARAMETER",
                    format!("anchorUnits `{other}` is not one of pixels, inches, cms, mms"),
                ))
            }
        };
        return Ok(CheckedMark {
            mark: Mark {
                kind,
                placement: Placement::Anchor {
                    anchor: AnchorText {
                        text: text.to_owned(),
                        case_sensitive: flag(&tab.anchor_case_sensitive),
                        whole_word: flag(&tab.anchor_match_whole_word),
                    },
                    x_offset: number("anchorXOffset", &tab.anchor_x_offset)? * unit,
                    y_offset: number("anchorYOffset", &tab.anchor_y_offset)? * unit,
                },
            },
            document_id: None,
            ignore_if_not_present: flag(&tab.anchor_ignore_if_not_present),
        });
    }
    let page = tab
        .page_number
        .as_deref()
        .and_then(|p| p.trim().parse::<u32>().ok())
        .filter(|p| *p >= 1);
    match (page, &tab.x_position, &tab.y_position) {
        (Some(page), Some(_), Some(_)) => Ok(CheckedMark {
            mark: Mark {
                kind,
                placement: Placement::Fixed {
                    page,
                    x: number("xPosition", &tab.x_position)?,
                    y: number("yPosition", &tab.y_position)?,
                },
            },
            document_id: tab.document_id.clone(),
            ignore_if_not_present: false,
        }),
        _ => Err(bad(
            "INVALID_REQUEST_PARAMETER",
            "a tab needs an anchorString, or a documentId, pageNumber (from 1), xPosition and yPosition",
        )),
    }
}

fn custom_fields(fields: wire::CustomFields) -> Result<Vec<NewField>, ApiError> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for f in fields.text_custom_fields.unwrap_or_default() {
        let name = f.name.filter(|n| !n.trim().is_empty()).ok_or_else(|| {
            bad(
                "INVALID_REQUEST_PARAMETER",
                "a text custom field has no name",
            )
        })?;
        if !seen.insert(name.clone()) {
            return Err(bad(
                "INVALID_REQUEST_PARAMETER",
                format!("the custom field `{name}` is given twice"),
            ));
        }
        let value = f.value.unwrap_or_default();
        if value.chars().count() > 2000 {
            return Err(bad(
                "INVALID_REQUEST_PARAMETER",
                format!("the custom field `{name}` is too long"),
            ));
        }
        out.push(NewField {
            name,
            value,
            show: f.show,
            required: f.required,
        });
    }
    Ok(out)
}

fn plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty() && domain.contains('.') && !email.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabs_become_marks_in_points() {
        let tabs = wire::Tabs {
            sign_here_tabs: Some(vec![wire::Tab {
                anchor_string: Some("Signature:".into()),
                anchor_x_offset: Some("1".into()),
                anchor_y_offset: Some("-0.5".into()),
                anchor_units: Some("inches".into()),
                anchor_ignore_if_not_present: Some("true".into()),
                ..wire::Tab::default()
            }]),
            date_signed_tabs: Some(vec![wire::Tab {
                document_id: Some("1".into()),
                page_number: Some("2".into()),
                x_position: Some("100".into()),
                y_position: Some("700".into()),
                ..wire::Tab::default()
            }]),
        };
        let marks = marks(&tabs).unwrap();
        assert_eq!(
            marks[0].mark.placement,
            Placement::Anchor {
                anchor: AnchorText {
                    text: "Signature:".into(),
                    case_sensitive: false,
                    whole_word: false
                },
                x_offset: 72.0,
                y_offset: -36.0
            }
        );
        assert!(marks[0].ignore_if_not_present);
        assert_eq!(marks[1].mark.kind, MarkKind::DateSigned);
        assert_eq!(
            marks[1].mark.placement,
            Placement::Fixed {
                page: 2,
                x: 100.0,
                y: 700.0
            }
        );
        assert_eq!(marks[1].document_id.as_deref(), Some("1"));
    }

    #[test]
    fn a_tab_without_a_place_is_refused() {
        let tabs = wire::Tabs {
            sign_here_tabs: Some(vec![wire::Tab {
                page_number: Some("1".into()),
                ..wire::Tab::default()
            }]),
            date_signed_tabs: None,
        };
        assert!(marks(&tabs).is_err());
    }

    #[test]
    fn definitions_without_documents_or_with_non_pdf_documents_are_refused() {
        let err = new_envelope(wire::EnvelopeDefinition {
            status: Some("sent".into()),
            email_subject: Some("s".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(err.code, "ENVELOPE_IS_INCOMPLETE");
        let err = new_envelope(wire::EnvelopeDefinition {
            status: Some("sent".into()),
            email_subject: Some("s".into()),
            documents: Some(vec![wire::Document {
                document_base64: Some(base64::engine::general_purpose::STANDARD.encode(b"GIF89a")),
                document_id: Some("1".into()),
                ..Default::default()
            }]),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(err.code, "FORMAT_CONVERSION_ERROR");
    }
}
