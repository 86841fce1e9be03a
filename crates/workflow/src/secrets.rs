//! Secrets: the signature provider's token and the relay workstation token. They live in the OS
//! keychain (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows) through
//! `keyring`, one entry per tenant, and nowhere else: not in SQLite, not in `countersign.toml`,
//! never in a log line (`SecretValue`'s `Debug` and `Display` print `[redacted]`).
//!
//! Headless servers and CI without a keychain may set `COUNTERSIGN_PROVIDER_TOKEN` /
//! `COUNTERSIGN_RELAY_TOKEN` instead. That is less safe (any process of the same user can read a
//! process environment) and is documented as such; when set, it wins over the keychain.

use crate::{Error, ErrorCode};
use countersign_core::TenantId;
use serde::Serialize;
use ts_rs::TS;

/// The keychain service name of every Countersign entry.
pub const SERVICE: &str = "countersign";

/// Longest secret accepted (DocuSign access tokens are ~1–2 KB JWTs).
pub const MAX_SECRET_LEN: usize = 8192;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    /// The signature provider's bearer token.
    ProviderToken,
    /// The workstation token for the webhook relay.
    RelayToken,
}

impl SecretKind {
    fn account(self, tenant: &TenantId) -> String {
        match self {
            SecretKind::ProviderToken => format!("provider-token:{}", tenant.as_str()),
            SecretKind::RelayToken => format!("relay-token:{}", tenant.as_str()),
        }
    }

    /// The environment variable that stands in for the keychain on headless machines.
    pub fn env_var(self) -> &'static str {
        match self {
            SecretKind::ProviderToken => "COUNTERSIGN_PROVIDER_TOKEN",
            SecretKind::RelayToken => "COUNTERSIGN_RELAY_TOKEN",
        }
    }

    fn label(self) -> &'static str {
        match self {
            SecretKind::ProviderToken => "provider token",
            SecretKind::RelayToken => "relay token",
        }
    }
}

/// A secret read back. Printing it (Debug, Display, tracing) shows `[redacted]`; only
/// [`SecretValue::expose`] gives the text, at the one place that sends it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::fmt::Display for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Where a secret comes from, for the settings screen (never the secret itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SecretSource {
    Keychain,
    /// `COUNTERSIGN_*_TOKEN` (headless use).
    Environment,
    /// Not set anywhere.
    Missing,
}

fn keychain_error(what: &str, e: keyring::Error) -> Error {
    Error::new(
        ErrorCode::KeychainUnavailable,
        format!(
            "cannot {what} in the OS keychain: {e}. On Linux a Secret Service (GNOME Keyring, KWallet) must be running and unlocked; on a headless server set the token in the environment instead"
        ),
    )
}

fn entry(kind: SecretKind, tenant: &TenantId) -> Result<keyring::Entry, Error> {
    keyring::Entry::new(SERVICE, &kind.account(tenant))
        .map_err(|e| keychain_error("open the entry", e))
}

fn check(kind: SecretKind, value: &str) -> Result<String, Error> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!("the {} must not be empty", kind.label()),
        ));
    }
    if v.len() > MAX_SECRET_LEN || v.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!(
                "the {} must be one word of at most {MAX_SECRET_LEN} characters",
                kind.label()
            ),
        ));
    }
    Ok(v.to_owned())
}

/// Stores a secret in the OS keychain (replacing the previous one).
pub async fn store(kind: SecretKind, tenant: &TenantId, value: &str) -> Result<(), Error> {
    let value = check(kind, value)?;
    let tenant = tenant.clone();
    tokio::task::spawn_blocking(move || {
        entry(kind, &tenant)?
            .set_password(&value)
            .map_err(|e| keychain_error("store the secret", e))
    })
    .await
    .map_err(|e| Error::internal("storing a secret", e))??;
    tracing::info!(secret = ?kind, "secret stored in the OS keychain");
    Ok(())
}

/// Removes a secret from the OS keychain (no error if there was none).
pub async fn forget(kind: SecretKind, tenant: &TenantId) -> Result<(), Error> {
    let tenant = tenant.clone();
    tokio::task::spawn_blocking(move || match entry(kind, &tenant)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(keychain_error("remove the secret", e)),
    })
    .await
    .map_err(|e| Error::internal("removing a secret", e))?
}

/// The secret: the environment variable if set (headless use), else the keychain entry.
pub async fn load(kind: SecretKind, tenant: &TenantId) -> Result<Option<SecretValue>, Error> {
    if let Some(v) = std::env::var(kind.env_var())
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        return Ok(Some(SecretValue(v.trim().to_owned())));
    }
    let tenant = tenant.clone();
    tokio::task::spawn_blocking(move || match entry(kind, &tenant)?.get_password() {
        Ok(v) => Ok(Some(SecretValue(v))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(keychain_error("read the secret", e)),
    })
    .await
    .map_err(|e| Error::internal("reading a secret", e))?
}

/// Where the secret would come from now.
pub async fn source(kind: SecretKind, tenant: &TenantId) -> Result<SecretSource, Error> {
    if std::env::var(kind.env_var())
        .ok()
        .is_some_and(|v| !v.trim().is_empty())
    {
        return Ok(SecretSource::Environment);
    }
    Ok(match load(kind, tenant).await? {
        Some(_) => SecretSource::Keychain,
        None => SecretSource::Missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints() {
        let s = SecretValue("eyJhbGciOiJSUzI1NiJ9.secret".into());
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
        assert_eq!(s.expose(), "eyJhbGciOiJSUzI1NiJ9.secret");
    }

    #[test]
    fn secrets_are_one_word() {
        assert!(check(SecretKind::ProviderToken, "  ").is_err());
        assert!(check(SecretKind::ProviderToken, "a b").is_err());
        assert_eq!(
            check(SecretKind::RelayToken, " tok_123 ").unwrap(),
            "tok_123"
        );
    }
}
