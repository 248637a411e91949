//! The transaction digest (docs/language.md §15):
//! `"sha256:" + hex(SHA-256("writ-txn-v1" || 0x00 || JCS(bound)))`, where `bound` maps each
//! bound path, as written, to the request's value there (`null` when absent), and JCS is
//! RFC 8785 canonical JSON.

use std::cmp::Ordering;

use serde_json::{Map, Number, Value as Json};
use sha2::{Digest as _, Sha256};

use crate::request::lookup;

/// The domain separation prefix.
pub const DOMAIN: &[u8] = b"writ-txn-v1";

/// The bound object for `paths` over `request`.
pub fn bound_object<'a>(request: &Json, paths: impl IntoIterator<Item = &'a str>) -> Json {
    let mut map = Map::new();
    for p in paths {
        let v = lookup(request, p.split('.')).cloned().unwrap_or(Json::Null);
        map.insert(p.to_string(), v);
    }
    Json::Object(map)
}

static NULL: Json = Json::Null;

/// Where canonical bytes go: a buffer (for tests and callers that want the text) or the
/// hash itself.
pub(crate) trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// SHA-256 fed through a small buffer on the stack, so that the many short pieces of
/// canonical JSON reach the hash in blocks.
struct Hashing {
    hash: Sha256,
    buf: [u8; 128],
    len: usize,
}

impl Hashing {
    fn new() -> Hashing {
        let mut hash = Sha256::new();
        hash.update(DOMAIN);
        hash.update([0u8]);
        Hashing {
            hash,
            buf: [0; 128],
            len: 0,
        }
    }

    /// `"sha256:"` + the hex of the digest.
    fn finish(mut self) -> String {
        self.hash.update(&self.buf[..self.len]);
        let out = self.hash.finalize();
        const HEX: &[u8; 16] = b"0123456789abcdef";
        // Written into a fixed buffer, then one allocation (not a `push` per character).
        let mut text = [0u8; 7 + 64];
        text[..7].copy_from_slice(b"sha256:");
        for (pair, b) in text[7..].chunks_exact_mut(2).zip(out) {
            pair[0] = HEX[usize::from(b >> 4)];
            pair[1] = HEX[usize::from(b & 15)];
        }
        // ASCII by construction: the check cannot fail.
        String::from_utf8(text.to_vec()).unwrap_or_default()
    }
}

impl Sink for Hashing {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        if let Some(room) = self.buf.get_mut(self.len..self.len + bytes.len()) {
            room.copy_from_slice(bytes);
            self.len += bytes.len();
            return;
        }
        self.hash.update(&self.buf[..self.len]);
        self.len = 0;
        match self.buf.get_mut(..bytes.len()) {
            Some(room) => {
                room.copy_from_slice(bytes);
                self.len = bytes.len();
            }
            None => self.hash.update(bytes),
        }
    }
}

/// The RFC 8785 canonical form of a JSON value (the bytes the digest hashes).
pub fn canonical(v: &Json) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    write_value(v, &mut out);
    out
}

/// The digest of a bound object.
pub fn digest_of(bound: &Json) -> String {
    let mut h = Hashing::new();
    write_value(bound, &mut h);
    h.finish()
}

/// The digest of `paths` over `request`, written straight into the hash: no copy of the
/// bound values, no canonical text in memory (only a set of more than
/// [`INLINE_MEMBERS`] paths is sorted on the heap).
pub fn transaction_digest<'a>(request: &Json, paths: impl IntoIterator<Item = &'a str>) -> String {
    let mut h = Hashing::new();
    let members = paths
        .into_iter()
        .map(|p| (p, lookup(request, p.split('.')).unwrap_or(&NULL)));
    write_members(members, &mut h);
    h.finish()
}

/// [`transaction_digest`] of the bound paths, and the paths the request does not carry
/// (absent or `null`, in order): each path is looked up once for both.
pub(crate) fn digest_and_missing<'j>(
    value_at: impl Fn(&str) -> Option<&'j Json>,
    paths: &[std::sync::Arc<str>],
) -> (String, Vec<std::sync::Arc<str>>) {
    let mut missing = Vec::new();
    let mut h = Hashing::new();
    let members = paths.iter().map(|p| {
        let v = value_at(p);
        if v.is_none() {
            missing.push(p.clone());
        }
        (&**p, v.unwrap_or(&NULL))
    });
    write_members(members, &mut h);
    (h.finish(), missing)
}

/// Members an object's sort keeps on the stack.
pub const INLINE_MEMBERS: usize = 16;

