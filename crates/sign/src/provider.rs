//! The provider abstraction: what Countersign asks of any e-signature service, in plain data.

use crate::ProviderError;
use chrono::{DateTime, Utc};
use countersign_core::EnvelopeId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An envelope to create: one PDF (the searchable PDF, so anchors are found in its text layer),
/// the people who sign it in order, and those who get a copy.
#[derive(Clone, PartialEq)]
pub struct EnvelopeRequest {
    pub pdf: Vec<u8>,
    /// The document's name as recipients see it, e.g. `NDA Acme.pdf`.
    pub document_name: String,
    pub email_subject: String,
    pub email_blurb: Option<String>,
    pub signers: Vec<Signer>,
    pub carbon_copies: Vec<CarbonCopy>,
    /// [`crate::idempotency_key`] of this send; travels with the envelope as the text custom
    /// field [`crate::IDEMPOTENCY_FIELD`], so a create whose answer was lost can be found again.
    pub idempotency_key: String,
    /// More text custom fields (hidden from recipients), e.g. `countersign_document_id`.
    pub metadata: BTreeMap<String, String>,
}

impl std::fmt::Debug for EnvelopeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvelopeRequest")
            .field("pdf", &format_args!("<{} bytes>", self.pdf.len()))
            .field("document_name", &self.document_name)
            .field("email_subject", &self.email_subject)
            .field("signers", &self.signers)
            .field("carbon_copies", &self.carbon_copies)
            .field("idempotency_key", &self.idempotency_key)
            .field("metadata", &self.metadata)
            .finish()
    }
}

/// Someone who signs. Signers with the same `routing_order` sign in parallel; a higher order waits
/// until every lower order has signed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signer {
    /// The role in the route, e.g. `counterparty` (DocuSign `roleName`).
    pub role: String,
    pub name: String,
    pub email: String,
    /// 1-based.
    pub routing_order: u32,
    /// Where this signer signs: one sign-here (and date-signed) place per anchor.
    pub anchors: Vec<Anchor>,
}

/// Someone who receives the completed documents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CarbonCopy {
    pub role: String,
    pub name: String,
    pub email: String,
    pub routing_order: u32,
}

/// Where a signature goes: at every occurrence of `anchor_text` in the document's text layer,
/// moved by the offsets (points; positive x to the right, positive y down, from the anchor's top
/// left), or, when the caller knows the text is not on the document (the OCR did not read it),
/// at the fixed `fallback` position instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anchor {
    pub anchor_text: String,
    pub x_offset: f32,
    pub y_offset: f32,
    /// Whether `anchor_text` is in the document's text layer. When `false` the fallback is used.
    pub on_document: bool,
    pub fallback: Position,
}

/// A fixed place on a page, in points from the page's top-left corner (DocuSign's `xPosition`,
/// `yPosition`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// 1-based.
    pub page_number: u32,
    pub x: f32,
    pub y: f32,
}

impl EnvelopeRequest {
    /// Checks what the provider would refuse anyway, before anything is sent.
    pub fn validate(&self) -> Result<(), ProviderError> {
        let bad = |m: String| ProviderError::invalid_request(m);
        if !self.pdf.starts_with(b"%PDF-") {
            return Err(bad("the document is not a PDF".into()));
        }
        if self.document_name.trim().is_empty() {
            return Err(bad("the document has no name".into()));
        }
        if self.email_subject.trim().is_empty() {
            return Err(bad("the email subject is empty".into()));
        }
        // DocuSign's limit for emailSubject.
        if self.email_subject.chars().count() > 100 {
            return Err(bad("the email subject is longer than 100 characters".into()));
        }
        if self.idempotency_key.trim().is_empty() {
            return Err(bad("the idempotency key is empty".into()));
        }
        if self.signers.is_empty() {
            return Err(bad("an envelope needs at least one signer".into()));
        }
        let people = self
            .signers
            .iter()
            .map(|s| (&s.name, &s.email, s.routing_order))
            .chain(
                self.carbon_copies
                    .iter()
                    .map(|c| (&c.name, &c.email, c.routing_order)),
            );
        for (name, email, order) in people {
            if name.trim().is_empty() {
                return Err(bad(format!("the recipient <{email}> has no name")));
            }
            if !plausible_email(email) {
                return Err(bad(format!("`{email}` is not an email address")));
            }
            if order == 0 {
                return Err(bad(format!("{name}: routing order starts at 1")));
            }
        }
        for signer in &self.signers {
            for anchor in &signer.anchors {
                if anchor.on_document && anchor.anchor_text.trim().is_empty() {
                    return Err(bad(format!("{}: an anchor text is empty", signer.name)));
                }
                let finite = [
                    anchor.x_offset,
                    anchor.y_offset,
                    anchor.fallback.x,
                    anchor.fallback.y,
                ]
                .iter()
                .all(|v| v.is_finite());
                if !finite || anchor.fallback.page_number == 0 {
                    return Err(bad(format!(
                        "{}: an anchor position is invalid",
                        signer.name
                    )));
                }
            }
        }
        Ok(())
    }
}

fn plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty() && !domain.is_empty() && !email.chars().any(char::is_whitespace)
}

