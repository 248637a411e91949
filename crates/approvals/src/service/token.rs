//! The approver tokens the grant key signs — a WebAuthn registration challenge, an
//! enrolment invitation: `nonce (16 random bytes) ‖ expiry (8 bytes, big-endian unix
//! seconds) ‖ Ed25519 signature (64 bytes)` over `DOMAIN approver 0x00 nonce expiry`,
//! each kind with its own domain. Nothing is stored when one is issued; its nonce is the
//! key that consumes it once.

use crate::encode::{b64, random, unb64};
use crate::error::Error;
use crate::keys::{verify_b64, KeyPair};

const NONCE: usize = 16;
const EXPIRY: usize = 8;
const SIG: usize = 64;
/// A token's length: nonce, expiry, signature.
pub(super) const LEN: usize = NONCE + EXPIRY + SIG;

/// What the grant key signs: the domain, the approver's id, 0x00, the nonce and the
/// expiry.
fn signed(domain: &[u8], approver: &str, nonce: &[u8], expiry: &[u8]) -> Vec<u8> {
    let mut m = domain.to_vec();
    m.extend_from_slice(approver.as_bytes());
    m.push(0);
    m.extend_from_slice(nonce);
    m.extend_from_slice(expiry);
    m
}

/// A fresh token for `approver` in `domain`, good until `expires` (unix seconds).
pub(super) fn issue(
    key: &KeyPair,
    domain: &[u8],
    approver: &str,
    expires: i64,
) -> Result<Vec<u8>, Error> {
    let nonce = random::<NONCE>()?;
    let expiry = expires.to_be_bytes();
    let sig = key.sign_b64(&signed(domain, approver, &nonce, &expiry));
    let sig = unb64(&sig, "signature").map_err(Error::Key)?;
    let mut token = Vec::with_capacity(LEN);
    token.extend_from_slice(&nonce);
    token.extend_from_slice(&expiry);
    token.extend_from_slice(&sig);
    Ok(token)
}

/// Why a token is not good.
pub(super) enum Flaw {
    /// It is not [`LEN`] bytes long.
    Length,
    /// The key did not sign it, for this approver, in this domain.
    Signature,
    /// It expired at these unix seconds.
    Expired(i64),
}

/// A good token: its nonce (base64url, the key that consumes it) and its expiry.
pub(super) struct Good {
    pub(super) nonce: String,
    pub(super) expires: i64,
}

/// Checks a token for `approver` in `domain` at `now`.
pub(super) fn check(
    key: &KeyPair,
    domain: &[u8],
    approver: &str,
    token: &[u8],
    now: i64,
) -> Result<Good, Flaw> {
    if token.len() != LEN {
        return Err(Flaw::Length);
    }
    let (nonce, rest) = token.split_at(NONCE);
    let (expiry, sig) = rest.split_at(EXPIRY);
    if !verify_b64(
        &key.public(),
        &signed(domain, approver, nonce, expiry),
        &b64(sig),
    ) {
        return Err(Flaw::Signature);
    }
    let expires = <[u8; EXPIRY]>::try_from(expiry).map_or(i64::MIN, i64::from_be_bytes);
    if now >= expires {
        return Err(Flaw::Expired(expires));
    }
    Ok(Good {
        nonce: b64(nonce),
        expires,
    })
}