/// Compares strings by their UTF-16 code units (RFC 8785 §3.2.3). UTF-8 byte order is
/// code point order, which is the same unless one side holds a character at or above
/// U+E000 (lead byte `0xEE` or more) and the other one above U+FFFF.
fn utf16_cmp(a: &str, b: &str) -> Ordering {
    if a.bytes().chain(b.bytes()).all(|c| c < 0xEE) {
        a.cmp(b)
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

/// Writes an object's members in canonical order (sorted by UTF-16 code units; a key
/// given twice, the same path bound twice, is written once). Up to [`INLINE_MEMBERS`]
/// are sorted on the stack. The order the members come in is not relied on: a
/// `serde_json` map keeps insertion order when another crate of the build enables its
/// `preserve_order` feature.
fn write_members<'v>(members: impl Iterator<Item = (&'v str, &'v Json)>, out: &mut impl Sink) {
    let mut inline: [(&str, &Json); INLINE_MEMBERS] = [("", &NULL); INLINE_MEMBERS];
    let mut len = 0;
    let mut spill: Vec<(&str, &Json)> = Vec::new();
    for member in members {
        match inline.get_mut(len) {
            Some(slot) if spill.is_empty() => {
                *slot = member;
                len += 1;
            }
            _ => {
                if spill.is_empty() {
                    spill.extend_from_slice(&inline[..len]);
                }
                spill.push(member);
            }
        }
    }
    let members = if spill.is_empty() {
        &mut inline[..len]
    } else {
        &mut spill[..]
    };
    // Keys of one object are distinct, and a path bound twice has one value: an
    // unstable sort (which never allocates) gives the one order.
    members.sort_unstable_by(|a, b| utf16_cmp(a.0, b.0));
    out.put(b"{");
    let mut last: Option<&str> = None;
    for (k, v) in members.iter() {
        if last == Some(*k) {
            continue;
        }
        if last.is_some() {
            out.put(b",");
        }
        last = Some(k);
        write_string(k, out);
        out.put(b":");
        write_value(v, out);
    }
    out.put(b"}");
}

// INVARIANT: recursion follows the value's nesting; requests are refused past
// `MAX_REQUEST_DEPTH` when bound, so a digest of a bound request recurses at most that deep.
fn write_value(v: &Json, out: &mut impl Sink) {
    match v {
        Json::Null => out.put(b"null"),
        Json::Bool(true) => out.put(b"true"),
        Json::Bool(false) => out.put(b"false"),
        Json::Number(n) => write_number(n, out),
        Json::String(s) => write_string(s, out),
        Json::Array(items) => {
            out.put(b"[");
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.put(b",");
                }
                write_value(x, out);
            }
            out.put(b"]");
        }
        Json::Object(m) => write_members(m.iter().map(|(k, v)| (k.as_str(), v)), out),
    }
}

/// The largest integer magnitude whose ES6 number form is its decimal digits, exactly
/// (2^53; requests hold no larger integer, see [`crate::MAX_EXACT_INT`]).
const EXACT: u64 = 1 << 53;

/// A number as ECMAScript's `Number.prototype.toString` writes its double (RFC 8785
/// §3.2.2.3): an integer within 2^53 as its digits, anything else through `ryu-js`, as
/// the canonicalizer crate does.
fn write_number(n: &Number, out: &mut impl Sink) {
    let (neg, abs) = match (n.as_u64(), n.as_i64()) {
        (Some(u), _) => (false, u),
        (None, Some(i)) => (i < 0, i.unsigned_abs()),
        _ => (false, u64::MAX),
    };
    if abs <= EXACT {
        if neg {
            out.put(b"-");
        }
        write_u64(abs, out);
        return;
    }
    match n.as_f64() {
        Some(f) if f.is_finite() => {
            let mut buf = ryu_js::Buffer::new();
            out.put(buf.format_finite(f).as_bytes());
        }
        // A JSON number is always a finite double; never reached.
        _ => out.put(b"null"),
    }
}

/// An unsigned integer's decimal digits (as both RFC 8785 and `serde_json` write it).
pub(crate) fn write_u64(mut n: u64, out: &mut impl Sink) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put(&digits[at..]);
}

