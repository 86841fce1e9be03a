//! DocuSign Connect's HMAC: `X-DocuSign-Signature-1: base64(HMAC-SHA256(secret, raw body))`.
//!
//! The signature covers the exact bytes received: verify before parsing, never over re-serialised
//! JSON. Connect can send up to 100 signatures (`-1` … `-100`) while secrets are being rotated; a
//! receiver accepts the body when any of them verifies with any of its secrets.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header carrying the first signature.
pub const SIGNATURE_HEADER: &str = "X-DocuSign-Signature-1";

/// `base64(HMAC-SHA256(secret, body))`, the value of [`SIGNATURE_HEADER`].
pub fn sign_body(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `signature` (a header value) is the HMAC of `body` under `secret`. Constant-time in the
/// comparison; a value that is not base64 does not verify.
pub fn verify_signature(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_round_trips_and_detects_tampering() {
        let sig = sign_body(b"secret", br#"{"event":"envelope-completed"}"#);
        assert!(verify_signature(
            b"secret",
            br#"{"event":"envelope-completed"}"#,
            &sig
        ));
        assert!(!verify_signature(
            b"secret",
            br#"{"event":"envelope-voided"}"#,
            &sig
        ));
        assert!(!verify_signature(
            b"other",
            br#"{"event":"envelope-completed"}"#,
            &sig
        ));
        assert!(!verify_signature(b"secret", b"x", "not base64!"));
    }

    #[test]
    fn signature_matches_a_known_vector() {
        // RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?").
        let sig = sign_body(b"Jefe", b"what do ya want for nothing?");
        let hex = hex::encode(
            base64::engine::general_purpose::STANDARD
                .decode(sig)
                .unwrap(),
        );
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
