//! DocuSign eSignature REST v2.1 wire types: the subset Countersign sends and reads, with the field
//! names of DocuSign's OpenAPI spec (`esignature.rest.swagger-v2.1.2022-02-10.json`, definitions
//! `envelopeDefinition`, `document`, `recipients`, `signer`, `carbonCopy`, `tabs`, `signHere`,
//! `dateSigned`, `customFields`, `textCustomField`, `envelopeSummary`, `envelope`,
//! `envelopesInformation`, `envelopeUpdateSummary`, `errorDetails`) and of the Connect 2.0 JSON
//! schema (`connect.schema-v2.json`).
//!
//! The spec types nearly every scalar as a string (`"routingOrder": "1"`, `"anchorIgnoreIfNotPresent":
//! "true"`, `"resultSetSize": "3"`), so these do too: what is written validates against the spec.
//! When reading, a number or a boolean where the spec says string is accepted as well, since
//! hand-written clients send them. Every field is optional, absent fields are not written, and
//! fields not listed here are ignored when reading.
//!
//! Both the adapter ([`super::DocuSign`]) and `countersign-sandbox` use these types, so the two
//! cannot drift apart; Prism checks them against the spec (`tests/it/conformance.rs`).

use serde::{Deserialize, Serialize};

/// `POST /restapi/v2.1/accounts/{accountId}/envelopes` body (`envelopeDefinition`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvelopeDefinition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_blurb: Option<String>,
    /// `sent` sends at once; `created` makes a draft.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documents: Option<Vec<Document>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipients: Option<Recipients>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<CustomFields>,
}

/// One document of an envelope (`document`).
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_base64: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "lenient")]
    pub document_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_extension: Option<String>,
}

/// The base64 is megabytes of noise in a log line; Debug shows its length instead.
impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field(
                "document_base64",
                &self
                    .document_base64
                    .as_ref()
                    .map(|b| format!("<{} base64 chars>", b.len())),
            )
            .field("document_id", &self.document_id)
            .field("name", &self.name)
            .field("file_extension", &self.file_extension)
            .finish()
    }
}

/// `recipients`: the signers and the carbon copies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipients {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signers: Option<Vec<Signer>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carbon_copies: Option<Vec<CarbonCopy>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "lenient")]
    pub recipient_count: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "lenient")]
    pub current_routing_order: Option<String>,
}

/// `signer`. The status and date fields are only ever read (GET, Connect).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Signer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "lenient")]
    pub recipient_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "lenient")]
    pub routing_order: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tabs: Option<Tabs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_date_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_date_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_date_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declined_date_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declined_reason: Option<String>,
}

/// `carbonCopy`: receives the completed documents, signs nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CarbonCopy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "lenient")]
    pub recipient_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "lenient")]
    pub routing_order: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// `tabs`: the two kinds Countersign places.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tabs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_here_tabs: Option<Vec<Tab>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_signed_tabs: Option<Vec<Tab>>,
}

/// The placement fields shared by `signHere` and `dateSigned`: either by anchor (`anchorString`
/// with offsets) or fixed (`documentId`, `pageNumber`, `xPosition`, `yPosition`, in points from the
/// page's top-left corner).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tab {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor_string: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "lenient")]
    pub anchor_x_offset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "lenient")]
    pub anchor_y_offset: Option<String>,
    /// `pixels` (the default; 1 pixel = 1 point at 72 dpi), `mms`, `cms` or `inches`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor_units: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "lenient")]
    pub anchor_ignore_if_not_present: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "lenient")]
    pub anchor_case_sensitive: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "lenient")]
    pub anchor_match_whole_word: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "lenient")]
    pub document_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "lenient")]
    pub page_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "lenient")]
    pub x_position: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "lenient")]
    pub y_position: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "lenient")]
    pub recipient_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tab_label: Option<String>,
}

/// `customFields` (only the text kind is used).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_custom_fields: Option<Vec<TextCustomField>>,
}

impl CustomFields {
    /// The value of the text custom field `name`, if present.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.text_custom_fields
            .as_deref()?
            .iter()
            .find(|f| f.name.as_deref() == Some(name))?
            .value
            .as_deref()
    }
}

/// `textCustomField`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextCustomField {
    #[serde(default, skip_serializing_if = "Option::is_none", with = "lenient")]
    pub field_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "lenient")]
    pub show: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "lenient")]
    pub required: Option<String>,
}

/// `201` answer to a create (`envelopeSummary`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvelopeSummary {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_date_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

/// `GET .../envelopes/{envelopeId}` (`envelope`); also an item of a list and the
/// `envelopeSummary` of a Connect event. Dates are ISO 8601 strings as DocuSign writes them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_blurb: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documents_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documents_combined_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_date_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_date_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_date_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declined_date_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voided_date_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voided_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_changed_date_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_date_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<CustomFields>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipients: Option<Recipients>,
}

/// `GET .../envelopes?...` (`envelopesInformation`). The counts are strings in the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvelopesInformation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelopes: Option<Vec<Envelope>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "lenient")]
    pub result_set_size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "lenient")]
    pub total_set_size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "lenient")]
    pub start_position: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "lenient")]
    pub end_position: Option<String>,
}

/// `PUT .../envelopes/{envelopeId}` body (an `envelope`); Countersign only voids.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvelopeUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voided_reason: Option<String>,
}

