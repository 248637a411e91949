//! The transaction digest (docs/language.md §15):
//! `"sha256:" + hex(SHA-256("writ-txn-v1" || 0x00 || JCS(bound)))`, where `bound` maps each
//! bound path, as written, to the request's value there (`null` when absent), and JCS is
//! RFC 8785 canonical JSON.

use serde_json::{Map, Value as Json};
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

const NULL: Json = Json::Null;

/// The digest of canonical JSON bytes.
fn digest_of_canonical(canonical: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update([0u8]);
    h.update(canonical);
    let out = h.finalize();
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(7 + 64);
    s.push_str("sha256:");
    for b in out {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 15)]));
    }
    s
}

/// The digest of a bound object (anything that serialises to a JSON object).
fn digest_of_serialize<T: serde::Serialize>(bound: &T) -> String {
    // Canonicalising JSON values cannot fail: keys are strings and numbers are finite.
    let canonical = serde_json_canonicalizer::to_vec(bound).unwrap_or_default();
    digest_of_canonical(&canonical)
}

/// The digest of a bound object.
pub fn digest_of(bound: &Json) -> String {
    let mut out = Vec::with_capacity(256);
    match write_jcs(bound, &mut out) {
        Some(()) => digest_of_canonical(&out),
        None => digest_of_serialize(bound),
    }
}

/// The digest of `paths` over `request`, without copying the bound values.
pub fn transaction_digest<'a>(request: &Json, paths: impl IntoIterator<Item = &'a str>) -> String {
    let bound: std::collections::BTreeMap<&str, &Json> = paths
        .into_iter()
        .map(|p| (p, lookup(request, p.split('.')).unwrap_or(&NULL)))
        .collect();
    let mut out = Vec::with_capacity(256);
    match write_object(bound.iter().map(|(k, v)| (*k, *v)), &mut out) {
        Some(()) => digest_of_canonical(&out),
        None => digest_of_serialize(&bound),
    }
}

/// The largest integer magnitude whose ES6 number form is its decimal digits, exactly
/// (2^53; requests hold no larger integer, see [`crate::MAX_EXACT_INT`]).
const EXACT: u64 = 1 << 53;

/// Writes RFC 8785 canonical JSON directly (the hot path of every `approve`), for values
/// whose numbers are all integers of magnitude at most 2^53: their ES6 form is their
/// decimal digits. Anything else (a fraction, an exponent, a larger integer) is `None`,
/// and the general canonicalizer writes the value instead; the two agree on every value
/// this accepts (tested below against the canonicalizer).
fn write_jcs(v: &Json, out: &mut Vec<u8>) -> Option<()> {
    use std::io::Write as _;
    match v {
        Json::Null => out.extend_from_slice(b"null"),
        Json::Bool(true) => out.extend_from_slice(b"true"),
        Json::Bool(false) => out.extend_from_slice(b"false"),
        Json::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) if u <= EXACT => write!(out, "{u}").ok()?,
            (None, Some(i)) if i.unsigned_abs() <= EXACT => write!(out, "{i}").ok()?,
            _ => return None,
        },
        // serde_json escapes exactly as JCS does (`"`, `\\`, \b \f \n \r \t, other
        // controls as lowercase `\u00xx`) and writes everything else as itself.
        Json::String(s) => serde_json::to_writer(&mut *out, s).ok()?,
        Json::Array(items) => {
            out.push(b'[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_jcs(x, out)?;
            }
            out.push(b']');
        }
        Json::Object(m) => write_object(m.iter().map(|(k, v)| (k.as_str(), v)), out)?,
    }
    Some(())
}

/// Writes an object's members in JCS order: keys sorted by their UTF-16 code units.
fn write_object<'a>(
    members: impl Iterator<Item = (&'a str, &'a Json)>,
    out: &mut Vec<u8>,
) -> Option<()> {
    let mut members: Vec<(&str, &Json)> = members.collect();
    members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
    out.push(b'{');
    for (i, (k, v)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, k).ok()?;
        out.push(b':');
        write_jcs(v, out)?;
    }
    out.push(b'}');
    Some(())
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
    fn the_direct_writer_agrees_with_the_canonicalizer() {
        let controls: String = (0u8..0x80).map(char::from).collect();
        let values = [
            json!(null),
            json!({"a": [1, -1, 0, 9007199254740992_u64, -9007199254740992_i64, true, false, null]}),
            json!({"\u{10000}": 1, "\u{e000}": 2, "z": 3, "A": 4, "é": 5, "": 6}),
            json!({"s": controls, "u": "\u{2028}\u{2029}\u{7f}/\u{10ffff}é中"}),
            json!({"n": {"deep": [[{"b": 1, "a": {"y": [], "x": {}}}]]}}),
            json!({"f": 1.5, "e": 1e21, "big": 9007199254740993_u64, "neg": -0.0}),
            json!([1, 2.25, "x"]),
        ];
        for v in &values {
            let expected = serde_json_canonicalizer::to_vec(v).unwrap();
            let mut direct = Vec::new();
            if write_jcs(v, &mut direct).is_some() {
                assert_eq!(
                    String::from_utf8_lossy(&direct),
                    String::from_utf8_lossy(&expected),
                    "{v}"
                );
            }
            let general = digest_of_serialize(v);
            assert_eq!(digest_of(v), general, "{v}");
            if let Json::Object(m) = v {
                let paths: Vec<&str> = m.keys().map(String::as_str).collect();
                let bound = bound_object(v, paths.iter().copied());
                assert_eq!(
                    transaction_digest(v, paths.iter().copied()),
                    digest_of_serialize(&bound),
                    "{v}"
                );
            }
        }
        // The writer declines what needs ES6 number formatting.
        assert!(write_jcs(&json!(1.5), &mut Vec::new()).is_none());
        assert!(write_jcs(&json!(9007199254740993_u64), &mut Vec::new()).is_none());
        assert!(write_jcs(&json!({"a": [1]}), &mut Vec::new()).is_some());
    }
}
