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
/// The value binder is fed as a service that received text is told to feed it: through
/// `writ_engine::parse_request`, which refuses what a plain `serde_json` parse would lose
/// (a key given twice, a number the digest cannot hold exactly). A value parsed loosely
/// has already lost that text (an integer past 2^64 became a nearby double), so no binder
/// could see it: the fuzzer found the harness comparing against such a value.
pub(crate) fn agree(engine: &Engine, text: &str) -> Vec<Request> {
    let streamed = engine.bind_str(text);
    let valued = writ_engine::parse_request(text).and_then(|value| engine.bind(value));
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
        (s, v) => crate::policy::fail(&format!(
            "the binders disagree on {text}: streaming {:?}, value {:?}",
            s.map(|_| "accepted").map_err(|e| e.to_string()),
            v.map(|_| "accepted").map_err(|e| e.to_string()),
        )),
    }
}
