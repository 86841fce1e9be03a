//! The idempotency key that lets a lost create be found again (DocuSign has no idempotency key of
//! its own: the key travels as a hidden text custom field and is searched for).

use sha2::{Digest, Sha256};

/// The envelope text custom field that carries the key.
pub const IDEMPOTENCY_FIELD: &str = "countersign_idempotency_key";

/// Domain separation: a key can never equal a sha256 computed for another purpose, and a change of
/// encoding gets a new tag.
const TAG: &[u8] = b"countersign/idempotency/v1";

/// The key of one send: lowercase hex sha256 (64 characters) of an unambiguous encoding of the
/// document id, its version and the route decision:
///
/// ```text
/// "countersign/idempotency/v1" || u32be(len(document_id)) || document_id
///                              || u32be(version)
///                              || u32be(len(route_decision)) || route_decision
/// ```
///
/// Lengths are prefixed, so no two different inputs share an encoding (`("ab", 1, "c")` and
/// `("a", 1, "bc")` differ). The same document version sent along the same route always gets the
/// same key, so retries (after a crash, on another machine) find the envelope already created;
/// a new version or a different route decision is a new send and gets a new key.
pub fn idempotency_key(document_id: &str, version: u32, route_decision: &str) -> String {
    let mut h = Sha256::new();
    h.update(TAG);
    h.update(len_prefix(document_id.as_bytes()));
    h.update(document_id.as_bytes());
    h.update(version.to_be_bytes());
    h.update(len_prefix(route_decision.as_bytes()));
    h.update(route_decision.as_bytes());
    hex::encode(h.finalize())
}

fn len_prefix(bytes: &[u8]) -> [u8; 4] {
    u32::try_from(bytes.len())
        .expect("an identifier longer than 4 GiB")
        .to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_stable_hex_sha256() {
        let k = idempotency_key("0190f5c2-7d1e-7b3a-9c4d-1234567890ab", 2, "nda:legal");
        assert_eq!(k.len(), 64);
        assert!(k
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(
            k,
            idempotency_key("0190f5c2-7d1e-7b3a-9c4d-1234567890ab", 2, "nda:legal")
        );
    }

    #[test]
    fn key_pins_the_encoding() {
        // Computed independently: sha256(b"countersign/idempotency/v1" + b"\0\0\0\x01d"
        // + b"\0\0\0\x01" + b"\0\0\0\x01r").
        let mut h = Sha256::new();
        h.update(b"countersign/idempotency/v1\x00\x00\x00\x01d\x00\x00\x00\x01\x00\x00\x00\x01r");
        assert_eq!(idempotency_key("d", 1, "r"), hex::encode(h.finalize()));
    }

    #[test]
    fn every_input_changes_the_key_and_boundaries_are_unambiguous() {
        let base = idempotency_key("doc", 1, "route");
        assert_ne!(base, idempotency_key("doc2", 1, "route"));
        assert_ne!(base, idempotency_key("doc", 2, "route"));
        assert_ne!(base, idempotency_key("doc", 1, "route2"));
        assert_ne!(idempotency_key("ab", 1, "c"), idempotency_key("a", 1, "bc"));
        assert_ne!(idempotency_key("", 1, "x"), idempotency_key("x", 1, ""));
    }
}
