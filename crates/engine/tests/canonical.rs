//! Attacks on the transaction digest through the request's JSON: numbers the canonical
//! form cannot represent exactly, repeated keys, nesting. Each is refused by both binders
//! (text and parsed value), naming the path, so an approval never covers a request the
//! approver did not see.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use serde_json::json;
use writ_engine::{BindError, Engine, MAX_REQUEST_DEPTH};

fn engine() -> Engine {
    common::engine_of(
        "p.writ",
        r#"
        schema { resource.level: int }
        rule "p" { when action == "p" approve { approvers 1 of group "o" bind action, request.params } }
        "#,
    )
}

/// Binds `text` both ways; both must refuse, naming `path`.
fn refused(e: &Engine, text: &str, path: &str) -> BindError {
    let tree = e.bind(serde_json::from_str(text).unwrap()).expect_err(text);
    assert_eq!(tree.path, path, "{tree}");
    refused_text(e, text, path)
}

/// Refused from text (a parsed value has lost what is wrong: the number's text or the
/// repeated key), by the streaming binder and by `parse_request`, naming `path`.
fn refused_text(e: &Engine, text: &str, path: &str) -> BindError {
    let streamed = e.bind_str(text).expect_err(text);
    assert_eq!(streamed.path, path, "{streamed}");
    let parsed = writ_engine::parse_request(text).expect_err(text);
    assert_eq!(parsed.path, path, "{parsed}");
    streamed
}

fn digest(e: &Engine, text: &str) -> String {
    let by_text = e
        .decide(&e.bind_str(text).unwrap())
        .approval
        .unwrap()
        .digest;
    let by_value = e
        .decide(&e.bind(serde_json::from_str(text).unwrap()).unwrap())
        .approval
        .unwrap()
        .digest;
    assert_eq!(by_text, by_value, "{text}");
    by_text
}

