//! The transaction digest (LANGUAGE.md §6):
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

/// The digest of a bound object (anything that serialises to a JSON object).
fn digest_of_serialize<T: serde::Serialize>(bound: &T) -> String {
    // Canonicalising JSON values cannot fail: keys are strings and numbers are finite.
    let canonical = serde_json_canonicalizer::to_vec(bound).unwrap_or_default();
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update([0u8]);
    h.update(&canonical);
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

/// The digest of a bound object.
pub fn digest_of(bound: &Json) -> String {
    digest_of_serialize(bound)
}

/// The digest of `paths` over `request`, without copying the bound values.
pub fn transaction_digest<'a>(request: &Json, paths: impl IntoIterator<Item = &'a str>) -> String {
    let bound: std::collections::BTreeMap<&str, &Json> = paths
        .into_iter()
        .map(|p| (p, lookup(request, p.split('.')).unwrap_or(&NULL)))
        .collect();
    digest_of_serialize(&bound)
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
}
