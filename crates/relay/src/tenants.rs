//! Tenants and their DocuSign Connect HMAC secrets (administration, used by the CLI).

use crate::store::Store;
use crate::RelayError;
use std::fmt;

/// A tenant id as it appears in `/hooks/docusign/{tenant}`: 1-64 of `A-Z a-z 0-9 . _ -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantId(String);

impl TenantId {
    pub fn parse(s: &str) -> Result<Self, RelayError> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(TenantId(s.to_owned()))
        } else {
            Err(RelayError::InvalidTenant(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What `add_secret` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretAdded {
    pub tenant_created: bool,
    /// False when the secret was already active for the tenant.
    pub secret_added: bool,
}

/// Creates the tenant if needed and adds `secret` to its active HMAC secrets. Calling it again
/// with a new secret is how a key is rotated: both verify until the old one is retired.
pub async fn add_secret(
    store: &Store,
    tenant: &TenantId,
    secret: &str,
) -> Result<SecretAdded, RelayError> {
    if secret.is_empty() {
        return Err(RelayError::EmptySecret);
    }
    store.add_secret(tenant, secret).await
}

/// Retires one of the tenant's secrets; returns whether an active one was found.
pub async fn retire_secret(
    store: &Store,
    tenant: &TenantId,
    secret: &str,
) -> Result<bool, RelayError> {
    store.retire_secret(tenant, secret).await
}