/// `PUT .../envelopes/{envelopeId}` answer (`envelopeUpdateSummary`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvelopeUpdateSummary {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope_id: Option<String>,
}

/// Every error answer (`errorDetails`), e.g. `{"errorCode": "ENVELOPE_DOES_NOT_EXIST", "message": "…"}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A Connect 2.0 JSON event (`connect.schema-v2.json`, "JSON SIM" with the envelope summary).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectEvent {
    /// `envelope-sent`, `envelope-delivered`, `envelope-completed`, `envelope-declined`,
    /// `envelope-voided`, `recipient-sent`, `recipient-delivered`, `recipient-completed`,
    /// `recipient-declined`.
    pub event: String,
    #[serde(default)]
    pub api_version: String,
    #[serde(default)]
    pub uri: String,
    #[serde(default)]
    pub retry_count: u32,
    #[serde(default)]
    pub configuration_id: u64,
    /// RFC 3339.
    #[serde(default)]
    pub generated_date_time: String,
    pub data: ConnectData,
}

/// `data` of a Connect event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectData {
    #[serde(default)]
    pub account_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub envelope_id: String,
    /// Set on `recipient-*` events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope_summary: Option<Envelope>,
}

/// `Option<String>` fields that also accept a JSON number or boolean when reading.
mod lenient {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.serialize_str(v),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Scalar {
            S(String),
            I(i64),
            F(f64),
            B(bool),
        }
        Ok(Option::<Scalar>::deserialize(d)?.map(|v| match v {
            Scalar::S(s) => s,
            Scalar::I(i) => i.to_string(),
            Scalar::F(f) => f.to_string(),
            Scalar::B(b) => b.to_string(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_written_with_the_spec_names_and_as_strings() {
        let def = EnvelopeDefinition {
            email_subject: Some("Please sign".into()),
            status: Some("sent".into()),
            documents: Some(vec![Document {
                document_base64: Some("JVBERi0=".into()),
                document_id: Some("1".into()),
                name: Some("a.pdf".into()),
                file_extension: Some("pdf".into()),
            }]),
            recipients: Some(Recipients {
                signers: Some(vec![Signer {
                    email: Some("a@example.com".into()),
                    name: Some("A".into()),
                    recipient_id: Some("1".into()),
                    routing_order: Some("1".into()),
                    tabs: Some(Tabs {
                        sign_here_tabs: Some(vec![Tab {
                            anchor_string: Some("Signature:".into()),
                            anchor_x_offset: Some("80".into()),
                            anchor_ignore_if_not_present: Some("true".into()),
                            ..Tab::default()
                        }]),
                        date_signed_tabs: None,
                    }),
                    ..Signer::default()
                }]),
                ..Recipients::default()
            }),
            custom_fields: Some(CustomFields {
                text_custom_fields: Some(vec![TextCustomField {
                    name: Some("k".into()),
                    value: Some("v".into()),
                    ..TextCustomField::default()
                }]),
            }),
            ..EnvelopeDefinition::default()
        };
        let json = serde_json::to_value(&def).unwrap();
        assert_eq!(json["emailSubject"], "Please sign");
        assert_eq!(json["documents"][0]["documentBase64"], "JVBERi0=");
        assert_eq!(json["documents"][0]["fileExtension"], "pdf");
        let signer = &json["recipients"]["signers"][0];
        assert_eq!(signer["routingOrder"], "1");
        let tab = &signer["tabs"]["signHereTabs"][0];
        assert_eq!(tab["anchorString"], "Signature:");
        assert_eq!(tab["anchorXOffset"], "80");
        assert_eq!(tab["anchorIgnoreIfNotPresent"], "true");
        assert!(
            tab.get("xPosition").is_none(),
            "absent fields are not written"
        );
        assert_eq!(
            json["customFields"]["textCustomFields"][0]["name"],
            serde_json::json!("k")
        );
    }

    #[test]
    fn numbers_and_booleans_are_read_where_the_spec_says_string() {
        let signer: Signer = serde_json::from_value(serde_json::json!({
            "recipientId": 2, "routingOrder": "3",
            "tabs": {"signHereTabs": [{"xPosition": 12.5, "anchorIgnoreIfNotPresent": true}]}
        }))
        .unwrap();
        assert_eq!(signer.recipient_id.as_deref(), Some("2"));
        assert_eq!(signer.routing_order.as_deref(), Some("3"));
        let tab = &signer.tabs.unwrap().sign_here_tabs.unwrap()[0];
        assert_eq!(tab.x_position.as_deref(), Some("12.5"));
        assert_eq!(tab.anchor_ignore_if_not_present.as_deref(), Some("true"));
    }

    #[test]
    fn custom_field_lookup_by_name() {
        let fields = CustomFields {
            text_custom_fields: Some(vec![
                TextCustomField {
                    name: Some("a".into()),
                    value: Some("1".into()),
                    ..Default::default()
                },
                TextCustomField {
                    name: Some("countersign_idempotency_key".into()),
                    value: Some("abc".into()),
                    ..Default::default()
                },
            ]),
        };
        assert_eq!(fields.text("countersign_idempotency_key"), Some("abc"));
        assert_eq!(fields.text("missing"), None);
    }
}