/// A string with JCS escapes: quote and backslash, `\b \f \n \r \t`, other controls as
/// lowercase `\u00xx`; everything else as itself.
pub(crate) fn write_string(s: &str, out: &mut impl Sink) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.put(b"\"");
    let bytes = s.as_bytes();
    let mut start = 0;
    loop {
        // The bytes that need no escape, found eight at a time.
        let end = crate::stream::plain_run(bytes, start);
        out.put(bytes.get(start..end).unwrap_or_default());
        let Some(&b) = bytes.get(end) else {
            break;
        };
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            _ => b"",
        };
        if short.is_empty() {
            out.put(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]);
        } else {
            out.put(short);
        }
        start = end + 1;
    }
    out.put(b"\"");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_answer() {
        // Computed independently: printf 'writ-txn-v1\0{"action":"db.write","x":null}' | sha256sum
        let req = json!({"action": "db.write"});
        let d = transaction_digest(&req, ["x", "action"]);
        assert_eq!(
            d,
            "sha256:".to_string() + &known("{\"action\":\"db.write\",\"x\":null}")
        );
    }

    fn known(canonical: &str) -> String {
        let mut h = Sha256::new();
        h.update(b"writ-txn-v1\0");
        h.update(canonical.as_bytes());
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn canonical_numbers_and_key_order() {
        let a = json!({"request": {"params": {"payee": "ACME", "amount": 1200.50, "n": 1e21}}});
        let b: Json = serde_json::from_str(
            r#"{"request":{"params":{"n":1000000000000000000000,"amount":1200.5,"payee":"ACME"}}}"#,
        )
        .unwrap();
        assert_eq!(
            transaction_digest(&a, ["request.params"]),
            transaction_digest(&b, ["request.params"])
        );
        assert_eq!(
            transaction_digest(&a, ["request.params"]),
            "sha256:".to_string()
                + &known(r#"{"request.params":{"amount":1200.5,"n":1e+21,"payee":"ACME"}}"#)
        );
    }

    #[test]
    fn any_bound_change_changes_the_digest() {
        let base =
            json!({"request": {"params": {"amount": 100, "payee": "A"}}, "session": {"id": "s1"}});
        let d0 = transaction_digest(&base, ["request.params", "session.id"]);
        let mut other = base.clone();
        other["request"]["params"]["amount"] = json!(101);
        assert_ne!(
            d0,
            transaction_digest(&other, ["request.params", "session.id"])
        );
        let mut other = base.clone();
        other["session"]["id"] = json!("s2");
        assert_ne!(
            d0,
            transaction_digest(&other, ["request.params", "session.id"])
        );
        let mut unbound = base.clone();
        unbound["device"] = json!({"managed": true});
        assert_eq!(
            d0,
            transaction_digest(&unbound, ["request.params", "session.id"])
        );
    }

    #[test]
    fn the_writer_agrees_with_the_canonicalizer() {
        let controls: String = (0u8..0x80).map(char::from).collect();
        let values = [
            json!(null),
            json!({"a": [1, -1, 0, 9007199254740992_u64, -9007199254740992_i64, true, false, null]}),
            json!({"\u{10000}": 1, "\u{e000}": 2, "z": 3, "A": 4, "é": 5, "": 6}),
            json!({"s": controls, "u": "\u{2028}\u{2029}\u{7f}/\u{10ffff}é中"}),
            json!({"n": {"deep": [[{"b": 1, "a": {"y": [], "x": {}}}]]}}),
            json!({"f": 1.5, "e": 1e21, "big": 9007199254740993_u64, "neg": -0.0, "min": i64::MIN, "max": u64::MAX}),
            json!([
                1,
                2.25,
                "x",
                1e-7,
                123456789.125,
                5e-324,
                1.7976931348623157e308
            ]),
        ];
        for v in &values {
            let expected = serde_json_canonicalizer::to_vec(v).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&canonical(v)),
                String::from_utf8_lossy(&expected),
                "{v}"
            );
            let mut h = Sha256::new();
            h.update(b"writ-txn-v1\0");
            h.update(&expected);
            let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(digest_of(v), format!("sha256:{hex}"), "{v}");
            if let Json::Object(m) = v {
                let paths: Vec<&str> = m.keys().map(String::as_str).collect();
                let bound = bound_object(v, paths.iter().copied());
                assert_eq!(
                    transaction_digest(v, paths.iter().copied()),
                    digest_of(&bound),
                    "{v}"
                );
            }
        }
    }

    #[test]
    fn many_bound_paths_and_repeats_sort_as_one_object() {
        let req = json!({"a": {"x": 1, "y": "\u{10000}", "\u{e000}": 2}});
        let mut paths: Vec<String> = (0..40).map(|i| format!("p{i}")).collect();
        paths.extend([
            "a.x".into(),
            "a.y".into(),
            "a.\u{e000}".into(),
            "a.x".into(),
        ]);
        let expected = bound_object(&req, paths.iter().map(String::as_str));
        for take in [3, INLINE_MEMBERS, INLINE_MEMBERS + 1, paths.len()] {
            let some: Vec<&str> = paths.iter().rev().take(take).map(String::as_str).collect();
            assert_eq!(
                transaction_digest(&req, some.iter().copied()),
                digest_of(&bound_object(&req, some.iter().copied())),
                "{take}"
            );
        }
        assert_eq!(
            transaction_digest(&req, paths.iter().map(String::as_str)),
            digest_of(&expected)
        );
    }
}