/// Where an envelope is in its life, as the provider reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnvelopeState {
    /// A draft: not sent.
    Created,
    Sent,
    /// At least one recipient opened it.
    Delivered,
    /// Every signer signed; the provider is finishing (DocuSign `signed`).
    Signed,
    Completed,
    Declined,
    Voided,
    /// DocuSign `timedout`.
    Expired,
    Deleted,
    /// A status this crate does not know (kept verbatim in [`EnvelopeStatus::provider_status`]).
    Other,
}

impl EnvelopeState {
    /// DocuSign's status string (case-insensitive).
    pub fn from_docusign(status: &str) -> Self {
        match status.to_ascii_lowercase().as_str() {
            "created" => Self::Created,
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "signed" => Self::Signed,
            "completed" => Self::Completed,
            "declined" => Self::Declined,
            "voided" => Self::Voided,
            "timedout" => Self::Expired,
            "deleted" => Self::Deleted,
            _ => Self::Other,
        }
    }

    /// No further change will come.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Declined | Self::Voided | Self::Expired | Self::Deleted
        )
    }
}

/// What the provider says about one envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvelopeStatus {
    pub envelope_id: EnvelopeId,
    pub state: EnvelopeState,
    /// The provider's own status string, e.g. `completed`.
    pub provider_status: String,
    pub status_changed_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub voided_reason: Option<String>,
    /// The envelope's [`crate::IDEMPOTENCY_FIELD`], when it has one.
    pub idempotency_key: Option<String>,
}

/// An e-signature service. Implementations are cheap to share (`Arc<dyn Provider>`) and limit
/// their own call rate.
///
/// `create_envelope` is not idempotent at the provider: call it through [`crate::send_once`],
/// which never creates twice for one idempotency key without looking the key up in between.
#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    /// Creates and sends the envelope. On [`ProviderError::Unknown`] the envelope may exist.
    async fn create_envelope(&self, request: &EnvelopeRequest)
        -> Result<EnvelopeId, ProviderError>;

    /// The envelope carrying this idempotency key, if the provider has one. When several do
    /// (which [`crate::send_once`] prevents), the oldest.
    async fn find_by_idempotency_key(
        &self,
        key: &str,
    ) -> Result<Option<EnvelopeStatus>, ProviderError>;

    async fn envelope_status(&self, id: &EnvelopeId) -> Result<EnvelopeStatus, ProviderError>;

    /// Voids a sent envelope, with a reason recipients see.
    async fn void(&self, id: &EnvelopeId, reason: &str) -> Result<(), ProviderError>;

    /// The documents as they stand (signed, once completed), as one PDF, without the certificate.
    async fn combined_pdf(&self, id: &EnvelopeId) -> Result<Vec<u8>, ProviderError>;

    /// The provider's certificate of completion (the evidence of who signed when).
    async fn certificate_pdf(&self, id: &EnvelopeId) -> Result<Vec<u8>, ProviderError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> EnvelopeRequest {
        EnvelopeRequest {
            pdf: b"%PDF-1.7 ...".to_vec(),
            document_name: "a.pdf".into(),
            email_subject: "Please sign".into(),
            email_blurb: None,
            signers: vec![Signer {
                role: "counterparty".into(),
                name: "Jane Doe".into(),
                email: "jane@example.com".into(),
                routing_order: 1,
                anchors: vec![Anchor {
                    anchor_text: "Signature:".into(),
                    x_offset: 80.0,
                    y_offset: 0.0,
                    on_document: true,
                    fallback: Position {
                        page_number: 1,
                        x: 72.0,
                        y: 700.0,
                    },
                }],
            }],
            carbon_copies: vec![],
            idempotency_key: "k".into(),
            metadata: BTreeMap::new(),
        }
    }

    #[test]
    fn a_complete_request_validates() {
        request().validate().unwrap();
    }

    #[test]
    fn what_the_provider_would_refuse_is_refused_before_sending() {
        type Change = Box<dyn Fn(&mut EnvelopeRequest)>;
        let cases: Vec<(&str, Change)> = vec![
            ("not a PDF", Box::new(|r| r.pdf = b"PK\x03\x04".to_vec())),
            ("no signer", Box::new(|r| r.signers.clear())),
            ("empty key", Box::new(|r| r.idempotency_key.clear())),
            ("empty subject", Box::new(|r| r.email_subject = " ".into())),
            (
                "bad email",
                Box::new(|r| r.signers[0].email = "jane".into()),
            ),
            ("order 0", Box::new(|r| r.signers[0].routing_order = 0)),
            (
                "page 0",
                Box::new(|r| r.signers[0].anchors[0].fallback.page_number = 0),
            ),
            (
                "NaN offset",
                Box::new(|r| r.signers[0].anchors[0].x_offset = f32::NAN),
            ),
        ];
        for (what, change) in cases {
            let mut r = request();
            change(&mut r);
            let err = r.validate().unwrap_err();
            assert_eq!(err.code(), "provider_rejected", "{what}");
        }
    }

    #[test]
    fn docusign_statuses_map_to_states() {
        assert_eq!(
            EnvelopeState::from_docusign("Completed"),
            EnvelopeState::Completed
        );
        assert_eq!(
            EnvelopeState::from_docusign("timedout"),
            EnvelopeState::Expired
        );
        assert_eq!(
            EnvelopeState::from_docusign("authoritativecopy"),
            EnvelopeState::Other
        );
        assert!(EnvelopeState::Voided.is_final() && !EnvelopeState::Delivered.is_final());
    }
}
