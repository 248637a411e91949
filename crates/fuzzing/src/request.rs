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

/// A batch body read as spans of its items ([`writ_engine::batch_items`], what `writ serve`
/// binds each item of an enforcement point's batch from) against the strict reading of
/// the whole body: whenever the spans are found and every item is strict JSON, the whole
/// body is strict JSON too, an object holding `requests` alone, whose items are the spans'
/// values in order. (An item that is not strict is refused by the binder, and the server
/// then reads the whole body strictly: no span decides what the strict reading refuses.)
pub fn batch(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(items) = writ_engine::batch_items(text) else {
        return;
    };
    let Ok(values) = items
        .iter()
        .map(|item| writ_engine::parse_request(item))
        .collect::<Result<Vec<Json>, _>>()
    else {
        return;
    };
    let whole = writ_engine::parse_request(text);
    // The depth limit is a request's: an item may nest as deep as a request alone, which
    // the whole body, two levels deeper, may not.
    if whole
        .as_ref()
        .is_err_and(|e| e.to_string().contains("nest deeper than"))
    {
        return;
    }
    assert!(
        matches!(whole, Ok(Json::Object(_))),
        "the spans of {text:?} were read, but the body is not a strict object: {whole:?}"
    );
    let Ok(Json::Object(mut envelope)) = whole else {
        return;
    };
    let requests = envelope.remove("requests");
    assert!(envelope.is_empty(), "{text:?}: a key beside `requests`");
    assert_eq!(
        requests,
        Some(Json::Array(values)),
        "{text:?}: the spans are not the body's items"
    );
    // Each item binds alike by both binders (the `request` target's check).
    for item in items {
        let _ = agree(fixture::plain(), item);
    }
}
