//! Static API keys: made with [`new_api_key`], stored in callers.toml only as their
//! SHA-256 ([`hash_api_key`]), and recognised by comparing the presented key's hash with
//! every stored hash in constant time (no early exit, no data-dependent branch).

use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use subtle::{ConditionallySelectable as _, ConstantTimeEq as _};

/// The prefix of keys made by [`new_api_key`] (it makes them easy to find in a leak scan).
pub const KEY_PREFIX: &str = "writ_";
/// The prefix of a stored hash.
pub const HASH_PREFIX: &str = "sha256:";
/// The longest key accepted from a caller, in bytes.
pub const MAX_KEY_BYTES: usize = 256;

/// A new random API key: `writ_` and 32 bytes from the operating system's CSPRNG in
/// base64url (43 characters). Show it once to whoever will use it; store only
/// [`hash_api_key`] of it.
pub fn new_api_key() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(format!(
        "{KEY_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// What callers.toml stores for `key`: `sha256:` and the SHA-256 of its bytes in
/// lowercase hex.
pub fn hash_api_key(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut out = String::with_capacity(HASH_PREFIX.len() + 64);
    out.push_str(HASH_PREFIX);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Reads a stored hash: `sha256:` and 64 hex digits, or the 64 digits alone (either case).
pub(crate) fn parse_hash(text: &str) -> Result<[u8; 32], String> {
    let hex = text.strip_prefix(HASH_PREFIX).unwrap_or(text);
    if hex.len() != 64 {
        return Err(format!(
            "a hash is `sha256:` and 64 hex digits (as `writ callers hash-key` prints); this one has {} characters after the prefix",
            hex.len()
        ));
    }
    let mut out = [0u8; 32];
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        let digit = |c: u8| char::from(c).to_digit(16);
        match (digit(pair[0]), pair.get(1).and_then(|c| digit(*c))) {
            (Some(hi), Some(lo)) => out[i] = u8::try_from(hi * 16 + lo).unwrap_or(0),
            _ => {
                return Err(
                    "a hash is `sha256:` and 64 hex digits; this one has a character that is not a hex digit"
                        .into(),
                )
            }
        }
    }
    Ok(out)
}

/// Checks what a caller presented as a key: 1 to 256 visible ASCII characters.
pub(crate) fn check_presented(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("the `X-API-Key` header is empty".into());
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(format!(
            "the `X-API-Key` header is {} bytes; at most {MAX_KEY_BYTES} expected",
            key.len()
        ));
    }
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("the `X-API-Key` header has a character that is not visible ASCII".into());
    }
    Ok(())
}

/// The index of the stored hash `key` hashes to, comparing with every one of them in
/// constant time.
pub(crate) fn find(stored: &[[u8; 32]], key: &str) -> Option<usize> {
    let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    let mut found = subtle::Choice::from(0);
    let mut index = 0u64;
    for (i, hash) in stored.iter().enumerate() {
        let equal = hash.ct_eq(&digest);
        index.conditional_assign(&(i as u64), equal);
        found |= equal;
    }
    if bool::from(found) {
        usize::try_from(index).ok()
    } else {
        None
    }
}
