//! What only the requester can show: the proof of possession that comes with a key-bound
//! grant at redemption (`IAT.SIGNATURE` over [`crate::pop_message`]), and what collects a
//! grant from its challenge — a proof of possession of `principal.key`, or the collection
//! secret the requester was given once when the challenge opened.

use serde_json::Value as Json;
use sha2::{Digest as _, Sha256};

use crate::encode::{b64, random};
use crate::error::Error;

/// The domain of a collection proof: `"writ-collect-v1" || 0x00 || challenge id || 0x00
/// || iat` ([`collect_message`]).
pub const COLLECT_DOMAIN: &[u8] = b"writ-collect-v1\0";

/// A proof as sent: the `iat` it was made at (unix seconds, decimal) and the signature
/// (base64url), joined by a `.`: `1733320000.MEUCIQ…`.
pub fn proof_text(iat: i64, signature: &str) -> String {
    format!("{iat}.{signature}")
}

/// Splits `IAT.SIGNATURE`; `None` when it is not that shape.
pub fn parse_proof(text: &str) -> Option<(i64, &str)> {
    let (iat, signature) = text.trim().split_once('.')?;
    if iat.is_empty() || iat.len() > 19 || !iat.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return None;
    }
    Some((iat.parse().ok()?, signature))
}

/// The message a requester signs with `principal.key` to collect the grant of challenge
/// `id` at `iat` (unix seconds, decimal).
pub fn collect_message(id: &str, iat: i64) -> Vec<u8> {
    let mut m = COLLECT_DOMAIN.to_vec();
    m.extend_from_slice(id.as_bytes());
    m.push(0);
    m.extend_from_slice(iat.to_string().as_bytes());
    m
}

/// The domain of a revocation proof: `"writ-revoke-v1" || 0x00 || challenge id || 0x00 ||
/// iat` ([`revoke_message`]).
pub const REVOKE_DOMAIN: &[u8] = b"writ-revoke-v1\0";

/// The message a requester (with `principal.key`) or an approver (with a registered
/// Ed25519 key) signs to revoke the grant of challenge `id` at `iat` (unix seconds,
/// decimal).
pub fn revoke_message(id: &str, iat: i64) -> Vec<u8> {
    let mut m = REVOKE_DOMAIN.to_vec();
    m.extend_from_slice(id.as_bytes());
    m.push(0);
    m.extend_from_slice(iat.to_string().as_bytes());
    m
}

/// The transaction digest a grant claims, read without verifying it (a workload needs it
/// to sign its proof of possession; the engine verifies everything at redemption).
pub fn grant_digest(token: &str) -> Option<String> {
    use pasetors::token::UntrustedToken;
    use pasetors::version4::V4;
    use pasetors::Public;
    let untrusted = UntrustedToken::<Public, V4>::try_from(token.trim()).ok()?;
    let claims: Json = serde_json::from_slice(untrusted.untrusted_payload()).ok()?;
    claims.get("digest")?.as_str().map(str::to_string)
}

/// How the requester proves the grant is theirs to collect.
#[derive(Clone)]
pub enum Collect {
    /// The collection secret `decide` returned once (requests without `principal.key`).
    Secret(String),
    /// A proof of possession of `principal.key`: the public JWK (its thumbprint must be
    /// the request's) and `IAT.SIGNATURE` over [`collect_message`].
    Key {
        /// The public JWK.
        jwk: Json,
        /// `IAT.SIGNATURE`.
        proof: String,
    },
}

impl std::fmt::Debug for Collect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // Never the secret.
            Collect::Secret(_) => f.write_str("Collect::Secret(<redacted>)"),
            Collect::Key { jwk, proof } => f
                .debug_struct("Collect::Key")
                .field("jwk", jwk)
                .field("proof", proof)
                .finish(),
        }
    }
}

/// A fresh collection secret (`cs_` + 256 random bits) and the hash the challenge keeps.
pub fn new_secret() -> Result<(String, String), Error> {
    let secret = format!("cs_{}", b64(&random::<32>()?));
    let hash = secret_hash(&secret);
    Ok((secret, hash))
}

/// What a challenge stores of a collection secret: `SHA-256("writ-collect-secret-v1" ||
/// 0x00 || secret)`, base64url.
pub fn secret_hash(secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"writ-collect-secret-v1\0");
    h.update(secret.trim().as_bytes());
    b64(&h.finalize())
}

/// Whether `secret` is one of `hashes`, compared in constant time (every hash is
/// compared, every byte of each).
pub fn secret_matches(secret: &str, hashes: &[String]) -> bool {
    let presented = secret_hash(secret);
    let mut found = 0u8;
    for h in hashes {
        found |= u8::from(constant_time_eq(presented.as_bytes(), h.as_bytes()));
    }
    found == 1
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revocation_proof_signs_its_own_domain_byte_by_byte() {
        assert_eq!(
            revoke_message("ch_1", 1796342400),
            b"writ-revoke-v1\x00ch_1\x001796342400".to_vec()
        );
        // Never a collection proof's bytes: one proves nothing for the other.
        assert_ne!(revoke_message("ch_1", 1), collect_message("ch_1", 1));
    }

    #[test]
    fn proofs_round_trip_and_malformed_ones_do_not_parse() {
        assert_eq!(
            parse_proof(&proof_text(1733320000, "c2ln")),
            Some((1733320000, "c2ln"))
        );
        assert_eq!(parse_proof("c2ln"), None);
        assert_eq!(parse_proof("x.c2ln"), None);
        assert_eq!(parse_proof(".c2ln"), None);
    }

    /// The worked example of docs/language.md §21: RFC 8037's Ed25519 key signs a proof
    /// of possession, byte for byte as a third party would build it.
    #[test]
    fn pop_v2_worked_example() {
        let grant = "v4.public.eyJleGFtcGxlIjp0cnVlfQ";
        let digest = "sha256:50d858e0985ecc7f60418aaf0cc5ab587f42c2570a884095a9e8ccacd0f6545c";
        let message = crate::keys::pop_message(grant, digest, 1796342400);
        assert_eq!(message.len(), 127);
        assert_eq!(
            crate::encode::hex(&Sha256::digest(&message)),
            "b94215284c6b2af48938634c627137c7e741b45b56836b1adfc92522ee6771f7"
        );
        let key =
            crate::keys::public_from_b64("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo").unwrap();
        assert!(crate::keys::verify_b64(
            &key,
            &message,
            "z79h1blKmFEfiB5R4GwHJ-kXA7AmXIdMTbA9_AgB44_MHOO4aExYIeT0gqx88JuZZ-xxkg9Uy58Y65JsaKxLBA"
        ));
    }

    #[test]
    fn secrets_match_only_themselves() {
        let (secret, hash) = new_secret().unwrap();
        assert!(!format!("{:?}", Collect::Secret(secret.clone())).contains(&secret));
        assert!(secret_matches(&secret, std::slice::from_ref(&hash)));
        assert!(!secret_matches("cs_guess", &[hash]));
        assert!(!secret_matches(&secret, &[]));
    }
}
