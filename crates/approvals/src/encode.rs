//! Small encodings shared by the approval flow: base64url, random ids, hex, and the human
//! binding code derived from a transaction digest.

use sha2::{Digest as _, Sha256};
pub use writ_registry::{b64, same_secret, unb64};

use crate::error::Error;

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 15)]));
    }
    s
}

/// `N` bytes from the operating system's CSPRNG.
pub fn random<const N: usize>() -> Result<[u8; N], Error> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| Error::Random(e.to_string()))?;
    Ok(out)
}

/// An identifier unique across processes without a system call: `kind`, a random
/// per-process prefix (48 bits, hex) and a counter (hex). For ids that name records
/// (decision ids, request ids), never for ids that must be unguessable (challenges,
/// grants, which take 128 random bits).
pub fn unique_id(kind: &'static str) -> String {
    UniqueId::next(kind).to_string()
}

/// A [`unique_id`] before it is written out: copied for free, written where needed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UniqueId {
    kind: &'static str,
    n: u64,
}

impl UniqueId {
    /// The next id of `kind`.
    pub(crate) fn next(kind: &'static str) -> UniqueId {
        use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        UniqueId {
            kind,
            n: COUNTER.fetch_add(1, Relaxed),
        }
    }

    /// This process's prefix: random, or else from the process id and the start time.
    fn prefix() -> &'static str {
        static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        PREFIX.get_or_init(|| {
            let bytes = random::<6>().unwrap_or_else(|_| {
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                let mixed = u64::from(std::process::id()) ^ (t as u64);
                let le = mixed.to_le_bytes();
                [le[0], le[1], le[2], le[3], le[4], le[5]]
            });
            hex(&bytes)
        })
    }
}

impl std::fmt::Display for UniqueId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}{:x}", self.kind, UniqueId::prefix(), self.n)
    }
}

/// A fresh identifier: `prefix` + 128 random bits in base64url.
pub fn new_id(prefix: &str) -> Result<String, Error> {
    Ok(format!("{prefix}{}", b64(&random::<16>()?)))
}

/// The six-digit binding code for a digest, shown to requester and approver alike (number
/// matching): `SHA-256("writ-code-v1" || 0x00 || digest)`, first four bytes as a big-endian
/// integer, modulo 1,000,000, zero-padded.
pub fn binding_code(digest: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"writ-code-v1\0");
    h.update(digest.as_bytes());
    let out = h.finalize();
    let n = u32::from_be_bytes([out[0], out[1], out[2], out[3]]) % 1_000_000;
    format!("{n:06}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_code_is_stable_and_six_digits() {
        let a = binding_code("sha256:00");
        assert_eq!(a.len(), 6);
        assert_eq!(a, binding_code("sha256:00"));
        assert_ne!(a, binding_code("sha256:01"));
    }
}
