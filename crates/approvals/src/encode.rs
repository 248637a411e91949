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
    let mut out = String::with_capacity(kind.len() + 12 + 16);
    UniqueId::next(kind).write(&mut out);
    out
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

impl UniqueId {
    /// Writes the id: its kind, this process's prefix, and its number in lowercase hex
    /// without leading zeros (what `{:x}` writes), without the formatting machinery — a
    /// decision id is made for every decision the server answers.
    fn write(&self, out: &mut String) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.push_str(self.kind);
        out.push_str(UniqueId::prefix());
        let mut digits = [0u8; 16];
        let mut at = digits.len();
        let mut n = self.n;
        loop {
            at -= 1;
            digits[at] = HEX[(n & 15) as usize];
            n >>= 4;
            if n == 0 {
                break;
            }
        }
        for &d in &digits[at..] {
            out.push(char::from(d));
        }
    }
}

impl std::fmt::Display for UniqueId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::with_capacity(self.kind.len() + 12 + 16);
        self.write(&mut out);
        f.write_str(&out)
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
    fn a_unique_id_is_kind_prefix_and_lowercase_hex() {
        for n in [0u64, 1, 9, 10, 15, 16, 255, 4096, 0xdead_beef, u64::MAX] {
            let id = UniqueId { kind: "d_", n };
            let want = format!("d_{}{n:x}", UniqueId::prefix());
            assert_eq!(id.to_string(), want);
            let mut out = String::new();
            id.write(&mut out);
            assert_eq!(out, want);
        }
        let (a, b) = (unique_id("r_"), unique_id("r_"));
        assert_ne!(a, b);
        assert!(a.starts_with("r_") && a.len() > 2 + 12);
    }

    #[test]
    fn binding_code_is_stable_and_six_digits() {
        let a = binding_code("sha256:00");
        assert_eq!(a.len(), 6);
        assert_eq!(a, binding_code("sha256:00"));
        assert_ne!(a, binding_code("sha256:01"));
    }
}
