//! Workstation tokens: 32 random bytes, base64url without padding (43 characters), shown once.
//!
//! The database keeps only the first 8 characters (to find the row) and sha256(salt || token)
//! with a random 16-byte salt per token, so a copy of the database lets no one authenticate.

use crate::store::{Store, TokenRow};
use crate::tenants::TenantId;
use crate::RelayError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// Characters of the token stored in the clear to find its row.
const LOOKUP_LEN: usize = 8;
const TOKEN_LEN: usize = 43;

/// A token that authenticated: whose it is.
#[derive(Debug, Clone)]
pub struct Workstation {
    pub token_id: i64,
    pub tenant: String,
    pub name: String,
}

fn random_bytes<const N: usize>() -> Result<[u8; N], RelayError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| RelayError::Random(e.to_string()))?;
    Ok(buf)
}

fn hash_token(salt: &[u8], token: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(token.as_bytes());
    h.finalize().to_vec()
}

/// Creates a token for `tenant` (which must exist) and returns it: the only time it is visible.
pub async fn create_token(
    store: &Store,
    tenant: &TenantId,
    name: &str,
) -> Result<String, RelayError> {
    if name.trim().is_empty() {
        return Err(RelayError::EmptyTokenName);
    }
    let token = URL_SAFE_NO_PAD.encode(random_bytes::<32>()?);
    let salt = random_bytes::<16>()?;
    let hash = hash_token(&salt, &token);
    store
        .insert_token(tenant, name, &token[..LOOKUP_LEN], &salt, &hash)
        .await?;
    Ok(token)
}

/// The workstation `token` belongs to, if it is a live token.
pub async fn authenticate(store: &Store, token: &str) -> Result<Option<Workstation>, RelayError> {
    if token.len() != TOKEN_LEN || !token.is_ascii() {
        return Ok(None);
    }
    let rows: Vec<TokenRow> = store.tokens_by_lookup(&token[..LOOKUP_LEN]).await?;
    Ok(rows
        .into_iter()
        .find(|row| constant_time_eq(&hash_token(&row.salt, token), &row.hash))
        .map(|row| Workstation {
            token_id: row.id,
            tenant: row.tenant,
            name: row.name,
        }))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_depend_on_the_salt_and_compare_exactly() {
        assert_ne!(hash_token(b"a", "t"), hash_token(b"b", "t"));
        assert!(constant_time_eq(
            &hash_token(b"a", "t"),
            &hash_token(b"a", "t")
        ));
        assert!(!constant_time_eq(b"ab", b"ac"));
        assert!(!constant_time_eq(b"ab", b"abc"));
    }
}