#[test]
fn big_integer_cannot_share_a_digest() {
    let e = engine();
    for id in ["1234567890123456789", "1234567890123456700"] {
        let text = format!(r#"{{"action":"p","request":{{"params":{{"id":{id}}}}}}}"#);
        let err = refused(&e, &text, "request.params.id");
        assert!(err.message.contains("send it as a string"), "{err}");
        assert!(err.message.contains(id), "{err}");
    }
    // As strings they bind, and differ.
    let a = digest(
        &e,
        r#"{"action":"p","request":{"params":{"id":"1234567890123456789"}}}"#,
    );
    let b = digest(
        &e,
        r#"{"action":"p","request":{"params":{"id":"1234567890123456700"}}}"#,
    );
    assert_ne!(a, b);
}

#[test]
fn largest_exact_integer_is_accepted() {
    let e = engine();
    let max = digest(
        &e,
        r#"{"action":"p","request":{"params":{"id":9007199254740991}}}"#,
    );
    let below = digest(
        &e,
        r#"{"action":"p","request":{"params":{"id":9007199254740990}}}"#,
    );
    assert_ne!(max, below);
    digest(
        &e,
        r#"{"action":"p","request":{"params":{"id":-9007199254740991}}}"#,
    );
    refused(
        &e,
        r#"{"action":"p","request":{"params":{"id":9007199254740992}}}"#,
        "request.params.id",
    );
    refused(
        &e,
        r#"{"action":"p","request":{"params":{"id":-9007199254740992}}}"#,
        "request.params.id",
    );
}

#[test]
fn inexact_number_anywhere_is_refused() {
    let e = engine();
    // Nested in lists and objects under a bound path.
    refused(
        &e,
        r#"{"action":"p","request":{"params":{"rows":[1,{"v":18446744073709551615}]}}}"#,
        "request.params.rows[1].v",
    );
    // A decimal with more precision than a double holds: two texts, one double.
    let err = refused_text(
        &e,
        r#"{"action":"p","request":{"params":{"amount":0.10000000000000000001}}}"#,
        "request.params.amount",
    );
    assert!(err.message.contains("send it as a string"), "{err}");
    // Outside any bound path, even on a typed int path: refused all the same.
    refused(
        &e,
        r#"{"action":"p","resource":{"level":9007199254740993}}"#,
        "resource.level",
    );
    refused(
        &e,
        r#"{"action":"p","device":{"x":[12345678901234567890]}}"#,
        "device.x[0]",
    );
}

#[test]
fn one_value_in_the_canonical_form_has_one_digest() {
    let e = engine();
    let req = |n: &str| format!(r#"{{"action":"p","request":{{"params":{{"n":{n}}}}}}}"#);
    // What the canonical form treats as one value (docs/language.md §15).
    assert_eq!(digest(&e, &req("1")), digest(&e, &req("1.0")));
    assert_eq!(digest(&e, &req("100")), digest(&e, &req("1e2")));
    assert_eq!(digest(&e, &req("0")), digest(&e, &req("-0")));
    assert_eq!(digest(&e, &req("0.5")), digest(&e, &req("5e-1")));
    assert_ne!(digest(&e, &req("1")), digest(&e, &req("\"1\"")));
    assert_ne!(digest(&e, &req("0.1")), digest(&e, &req("0.2")));
}

#[test]
fn repeated_key_inside_bound_params_is_refused() {
    let e = engine();
    let err = refused_text(
        &e,
        r#"{"action":"p","request":{"params":{"args":{"new_owner":"mallory","new_owner":"bob"}}}}"#,
        "request.params.args.new_owner",
    );
    assert!(err.message.contains("appears twice"), "{err}");
}

#[test]
fn repeated_key_anywhere_is_refused() {
    let e = engine();
    for (text, path) in [
        (r#"{"action":"p","action":"q"}"#, "action"),
        (r#"{"action":"p","device":{"x":1,"x":1}}"#, "device.x"),
        (
            r#"{"action":"p","device":{"l":[{"a":1},{"a":1,"a":2}]}}"#,
            "device.l[1].a",
        ),
        // The same key, written with an escape.
        (
            r#"{"action":"p","request":{"params":{"k":1,"\u006b":2}}}"#,
            "request.params.k",
        ),
    ] {
        let err = e.bind_str(text).expect_err(text);
        assert_eq!(err.path, path, "{err}");
        assert_eq!(writ_engine::parse_request(text).unwrap_err().path, path);
    }
    // A key repeated in two different objects is no repetition.
    e.bind_str(r#"{"action":"p","device":{"a":{"k":1},"b":{"k":1}}}"#)
        .unwrap();
    // Many keys (the scanner switches to a sorted search): the repeat is still found.
    let many: Vec<String> = (0..200).map(|i| format!("\"k{i}\":{i}")).collect();
    let text = format!(r#"{{"device":{{{},"k150":0}}}}"#, many.join(","));
    assert_eq!(e.bind_str(&text).unwrap_err().path, "device.k150");
    let text = format!(r#"{{"device":{{{},"\u006b7":0}}}}"#, many.join(","));
    assert_eq!(e.bind_str(&text).unwrap_err().path, "device.k7");
    let text = format!(r#"{{"device":{{{}}}}}"#, many.join(","));
    e.bind_str(&text).unwrap();
}

#[test]
fn deep_request_is_refused_alike_with_its_path() {
    let e = engine();
    let nest = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
    // Root (1) + params... : `request` 2, `params` 3, `x` lists from 4.
    let at = |n: usize| format!(r#"{{"request":{{"params":{{"x":{}}}}}}}"#, nest(n));
    e.bind_str(&at(MAX_REQUEST_DEPTH - 3)).unwrap();
    e.bind(serde_json::from_str(&at(MAX_REQUEST_DEPTH - 3)).unwrap())
        .unwrap();
    let deepest = format!("request.params.x{}", "[0]".repeat(MAX_REQUEST_DEPTH - 3));
    let err = refused(&e, &at(MAX_REQUEST_DEPTH - 2), &deepest);
    assert_eq!(
        err,
        e.bind(serde_json::from_str(&at(MAX_REQUEST_DEPTH - 2)).unwrap())
            .unwrap_err()
    );
    assert!(err.message.contains("64"), "{err}");
    // Beyond serde_json's own limit (128) and far beyond: the same error, no crash.
    for n in [200, 100_000] {
        let err = e.bind_str(&at(n)).unwrap_err();
        assert_eq!(err.path, deepest, "{err}");
    }
    // A value built in memory, deeper than any parser allows: refused, no recursion past the limit.
    let mut v = json!(1);
    for _ in 0..1000 {
        v = json!([v]);
    }
    let err = e.bind(json!({"device": {"x": v}})).unwrap_err();
    assert!(err.path.starts_with("device.x[0]"), "{err}");
}
