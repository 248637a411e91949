//! Request JSON through both binders (streaming `bind_str` and value-based `bind`), the
//! decision and the transaction digest, on fixed compiled sets that bind `request.params`.

use serde_json::Value as Json;
use writ_engine::{Engine, Request};

use crate::fixture;

/// The paths a transaction digest is computed over, beside the ones the policies bind.
const BOUND: &[&str] = &[
    "principal.id",
    "principal.on_behalf_of",
    "action",
    "resource.id",
    "request.params",
    "request.params.amount",
    "request.params.payee",
];

/// Request text through both binders of two fixed sets (one with a CEL leaf, one
/// without), then decide and digest.
pub fn request(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for engine in [fixture::payments(), fixture::plain()] {
        for req in agree(engine, text) {
            let decision = engine.decide(&req);
            if let Some(approval) = &decision.approval {
                let paths: Vec<&str> = approval.bind.iter().map(|b| &**b).collect();
                assert_eq!(
                    approval.digest,
                    writ_engine::digest::transaction_digest(req.json(), paths.iter().copied()),
                    "the decision's digest is not the digest of its bound paths"
                );
            }
        }
    }
    if let Ok(value) = serde_json::from_str::<Json>(text) {
        let bound = writ_engine::digest::bound_object(&value, BOUND.iter().copied());
        let _ = writ_engine::digest::digest_of(&bound);
        let _ = writ_engine::digest::transaction_digest(&value, BOUND.iter().copied());
    }
}

/// Binds `text` with both binders and checks they agree: both refuse, or both accept and
/// lead to the same decision. Returns the bound requests (none, or both).
///
/// Two refusals only one binder can make are not disagreements: text `serde_json` does
/// not read as a value (the value binder never sees it), and text with a key given twice
/// (the value has already dropped one of them; the streaming binder refuses a known key
/// given twice).
pub(crate) fn agree(engine: &Engine, text: &str) -> Vec<Request> {
    let streamed = engine.bind_str(text);
    let Ok(value) = serde_json::from_str::<Json>(text) else {
        return streamed.into_iter().collect();
    };
    let valued = engine.bind(value);
    match (streamed, valued) {
        (Ok(s), Ok(v)) => {
            assert_eq!(
                engine.decide(&s),
                engine.decide(&v),
                "the binders lead to different decisions on {text}"
            );
            vec![s, v]
        }
        (Err(_), Err(_)) => Vec::new(),
        (Err(_), Ok(_)) if has_duplicate_key(text) => Vec::new(),
        (s, v) => crate::policy::fail(&format!(
            "the binders disagree on {text}: streaming {:?}, value {:?}",
            s.map(|_| "accepted").map_err(|e| e.to_string()),
            v.map(|_| "accepted").map_err(|e| e.to_string()),
        )),
    }
}

/// Whether some object of the JSON text gives a key twice (at any depth): the value the
/// tree binder sees has kept only one of them.
fn has_duplicate_key(text: &str) -> bool {
    use serde::de::{Deserialize, Deserializer, Error, MapAccess, SeqAccess, Visitor};

    struct NoDuplicateKeys;

    impl<'de> Deserialize<'de> for NoDuplicateKeys {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(NoDuplicateKeys)
        }
    }

    impl<'de> Visitor<'de> for NoDuplicateKeys {
        type Value = NoDuplicateKeys;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("JSON")
        }

        fn visit_bool<E>(self, _: bool) -> Result<Self, E> {
            Ok(self)
        }

        fn visit_i64<E>(self, _: i64) -> Result<Self, E> {
            Ok(self)
        }

        fn visit_u64<E>(self, _: u64) -> Result<Self, E> {
            Ok(self)
        }

        fn visit_f64<E>(self, _: f64) -> Result<Self, E> {
            Ok(self)
        }

        fn visit_str<E>(self, _: &str) -> Result<Self, E> {
            Ok(self)
        }

        fn visit_unit<E>(self) -> Result<Self, E> {
            Ok(self)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self, A::Error> {
            while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
            Ok(self)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self, A::Error> {
            let mut seen = std::collections::BTreeSet::new();
            while let Some(key) = map.next_key::<String>()? {
                if !seen.insert(key) {
                    return Err(A::Error::custom("a key appears twice"));
                }
                map.next_value::<NoDuplicateKeys>()?;
            }
            Ok(self)
        }
    }

    serde_json::from_str::<NoDuplicateKeys>(text).is_err()
}
