//! The encodings the registry file is written in, which the approval flow shares:
//! base64url without padding, Ed25519 public keys in it, and the constant-time compare of
//! secrets (TOTP codes).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::VerifyingKey;

/// Base64url without padding (RFC 4648 §5), as JOSE and WebAuthn use it.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding; `what` names the field in the error.
pub fn unb64(text: &str, what: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(text.trim())
        .map_err(|e| format!("`{what}` is not base64url without padding: {e}"))
}

/// Whether two secrets (one-time codes, binding codes) are equal, in time that depends on
/// their lengths only, never on where they first differ.
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Parses a base64url Ed25519 public key (32 bytes).
pub fn public_from_b64(text: &str) -> Result<VerifyingKey, String> {
    let bytes = unb64(text, "public key")?;
    let arr: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
        format!(
            "an Ed25519 public key is 32 bytes, `{text}` is {}",
            bytes.len()
        )
    })?;
    VerifyingKey::from_bytes(&arr).map_err(|_| format!("`{text}` is not an Ed25519 public key"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn base64url_round_trips_and_refuses_padding() {
        assert_eq!(unb64(&b64(b"writ"), "x").unwrap(), b"writ");
        assert!(unb64("d3JpdA==", "x").is_err());
    }
}
