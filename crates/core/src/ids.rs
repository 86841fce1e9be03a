//! Typed identifiers: a document id cannot be passed where an envelope id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use ts_rs::TS;
use uuid::Uuid;

/// Stable across versions of one document; the primary key everywhere and the correlation id of
/// every log span. UUIDv7, so ids sort by creation time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[ts(type = "string")]
pub struct DocumentId(Uuid);

impl DocumentId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for DocumentId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("`{input}` is not a valid {kind}")]
pub struct ParseIdError {
    pub kind: &'static str,
    pub input: String,
}

impl FromStr for DocumentId {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s.trim())
            .map(Self)
            .map_err(|_| ParseIdError {
                kind: "document id",
                input: s.to_owned(),
            })
    }
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
        #[ts(type = "string")]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// The provider's envelope id (DocuSign: a GUID chosen by the provider).
    EnvelopeId
);
string_id!(
    /// The tenant (team) a document belongs to; `default` unless configured.
    TenantId
);

impl Default for TenantId {
    fn default() -> Self {
        Self::new("default")
    }
}

/// A row of the durable job table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
pub struct JobId(pub i64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_ids_round_trip_and_sort_by_creation() {
        let a = DocumentId::new();
        let b = DocumentId::new();
        assert!(a < b, "UUIDv7 ids must sort by creation time");
        assert_eq!(a.to_string().parse::<DocumentId>().unwrap(), a);
        let err = "not-a-uuid".parse::<DocumentId>().unwrap_err();
        assert_eq!(err.input, "not-a-uuid");
    }
}
